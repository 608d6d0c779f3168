package gpio

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"posfw/drivers/gpio/gpiosim"
)

func TestPaperSensor(t *testing.T) {
	const ms = time.Millisecond
	type sample struct {
		at   time.Duration // since t0
		line gpio.Level
		want bool // Present()
	}
	// debounced is one scenario, written for a sensor whose line is Low over paper;
	// flip turns it into the same scenario for a sensor that is High over paper.
	debounced := []sample{
		{0, Low, true},         // first sample taken as is
		{10 * ms, High, true},  // paper gone? wait 50 ms
		{40 * ms, High, true},  // 30 ms: not yet
		{60 * ms, High, false}, // 50 ms: settled
		{70 * ms, Low, false},  // a flutter starts...
		{80 * ms, High, false}, // ...and is gone: forgotten
		{125 * ms, Low, false}, // paper loaded: starts again from here
		{170 * ms, Low, false}, // 45 ms
		{175 * ms, Low, true},  // 50 ms
		{500 * ms, Low, true},
	}
	flip := func(s []sample) []sample {
		out := make([]sample, len(s))
		for i, x := range s {
			out[i] = sample{x.at, !x.line, x.want}
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		present  gpio.Level
		debounce time.Duration
		samples  []sample
	}{
		{"low means paper", Low, 50 * ms, debounced},
		{"high means paper", High, 50 * ms, flip(debounced)},
		{"no debounce", Low, 0, []sample{
			{0, High, false}, {1 * ms, Low, true}, {2 * ms, High, false}, {2 * ms, Low, true},
		}},
		{"paper out at start", High, 50 * ms, []sample{
			{0, Low, false}, {10 * ms, High, false}, {60 * ms, High, true},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := gpiosim.NewClock(t0)
			pin := simPin("PAPER", clk)
			s, err := NewPaperSensor(pin, PaperOpts{Present: tt.present, Pull: gpio.PullUp, Debounce: tt.debounce, Clock: clk})
			if err != nil {
				t.Fatalf("NewPaperSensor: %v", err)
			}
			if pin.Pull() != gpio.PullUp || pin.Function() != string(gpio.IN) {
				t.Errorf("sensor pin is %s with %s; want an input with PullUp", pin.Function(), pin.Pull())
			}
			for _, x := range tt.samples {
				clk.Advance(t0.Add(x.at).Sub(clk.Now()))
				pin.Set(x.line)
				if got := s.Present(); got != x.want {
					t.Errorf("at %v line %s: Present() = %t; want %t", x.at, x.line, got, x.want)
				}
			}
		})
	}
}

func TestPaperSensorWaitFor(t *testing.T) {
	clk := gpiosim.NewAutoClock(t0)
	pin := simPin("PAPER", clk)
	s, err := NewPaperSensor(pin, PaperOpts{Present: High, Debounce: 40 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatalf("NewPaperSensor: %v", err)
	}
	if s.Present() {
		t.Fatalf("Present() = true with the line Low; want false")
	}
	pin.Set(High) // paper loaded
	if err := s.WaitFor(context.Background(), true); err != nil {
		t.Fatalf("WaitFor(paper) = %v", err)
	}
	if got := clk.Now().Sub(t0); got < 40*time.Millisecond {
		t.Errorf("WaitFor(paper) returned after %v; want at least the 40ms debounce", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitFor(ctx, false); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor(no paper) with paper present and ctx cancelled = %v; want %v", err, context.Canceled)
	}
	if err := s.WaitFor(ctx, true); err != nil {
		t.Errorf("WaitFor(paper) with paper already present = %v; want nil", err)
	}
}

func TestPaperSensorBadDebounce(t *testing.T) {
	_, err := NewPaperSensor(simPin("PAPER", gpiosim.NewClock(t0)), PaperOpts{Debounce: -time.Millisecond})
	if want := "gpio: paper sensor: negative debounce -1ms"; err == nil || err.Error() != want {
		t.Errorf("NewPaperSensor(debounce -1ms) = %v; want %q", err, want)
	}
}
