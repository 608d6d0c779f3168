package scanner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"posfw/drivers/serialport"
)

// Timing of Serial. A scanner sends a code in one burst, so a line that stays
// quiet for idleGap before its suffix came never gets one.
const (
	pollInterval = 50 * time.Millisecond // how soon a cancelled ctx or Close is noticed
	idleGap      = 300 * time.Millisecond
	// retrigger: a triggered scanner gives up after its serial read time-out
	// (Honeywell's is a setting, often a few seconds), so a Read that is still
	// waiting triggers it again this often.
	retrigger = 5 * time.Second
)

// Options configure a Serial scanner.
type Options struct {
	// Trigger is how the scanner is started and stopped; "" is TriggerNone.
	Trigger Trigger
}

// Serial drives a scanner on a serial line. It is a Scanner.
//
// It opens its port itself, through the open function it was given, and
// reopens it after the device went away: the Read that sees the port fail
// returns ErrDeviceGone, and each later Read tries to reopen it, waiting
// between failed attempts (100 ms doubling to 2 s). No goroutine runs
// between Reads. Read and Close may be called from different goroutines;
// Reads are served one at a time.
type Serial struct {
	line    *serialport.Redial
	on, off []byte

	readMu sync.Mutex // held by Read; guards f
	f      *framer
	closed sync.Once
}

var _ Scanner = (*Serial)(nil)

// New returns a scanner on the port that open opens, for example
//
//	scanner.New(serialport.PathOpener("/dev/ttyACM0", serialport.Config{Baud: 9600}), scanner.Options{Trigger: scanner.TriggerHoneywell})
//
// The port is opened by the first Read (or Connect).
func New(open serialport.Opener, o Options) *Serial {
	s := &Serial{line: serialport.NewRedial(open, pollInterval), f: newFramer()}
	s.on, s.off = o.Trigger.Commands()
	return s
}

// Connect opens the port now, if it is not open, so that a missing scanner is
// reported at start-up or in a self-test rather than at the first scan.
func (s *Serial) Connect(ctx context.Context) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	_, err := s.connect(ctx)
	return err
}

// Read triggers the scanner and waits for a code; see Scanner. Whatever the
// scanner sent before Read was called is dropped.
func (s *Serial) Read(ctx context.Context) (string, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	port, err := s.connect(ctx)
	if err != nil {
		return "", err
	}
	// A code shown before the terminal asked is not this sale's.
	port.Flush()
	s.f.wipe()
	triggered := false
	var lastTrigger time.Time
	for {
		if err := s.stopped(ctx); err != nil {
			if triggered {
				port.Write(s.off) // best effort: the port may be closing under us
			}
			return "", err
		}
		if s.on != nil && time.Since(lastTrigger) >= retrigger {
			if _, err := port.Write(s.on); err != nil {
				return "", s.fail(ctx, port, err)
			}
			triggered, lastTrigger = true, time.Now()
		}
		code, err := s.f.next(port)
		var bad *CodeError
		switch {
		case err == nil:
			return code, nil // the scanner stops by itself after a good read
		case errors.As(err, &bad):
			if triggered {
				port.Write(s.off)
			}
			return "", err
		case errors.Is(err, serialport.ErrTimeout):
			if s.f.pending() && time.Since(s.f.last) >= idleGap {
				if triggered {
					port.Write(s.off)
				}
				return "", s.f.abandon()
			}
		default:
			return "", s.fail(ctx, port, err)
		}
	}
}

// fail drops a port that failed and says why Read ends.
func (s *Serial) fail(ctx context.Context, port serialport.Port, err error) error {
	s.drop(port)
	if e := s.stopped(ctx); errors.Is(e, ErrClosed) {
		return e
	}
	return fmt.Errorf("%w: %w", ErrDeviceGone, err)
}

// stopped returns ErrClosed once Close was called, else ctx.Err().
func (s *Serial) stopped(ctx context.Context) error {
	select {
	case <-s.line.Done():
		return ErrClosed
	default:
		return ctx.Err()
	}
}

// connect returns the open port, opening it if needed, no sooner than the
// backoff allows.
func (s *Serial) connect(ctx context.Context) (serialport.Port, error) {
	if err := s.stopped(ctx); err != nil {
		return nil, err
	}
	port, fresh, err := s.line.Get(ctx)
	switch {
	case errors.Is(err, serialport.ErrLineClosed):
		return nil, ErrClosed
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrDeviceGone, err)
	}
	if fresh {
		s.f.wipe()
	}
	return port, nil
}

// drop closes a port that failed.
func (s *Serial) drop(port serialport.Port) {
	s.line.Drop(port)
	s.f.wipe()
}

// Close closes the port; a pending Read returns ErrClosed promptly, and so
// does every later one.
func (s *Serial) Close() error {
	var err error
	s.closed.Do(func() {
		err = s.line.Close()
		s.readMu.Lock()
		s.f.wipe()
		s.readMu.Unlock()
	})
	return err
}

// String names the device and, while it is open, its port.
func (s *Serial) String() string {
	if p := s.line.Path(); p != "" {
		return "scanner on " + p
	}
	return "scanner"
}
