package diag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/board"
	"posfw/drivers/cardreader"
	"posfw/drivers/gpio"
	"posfw/drivers/pinpad"
	"posfw/drivers/printer"
	"posfw/drivers/printer/escpos"
	"posfw/drivers/serialport"
)

// checkPad asks the PIN pad who it is and which key serial number it is at.
func checkPad(ctx context.Context, b *board.Board) (string, error) {
	p, err := b.OpenSerial("pinpad")
	if err != nil {
		return "", err
	}
	pad := pinpad.New(p, pinpad.Config{})
	defer pad.Close()
	info, err := pad.Info(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s serial %s firmware %s, KSN %s", info.Model, info.Serial, info.Firmware, info.KSN), nil
}

// checkPrinter reads the printer's status and prints a test slip.
func checkPrinter(ctx context.Context, b *board.Board) (string, error) {
	pr := printer.New(func() (printer.Port, error) { return b.OpenSerial("printer") }, printer.Options{Baud: b.Serial["printer"].Baud})
	defer pr.Close()
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

// checkReader waits for a card swiped by swipe (the simulator), or on hardware checks
// that the reader's port opens: a stripe reader says nothing until a card passes.
func checkReader(ctx context.Context, b *board.Board, swipe func() error) (string, error) {
	if swipe == nil {
		return checkPort(b, "cardreader")
	}
	r := cardreader.NewMagStripe(func() (serialport.Port, error) { return b.OpenSerial("cardreader") })
	defer r.Close()
	if err := r.Connect(ctx); err != nil {
		return "", err
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
func checkGPIO(ctx context.Context, b *board.Board) (string, error) {
	lines, err := gpio.NewLines(b.GPIO)
	if err != nil {
		return "", err
	}
	bz, err := gpio.NewBuzzer(lines.Buzzer, gpio.High, nil)
	if err != nil {
		return "", err
	}
	if err := bz.Beep(ctx, gpio.BeepKey); err != nil {
		return "", err
	}
	for _, pin := range []struct {
		name string
		led  func() (*gpio.LED, error)
	}{
		{"green", func() (*gpio.LED, error) { return gpio.NewLED(lines.LEDGreen, gpio.High, nil) }},
		{"red", func() (*gpio.LED, error) { return gpio.NewLED(lines.LEDRed, gpio.High, nil) }},
	} {
		led, err := pin.led()
		if err != nil {
			return "", fmt.Errorf("LED %s: %w", pin.name, err)
		}
		if err := errors.Join(led.Set(true), led.Set(false)); err != nil {
			return "", fmt.Errorf("LED %s: %w", pin.name, err)
		}
	}
	sensor, err := gpio.NewPaperSensor(lines.PaperSensor, gpio.PaperOpts{Present: gpio.High})
	if err != nil {
		return "", err
	}
	paper := "paper present"
	if !sensor.Present() {
		paper = "no paper"
	}
	return "buzzer, LEDs toggled; sensor: " + paper, nil
}
