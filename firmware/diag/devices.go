package diag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/board"
	"posfw/drivers/cardreader"
	"posfw/drivers/chipreader"
	"posfw/drivers/gpio"
	"posfw/drivers/pinpad"
	"posfw/drivers/printer"
	"posfw/drivers/printer/escpos"
)

// checkPad asks the PIN pad who it is and which key serial number it is at.
func checkPad(ctx context.Context, pad pinpad.Pad) (string, error) {
	info, err := pad.Info(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s serial %s firmware %s, KSN %s", info.Model, info.Serial, info.Firmware, info.KSN), nil
}

// checkPrinter reads the printer's status and prints a test slip.
func checkPrinter(ctx context.Context, pr printer.Printer) (string, error) {
	st, err := pr.Status(ctx)
	if err != nil {
		return "", err
	}
	if err := printer.CheckStatus(st); err != nil {
		return "", err
	}
	var slip escpos.Builder
	slip.Init().Align(escpos.Center).Bold(true).Line("posfw 自检 SELF TEST").Bold(false).
		Line(time.Now().Format("2006-01-02 15:04:05")).Line("打印正常 PRINTER OK").Feed(3).Cut()
	if err := pr.Print(ctx, slip.Bytes()); err != nil {
		return "", err
	}
	return "ready, test slip printed", nil
}

// connector is a reader that can open its line before the first card (MagStripe).
type connector interface {
	Connect(ctx context.Context) error
}

// checkReader waits for a card swiped by swipe (the simulator), or on hardware checks
// that the reader's port opens: a stripe reader says nothing until a card passes.
func checkReader(ctx context.Context, r cardreader.Reader, swipe func() error) (string, error) {
	if !board.Present(r) {
		return "", fmt.Errorf("card reader: %w", board.ErrAbsent)
	}
	if c, ok := r.(connector); ok {
		if err := c.Connect(ctx); err != nil {
			return "", err
		}
	}
	if swipe == nil {
		return fmt.Sprintf("%v opens; swipe a card to test reading", r), nil
	}
	if err := swipe(); err != nil {
		return "", err
	}
	p, err := r.Read(ctx)
	if err != nil {
		return "", err
	}
	defer p.Wipe()
	return "test card read: " + p.Card.Masked(), nil
}

// checkGPIO sounds a key beep, blinks both LEDs once and reads the paper sensor.
func checkGPIO(ctx context.Context, ind *board.Indicators) (string, error) {
	if ind.Err != nil {
		return "", ind.Err
	}
	if err := ind.Buzzer.Beep(ctx, gpio.BeepKey); err != nil {
		return "", err
	}
	for _, led := range []struct {
		name string
		set  func(bool) error
	}{{"green", ind.Green.Set}, {"red", ind.Red.Set}} {
		if err := errors.Join(led.set(true), led.set(false)); err != nil {
			return "", fmt.Errorf("LED %s: %w", led.name, err)
		}
	}
	paper := "paper present"
	if !ind.PaperSensor.Present() {
		paper = "no paper"
	}
	return "buzzer, LEDs toggled; sensor: " + paper, nil
}

// checkOptional opens the port of a device a board may go without (the scanner): SKIP
// when the board has none, PASS when its port opens.
func checkOptional(ctx context.Context, dev board.Device) (string, error) {
	if !board.Present(dev) {
		return "", ErrSkipped
	}
	if c, ok := dev.(connector); ok {
		if err := c.Connect(ctx); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%v opens", dev), nil
}

// checkChip asks a chip or contactless reader to power the card in it: "no card" is
// the reader answering; a card in it is powered and powered off again. SKIP when the
// board has no such reader.
func checkChip(r chipreader.Device) (string, error) {
	if !board.Present(r) {
		return "", ErrSkipped
	}
	atr, err := r.PowerOn()
	switch {
	case errors.Is(err, chipreader.ErrNoCard):
		return fmt.Sprintf("%v answers, no card in it", r), nil
	case err != nil:
		return "", err
	}
	r.PowerOff()
	return fmt.Sprintf("%v answers, card ATR % X", r, atr), nil
}
