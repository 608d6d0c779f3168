package frame

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"posfw/drivers/serialport"
)

// Defaults of LinkConfig.
const (
	DefaultAckTimeout       = time.Second
	DefaultRetries          = 3
	DefaultInterByteTimeout = 200 * time.Millisecond
)

// Errors of a Link.
var (
	// ErrNoAck means the other end did not acknowledge a frame, first try and
	// every resend included.
	ErrNoAck = errors.New("frame: not acknowledged")
	// ErrLinkDown means the byte stream under the link failed: the serial port was
	// closed or the device is gone.
	ErrLinkDown = errors.New("frame: link down")
)

// LinkConfig tunes a Link; a zero field takes its default.
type LinkConfig struct {
	// AckTimeout is how long a sender waits for ACK or NAK before resending. It
	// must exceed the time the largest frame takes on the line.
	AckTimeout time.Duration
	// Retries is how many times a frame is resent after the first attempt.
	Retries int
	// InterByteTimeout is the longest gap allowed between two bytes of one frame.
	InterByteTimeout time.Duration
}

func (c LinkConfig) withDefaults() LinkConfig {
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Retries <= 0 {
		c.Retries = DefaultRetries
	}
	if c.InterByteTimeout <= 0 {
		c.InterByteTimeout = DefaultInterByteTimeout
	}
	return c
}

// received is how many good frames a Link holds for its reader. The protocol has
// one request and one response in flight, so a full queue means nobody is reading.
const received = 16

// Link is one end of a frame link over a byte stream: Send delivers a payload with
// ACK/NAK and resend, and Frames yields the payloads received, each acknowledged as
// it arrived. A Link starts reading at once and stops when the stream fails; closing
// the stream (the serial port) is its owner's business. Send is safe for concurrent
// use; frames go out one at a time.
type Link struct {
	w   io.Writer
	cfg LinkConfig

	wmu sync.Mutex // one Write at a time, so an ACK never lands inside a frame
	smu sync.Mutex // one frame outstanding

	mu     sync.Mutex
	answer chan Kind // where the reader puts ACK or NAK while a Send waits for one
	err    error

	frames chan []byte
	done   chan struct{}
}

// NewLink starts a link on rw. A serialport.ErrTimeout from rw's Read means only that
// no byte came yet; any other error ends the link.
func NewLink(rw io.ReadWriter, c LinkConfig) *Link {
	l := &Link{
		w:      rw,
		cfg:    c.withDefaults(),
		frames: make(chan []byte, received),
		done:   make(chan struct{}),
	}
	go l.read(rw)
	return l
}

// Frames delivers the payloads of the frames received, in order. The receiver owns
// each payload and should wipe it once used: payloads carry PIN blocks and keys.
func (l *Link) Frames() <-chan []byte { return l.frames }

// Done is closed when the link has failed; Err says why.
func (l *Link) Done() <-chan struct{} { return l.done }

// Err returns the failure that ended the link, wrapping ErrLinkDown, or nil while it
// is up.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Send sends payload in a frame and waits for the other end's ACK, resending on NAK
// or silence as the protocol says. It returns nil once the frame was acknowledged.
func (l *Link) Send(ctx context.Context, payload []byte) error {
	f, err := Encode(payload)
	if err != nil {
		return err
	}
	defer wipe(f)

	l.smu.Lock()
	defer l.smu.Unlock()
	answer := make(chan Kind, 1)
	l.mu.Lock()
	l.answer = answer
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.answer = nil
		l.mu.Unlock()
	}()

	attempts := 1 + l.cfg.Retries
	for range attempts {
		if err := l.write(f); err != nil {
			return err
		}
		t := time.NewTimer(l.cfg.AckTimeout)
		select {
		case k := <-answer:
			t.Stop()
			if k == Ack {
				return nil
			}
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-l.done:
			t.Stop()
			return l.Err()
		}
	}
	return fmt.Errorf("%w after %d attempts", ErrNoAck, attempts)
}

func (l *Link) write(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if _, err := l.w.Write(b); err != nil {
		return fmt.Errorf("%w: %v", ErrLinkDown, err)
	}
	return nil
}

// read decodes the stream until it fails, answering frames and passing on ACK/NAK.
func (l *Link) read(r io.Reader) {
	var d Decoder
	buf := make([]byte, 256)
	defer wipe(buf)
	var last time.Time
	for {
		n, err := r.Read(buf)
		if n > 0 {
			now := time.Now()
			if d.InFrame() && now.Sub(last) > l.cfg.InterByteTimeout {
				d.Reset()
			}
			last = now
			for _, c := range buf[:n] {
				if ev, ok := d.Step(c); ok {
					l.handle(ev)
				}
			}
		}
		if err != nil && !errors.Is(err, serialport.ErrTimeout) {
			d.Reset()
			l.mu.Lock()
			l.err = fmt.Errorf("%w: %v", ErrLinkDown, err)
			l.mu.Unlock()
			close(l.done)
			return
		}
	}
}

func (l *Link) handle(ev Event) {
	switch ev.Kind {
	case Ack, Nak:
		l.mu.Lock()
		if l.answer != nil {
			select {
			case l.answer <- ev.Kind:
			default: // a second answer to the same attempt: the first counts
			}
		}
		l.mu.Unlock()
	case Damaged:
		l.write([]byte{NAK})
	case Frame:
		l.write([]byte{ACK})
		select {
		case l.frames <- ev.Payload:
		default:
			// Nobody is reading: drop rather than stop answering ACKs.
			wipe(ev.Payload)
		}
	}
}
