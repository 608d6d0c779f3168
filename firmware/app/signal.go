package app

import (
	"context"

	"posfw/drivers/gpio"
	"posfw/firmware/txn"
)

// indicators are the buzzer and the LEDs that tell the cashier an outcome without
// looking at the screen.
type indicators struct {
	buzzer     *gpio.Buzzer
	green, red *gpio.LED
}

// openIndicators finds the board's buzzer and LED lines; nil when the board's GPIO lines
// are not there (the caller logs why).
func openIndicators(names map[string]string) (*indicators, error) {
	lines, err := gpio.NewLines(names)
	if err != nil {
		return nil, err
	}
	var ind indicators
	if ind.buzzer, err = gpio.NewBuzzer(lines.Buzzer, gpio.High, nil); err != nil {
		return nil, err
	}
	if ind.green, err = gpio.NewLED(lines.LEDGreen, gpio.High, nil); err != nil {
		return nil, err
	}
	if ind.red, err = gpio.NewLED(lines.LEDRed, gpio.High, nil); err != nil {
		return nil, err
	}
	return &ind, nil
}

// outcome beeps and lights green for an approval, red with the long double beep for
// anything else. It returns at once; the pattern plays on.
func (ind *indicators) outcome(ctx context.Context, s txn.Status) {
	if ind == nil {
		return
	}
	ok := s == txn.Approved || s == txn.Recorded
	pat := gpio.BeepDeclined
	if ok {
		pat = gpio.BeepApproved
	}
	ind.buzzer.Play(context.WithoutCancel(ctx), pat)
	ind.green.Set(ok)
	ind.red.Set(!ok)
}
