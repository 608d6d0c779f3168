// Package sim is the hardware-simulated terminal of `posfw sim`: it starts a simulator for
// each device on a pseudo-terminal, attaches the PTYs to the sim board, runs the same App
// as `posfw run`, and serves the control socket that scripts drive it through.
package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"posfw/board"
	"posfw/drivers/cardreader/readersim"
	"posfw/drivers/chipreader/chipsim"
	"posfw/drivers/gpio"
	"posfw/drivers/gpio/gpiosim"
	"posfw/drivers/modem/modemsim"
	"posfw/drivers/pinpad/padsim"
	"posfw/drivers/printer/printersim"
	"posfw/drivers/scanner/scannersim"
	"posfw/drivers/serialport"
)

// Devices are the running device simulators.
type Devices struct {
	Modem   *modemsim.Sim
	Reader  *readersim.Sim
	Pad     *padsim.Sim
	Printer *printersim.Sim
	Scanner *scannersim.Sim
	// Chip and Contactless are the contact chip reader and the contactless reader.
	Chip, Contactless *chipsim.Sim
	// Paper is the printer's paper sensor line.
	Paper *gpiosim.Pin
	// Pins are all simulated GPIO lines by function (buzzer, led_green ...).
	Pins map[string]*gpiosim.Pin

	mu    sync.Mutex
	plugs map[string]*plug // by board device name
}

// plug is one simulated serial device behind its replugging path.
type plug struct {
	h     *serialport.Hotplug
	serve func(p *serialport.PTY)
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

// StartDevices starts a simulator for every device that b puts on a "pty" port and
// attaches it to b. Each device's path is a link in linkDir to its PTY (as udev's
// /dev/serial/by-id links are to a USB adapter's node), so that Unplug and Plug can
// take the device away and bring it back on the path the firmware opens.
func StartDevices(b *board.Board, linkDir string) (*Devices, error) {
	if err := os.MkdirAll(linkDir, 0o700); err != nil {
		return nil, fmt.Errorf("device links: %w", err)
	}
	d := &Devices{
		Modem:       modemsim.New(),
		Reader:      readersim.New(),
		Pad:         padsim.New(),
		Printer:     printersim.New(),
		Scanner:     scannersim.New(),
		Chip:        chipsim.New(),
		Contactless: chipsim.New(),
		plugs:       map[string]*plug{},
	}
	// Each simulator serves the controller end of its PTY, as the device would the cable.
	serve := map[string]func(p *serialport.PTY){
		"modem":       func(p *serialport.PTY) { go d.Modem.Serve(p) },
		"cardreader":  func(p *serialport.PTY) { d.Reader.Attach(p) },
		"pinpad":      func(p *serialport.PTY) { go d.Pad.Serve(p) },
		"printer":     func(p *serialport.PTY) { go d.Printer.Serve(p) },
		"scanner":     func(p *serialport.PTY) { go d.Scanner.Serve(p) },
		"chip":        func(p *serialport.PTY) { go d.Chip.Serve(p) },
		"contactless": func(p *serialport.PTY) { go d.Contactless.Serve(p) },
	}
	// GPIO lines are simulated pins registered under the board's names.
	pins, err := gpiosim.Register(b.GPIO)
	if err != nil {
		return nil, err
	}
	d.Paper, d.Pins = pins["paper_sensor"], pins
	d.SetPaper(true)
	// The modem's power key and reset input are wired to the GPIO lines: a pulse is the
	// line driven active (High) and released.
	for fn, pulse := range map[string]func(){"modem_power": d.Modem.PowerKey, "modem_reset": d.Modem.ResetPulse} {
		if p := pins[fn]; p != nil {
			asserted := false
			p.Watch(func(l gpio.Level) {
				if l == gpio.High {
					asserted = true
				} else if asserted {
					asserted = false
					pulse()
				}
			})
		}
	}
	for _, dev := range slices.Concat(board.SerialDevices, board.OptionalSerialDevices) {
		if s, ok := b.Serial[dev]; !ok || s.Port != board.PTY {
			continue
		}
		pl := &plug{h: serialport.NewHotplug(filepath.Join(linkDir, dev)), serve: serve[dev]}
		d.plugs[dev] = pl
		if err := d.plugIn(pl); err != nil {
			d.Close()
			return nil, fmt.Errorf("%s simulator: %w", dev, err)
		}
		if err := b.Attach(dev, pl.h.Path()); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

func (d *Devices) plugIn(pl *plug) error {
	p, err := pl.h.Plug()
	if err != nil {
		return err
	}
	pl.serve(p)
	return nil
}

// deviceNames are the names simctl fault uses for the board's serial devices.
var deviceNames = map[string]string{"reader": "cardreader", "cardreader": "cardreader", "pinpad": "pinpad", "printer": "printer", "modem": "modem", "scanner": "scanner", "chip": "chip", "contactless": "contactless"}

func (d *Devices) plugOf(name string) (*plug, error) {
	pl, ok := d.plugs[deviceNames[name]]
	if !ok {
		have := make([]string, 0, len(deviceNames))
		for n := range deviceNames {
			have = append(have, n)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("no simulated serial device %q (have %s)", name, strings.Join(have, ", "))
	}
	return pl, nil
}

// Unplug takes the named serial device away as pulling its USB cable would: its path
// disappears and the firmware's open port fails.
func (d *Devices) Unplug(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	pl, err := d.plugOf(name)
	if err != nil {
		return err
	}
	if name == "reader" || name == "cardreader" {
		d.Reader.Close()
	}
	return pl.h.Unplug()
}

// Plug brings an unplugged device back on a fresh PTY at the same path, with the state
// its simulator kept (a PIN pad's keys, a printer's paper). Plugging a device that is
// in does nothing.
func (d *Devices) Plug(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	pl, err := d.plugOf(name)
	if err != nil {
		return err
	}
	if pl.h.Plugged() {
		return nil
	}
	return d.plugIn(pl)
}

// Close stops every simulator by unplugging its device.
func (d *Devices) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Reader.Close()
	d.Scanner.Close()
	for _, pl := range d.plugs {
		pl.h.Unplug()
	}
}
