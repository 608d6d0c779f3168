package gpio

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pattern is a beep: a named sequence of on/off steps for the buzzer.
type Pattern struct {
	Name  string
	Steps []Step
}

// MaxPatternLength bounds a pattern's total duration, so that a mistyped pattern
// cannot hold the buzzer on for minutes.
const MaxPatternLength = 5 * time.Second

func on(ms int) Step  { return Step{On: true, D: time.Duration(ms) * time.Millisecond} }
func off(ms int) Step { return Step{On: false, D: time.Duration(ms) * time.Millisecond} }

// The terminal's beeps. A key click is short enough not to lag fast typing; the
// outcomes differ in rhythm, not only length, so a cashier can tell them apart without
// looking: approved is one clear beep, declined two long ones, an error three short.
var (
	BeepKey      = Pattern{Name: "key", Steps: []Step{on(30)}}
	BeepApproved = Pattern{Name: "approved", Steps: []Step{on(250)}}
	BeepDeclined = Pattern{Name: "declined", Steps: []Step{on(400), off(150), on(400)}}
	BeepError    = Pattern{Name: "error", Steps: []Step{on(100), off(80), on(100), off(80), on(100)}}
)

// Patterns are the beeps by name, for the simulator's control socket and the
// technician menu.
var Patterns = []Pattern{BeepKey, BeepApproved, BeepDeclined, BeepError}

// PatternNamed returns the pattern called name.
func PatternNamed(name string) (Pattern, error) {
	for _, p := range Patterns {
		if p.Name == name {
			return p, nil
		}
	}
	return Pattern{}, fmt.Errorf("gpio: no beep pattern %q", name)
}

// Validate reports whether p can be played: at least one step, every step longer than
// zero, at most MaxPatternLength in all.
func (p Pattern) Validate() error {
	if len(p.Steps) == 0 {
		return fmt.Errorf("gpio: beep pattern %q has no steps", p.Name)
	}
	var total time.Duration
	for i, s := range p.Steps {
		if s.D <= 0 {
			return fmt.Errorf("gpio: beep pattern %q step %d: duration %v is not positive", p.Name, i, s.D)
		}
		total += s.D
		if total > MaxPatternLength {
			return fmt.Errorf("gpio: beep pattern %q is longer than %v", p.Name, MaxPatternLength)
		}
	}
	return nil
}

// Length is how long p plays.
func (p Pattern) Length() time.Duration {
	var total time.Duration
	for _, s := range p.Steps {
		total += s.D
	}
	return total
}

// Buzzer is an on/off (active) buzzer on one output line.
type Buzzer struct {
	p player
}

// NewBuzzer returns the buzzer on p, which sounds when p is at level active (High for
// a buzzer switched by an NPN transistor). A nil clk means SystemClock.
// The buzzer starts silent.
func NewBuzzer(p gpio.PinOut, active gpio.Level, clk Clock) (*Buzzer, error) {
	o, err := newOutput("buzzer", p, active)
	if err != nil {
		return nil, err
	}
	return &Buzzer{p: player{clk: clockOrSystem(clk), out: o}}, nil
}

// Play starts pattern pat and returns at once. A pattern still playing is cut off
// first, so the newest event is the one heard (a key click does not queue behind a
// long "declined"). The pattern also stops when ctx is done, so pass a context that
// lives as long as the beep should, not one cancelled when the caller returns.
func (b *Buzzer) Play(ctx context.Context, pat Pattern) error {
	if err := pat.Validate(); err != nil {
		return err
	}
	b.p.start(ctx, pat.Steps, false)
	return nil
}

// Beep plays pat and returns when it has ended, was replaced by another Play, or ctx
// is done (then with ctx.Err()).
func (b *Buzzer) Beep(ctx context.Context, pat Pattern) error {
	if err := pat.Validate(); err != nil {
		return err
	}
	r := b.p.start(ctx, pat.Steps, false)
	<-r.done
	if r.err != nil {
		return r.err
	}
	return ctx.Err()
}

// Wait waits until the pattern playing (if any) ends, and returns the error the pin
// gave while it played.
func (b *Buzzer) Wait() error { return b.p.wait() }

// Stop silences the buzzer at once.
func (b *Buzzer) Stop() error { return b.p.stop() }
