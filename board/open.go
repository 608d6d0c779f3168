package board

import "fmt"

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
