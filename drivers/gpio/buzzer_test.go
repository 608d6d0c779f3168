package gpio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"posfw/drivers/gpio/gpiosim"
)

func TestBuzzerPatterns(t *testing.T) {
	for _, tt := range []struct {
		pat    Pattern
		active gpio.Level
		want   string
	}{
		{BeepKey, High, "Low@0s High@0s Low@30ms"},
		{BeepApproved, High, "Low@0s High@0s Low@250ms"},
		{BeepDeclined, High, "Low@0s High@0s Low@400ms High@550ms Low@950ms"},
		{BeepError, High, "Low@0s High@0s Low@100ms High@180ms Low@280ms High@360ms Low@460ms"},
		{BeepKey, Low, "High@0s Low@0s High@30ms"},
		{BeepDeclined, Low, "High@0s Low@0s High@400ms Low@550ms High@950ms"},
	} {
		clk := gpiosim.NewAutoClock(t0)
		pin := simPin("BUZ", clk)
		b, err := NewBuzzer(pin, tt.active, clk)
		if err != nil {
			t.Fatalf("NewBuzzer: %v", err)
		}
		if err := b.Play(context.Background(), tt.pat); err != nil {
			t.Fatalf("Play(%s) = %v", tt.pat.Name, err)
		}
		if err := b.Wait(); err != nil {
			t.Errorf("Wait after Play(%s) = %v; want nil", tt.pat.Name, err)
		}
		if got := trace(pin); got != tt.want {
			t.Errorf("Play(%s) active %s: pin went %q; want %q", tt.pat.Name, tt.active, got, tt.want)
		}
	}
}

func TestBuzzerReplace(t *testing.T) {
	for _, tt := range []struct {
		name     string
		first    Pattern
		advances []time.Duration // steps of the first pattern played before the second starts
		second   Pattern
		want     string
	}{
		{
			name: "click cuts a long tone", first: BeepDeclined, advances: []time.Duration{200 * time.Millisecond},
			second: BeepKey,
			want:   "Low@0s High@0s Low@200ms High@200ms Low@230ms",
		},
		{
			name: "click in a gap", first: BeepError, advances: []time.Duration{100 * time.Millisecond, 50 * time.Millisecond},
			second: BeepKey,
			want:   "Low@0s High@0s Low@100ms High@150ms Low@180ms",
		},
		{
			name: "declined replaces error at once", first: BeepError, advances: nil,
			second: BeepDeclined,
			want:   "Low@0s High@0s Low@0s High@0s Low@400ms High@550ms Low@950ms",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := gpiosim.NewClock(t0)
			pin := simPin("BUZ", clk)
			b, err := NewBuzzer(pin, High, clk)
			if err != nil {
				t.Fatalf("NewBuzzer: %v", err)
			}
			ctx := context.Background()
			if err := b.Play(ctx, tt.first); err != nil {
				t.Fatalf("Play(%s) = %v", tt.first.Name, err)
			}
			for _, d := range tt.advances {
				step(t, clk, d)
			}
			if err := clk.BlockUntil(waitCtx(t), 1); err != nil {
				t.Fatalf("first pattern not playing: %v", err)
			}
			if err := b.Play(ctx, tt.second); err != nil {
				t.Fatalf("Play(%s) = %v", tt.second.Name, err)
			}
			for _, s := range tt.second.Steps {
				step(t, clk, s.D)
			}
			if err := b.Wait(); err != nil {
				t.Errorf("Wait = %v", err)
			}
			// Nothing of the first pattern may come back later.
			clk.Advance(time.Minute)
			if got := trace(pin); got != tt.want {
				t.Errorf("%s then %s: pin went %q; want %q", tt.first.Name, tt.second.Name, got, tt.want)
			}
		})
	}
}

func TestBuzzerContextAndStop(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(b *Buzzer, cancel context.CancelFunc) error
	}{
		{"context cancelled", func(_ *Buzzer, cancel context.CancelFunc) error { cancel(); return nil }},
		{"Stop", func(b *Buzzer, _ context.CancelFunc) error { return b.Stop() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := gpiosim.NewClock(t0)
			pin := simPin("BUZ", clk)
			b, err := NewBuzzer(pin, High, clk)
			if err != nil {
				t.Fatalf("NewBuzzer: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := b.Play(ctx, BeepDeclined); err != nil {
				t.Fatalf("Play = %v", err)
			}
			step(t, clk, 100*time.Millisecond)
			if err := clk.BlockUntil(waitCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			if err := tt.end(b, cancel); err != nil {
				t.Fatalf("ending the pattern: %v", err)
			}
			if err := b.Wait(); err != nil {
				t.Errorf("Wait = %v; want nil (being stopped is not an error)", err)
			}
			clk.Advance(time.Minute)
			if got, want := trace(pin), "Low@0s High@0s Low@100ms"; got != want {
				t.Errorf("pin went %q; want %q", got, want)
			}
		})
	}
}

func TestBuzzerBeep(t *testing.T) {
	clk := gpiosim.NewAutoClock(t0)
	pin := simPin("BUZ", clk)
	b, err := NewBuzzer(pin, High, clk)
	if err != nil {
		t.Fatalf("NewBuzzer: %v", err)
	}
	if err := b.Beep(context.Background(), BeepApproved); err != nil {
		t.Errorf("Beep(approved) = %v; want nil", err)
	}
	if got := clk.Now().Sub(t0); got != BeepApproved.Length() {
		t.Errorf("Beep(approved) returned after %v; want %v", got, BeepApproved.Length())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Beep(ctx, BeepApproved); !errors.Is(err, context.Canceled) {
		t.Errorf("Beep with a cancelled context = %v; want %v", err, context.Canceled)
	}
	if got := pin.Level(); got != Low {
		t.Errorf("buzzer line after a cancelled Beep is %s; want Low (silent)", got)
	}
	if err := b.Beep(context.Background(), Pattern{Name: "empty"}); err == nil {
		t.Errorf("Beep(empty pattern) = nil; want an error")
	}
}

func TestPatternValidate(t *testing.T) {
	for _, tt := range []struct {
		p    Pattern
		want string // "" means valid
	}{
		{BeepKey, ""},
		{BeepError, ""},
		{Pattern{Name: "none"}, `gpio: beep pattern "none" has no steps`},
		{Pattern{Name: "zero", Steps: []Step{{On: true}}}, `gpio: beep pattern "zero" step 0: duration 0s is not positive`},
		{Pattern{Name: "neg", Steps: []Step{on(10), {On: false, D: -time.Second}}}, `gpio: beep pattern "neg" step 1: duration -1s is not positive`},
		{Pattern{Name: "long", Steps: []Step{on(3000), off(1000), on(1001)}}, `gpio: beep pattern "long" is longer than 5s`},
		{Pattern{Name: "max", Steps: []Step{on(3000), off(1000), on(1000)}}, ""},
	} {
		err := tt.p.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Pattern %q Validate() = %q; want %q", tt.p.Name, got, tt.want)
		}
	}
}

func TestPatternNamed(t *testing.T) {
	for _, name := range []string{"key", "approved", "declined", "error"} {
		p, err := PatternNamed(name)
		if err != nil || p.Name != name {
			t.Errorf("PatternNamed(%q) = %q, %v; want that pattern", name, p.Name, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("built-in pattern %q: %v", name, err)
		}
	}
	if _, err := PatternNamed("fanfare"); err == nil || !strings.Contains(err.Error(), `"fanfare"`) {
		t.Errorf(`PatternNamed("fanfare") error = %v; want one naming it`, err)
	}
}

// FuzzPattern plays arbitrary patterns: every valid one must play as alternating
// levels that end silent, taking exactly its length; invalid ones must be refused.
func FuzzPattern(f *testing.F) {
	f.Add([]byte{1, 30})
	f.Add([]byte{1, 100, 0, 80, 1, 100})
	f.Add([]byte{1, 10, 1, 10, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Pattern
		for i := 0; i+1 < len(data); i += 2 {
			// Durations in 20 ms units reach past MaxPatternLength with a few steps.
			p.Steps = append(p.Steps, Step{On: data[i]&1 == 1, D: time.Duration(data[i+1]) * 20 * time.Millisecond})
		}
		clk := gpiosim.NewAutoClock(t0)
		pin := simPin("BUZ", clk)
		b, err := NewBuzzer(pin, High, clk)
		if err != nil {
			t.Fatal(err)
		}
		verr := p.Validate()
		perr := b.Play(context.Background(), p)
		if (verr == nil) != (perr == nil) {
			t.Fatalf("Validate() = %v but Play = %v", verr, perr)
		}
		if perr != nil {
			if len(pin.History()) != 1 {
				t.Fatalf("a refused pattern drove the pin: %s", trace(pin))
			}
			return
		}
		if err := b.Wait(); err != nil {
			t.Fatalf("Wait = %v", err)
		}
		h := pin.History()
		for i := 1; i < len(h); i++ {
			if h[i].Level == h[i-1].Level {
				t.Fatalf("pin wrote %s twice in a row: %s", h[i].Level, trace(pin))
			}
		}
		if last := h[len(h)-1].Level; last != Low {
			t.Fatalf("pattern ended with the buzzer %s: %s", last, trace(pin))
		}
		if got := clk.Now().Sub(t0); got != p.Length() {
			t.Fatalf("pattern took %v; want its length %v", got, p.Length())
		}
	})
}
