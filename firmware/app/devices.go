package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"posfw/board"
	"posfw/drivers/cardreader"
	"posfw/drivers/pinpad"
	"posfw/drivers/printer"
	"posfw/drivers/serialport"
)

// openDevices opens the card reader and printer the board names (the PIN pad is
// opened before the journal, openPad). A device that
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
	if ind, err := openIndicators(b.GPIO); err != nil {
		a.log.Warn("buzzer and LEDs not available", "err", err)
	} else {
		a.ind = ind
	}
}

// openPad is the PIN pad the board names (nil if none), opened at its first use.
func openPad(b *board.Board) *padLink {
	if !usable(b, "pinpad") {
		return nil
	}
	return &padLink{open: func() (pinpad.Pad, error) {
		p, err := b.OpenSerial("pinpad")
		if err != nil {
			return nil, err
		}
		return pinpad.New(p, pinpad.Config{}), nil
	}}
}

// padLink opens the PIN pad when first needed and again after it went away (unplugged,
// power-cycled): the driver itself stays dead once its line failed.
type padLink struct {
	mu   sync.Mutex
	open func() (pinpad.Pad, error)
	pad  pinpad.Pad
}

func (l *padLink) get() (pinpad.Pad, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pad == nil {
		p, err := l.open()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", pinpad.ErrDeviceGone, err)
		}
		l.pad = p
	}
	return l.pad, nil
}

// check drops the driver when the pad went away, so that the next call reopens it.
func (l *padLink) check(err error) error {
	if errors.Is(err, pinpad.ErrDeviceGone) {
		l.mu.Lock()
		if l.pad != nil {
			l.pad.Close()
			l.pad = nil
		}
		l.mu.Unlock()
	}
	return err
}

func (l *padLink) Info(ctx context.Context) (pinpad.Info, error) {
	p, err := l.get()
	if err != nil {
		return pinpad.Info{}, err
	}
	i, err := p.Info(ctx)
	return i, l.check(err)
}

func (l *padLink) Display(ctx context.Context, a, b string) error {
	p, err := l.get()
	if err != nil {
		return err
	}
	return l.check(p.Display(ctx, a, b))
}

// GetPIN tries once more on a freshly opened pad when the old one had gone away.
func (l *padLink) GetPIN(ctx context.Context, req pinpad.PINRequest) (pinpad.PINResult, error) {
	for try := 0; ; try++ {
		p, err := l.get()
		if err != nil {
			return pinpad.PINResult{}, err
		}
		res, err := p.GetPIN(ctx, req)
		if l.check(err) == nil || !errors.Is(err, pinpad.ErrDeviceGone) || try == 1 {
			return res, err
		}
	}
}

func (l *padLink) Cancel(ctx context.Context) error {
	p, err := l.get()
	if err != nil {
		return err
	}
	return l.check(p.Cancel(ctx))
}

// CardHash, Seal, Anchor and CheckSeal: the pad's own keys (the card hash, the
// journal's anchor), each tried once more on a freshly opened pad.
func (l *padLink) CardHash(ctx context.Context, pan []byte) (string, error) {
	var h string
	err := l.retry(func(p pinpad.Pad) (err error) { h, err = p.CardHash(ctx, pan); return err })
	return h, err
}

func (l *padLink) Seal(ctx context.Context, id int64, hash []byte) ([]byte, error) {
	var mac []byte
	err := l.retry(func(p pinpad.Pad) (err error) { mac, err = p.Seal(ctx, id, hash); return err })
	return mac, err
}

func (l *padLink) Anchor(ctx context.Context) (int64, []byte, []byte, error) {
	var id int64
	var hash, mac []byte
	err := l.retry(func(p pinpad.Pad) (err error) { id, hash, mac, err = p.Anchor(ctx); return err })
	return id, hash, mac, err
}

func (l *padLink) CheckSeal(ctx context.Context, id int64, hash, mac []byte) (bool, error) {
	var ok bool
	err := l.retry(func(p pinpad.Pad) (err error) { ok, err = p.CheckSeal(ctx, id, hash, mac); return err })
	return ok, err
}

// retry runs f on the pad, and once more on a reopened pad when the first had gone.
func (l *padLink) retry(f func(p pinpad.Pad) error) error {
	for try := 0; ; try++ {
		p, err := l.get()
		if err != nil {
			return err
		}
		err = f(p)
		if l.check(err) == nil || !errors.Is(err, pinpad.ErrDeviceGone) || try == 1 {
			return err
		}
	}
}

func (l *padLink) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pad == nil {
		return nil
	}
	err := l.pad.Close()
	l.pad = nil
	return err
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
