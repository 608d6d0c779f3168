package gpio

import (
	"context"
	"strings"
	"testing"
	"time"

	"posfw/drivers/gpio/gpiosim"
)

// t0 is the fake clocks' start; traces show times relative to it.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// trace renders a pin's history as "Level@offset" words, e.g. "Low@0s High@0s Low@30ms":
// the level sequence, with virtual (fake-clock) times that do not depend on timing.
func trace(p *gpiosim.Pin) string {
	var b strings.Builder
	for i, e := range p.History() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Level.String() + "@" + e.At.Sub(t0).String())
	}
	return b.String()
}

// simPin returns a fresh pin timestamped by clk; it is not registered in gpioreg.
func simPin(name string, clk *gpiosim.Clock) *gpiosim.Pin {
	return gpiosim.NewPin(name, 0, clk.Now)
}

// waitCtx bounds a test's waits on a manual clock, so a broken test fails instead of
// hanging; the deadline is far beyond anything a passing test needs.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// step waits until one goroutine sleeps on clk, then advances clk by d.
func step(t *testing.T, clk *gpiosim.Clock, d time.Duration) {
	t.Helper()
	if err := clk.BlockUntil(waitCtx(t), 1); err != nil {
		t.Fatalf("nothing sleeps on the clock: %v", err)
	}
	clk.Advance(d)
}
