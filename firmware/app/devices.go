package app

import (
	"posfw/board"
	"posfw/drivers/cardreader"
	"posfw/drivers/pinpad"
	"posfw/drivers/printer"
	"posfw/drivers/serialport"
)

// openDevices opens the card reader, PIN pad and printer the board names. A device that
// cannot be opened is left nil and its steps say so on screen; the reader and printer
// reconnect by themselves when their port comes back.
func (a *App) openDevices() {
	b := a.opts.Board
	if usable(b, "cardreader") {
		a.reader = cardreader.NewMagStripe(func() (serialport.Port, error) { return b.OpenSerial("cardreader") })
	}
	if usable(b, "printer") {
		a.printer = printer.New(func() (printer.Port, error) { return b.OpenSerial("printer") }, printer.Options{Baud: b.Serial["printer"].Baud})
	}
	if usable(b, "pinpad") {
		if p, err := b.OpenSerial("pinpad"); err != nil {
			a.log.Warn("PIN pad not available", "err", err)
		} else {
			a.pad = pinpad.New(p, pinpad.Config{})
		}
	}
}

// usable: the board puts the device on a real port or an attached simulator.
func usable(b *board.Board, dev string) bool {
	s, ok := b.Serial[dev]
	return ok && s.Port != board.PTY
}

func (a *App) closeDevices() {
	if a.reader != nil {
		a.reader.Close()
	}
	if a.pad != nil {
		a.pad.Close()
	}
	if a.printer != nil {
		a.printer.Close()
	}
}
