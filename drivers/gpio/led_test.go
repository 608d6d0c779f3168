package gpio

import (
	"context"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"posfw/drivers/gpio/gpiosim"
)

func TestLED(t *testing.T) {
	const ms = time.Millisecond
	for _, tt := range []struct {
		name   string
		active gpio.Level
		run    func(t *testing.T, l *LED, clk *gpiosim.Clock)
		want   string
	}{
		{"on off", High, func(t *testing.T, l *LED, clk *gpiosim.Clock) {
			must(t, l.On())
			clk.Advance(time.Second)
			must(t, l.Off())
		}, "Low@0s High@0s Low@1s"},
		{"active low", Low, func(t *testing.T, l *LED, clk *gpiosim.Clock) {
			must(t, l.Set(true))
			clk.Advance(time.Second)
			must(t, l.Set(false))
		}, "High@0s Low@0s High@1s"},
		{"on twice drives once", High, func(t *testing.T, l *LED, _ *gpiosim.Clock) {
			must(t, l.On())
			must(t, l.On())
		}, "Low@0s High@0s"},
		{"blink two periods then on", High, func(t *testing.T, l *LED, clk *gpiosim.Clock) {
			must(t, l.Blink(context.Background(), 100*ms, 400*ms))
			for _, d := range []time.Duration{100 * ms, 400 * ms, 100 * ms, 400 * ms} {
				step(t, clk, d)
			}
			if err := clk.BlockUntil(waitCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			must(t, l.On()) // replaces blinking while lit: no dark gap
		}, "Low@0s High@0s Low@100ms High@500ms Low@600ms High@1s"},
		{"blink cancelled by context", High, func(t *testing.T, l *LED, clk *gpiosim.Clock) {
			ctx, cancel := context.WithCancel(context.Background())
			must(t, l.Blink(ctx, 100*ms, 100*ms))
			if err := clk.BlockUntil(waitCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			cancel()
			must(t, l.Wait())
		}, "Low@0s High@0s Low@0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := gpiosim.NewClock(t0)
			pin := simPin("LED", clk)
			l, err := NewLED(pin, tt.active, clk)
			if err != nil {
				t.Fatalf("NewLED: %v", err)
			}
			tt.run(t, l, clk)
			clk.Advance(time.Minute) // a blink that survived would show up now
			if got := trace(pin); got != tt.want {
				t.Errorf("LED pin went %q; want %q", got, tt.want)
			}
		})
	}
}

func TestLEDBlinkInvalid(t *testing.T) {
	clk := gpiosim.NewClock(t0)
	l, err := NewLED(simPin("LED", clk), High, clk)
	if err != nil {
		t.Fatalf("NewLED: %v", err)
	}
	for _, d := range [][2]time.Duration{{0, time.Second}, {time.Second, 0}, {-1, -1}} {
		if err := l.Blink(context.Background(), d[0], d[1]); err == nil {
			t.Errorf("Blink(%v, %v) = nil; want an error", d[0], d[1])
		}
	}
}

func TestNoPin(t *testing.T) {
	for _, tt := range []struct {
		name string
		new  func() error
		want string
	}{
		{"buzzer", func() error { _, err := NewBuzzer(nil, High, nil); return err }, "gpio: buzzer: no pin"},
		{"led", func() error { _, err := NewLED(nil, High, nil); return err }, "gpio: led: no pin"},
		{"paper", func() error { _, err := NewPaperSensor(nil, PaperOpts{}); return err }, "gpio: paper sensor: no pin"},
		{"modem", func() error { _, err := NewModemPower(nil, nil, ModemOpts{}); return err }, "gpio: modem power key: no pin"},
	} {
		if err := tt.new(); err == nil || err.Error() != tt.want {
			t.Errorf("New %s with no pin = %v; want %q", tt.name, err, tt.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
