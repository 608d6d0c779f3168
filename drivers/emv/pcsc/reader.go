package pcsc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"posfw/drivers/chipreader"
)

// ErrNotConnected is the error of a reader pcscd does not list (unplugged, or pcscd
// not running); the app shows it as "reader not connected". It matches
// chipreader.ErrDeviceGone.
var ErrNotConnected = fmt.Errorf("reader not connected: %w", chipreader.ErrDeviceGone)

// Options tune a Reader; the zero value gives the defaults.
type Options struct {
	// Socket is pcscd's socket, DefaultSocket when empty.
	Socket string
	// Name says which reader this is in String and errors ("chip reader").
	Name string
	// Arrival is the event a card arriving is reported as: chipreader.EventInserted
	// (the default) for a contact reader, chipreader.EventTapped for a contactless one.
	Arrival chipreader.Event
	// Retry is how often a reader that is gone (or pcscd) is looked for again (1 s).
	Retry time.Duration
}

// Reader is the PC/SC reader whose name is, or contains, a given string: the card in
// it as an apdu.Card, and card arrivals and departures through Wait (from pcscd's
// reader states: a card present is an arrival, absent a removal). It is a
// chipreader.Device, safe for concurrent use; card requests go one at a time.
//
// The card is connected exclusively from PowerOn to PowerOff (no other program talks
// to it in the middle of a payment) and powered off at PowerOff. When the reader or
// pcscd goes away, requests and Wait fail with ErrNotConnected (or another error
// matching chipreader.ErrDeviceGone) and the reader is looked for again until it is
// back: nothing needs reopening.
type Reader struct {
	match string
	o     Options

	reqMu sync.Mutex // one card request at a time; guards cmd and card
	cmd   *Client
	card  *Card

	mu      sync.Mutex
	name    string        // the reader's full name, once seen
	err     error         // why the reader cannot be used now, nil when it can (or not known yet)
	changed chan struct{} // closed and replaced when err changes
	started bool
	mon     *Client
	event   chan chipreader.Event
	close   chan struct{}
	shut    bool
}

var _ chipreader.Device = (*Reader)(nil)

// New returns the reader called match, or whose name contains it (pcscd names a USB
// reader with its slot and serial numbers, "ACS ACR39U ICC Reader 00 00"); nothing is
// opened before the first call.
func New(match string, o Options) *Reader {
	if o.Name == "" {
		o.Name = "chip reader"
	}
	if o.Arrival == 0 {
		o.Arrival = chipreader.EventInserted
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	return &Reader{match: match, o: o, changed: make(chan struct{}), event: make(chan chipreader.Event, 8), close: make(chan struct{})}
}

// String names the reader and the PC/SC reader it is.
func (r *Reader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.name != "" {
		return fmt.Sprintf("%s on PC/SC %q", r.o.Name, r.name)
	}
	return fmt.Sprintf("%s on PC/SC %q", r.o.Name, r.match)
}

// find returns the state of the reader r matches: the one of that exact name, else the
// first whose name contains it.
func (r *Reader) find(states []ReaderState) (ReaderState, bool) {
	for _, s := range states {
		if s.Name == r.match {
			return s, true
		}
	}
	for _, s := range states {
		if strings.Contains(s.Name, r.match) {
			return s, true
		}
	}
	return ReaderState{}, false
}

func (r *Reader) notConnected() error {
	return fmt.Errorf("pcsc: %s %q: %w", r.o.Name, r.match, ErrNotConnected)
}

// notConnectedBy is notConnected for a reason: pcscd not running, gone, or garbled.
// The error matches ErrNotConnected and the cause.
func (r *Reader) notConnectedBy(cause error) error {
	why := strings.TrimPrefix(cause.Error(), chipreader.ErrDeviceGone.Error()+": ")
	return &causedError{fmt.Sprintf("pcsc: %s %q: %v (%s)", r.o.Name, r.match, ErrNotConnected, why), []error{ErrNotConnected, cause}}
}

// causedError is an error with its own message that matches its causes.
type causedError struct {
	msg    string
	causes []error
}

func (e *causedError) Error() string   { return e.msg }
func (e *causedError) Unwrap() []error { return e.causes }

// client returns the connection for card requests, dialing pcscd when there is none.
// The caller holds reqMu.
func (r *Reader) client() (*Client, error) {
	r.mu.Lock()
	shut := r.shut
	r.mu.Unlock()
	if shut {
		return nil, chipreader.ErrClosed
	}
	if r.cmd == nil {
		c, err := Dial(r.o.Socket)
		if err != nil {
			return nil, r.notConnectedBy(err)
		}
		r.cmd = c
	}
	return r.cmd, nil
}

// failed drops what an error made useless: the connection when pcscd is gone, the
// card's handle when the card or the reader is. The caller holds reqMu.
func (r *Reader) failed(err error) error {
	if errors.Is(err, chipreader.ErrDeviceGone) || errors.Is(err, chipreader.ErrMute) {
		r.card = nil
	}
	if r.cmd != nil && r.cmd.Broken() {
		r.cmd.Close()
		r.cmd, r.card = nil, nil
	}
	return err
}

// PowerOn connects to the card in the reader, powering (or resetting) it, and returns
// its ATR (apdu.Card). No card: an error matching chipreader.ErrNoCard.
func (r *Reader) PowerOn() ([]byte, error) {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	if r.card != nil {
		c.Disconnect(*r.card, ResetCard)
		r.card = nil
	}
	states, err := c.ReaderStates()
	if err != nil {
		return nil, r.failed(err)
	}
	s, ok := r.find(states)
	if !ok {
		return nil, r.notConnected()
	}
	r.mu.Lock()
	r.name = s.Name
	r.mu.Unlock()
	card, err := c.Connect(s.Name, ShareExclusive)
	if err != nil {
		return nil, r.failed(err)
	}
	st, err := c.Status(card)
	if err != nil {
		c.Disconnect(card, LeaveCard)
		return nil, r.failed(err)
	}
	r.card = &card
	return st.ATR, nil
}

// Transmit sends a command APDU to the powered card and returns the response APDU
// (apdu.Card).
func (r *Reader) Transmit(apdu []byte) ([]byte, error) {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	if r.card == nil {
		return nil, fmt.Errorf("pcsc: %s: no card powered: %w", r.o.Name, chipreader.ErrNoCard)
	}
	resp, err := r.cmd.Transmit(*r.card, apdu)
	if err != nil {
		return nil, r.failed(err)
	}
	return resp, nil
}

// PowerOff powers the card off and lets it go (SCARD_UNPOWER_CARD) (apdu.Card).
func (r *Reader) PowerOff() error {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	if r.card == nil {
		return nil
	}
	card := *r.card
	r.card = nil
	if err := r.cmd.Disconnect(card, UnpowerCard); err != nil && !errors.Is(err, chipreader.ErrMute) {
		return r.failed(err)
	}
	return nil
}

// Wait returns the next card event: o.Arrival or chipreader.EventRemoved. While the
// reader is not connected it returns an error matching chipreader.ErrDeviceGone, at
// once or when the reader goes away during the wait.
func (r *Reader) Wait(ctx context.Context) (chipreader.Event, error) {
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		return 0, chipreader.ErrClosed
	}
	if !r.started {
		r.started = true
		go r.monitor()
	}
	r.mu.Unlock()
	for {
		// Events that happened come first: a card that went with its reader is told
		// as removed before the reader is told as gone.
		select {
		case e := <-r.event:
			return e, nil
		default:
		}
		r.mu.Lock()
		err, changed := r.err, r.changed
		r.mu.Unlock()
		if err != nil {
			return 0, err
		}
		select {
		case e := <-r.event:
			return e, nil
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-r.close:
			return 0, chipreader.ErrClosed
		}
	}
}

// setErr records whether the reader can be used, waking Wait when that changes.
func (r *Reader) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if (err == nil) == (r.err == nil) {
		r.err = err
		return
	}
	r.err = err
	close(r.changed)
	r.changed = make(chan struct{})
}

// post queues an event, dropping the oldest when the queue is full.
func (r *Reader) post(e chipreader.Event) {
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

// pollEvery bounds each wait for pcscd's signal: a lost signal costs at most this.
const pollEvery = 5 * time.Second

// monitor follows the reader's state in pcscd on a context of its own until Close.
func (r *Reader) monitor() {
	present, events := false, uint32(0)
	gone := func(err error) {
		r.setErr(err)
		if present {
			r.post(chipreader.EventRemoved) // a card in a reader that went is out of reach
			present = false
		}
	}
	for {
		c, err := Dial(r.o.Socket)
		if err == nil {
			r.mu.Lock()
			if r.shut {
				r.mu.Unlock()
				c.Close()
				return
			}
			r.mon = c
			r.mu.Unlock()
			for {
				states, changed, werr := c.WaitChange(pollEvery)
				if werr != nil {
					err = werr
					break
				}
				s, ok := r.find(states)
				if !ok {
					gone(r.notConnected())
				} else {
					r.mu.Lock()
					r.name = s.Name
					r.mu.Unlock()
					r.setErr(nil)
					now := s.Present()
					switch {
					case now && !present:
						r.post(r.o.Arrival)
					case !now && present:
						r.post(chipreader.EventRemoved)
					case now && s.Events != events: // out and in again between two looks
						r.post(chipreader.EventRemoved)
						r.post(r.o.Arrival)
					}
					present, events = now, s.Events
				}
				if _, err = changed(); err != nil {
					break
				}
			}
			c.Close()
		}
		gone(r.notConnectedBy(err))
		select {
		case <-r.close:
			return
		case <-time.After(r.o.Retry):
		}
	}
}

// Close lets the card and pcscd go; calls in progress and later end with
// chipreader.ErrClosed or an error matching chipreader.ErrDeviceGone.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		return nil
	}
	r.shut = true
	close(r.close)
	mon := r.mon
	r.mu.Unlock()
	if mon != nil {
		mon.Close()
	}
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	if r.cmd != nil {
		if r.card != nil {
			r.cmd.Disconnect(*r.card, UnpowerCard)
		}
		r.cmd.Close()
		r.cmd, r.card = nil, nil
	}
	return nil
}
