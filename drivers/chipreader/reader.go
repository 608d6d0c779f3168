package chipreader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/serialport"
)

// Errors of a Reader; test them with errors.Is.
var (
	// ErrNoCard: no card is in the slot or the field.
	ErrNoCard = errors.New("chipreader: no card")
	// ErrMute: the card stopped answering (pulled out, or broken).
	ErrMute = errors.New("chipreader: the card does not answer")
	// ErrDeviceGone: the reader does not answer or its line failed (unplugged); the next
	// call opens the line again.
	ErrDeviceGone = errors.New("chipreader: reader not answering or gone")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("chipreader: closed")
)

// Event is a card arriving in or leaving the reader.
type Event byte

// Options tune a Reader; the zero value gives the defaults.
type Options struct {
	// Name says which reader this is in String and errors ("chip reader").
	Name string
	// AnswerTimeout bounds each request's answer (3 s: a GENERATE AC with an RSA
	// signature takes a slow card over a second).
	AnswerTimeout time.Duration
}

// Reader is a chip card reader on a serial line. It is an apdu.Card for the card in it,
// and tells card arrivals and departures through Wait. Its methods are safe for
// concurrent use; requests go one at a time.
//
// Like every serial driver here it is built on an Opener: when the line fails the
// request fails with ErrDeviceGone, and the next one opens the line again.
type Reader struct {
	open    serialport.Opener
	name    string
	timeout time.Duration

	reqMu sync.Mutex // one request at a time
	mu    sync.Mutex
	line  *line
	event chan Event // card events, the newest kept when nobody waits
	close chan struct{}
	shut  bool
}

type line struct {
	port    serialport.Port
	answers chan []byte
	done    chan struct{}
}

// New returns a reader on the line open opens; the line is opened at the first call.
func New(open serialport.Opener, o Options) *Reader {
	if o.Name == "" {
		o.Name = "chip reader"
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = 3 * time.Second
	}
	return &Reader{open: open, name: o.Name, timeout: o.AnswerTimeout, event: make(chan Event, 8), close: make(chan struct{})}
}

// String names the reader and, while it is open, its port.
func (r *Reader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.line == nil {
		return r.name
	}
	return r.name + " on " + r.line.port.Path()
}

// connect returns the open line, opening it when there is none.
func (r *Reader) connect() (*line, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shut {
		return nil, ErrClosed
	}
	if r.line != nil {
		return r.line, nil
	}
	p, err := r.open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeviceGone, err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w: %v", ErrDeviceGone, err)
	}
	l := &line{port: p, answers: make(chan []byte, 1), done: make(chan struct{})}
	r.line = l
	go r.read(l)
	return l, nil
}

// read takes frames off l until it fails: answers to the request waiting, events to Wait.
func (r *Reader) read(l *line) {
	defer close(l.done)
	var dec Decoder
	buf := make([]byte, 512)
	for {
		n, err := l.port.Read(buf)
		if err != nil && !errors.Is(err, serialport.ErrTimeout) {
			r.drop(l)
			return
		}
		frames, _ := dec.Feed(buf[:n]) // a damaged frame is noise: its request times out
		for _, f := range frames {
			switch {
			case f[0] == CmdEvent && len(f) == 2:
				r.post(Event(f[1]))
			case f[0]&Answer != 0:
				select {
				case l.answers <- f:
				default: // nobody asked: a late answer
				}
			}
		}
	}
}

// post queues an event, dropping the oldest when the queue is full.
func (r *Reader) post(e Event) {
	for {
		select {
		case r.event <- e:
			return
		default:
			select {
			case <-r.event:
			default:
			}
		}
	}
}

// drop closes l if it is still the reader's line.
func (r *Reader) drop(l *line) {
	r.mu.Lock()
	if r.line == l {
		r.line = nil
	}
	r.mu.Unlock()
	l.port.Close()
}

// Wait returns the next card event: EventInserted, EventTapped or EventRemoved. It opens
// the line when it is not open, so that events reach the terminal.
func (r *Reader) Wait(ctx context.Context) (Event, error) {
	if _, err := r.connect(); err != nil {
		return 0, err
	}
	select {
	case e := <-r.event:
		return e, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-r.close:
		return 0, ErrClosed
	}
}

// call sends one request and returns its answer's payload.
func (r *Reader) call(cmd byte, data []byte) ([]byte, error) {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	f, err := Encode(cmd, data)
	if err != nil {
		return nil, err
	}
	l, err := r.connect()
	if err != nil {
		return nil, err
	}
	select { // an answer left over from a request that timed out is not this one's
	case <-l.answers:
	default:
	}
	if _, err := l.port.Write(f); err != nil {
		r.drop(l)
		return nil, fmt.Errorf("%w: %v", ErrDeviceGone, err)
	}
	t := time.NewTimer(r.timeout)
	defer t.Stop()
	select {
	case a := <-l.answers:
		if a[0] != cmd|Answer || len(a) < 2 {
			return nil, fmt.Errorf("%w: answer %q to %q", ErrDeviceGone, a[0], cmd)
		}
		switch a[1] {
		case StatusOK:
			return a[2:], nil
		case StatusNoCard:
			return nil, ErrNoCard
		case StatusMute:
			return nil, ErrMute
		}
		return nil, fmt.Errorf("chipreader: %s refused the request %q (status %d)", r.name, cmd, a[1])
	case <-l.done:
		return nil, fmt.Errorf("%w: the line failed", ErrDeviceGone)
	case <-t.C:
		// A reader that does not answer is reopened at the next request, with a fresh
		// decoder: whatever state the line was left in goes with it.
		r.drop(l)
		return nil, fmt.Errorf("%w: no answer within %v", ErrDeviceGone, r.timeout)
	case <-r.close:
		return nil, ErrClosed
	}
}

// PowerOn powers the card in the reader and returns its ATR (apdu.Card).
func (r *Reader) PowerOn() ([]byte, error) { return r.call(CmdPowerOn, nil) }

// Transmit sends a command APDU and returns the response APDU (apdu.Card).
func (r *Reader) Transmit(apdu []byte) ([]byte, error) { return r.call(CmdTransmit, apdu) }

// PowerOff powers the card off (apdu.Card).
func (r *Reader) PowerOff() error {
	_, err := r.call(CmdPowerOff, nil)
	return err
}

// Close releases the line; calls in progress and later end with ErrClosed.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		return nil
	}
	r.shut = true
	close(r.close)
	l := r.line
	r.line = nil
	r.mu.Unlock()
	if l != nil {
		return l.port.Close()
	}
	return nil
}

// Device is a chip reader as the rest of the firmware sees it: the card in it as an
// apdu.Card, card events, and the resource face. *Reader is one.
type Device interface {
	apdu.Card
	// Wait returns the next card event.
	Wait(ctx context.Context) (Event, error)
	String() string
	Close() error
}

var _ Device = (*Reader)(nil)
