package gpio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// PaperOpts configures a PaperSensor.
type PaperOpts struct {
	// Present is the level the sensor gives when paper is there. Reflective sensors
	// with an open-collector output usually pull the line Low over paper.
	Present gpio.Level
	// Pull is the pin's internal resistor; the zero value, gpio.PullNoChange, keeps
	// what the board's boot configuration set.
	Pull gpio.Pull
	// Debounce is how long a new level must hold before it counts: paper sliding
	// under the sensor, or a roll's end fluttering, toggles the line for a while.
	Debounce time.Duration
	// Clock timestamps samples; nil means SystemClock.
	Clock Clock
}

// PaperSensor reports whether the printer has paper, from a digital input line.
//
// It debounces by sampling: a level different from the reported one is taken only
// once two samples Debounce or more apart have both seen it with no sample of the old
// level between them. It samples when asked (Present, WaitFor) and keeps no goroutine.
type PaperSensor struct {
	pin gpio.PinIn
	o   PaperOpts

	mu      sync.Mutex
	primed  bool      // a first sample has been taken
	stable  bool      // the reported state: paper present
	pending bool      // the line shows !stable since `since`
	since   time.Time // first sample of the pending level
}

// NewPaperSensor sets p up as an input and returns the sensor on it.
func NewPaperSensor(p gpio.PinIn, o PaperOpts) (*PaperSensor, error) {
	if p == nil {
		return nil, fmt.Errorf("gpio: paper sensor: no pin")
	}
	if o.Debounce < 0 {
		return nil, fmt.Errorf("gpio: paper sensor: negative debounce %v", o.Debounce)
	}
	o.Clock = clockOrSystem(o.Clock)
	if err := p.In(o.Pull, gpio.NoEdge); err != nil {
		return nil, fmt.Errorf("gpio %s: paper sensor input: %w", p.Name(), err)
	}
	return &PaperSensor{pin: p, o: o}, nil
}

// Present samples the line and reports, debounced, whether paper is present. The
// first sample is taken as is: at start-up there is no earlier state to protect.
func (s *PaperSensor) Present() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw := s.pin.Read() == s.o.Present
	now := s.o.Clock.Now()
	switch {
	case !s.primed || s.o.Debounce == 0:
		s.primed, s.stable, s.pending = true, raw, false
	case raw == s.stable:
		s.pending = false // a glitch: the line went back before it settled
	case !s.pending:
		s.pending, s.since = true, now
	case now.Sub(s.since) >= s.o.Debounce:
		s.stable, s.pending = raw, false
	}
	return s.stable
}

// WaitFor samples the line until the debounced state is present (paper there, or
// gone when present is false) or ctx is done.
func (s *PaperSensor) WaitFor(ctx context.Context, present bool) error {
	poll := max(s.o.Debounce/4, 5*time.Millisecond)
	for s.Present() != present {
		if err := s.o.Clock.Sleep(ctx, poll); err != nil {
			return err
		}
	}
	return nil
}
