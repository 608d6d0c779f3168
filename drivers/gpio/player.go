package gpio

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Step is one step of an output pattern: the line is on (or off) for D.
type Step struct {
	On bool
	D  time.Duration
}

// player plays step sequences on an output in a goroutine of its own, one at a time:
// starting a sequence stops the one playing. Both the buzzer and a blinking LED are a
// player; only the sequences differ.
type player struct {
	clk Clock

	mu  sync.Mutex // serialises start/stop/set, and so ownership of out
	out *output    // owned by the running sequence's goroutine while it plays
	cur *run
}

// run is one sequence being played.
type run struct {
	cancel context.CancelFunc
	keep   atomic.Bool // stopped by set: leave the line as it is, set drives it next
	done   chan struct{}
	err    error // set before done is closed
}

// start plays steps (forever if repeat) until they end, ctx is done or another start,
// set or stop replaces them. The line is left off at the end either way.
func (p *player) start(ctx context.Context, steps []Step, repeat bool) *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(false)
	ctx, cancel := context.WithCancel(ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	p.cur = r
	go func() {
		defer close(r.done)
		defer cancel()
		r.err = p.play(ctx, steps, repeat, &r.keep)
	}()
	return r
}

// play drives the steps. Being stopped is how a pattern normally ends early, so it is
// not an error; only a pin that fails to drive is.
func (p *player) play(ctx context.Context, steps []Step, repeat bool, keep *atomic.Bool) (err error) {
	defer func() {
		if keep.Load() {
			return
		}
		if e := p.out.set(false); err == nil {
			err = e
		}
	}()
	for {
		for _, s := range steps {
			if err := p.out.set(s.On); err != nil {
				return err
			}
			if p.clk.Sleep(ctx, s.D) != nil {
				return nil
			}
		}
		if !repeat {
			return nil
		}
	}
}

// stopLocked cancels the playing sequence and waits until its goroutine has let go of
// the line, so nothing it does can land after what the caller drives next. With keep,
// the sequence leaves the line as it is instead of off, so that an LED blinking into
// On does not flash dark in between.
func (p *player) stopLocked(keep bool) {
	if p.cur == nil {
		return
	}
	p.cur.keep.Store(keep)
	p.cur.cancel()
	<-p.cur.done
}

// set stops any sequence and drives the line on or off.
func (p *player) set(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(true)
	return p.out.set(on)
}

// stop stops any sequence; the line is left off.
func (p *player) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(false)
	return p.out.set(false)
}

// wait waits for the current sequence to end and returns its pin error, if any.
func (p *player) wait() error {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	<-r.done
	return r.err
}
