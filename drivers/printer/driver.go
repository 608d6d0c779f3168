package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/serialport"
)

// Options tune an ESCPOS driver. A zero field takes its default.
type Options struct {
	// Baud is the line rate the port runs at (default 9600, the slowest
	// usual setting). A status reply is allowed the time that the bytes
	// still on their way to the printer take on the line.
	Baud int
	// CheckEvery is how many receipt bytes, at least, go between two
	// status checks (default 1024): paper running out is noticed within
	// about that much, and each check idles the line for one round trip.
	CheckEvery int
	// ReplyTimeout is how long the printer may take to answer DLE EOT
	// once the request has reached it (default 1 s).
	ReplyTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultBaud         = 9600
	DefaultCheckEvery   = 1024
	DefaultReplyTimeout = time.Second
)

// Status kinds the driver asks: all of them for Status; for a receipt, the
// two that say whether it can go on (OfflineCause: cover, paper-end stop,
// error; PaperSensor: paper out).
var (
	allKinds   = []escpos.StatusKind{escpos.PrinterStatus, escpos.OfflineCause, escpos.ErrorCause, escpos.PaperSensor}
	printKinds = []escpos.StatusKind{escpos.OfflineCause, escpos.PaperSensor}
)

const (
	// pollInterval bounds each Read, so that a cancelled context is
	// noticed while waiting for a reply.
	pollInterval = 100 * time.Millisecond
	// quietGap is the silence that ends the draining of a late reply.
	quietGap = 50 * time.Millisecond
	// bitsPerByte on an 8N1 line: start, 8 data, stop.
	bitsPerByte = 10
)

// ESCPOS is the driver of an ESC/POS printer on a serial line. Its methods
// are safe for concurrent use; they run one at a time.
//
// It is built on a function that opens the port rather than on an open
// port, so that it can recover by itself: when the device goes away (a USB
// adapter unplugged, the simulator's PTY closed) the call fails with
// ErrDeviceGone, the port is closed, and the next call opens it afresh.
type ESCPOS struct {
	mu     sync.Mutex
	open   serialport.Opener
	port   serialport.Port
	opt    Options
	closed bool
	// desync is set when a reply did not come: it may still, late.
	desync bool
	// afterChunk, when set (by tests), runs after each chunk of a receipt
	// is written and before the status check that follows it.
	afterChunk func(sent int)
}

var _ Printer = (*ESCPOS)(nil)

// New returns a driver that opens its port with open when first used, e.g.
//
//	printer.New(serialport.PathOpener("/dev/ttyS1", serialport.Config{Baud: 115200}),
//		printer.Options{Baud: 115200})
//
// The port needs no read timeout of its own; the driver sets it.
func New(open serialport.Opener, opt Options) *ESCPOS {
	if opt.Baud <= 0 {
		opt.Baud = DefaultBaud
	}
	if opt.CheckEvery <= 0 {
		opt.CheckEvery = DefaultCheckEvery
	}
	if opt.ReplyTimeout <= 0 {
		opt.ReplyTimeout = DefaultReplyTimeout
	}
	return &ESCPOS{open: open, opt: opt}
}

// Status asks the printer for its four status bytes (DLE EOT 1 to 4).
func (p *ESCPOS) Status(ctx context.Context) (escpos.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.query(ctx, allKinds, 0)
}

// Print checks that the printer is ready, then streams receipt in chunks
// of at least Options.CheckEvery bytes, each cut after a line feed and
// followed by a status check, the last one included. It stops at the first
// check that fails, and at once when the device goes away; the error is
// then a *PrintError.
func (p *ESCPOS) Print(ctx context.Context, receipt []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	stop := func(sent int, err error) error {
		return &PrintError{Sent: sent, Total: len(receipt), Err: err}
	}
	if err := p.check(ctx, 0); err != nil {
		return stop(0, err)
	}
	split := newSplitter(receipt)
	for sent := 0; sent < len(receipt); {
		if err := ctx.Err(); err != nil {
			return stop(sent, err)
		}
		end := split.next(sent + p.opt.CheckEvery)
		n, err := p.write(receipt[sent:end])
		sent += n
		if err != nil {
			return stop(sent, err)
		}
		if p.afterChunk != nil {
			p.afterChunk(sent)
		}
		if err := p.check(ctx, n); err != nil {
			return stop(sent, err)
		}
	}
	return nil
}

// Close closes the port; the driver is unusable afterwards.
func (p *ESCPOS) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.port == nil {
		return nil
	}
	err := p.port.Close()
	p.port = nil
	return err
}

// check asks the status that decides whether printing may go on, inflight
// being the receipt bytes just written (and maybe still on the line).
func (p *ESCPOS) check(ctx context.Context, inflight int) error {
	s, err := p.query(ctx, printKinds, inflight)
	if err != nil {
		return err
	}
	return CheckStatus(s)
}

// query sends DLE EOT n for each of kinds in one write and reads the
// replies.
func (p *ESCPOS) query(ctx context.Context, kinds []escpos.StatusKind, inflight int) (escpos.Status, error) {
	port, err := p.connect()
	if err != nil {
		return escpos.Status{}, err
	}
	if p.desync {
		if err := drain(ctx, port, p.opt.ReplyTimeout); err != nil {
			return escpos.Status{}, p.fail(err)
		}
		p.desync = false
	}
	if err := port.Flush(); err != nil {
		return escpos.Status{}, p.fail(gone(err))
	}
	req := make([]byte, 0, 3*len(kinds))
	for _, k := range kinds {
		req = append(req, escpos.StatusRequest(k)...)
	}
	if _, err := p.write(req); err != nil {
		return escpos.Status{}, err
	}
	wait := p.opt.ReplyTimeout + p.lineTime(inflight+len(req)+len(kinds))
	s, err := readReplies(ctx, port, kinds, time.Now().Add(wait))
	if errors.Is(err, ErrNoReply) {
		p.desync = true
	}
	return s, p.fail(err)
}

// connect returns the open port, opening it if need be.
func (p *ESCPOS) connect() (serialport.Port, error) {
	switch {
	case p.closed:
		return nil, ErrClosed
	case p.port != nil:
		return p.port, nil
	}
	port, err := p.open()
	if err != nil {
		return nil, gone(err)
	}
	p.port, p.desync = port, false
	return port, nil
}

// write writes all of b, returning how much was written.
func (p *ESCPOS) write(b []byte) (int, error) {
	sent := 0
	for sent < len(b) {
		n, err := p.port.Write(b[sent:])
		sent += n
		if err != nil {
			return sent, p.fail(gone(err))
		}
		if n == 0 {
			return sent, p.fail(gone(io.ErrShortWrite))
		}
	}
	return sent, nil
}

// fail drops the port when err says the device is gone, so that the next
// call opens it again; it returns err.
func (p *ESCPOS) fail(err error) error {
	if errors.Is(err, ErrDeviceGone) && p.port != nil {
		p.port.Close()
		p.port = nil
	}
	return err
}

// lineTime is how long n bytes take on the line.
func (p *ESCPOS) lineTime(n int) time.Duration {
	return time.Duration(n) * bitsPerByte * time.Second / time.Duration(p.opt.Baud)
}

func gone(err error) error { return fmt.Errorf("%w: %v", ErrDeviceGone, err) }

// readReplies reads one reply to each of kinds, requested in that order,
// before deadline. Bytes that do not have a reply's shape are skipped; the
// reader stops at the last reply and leaves what follows it unread.
func readReplies(ctx context.Context, port serialport.Port, kinds []escpos.StatusKind, deadline time.Time) (escpos.Status, error) {
	var s escpos.Status
	var b [1]byte // byte by byte: nothing after the last reply is consumed
	for got := 0; got < len(kinds); {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		wait := min(max(time.Until(deadline), time.Millisecond), pollInterval)
		if err := port.SetReadTimeout(wait); err != nil {
			return s, gone(err)
		}
		n, err := port.Read(b[:])
		if n == 1 && s.Update(kinds[got], b[0]) == nil {
			got++
			continue
		}
		switch {
		case err == nil:
		case errors.Is(err, serialport.ErrTimeout):
			// The caller's deadline, when it passed during the read, is the reason
			// to give, not the printer's silence (on a loaded machine both pass).
			if err := ctx.Err(); err != nil {
				return s, err
			}
			if !time.Now().Before(deadline) {
				return s, fmt.Errorf("%w to DLE EOT %d", ErrNoReply, kinds[got])
			}
		default:
			return s, gone(err)
		}
	}
	return s, nil
}

// drain reads and drops what the printer sends until it is quiet for
// quietGap, or for at most limit: a reply that came too late must not pass
// for the answer to the next request.
func drain(ctx context.Context, port serialport.Port, limit time.Duration) error {
	if err := port.SetReadTimeout(quietGap); err != nil {
		return gone(err)
	}
	var buf [64]byte
	for end := time.Now().Add(limit); time.Now().Before(end); {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := port.Read(buf[:])
		switch {
		case errors.Is(err, serialport.ErrTimeout):
			return nil
		case err != nil:
			return gone(err)
		}
	}
	return nil
}

// String names the device and, while it is open, its port.
func (p *ESCPOS) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.port == nil {
		return "printer"
	}
	return "printer on " + p.port.Path()
}
