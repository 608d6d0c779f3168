package padsim

import (
	"posfw/drivers/pinpad"
	"posfw/drivers/serialport"
)

// Connect serves s on a fresh pseudo-terminal and returns a driver on the terminal's
// end of it: the simulated PIN pad reached through the same bytes as a real one, for
// tests and for tools that need the pad outside `posfw sim` (posfw journal verify on
// a simulator's data). stop closes the driver and the PTY.
func Connect(s *Sim) (d *pinpad.Driver, stop func(), err error) {
	pty, err := serialport.OpenPTY()
	if err != nil {
		return nil, nil, err
	}
	go s.Serve(pty)
	d = pinpad.New(serialport.PathOpener(pty.Path(), serialport.Config{Baud: 115200}), pinpad.Config{})
	return d, func() { d.Close(); pty.Close() }, nil
}
