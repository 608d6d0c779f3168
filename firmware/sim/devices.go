// Package sim is the hardware-simulated terminal of `posfw sim`: it starts a simulator for
// each device on a pseudo-terminal, attaches the PTYs to the sim board, runs the same App
// as `posfw run`, and serves the control socket that scripts drive it through.
package sim

import (
	"fmt"

	"posfw/board"
	"posfw/drivers/modem/modemsim"
	"posfw/drivers/serialport"
)

// Devices are the running device simulators.
type Devices struct {
	// Modem is the simulated 4G modem.
	Modem *modemsim.Sim
	ptys  []*serialport.PTY
}

// StartDevices starts a simulator on a fresh PTY for every device that b puts on a "pty"
// port and that has a simulator in this build, and attaches the PTY's path to b. Devices
// without a simulator yet keep their "pty" port and are not opened by the App.
func StartDevices(b *board.Board) (*Devices, error) {
	d := &Devices{}
	if s, ok := b.Serial["modem"]; ok && s.Port == board.PTY {
		pty, err := d.pty()
		if err != nil {
			return nil, err
		}
		d.Modem = modemsim.New()
		go d.Modem.Serve(pty)
		if err := b.Attach("modem", pty.Path()); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

func (d *Devices) pty() (*serialport.PTY, error) {
	p, err := serialport.OpenPTY()
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("device simulator: %w", err)
	}
	d.ptys = append(d.ptys, p)
	return p, nil
}

// Close stops every simulator by closing its PTY.
func (d *Devices) Close() {
	for _, p := range d.ptys {
		p.Close()
	}
	d.ptys = nil
}
