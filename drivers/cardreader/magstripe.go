package cardreader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/serialport"
)

// Timing of MagStripe. A reader sends a whole frame in one burst (121 bytes
// take 126 ms at 9600 baud, with no gap between characters), so a line that
// stays quiet for idleGap in the middle of a frame was a partial read.
const (
	pollInterval = 50 * time.Millisecond // how soon a cancelled ctx or Close is noticed
	idleGap      = 200 * time.Millisecond
	minBackoff   = 100 * time.Millisecond // between failed attempts to reopen the port,
	maxBackoff   = 2 * time.Second        // doubling from min to max
)

// MagStripe drives a serial magnetic stripe reader that sends each swipe as
// one ISO/IEC 7813 frame (see package iso7813). It is a Reader.
//
// It opens its port itself, through the open function it was given, and
// reopens it after the device went away: the Read that sees the port fail
// returns ErrDeviceGone, and each later Read tries to reopen it, waiting
// between failed attempts (100 ms doubling to 2 s) so that a caller looping on
// Read does not spin while the reader is unplugged. No goroutine runs between
// Reads.
//
// Read and Close may be called from different goroutines; Reads are served
// one at a time.
type MagStripe struct {
	open serialport.Opener

	readMu  sync.Mutex // held by Read; guards the fields below
	f       *framer
	backoff time.Duration
	retryAt time.Time

	mu     sync.Mutex // guards port
	port   serialport.Port
	done   chan struct{} // closed by Close
	closed sync.Once
}

var _ Reader = (*MagStripe)(nil)

// NewMagStripe returns a reader on the port that open opens, for example
//
//	cardreader.NewMagStripe(serialport.PathOpener("/dev/ttyS2", serialport.Config{Baud: 9600}))
//
// The port is opened by the first Read (or Connect); MagStripe sets its read
// timeout itself.
func NewMagStripe(open serialport.Opener) *MagStripe {
	return &MagStripe{open: open, f: newFramer(), done: make(chan struct{})}
}

// Connect opens the port now, if it is not open, so that a missing reader is
// reported at start-up or in a self-test rather than at the first swipe.
func (m *MagStripe) Connect(ctx context.Context) error {
	m.readMu.Lock()
	defer m.readMu.Unlock()
	_, err := m.connect(ctx)
	return err
}

// Read waits for a swipe. It returns the card presented, or a *ReadError for
// a swipe that could not be used, ErrUseChip (with the Presentation) for a
// chip card, ErrDeviceGone, ErrClosed or ctx.Err().
func (m *MagStripe) Read(ctx context.Context) (Presentation, error) {
	m.readMu.Lock()
	defer m.readMu.Unlock()
	port, err := m.connect(ctx)
	if err != nil {
		return Presentation{}, err
	}
	for {
		if err := m.stopped(ctx); err != nil {
			return Presentation{}, err
		}
		frame, err := m.f.next(port)
		var reject *iso7813.Error
		switch {
		case err == nil:
			return m.present(frame)
		case errors.As(err, &reject):
			return Presentation{}, &ReadError{Cause: err}
		case errors.Is(err, serialport.ErrTimeout):
			if m.f.pending() && time.Since(m.f.last) >= idleGap {
				return Presentation{}, &ReadError{Cause: m.f.abandon()}
			}
		default:
			m.drop(port)
			if err := m.stopped(ctx); errors.Is(err, ErrClosed) {
				return Presentation{}, err
			}
			return Presentation{}, fmt.Errorf("%w: %w", ErrDeviceGone, err)
		}
	}
}

// present parses a frame and wipes it.
func (m *MagStripe) present(frame []byte) (Presentation, error) {
	card, err := iso7813.Parse(frame)
	m.f.reset()
	if err != nil {
		return Presentation{}, &ReadError{Cause: err}
	}
	p := Presentation{Kind: Swiped, Card: card}
	if card.ChipCard() {
		return p, ErrUseChip
	}
	return p, nil
}

// stopped returns ErrClosed once Close was called, else ctx.Err().
func (m *MagStripe) stopped(ctx context.Context) error {
	select {
	case <-m.done:
		return ErrClosed
	default:
		return ctx.Err()
	}
}

// connect returns the open port, opening it if needed, no sooner than the
// backoff allows.
func (m *MagStripe) connect(ctx context.Context) (serialport.Port, error) {
	if err := m.stopped(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	port := m.port
	m.mu.Unlock()
	if port != nil {
		return port, nil
	}
	if wait := time.Until(m.retryAt); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, ErrClosed
		case <-t.C:
		}
	}
	port, err := m.open()
	if err == nil {
		if err = port.SetReadTimeout(pollInterval); err != nil {
			port.Close()
		}
	}
	if err != nil {
		m.backoff = min(max(2*m.backoff, minBackoff), maxBackoff)
		m.retryAt = time.Now().Add(m.backoff)
		return nil, fmt.Errorf("%w: %w", ErrDeviceGone, err)
	}
	m.backoff, m.retryAt = 0, time.Time{}
	m.f.wipe() // bytes of the old connection are not part of the new one's frames
	m.mu.Lock()
	defer m.mu.Unlock()
	if errors.Is(m.stopped(ctx), ErrClosed) {
		port.Close()
		return nil, ErrClosed
	}
	m.port = port
	return port, nil
}

// drop closes a port that failed.
func (m *MagStripe) drop(port serialport.Port) {
	m.mu.Lock()
	owner := m.port == port // not so when Close took it already
	if owner {
		m.port = nil
	}
	m.mu.Unlock()
	if owner {
		port.Close()
	}
	m.f.wipe()
}

// Close closes the port; a pending Read returns ErrClosed promptly, and so
// does every later one.
func (m *MagStripe) Close() error {
	var err error
	m.closed.Do(func() {
		m.mu.Lock()
		close(m.done)
		port := m.port
		m.port = nil
		m.mu.Unlock()
		if port != nil {
			err = port.Close()
		}
		// Wait for a pending Read to end, then wipe what it left.
		m.readMu.Lock()
		m.f.wipe()
		m.readMu.Unlock()
	})
	return err
}

// String names the device and, while it is open, its port.
func (m *MagStripe) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.port == nil {
		return "card reader"
	}
	return "card reader on " + m.port.Path()
}
