package board

import (
	"fmt"

	"posfw/drivers/serialport"
)

// Attach records that a simulator serves device on the pseudo-terminal at path, for a
// board whose port for that device is "pty".
func (b *Board) Attach(device, path string) error {
	s, ok := b.Serial[device]
	if !ok {
		return fmt.Errorf("board %s has no %s", b.Name, device)
	}
	if s.Port != PTY {
		return fmt.Errorf("board %s: %s is on %s, not a simulator's pty", b.Name, device, s.Port)
	}
	s.Port = path
	b.Serial[device] = s
	return nil
}

// OpenSerial opens device's serial line as the board describes it.
func (b *Board) OpenSerial(device string) (serialport.Port, error) {
	s, ok := b.Serial[device]
	if !ok {
		return nil, fmt.Errorf("board %s has no %s", b.Name, device)
	}
	if s.Port == PTY {
		return nil, fmt.Errorf("board %s: no simulator is attached to the %s pty", b.Name, device)
	}
	p, err := serialport.Open(s.Port, s.Config())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", device, err)
	}
	return p, nil
}

// Clone returns a copy of b that Attach can change without touching b.
func (b *Board) Clone() *Board {
	c := *b
	c.Serial = make(map[string]Serial, len(b.Serial))
	for k, v := range b.Serial {
		c.Serial[k] = v
	}
	c.GPIO = make(map[string]string, len(b.GPIO))
	for k, v := range b.GPIO {
		c.GPIO[k] = v
	}
	return &c
}
