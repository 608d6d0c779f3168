// Package gpio drives the terminal's GPIO lines: the buzzer, the green and red LEDs, the
// printer's paper sensor and the 4G modem's power key and reset line (DESIGN.md §7).
//
// Every device is written against periph.io's pin interfaces (periph.io/x/conn/v3/gpio:
// gpio.PinOut for outputs, gpio.PinIn for inputs), so the same code drives a Raspberry
// Pi's lines after host.Init and the simulator's pins (drivers/gpio/gpiosim). Pins are
// found by name in periph's registry (gpioreg), with the names a board file gives; this
// package does not read board files itself.
//
// The modem's PWRKEY and RESET_N pulse widths follow the Quectel EC25 Hardware Design
// (see EC25 in modem.go for the table and its sources).
//
// All waiting goes through a Clock, so tests run with a fake one and assert levels and
// virtual-time pulse widths, never wall-clock timing.
package gpio

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3"
)

// Level is periph's gpio level, and Low and High its values, repeated here so that
// callers configuring a line's active level need not import periph themselves.
type Level = gpio.Level

// Levels of a line.
const (
	Low  = gpio.Low
	High = gpio.High
)

// Clock is the time source every device waits on. Tests inject a fake one
// (gpiosim.Clock) so that no test depends on timing.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or returns ctx.Err() as soon as ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock. A nil Clock given to a constructor means SystemClock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func clockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock
	}
	return c
}

// InitHost loads periph.io's host drivers (periph.io/x/host/v3 Init), which register the
// board's real pins in gpioreg. Call it once before NewLines on hardware; the simulator
// registers its own pins instead (gpiosim.Register).
func InitHost() (err error) {
	// Host drivers probe memory-mapped registers and sysfs; a driver bug must not take
	// the terminal down, so a panic becomes an error like any other init failure.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gpio: init periph host drivers: panic: %v", r)
		}
	}()
	if _, err := host.Init(); err != nil {
		return fmt.Errorf("gpio: init periph host drivers: %w", err)
	}
	return nil
}

// output is a digital output with an active level: on drives the active level, off the
// other one. It remembers what it last drove so that a pattern writes only changes.
// It is not safe for concurrent use; its owner serialises access.
type output struct {
	pin    gpio.PinOut
	active gpio.Level
	on     bool
}

// newOutput drives p inactive, so a device starts from a known state whatever the
// line did before (a pin left high by a crashed process, a boot-time default).
func newOutput(what string, p gpio.PinOut, active gpio.Level) (*output, error) {
	if p == nil {
		return nil, fmt.Errorf("gpio: %s: no pin", what)
	}
	o := &output{pin: p, active: active}
	if err := o.write(false); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *output) set(on bool) error {
	if on == o.on {
		return nil
	}
	return o.write(on)
}

func (o *output) write(on bool) error {
	l := o.active
	if !on {
		l = !l
	}
	if err := o.pin.Out(l); err != nil {
		return fmt.Errorf("gpio %s: drive %s: %w", o.pin.Name(), l, err)
	}
	o.on = on
	return nil
}
