// Package sim is the hardware-simulated terminal of `posfw sim`: it starts a simulator for
// each device on a pseudo-terminal, attaches the PTYs to the sim board, runs the same App
// as `posfw run`, and serves the control socket that scripts drive it through.
package sim

import (
	"fmt"
	"io"
	"path/filepath"

	"posfw/board"
	"posfw/drivers/cardreader/readersim"
	"posfw/drivers/gpio"
	"posfw/drivers/gpio/gpiosim"
	"posfw/drivers/modem/modemsim"
	"posfw/drivers/pinpad/padsim"
	"posfw/drivers/printer/printersim"
	"posfw/drivers/serialport"
)

// Devices are the running device simulators.
type Devices struct {
	Modem   *modemsim.Sim
	Reader  *readersim.Sim
	Pad     *padsim.Sim
	Printer *printersim.Sim
	// Paper is the printer's paper sensor line.
	Paper *gpiosim.Pin
	// Pins are all simulated GPIO lines by function (buzzer, led_green ...).
	Pins map[string]*gpiosim.Pin
	ptys []*serialport.PTY
}

// SetPaper loads (true) or runs out of (false) paper: the printer's status and the
// paper sensor line both say so.
func (d *Devices) SetPaper(present bool) {
	d.Printer.SetPaperOut(!present)
	if d.Paper != nil {
		level := gpio.Low
		if present {
			level = gpio.High
		}
		d.Paper.Set(level)
	}
}

// StartDevices starts a simulator on a fresh PTY for every device that b puts on a "pty"
// port, and attaches the PTY's path to b.
func StartDevices(b *board.Board) (*Devices, error) {
	d := &Devices{
		Modem:   modemsim.New(),
		Reader:  readersim.New(),
		Pad:     padsim.New(),
		Printer: printersim.New(),
	}
	// Each simulator serves the controller end of its PTY, as the device would the cable.
	serve := map[string]func(p *serialport.PTY){
		"modem":      func(p *serialport.PTY) { go d.Modem.Serve(p) },
		"cardreader": func(p *serialport.PTY) { d.Reader.Attach(p) },
		"pinpad":     func(p *serialport.PTY) { go d.Pad.Serve(p) },
		"printer":    func(p *serialport.PTY) { go d.Printer.Serve(p) },
	}
	// GPIO lines are simulated pins registered under the board's names.
	pins, err := gpiosim.Register(b.GPIO)
	if err != nil {
		return nil, err
	}
	d.Paper, d.Pins = pins["paper_sensor"], pins
	d.SetPaper(true)
	for _, dev := range board.SerialDevices {
		if s, ok := b.Serial[dev]; !ok || s.Port != board.PTY {
			continue
		}
		p, err := serialport.OpenPTY()
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("%s simulator: %w", dev, err)
		}
		d.ptys = append(d.ptys, p)
		serve[dev](p)
		if err := b.Attach(dev, p.Path()); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// PadNVRAM is where the simulated PIN pad of a terminal whose data directory is
// dataDir keeps its own memory (its card and journal keys, the journal's anchor): the
// sibling file dataDir.pinpad, outside the data directory, as a real pad keeps them
// inside itself. Deleting a data directory without it makes the terminal refuse to
// start: the pad remembers a journal that is gone.
func PadNVRAM(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return filepath.Clean(dataDir) + ".pinpad"
}

// Close stops every simulator by closing its PTY.
func (d *Devices) Close() {
	d.Reader.Close()
	for _, p := range d.ptys {
		p.Close()
	}
	d.ptys = nil
}

var _ io.ReadWriter = (*serialport.PTY)(nil)
