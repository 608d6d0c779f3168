package gpio

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// LED is a status LED on one output line: on, off, or blinking in the background.
type LED struct {
	p player
}

// NewLED returns the LED on p, lit when p is at level active. A nil clk means
// SystemClock. The LED starts off.
func NewLED(p gpio.PinOut, active gpio.Level, clk Clock) (*LED, error) {
	o, err := newOutput("led", p, active)
	if err != nil {
		return nil, err
	}
	return &LED{p: player{clk: clockOrSystem(clk), out: o}}, nil
}

// Set lights the LED or puts it out, stopping any blinking.
func (l *LED) Set(on bool) error { return l.p.set(on) }

// On lights the LED, stopping any blinking.
func (l *LED) On() error { return l.p.set(true) }

// Off puts the LED out, stopping any blinking.
func (l *LED) Off() error { return l.p.set(false) }

// Blink flashes the LED, lit for on and dark for off, in the background until Set, On,
// Off or another Blink replaces it or ctx is done; the LED is then left off.
func (l *LED) Blink(ctx context.Context, on, off time.Duration) error {
	if on <= 0 || off <= 0 {
		return fmt.Errorf("gpio: led blink %v on, %v off: both must be positive", on, off)
	}
	l.p.start(ctx, []Step{{On: true, D: on}, {On: false, D: off}}, true)
	return nil
}

// Wait waits until blinking (if any) has stopped, and returns the error the pin gave
// meanwhile.
func (l *LED) Wait() error { return l.p.wait() }
