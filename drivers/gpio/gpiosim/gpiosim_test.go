package gpiosim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestPinRecords(t *testing.T) {
	clk := NewClock(t0)
	p := NewPin("SIM_X", 7, clk.Now)
	var _ gpio.PinIO = p
	for _, tt := range []struct {
		do       func()
		level    gpio.Level
		function string
	}{
		{func() { p.Out(gpio.High) }, gpio.High, "OUT"},
		{func() { clk.Advance(time.Second); p.Out(gpio.Low) }, gpio.Low, "OUT"},
		{func() { p.In(gpio.PullUp, gpio.NoEdge) }, gpio.Low, "IN"}, // a pull does not move a driven line
		{func() { clk.Advance(time.Second); p.Set(gpio.High) }, gpio.High, "IN"},
	} {
		tt.do()
		if p.Read() != tt.level || p.Function() != tt.function {
			t.Errorf("pin is %s %s; want %s %s", p.Function(), p.Read(), tt.function, tt.level)
		}
	}
	want := []Event{{t0, gpio.High}, {t0.Add(time.Second), gpio.Low}, {t0.Add(2 * time.Second), gpio.High}}
	if got := p.History(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("History() = %v; want %v", got, want)
	}
	if p.String() != "SIM_X(7)" || p.Name() != "SIM_X" || p.Number() != 7 || p.Pull() != gpio.PullUp {
		t.Errorf("pin %s: name %q number %d pull %s; want SIM_X(7), PullUp", p, p.Name(), p.Number(), p.Pull())
	}
	if err := p.PWM(gpio.DutyHalf, 0); err == nil {
		t.Errorf("PWM = nil; want not supported")
	}
}

func TestPinHistoryBounded(t *testing.T) {
	clk := NewClock(t0)
	p := NewPin("SIM_X", 0, clk.Now)
	const writes = MaxHistory + 10
	for i := range writes {
		p.Out(i%2 == 0)
		clk.Advance(time.Second)
	}
	// The 10 oldest writes are dropped: the history starts at write 10.
	h := p.History()
	if len(h) != MaxHistory || h[0].At != t0.Add(10*time.Second) || h[len(h)-1].At != t0.Add((writes-1)*time.Second) {
		t.Errorf("after %d writes History() has %d events from %v to %v; want %d from 10s to %ds",
			writes, len(h), h[0].At.Sub(t0), h[len(h)-1].At.Sub(t0), MaxHistory, writes-1)
	}
}

func TestPinEdges(t *testing.T) {
	for _, tt := range []struct {
		edge gpio.Edge
		to   gpio.Level
		want bool
	}{
		{gpio.RisingEdge, gpio.High, true},
		{gpio.RisingEdge, gpio.Low, false},
		{gpio.FallingEdge, gpio.Low, true},
		{gpio.FallingEdge, gpio.High, false},
		{gpio.BothEdges, gpio.Low, true},
		{gpio.NoEdge, gpio.High, false},
	} {
		p := NewPin("SIM_X", 0, nil)
		p.Set(!tt.to)
		p.In(gpio.PullNoChange, tt.edge) // forgets the edge of the line's set-up
		p.Set(tt.to)
		// An edge is latched by Set before WaitForEdge, so a zero timeout suffices.
		if got := p.WaitForEdge(0); got != tt.want {
			t.Errorf("%s, line to %s: WaitForEdge = %t; want %t", tt.edge, tt.to, got, tt.want)
		}
	}
}

func TestRegister(t *testing.T) {
	names := map[string]string{"buzzer": "TREG_BUZZER", "led_red": "TREG_LED_RED"}
	first, err := Register(names)
	if err != nil {
		t.Fatalf("Register = %v", err)
	}
	again, err := Register(names)
	if err != nil {
		t.Fatalf("Register again = %v; want it idempotent", err)
	}
	for fn, name := range names {
		if first[fn] == nil || first[fn] != again[fn] {
			t.Errorf("Register twice gave %s pins %p and %p; want one pin", fn, first[fn], again[fn])
		}
		if got := gpioreg.ByName(name); got != first[fn] {
			t.Errorf("gpioreg.ByName(%q) = %v; want the simulated pin", name, got)
		}
	}

	if gpioreg.ByName("TREG_FOREIGN") == nil {
		if err := gpioreg.Register(NewPin("TREG_FOREIGN", 99, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		names map[string]string
		want  string
	}{
		{map[string]string{"buzzer": "TREG_FOREIGN"}, `gpiosim line buzzer: pin "TREG_FOREIGN": gpioreg: can't register pin "TREG_FOREIGN" twice`},
		{map[string]string{"led_green": ""}, "gpiosim line led_green: empty pin name"},
	} {
		_, err := Register(tt.names)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Register(%v) = %v; want %q...", tt.names, err, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	auto := NewAutoClock(t0)
	if err := auto.Sleep(ctx, 250*time.Millisecond); err != nil || auto.Now() != t0.Add(250*time.Millisecond) {
		t.Errorf("auto clock Sleep(250ms) = %v, now %v; want nil, t0+250ms", err, auto.Now().Sub(t0))
	}

	c := NewClock(t0)
	woke := make(chan error, 1)
	go func() { woke <- c.Sleep(context.Background(), time.Second) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil(1) = %v", err)
	}
	c.Advance(999 * time.Millisecond)
	select {
	case err := <-woke:
		t.Fatalf("Sleep(1s) returned %v after 999ms", err)
	default:
	}
	c.Advance(time.Millisecond)
	if err := <-woke; err != nil {
		t.Errorf("Sleep(1s) after 1s = %v; want nil", err)
	}
	if n := c.Sleepers(); n != 0 {
		t.Errorf("Sleepers() after waking = %d; want 0", n)
	}

	sctx, scancel := context.WithCancel(context.Background())
	go func() { woke <- c.Sleep(sctx, time.Hour) }()
	if err := c.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil(1) = %v", err)
	}
	scancel()
	if err := <-woke; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with its context cancelled = %v; want %v", err, context.Canceled)
	}
	if n := c.Sleepers(); n != 0 {
		t.Errorf("Sleepers() after a cancelled Sleep = %d; want 0", n)
	}
}
