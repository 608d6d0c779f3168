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
	line *serialport.Redial

	readMu sync.Mutex // held by Read; guards f
	f      *framer
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
	return &MagStripe{line: serialport.NewRedial(open, pollInterval), f: newFramer()}
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
	case <-m.line.Done():
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
	port, fresh, err := m.line.Get(ctx)
	switch {
	case errors.Is(err, serialport.ErrLineClosed):
		return nil, ErrClosed
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrDeviceGone, err)
	}
	if fresh {
		m.f.wipe() // bytes of the old connection are not part of the new one's frames
	}
	return port, nil
}

// drop closes a port that failed.
func (m *MagStripe) drop(port serialport.Port) {
	m.line.Drop(port)
	m.f.wipe()
}

// Close closes the port; a pending Read returns ErrClosed promptly, and so
// does every later one.
func (m *MagStripe) Close() error {
	var err error
	m.closed.Do(func() {
		err = m.line.Close()
		// Wait for a pending Read to end, then wipe what it left.
		m.readMu.Lock()
		m.f.wipe()
		m.readMu.Unlock()
	})
	return err
}

// String names the device and, while it is open, its port.
func (m *MagStripe) String() string {
	if p := m.line.Path(); p != "" {
		return "card reader on " + p
	}
	return "card reader"
}
