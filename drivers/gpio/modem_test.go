package gpio

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"posfw/drivers/gpio/gpiosim"
)

// TestEC25Table pins the table to the EC25 Hardware Design figures: a change to them
// must be a deliberate change here too.
func TestEC25Table(t *testing.T) {
	const ms = time.Millisecond
	for _, tt := range []struct {
		name            string
		p               Pulse
		min, max, width time.Duration
	}{
		{"power on (PWRKEY ≥ 500 ms)", EC25.PowerOn, 500 * ms, 0, 600 * ms},
		{"power off (PWRKEY ≥ 650 ms)", EC25.PowerOff, 650 * ms, 0, 750 * ms},
		{"reset (RESET_N 150–460 ms)", EC25.Reset, 150 * ms, 460 * ms, 300 * ms},
	} {
		if tt.p.Min != tt.min || tt.p.Max != tt.max || tt.p.Width != tt.width {
			t.Errorf("EC25 %s: table says [%v, %v] driven %v; want [%v, %v] driven %v",
				tt.name, tt.p.Min, tt.p.Max, tt.p.Width, tt.min, tt.max, tt.width)
		}
		if tt.p.Width < tt.min || (tt.max > 0 && tt.p.Width > tt.max) {
			t.Errorf("EC25 %s: drives %v, outside [%v, %v]", tt.name, tt.p.Width, tt.min, tt.max)
		}
	}
}

func TestModemPulses(t *testing.T) {
	ops := []struct {
		name  string
		do    func(*ModemPower, context.Context) error
		reset bool // on the reset line, not the power key
		pulse Pulse
	}{
		{"PowerOn", (*ModemPower).PowerOn, false, EC25.PowerOn},
		{"PowerOff", (*ModemPower).PowerOff, false, EC25.PowerOff},
		{"Reset", (*ModemPower).Reset, true, EC25.Reset},
	}
	for _, active := range []gpio.Level{High, Low} {
		for _, op := range ops {
			clk := gpiosim.NewAutoClock(t0)
			key, rst := simPin("PWRKEY", clk), simPin("RESET", clk)
			m, err := NewModemPower(key, rst, ModemOpts{Active: active, Clock: clk})
			if err != nil {
				t.Fatalf("NewModemPower: %v", err)
			}
			if err := op.do(m, context.Background()); err != nil {
				t.Errorf("%s (active %s) = %v", op.name, active, err)
			}
			pulsed, idle := key, rst
			if op.reset {
				pulsed, idle = rst, key
			}
			h := pulsed.History()
			if len(h) != 3 || h[0].Level != !active || h[1].Level != active || h[2].Level != !active {
				t.Fatalf("%s (active %s): line went %q; want released, asserted, released", op.name, active, trace(pulsed))
			}
			width := h[2].At.Sub(h[1].At)
			if width != op.pulse.Width || width < op.pulse.Min || (op.pulse.Max > 0 && width > op.pulse.Max) {
				t.Errorf("%s (active %s): pulse %v; want %v within [%v, %v]", op.name, active, width, op.pulse.Width, op.pulse.Min, op.pulse.Max)
			}
			if got := idle.Levels(); len(got) != 1 || got[0] != !active {
				t.Errorf("%s (active %s): the other line went %q; want only released", op.name, active, trace(idle))
			}
		}
	}
}

func TestModemPulseCutShort(t *testing.T) {
	clk := gpiosim.NewClock(t0)
	key := simPin("PWRKEY", clk)
	m, err := NewModemPower(key, nil, ModemOpts{Active: High, Clock: clk})
	if err != nil {
		t.Fatalf("NewModemPower: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.PowerOn(ctx) }()
	step(t, clk, 200*time.Millisecond) // not yet the 600 ms
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("PowerOn cancelled after 200ms = %v; want %v", err, context.Canceled)
	}
	if got, want := trace(key), "Low@0s High@0s Low@200ms"; got != want {
		t.Errorf("PWRKEY went %q; want %q (released when cut short)", got, want)
	}
	if err := m.PowerOff(ctx); err == nil {
		t.Errorf("PowerOff with a done context = nil; want an error")
	}
	if got := len(key.History()); got != 3 {
		t.Errorf("PowerOff with a done context drove PWRKEY: %q", trace(key))
	}
}

func TestModemNoResetLine(t *testing.T) {
	m, err := NewModemPower(simPin("PWRKEY", gpiosim.NewAutoClock(t0)), nil, ModemOpts{Clock: gpiosim.NewAutoClock(t0)})
	if err != nil {
		t.Fatalf("NewModemPower: %v", err)
	}
	if err := m.Reset(context.Background()); err == nil {
		t.Errorf("Reset without a reset line = nil; want an error")
	}
}

func TestModemTimingValidation(t *testing.T) {
	const ms = time.Millisecond
	bad := EC25
	bad.PowerOn.Width = 400 * ms
	tooLong := EC25
	tooLong.Reset.Width = 500 * ms
	for _, tt := range []struct {
		timing ModemTiming
		want   string
	}{
		{ModemTiming{}, ""}, // zero: EC25
		{bad, "gpio: modem power-on pulse 400ms is outside [500ms, 0s]"},
		{tooLong, "gpio: modem reset pulse 500ms is outside [150ms, 460ms]"},
	} {
		clk := gpiosim.NewAutoClock(t0)
		m, err := NewModemPower(simPin("K", clk), simPin("R", clk), ModemOpts{Timing: tt.timing, Clock: clk})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("NewModemPower(timing %+v) error = %q; want %q", tt.timing, got, tt.want)
		}
		if err == nil && m.Timing() != EC25 {
			t.Errorf("NewModemPower with zero timing uses %+v; want EC25", m.Timing())
		}
	}
}
