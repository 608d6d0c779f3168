package gpiosim

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake clock for the gpio package's devices (it implements gpio.Clock).
//
// A manual clock (NewClock) moves only when the test calls Advance: sleepers block
// until then, so a test can stop a pattern half-way and replace it. An auto clock
// (NewAutoClock) moves forward by each Sleep's duration at once, so a whole pattern
// plays instantly while its events keep their virtual times.
type Clock struct {
	auto bool

	mu       sync.Mutex
	now      time.Time
	sleepers []*sleeper
	changed  chan struct{} // closed, and replaced, whenever sleepers changes
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

// NewClock returns a manual clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// NewAutoClock returns an auto clock reading start.
func NewAutoClock(start time.Time) *Clock {
	c := NewClock(start)
	c.auto = true
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits until the clock has moved d on, or until ctx is done (then returning
// ctx.Err()). On an auto clock it moves the clock d on and returns.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.auto || d <= 0 {
		c.now = c.now.Add(max(d, 0))
		c.mu.Unlock()
		return nil
	}
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.notifyLocked()
	c.mu.Unlock()

	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, x := range c.sleepers {
			if x == s {
				c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
				c.notifyLocked()
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the clock d on and wakes the sleepers whose time has come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.until.After(c.now) {
			keep = append(keep, s)
		} else {
			close(s.wake)
		}
	}
	clear(c.sleepers[len(keep):])
	c.sleepers = keep
	c.notifyLocked()
}

// Sleepers returns how many goroutines are sleeping on the clock.
func (c *Clock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// BlockUntil waits until n goroutines sleep on the clock, or ctx is done: a test calls
// it to know that a pattern has reached a step before it acts.
func (c *Clock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.sleepers) >= n {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
