package serialport

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Redial holds the serial line of a driver that reads its device in a loop (a card
// reader, a scanner): it opens the line on demand, with the read timeout the driver
// polls with, and again after the driver dropped it, waiting between failed attempts
// (100 ms doubling to 2 s) so that a driver looping while its device is unplugged does
// not spin. Close ends every wait at once.
type Redial struct {
	open Opener
	poll time.Duration

	dial    sync.Mutex // one opening at a time; guards backoff and retryAt
	backoff time.Duration
	retryAt time.Time

	mu     sync.Mutex // guards port
	port   Port
	done   chan struct{}
	closed sync.Once
}

// Backoff between failed attempts to open a Redial's line.
const (
	MinBackoff = 100 * time.Millisecond
	MaxBackoff = 2 * time.Second
)

// ErrLineClosed is returned by Get once Close was called.
var ErrLineClosed = errors.New("serialport: line closed")

// NewRedial returns an unopened line that open opens, with read timeout poll.
func NewRedial(open Opener, poll time.Duration) *Redial {
	return &Redial{open: open, poll: poll, done: make(chan struct{})}
}

// Get returns the open line, opening it when it is not — no sooner than the backoff
// after a failed attempt allows. fresh says this call opened it (bytes of an older
// opening are not part of the new one's frames). It returns ErrLineClosed after Close,
// ctx's error when ctx ends first, and the opener's error when the device is not there.
func (r *Redial) Get(ctx context.Context) (p Port, fresh bool, err error) {
	if p := r.current(); p != nil {
		return p, false, nil
	}
	r.dial.Lock()
	defer r.dial.Unlock()
	if p := r.current(); p != nil {
		return p, false, nil
	}
	if wait := time.Until(r.retryAt); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-r.done:
			return nil, false, ErrLineClosed
		case <-t.C:
		}
	}
	select {
	case <-r.done:
		return nil, false, ErrLineClosed
	default:
	}
	p, err = r.open()
	if err == nil {
		if err = p.SetReadTimeout(r.poll); err != nil {
			p.Close()
		}
	}
	if err != nil {
		r.backoff = min(max(2*r.backoff, MinBackoff), MaxBackoff)
		r.retryAt = time.Now().Add(r.backoff)
		return nil, false, err
	}
	r.backoff, r.retryAt = 0, time.Time{}
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done: // closed while opening
		p.Close()
		return nil, false, ErrLineClosed
	default:
	}
	r.port = p
	return p, true, nil
}

func (r *Redial) current() Port {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.port
}

// Drop closes p, a line that failed, if it is still the current one, so that the next
// Get opens it again.
func (r *Redial) Drop(p Port) {
	r.mu.Lock()
	owner := r.port == p // not so when Close took it already
	if owner {
		r.port = nil
	}
	r.mu.Unlock()
	if owner {
		p.Close()
	}
}

// Done is closed by Close.
func (r *Redial) Done() <-chan struct{} { return r.done }

// Path is the open line's device path, "" while it is not open.
func (r *Redial) Path() string {
	if p := r.current(); p != nil {
		return p.Path()
	}
	return ""
}

// Close closes the line and ends every wait; later Gets return ErrLineClosed.
func (r *Redial) Close() error {
	var err error
	r.closed.Do(func() {
		r.mu.Lock()
		close(r.done)
		p := r.port
		r.port = nil
		r.mu.Unlock()
		if p != nil {
			err = p.Close()
		}
	})
	return err
}
