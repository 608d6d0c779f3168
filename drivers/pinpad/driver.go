package pinpad

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/frame"
	"posfw/drivers/serialport"
)

// Config tunes a Driver; the zero value gives the defaults.
type Config struct {
	// Link sets the frame link's ACK timeout, resends and inter-byte timeout.
	Link frame.LinkConfig
	// AnswerTimeout is how long the PIN pad has to answer a request once it has
	// acknowledged it (2 s by default). A PIN entry gets its own timeout on top.
	AnswerTimeout time.Duration
}

// DefaultAnswerTimeout is Config.AnswerTimeout's default.
const DefaultAnswerTimeout = 2 * time.Second

// Driver is a Pad on a serial line. Its methods are safe for concurrent use: Cancel
// (or Info) may be called while GetPIN waits.
//
// It is built on an Opener rather than an open port, so that it recovers by itself:
// when the pad goes away (unplugged, power-cycled) the call fails with ErrDeviceGone,
// the line is dropped, and the next call opens it afresh. A request that could not
// reach the pad on a line opened before the call is sent once more on a fresh one.
type Driver struct {
	open   serialport.Opener
	cfg    frame.LinkConfig
	answer time.Duration
	name   string

	mu      sync.Mutex
	line    *line // nil until the first call, and after the line failed
	seq     byte
	waiting map[byte]waiter
	closed  bool
}

var _ Pad = (*Driver)(nil)

// line is one opening of the serial port and the frame link on it.
type line struct {
	port io.Closer
	link *frame.Link
}

// waiter is a request waiting for its response.
type waiter struct {
	cmd frame.Command
	ch  chan reply
}

type reply struct {
	m   frame.Message
	err error
}

// New returns a driver for the PIN pad on the serial line that open opens, e.g.
//
//	pinpad.New(serialport.PathOpener("/dev/ttyUSB0", serialport.Config{Baud: 115200}), pinpad.Config{})
//
// The line is opened by the first call. It is best opened without a read timeout:
// the driver keeps its own deadlines.
func New(open serialport.Opener, c Config) *Driver {
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = DefaultAnswerTimeout
	}
	return &Driver{open: open, cfg: c.Link, answer: c.AnswerTimeout, name: "PIN pad", waiting: make(map[byte]waiter)}
}

// String names the device and, once opened, its port.
func (d *Driver) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// connect returns the open line, opening it when there is none. fresh tells whether
// this call opened it.
func (d *Driver) connect() (l *line, fresh bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, false, ErrClosed
	}
	if d.line != nil {
		return d.line, false, nil
	}
	port, err := d.open()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrDeviceGone, err)
	}
	d.name = "PIN pad on " + port.Path()
	l = &line{port: port, link: frame.NewLink(port, d.cfg)}
	d.line = l
	go d.dispatch(l)
	return l, true, nil
}

// drop closes l if it is still the driver's line, so that the next call reopens.
func (d *Driver) drop(l *line) {
	d.mu.Lock()
	if d.line == l {
		d.line = nil
	}
	d.mu.Unlock()
	l.port.Close()
}

// dispatch hands each response on l to the request with its sequence number.
func (d *Driver) dispatch(l *line) {
	for {
		select {
		case p := <-l.link.Frames():
			m, err := frame.ParseMessage(p)
			if len(p) < 2 || !m.Response {
				dukpt.Wipe(p) // the PIN pad sends no requests: noise that passed the LRC
				continue
			}
			d.mu.Lock()
			w, ok := d.waiting[m.Seq]
			if ok && w.cmd == m.Command {
				delete(d.waiting, m.Seq)
			}
			d.mu.Unlock()
			if !ok || w.cmd != m.Command {
				dukpt.Wipe(p) // a late or repeated answer: its request is gone
				continue
			}
			w.ch <- reply{m, err}
		case <-l.link.Done():
			return
		}
	}
}

// call sends req and waits up to wait for its response once the PIN pad has
// acknowledged it. The response's fields are the caller's to wipe.
func (d *Driver) call(ctx context.Context, req frame.Message, wait time.Duration) (frame.Message, error) {
	ch := make(chan reply, 1)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return frame.Message{}, ErrClosed
	}
	d.seq++
	req.Seq = d.seq
	d.waiting[req.Seq] = waiter{req.Command, ch}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if w, ok := d.waiting[req.Seq]; ok && w.ch == ch {
			delete(d.waiting, req.Seq)
		}
		d.mu.Unlock()
	}()

	p, err := req.Marshal(nil)
	req.Wipe()
	if err != nil {
		return frame.Message{}, fmt.Errorf("pinpad: %w", err)
	}
	defer dukpt.Wipe(p)
	for try := 0; ; try++ {
		l, fresh, err := d.connect()
		if err != nil {
			return frame.Message{}, err
		}
		m, sent, err := d.exchange(ctx, l, req.Command, p, ch, wait)
		if err == nil || !errors.Is(err, ErrDeviceGone) {
			return m, err
		}
		d.drop(l)
		// The request never reached the pad on a line opened before this call (it was
		// unplugged and plugged back in since): the caller need not know, try a fresh
		// line once. A request the pad took is never sent twice.
		if sent || fresh || try > 0 {
			return m, err
		}
	}
}

// exchange sends the marshalled request p on l and waits for its answer on ch. sent
// tells whether the pad acknowledged the request.
func (d *Driver) exchange(ctx context.Context, l *line, cmd frame.Command, p []byte, ch chan reply, wait time.Duration) (m frame.Message, sent bool, err error) {
	if err := l.link.Send(ctx, p); err != nil {
		return frame.Message{}, false, d.linkError(cmd, err)
	}
	m, err = d.await(ctx, l, cmd, ch, wait)
	return m, true, err
}

// await waits for the answer to cmd on ch.
func (d *Driver) await(ctx context.Context, l *line, cmd frame.Command, ch chan reply, wait time.Duration) (frame.Message, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			r.m.Wipe()
			return frame.Message{}, fmt.Errorf("%w: %v: malformed answer: %w", ErrDeviceGone, cmd, r.err)
		}
		if r.m.Status != frame.StatusOK {
			return frame.Message{}, statusError(cmd, r.m.Status)
		}
		return r.m, nil
	case <-t.C:
		return frame.Message{}, fmt.Errorf("%w: no answer to %v within %v", ErrDeviceGone, cmd, wait)
	case <-ctx.Done():
		return frame.Message{}, ctx.Err()
	case <-l.link.Done():
		return frame.Message{}, d.linkError(cmd, l.link.Err())
	}
}

func (d *Driver) linkError(cmd frame.Command, err error) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: %v: %w", ErrDeviceGone, cmd, err)
}

// statusErrors maps the PIN pad's refusals to the errors callers match on.
var statusErrors = map[frame.Status]error{
	frame.StatusCancelled:    ErrCancelled,
	frame.StatusTimeout:      ErrTimeout,
	frame.StatusBypass:       ErrBypass,
	frame.StatusBusy:         ErrBusy,
	frame.StatusNoKey:        ErrNoKey,
	frame.StatusNotPermitted: ErrNotPermitted,
	frame.StatusSealConflict: ErrSealConflict,
	frame.StatusBadSeal:      errBadSeal,
}

// errBadSeal is the pad's "no" to a check seal, which CheckSeal turns into false.
var errBadSeal = errors.New("pinpad: the seal is not the PIN pad's")

func statusError(cmd frame.Command, s frame.Status) error {
	if err, ok := statusErrors[s]; ok {
		return err
	}
	// Bad request or unknown command: this driver and the PIN pad disagree on the
	// protocol.
	return fmt.Errorf("pinpad: %v: the PIN pad answered %v", cmd, s)
}

// Info asks the PIN pad for its model, serial number, firmware and KSN.
func (d *Driver) Info(ctx context.Context) (Info, error) {
	m, err := d.call(ctx, frame.Message{Command: frame.CmdInfo}, d.answer)
	if err != nil {
		return Info{}, err
	}
	info := Info{
		Model:    m.Text(frame.TagModel),
		Serial:   m.Text(frame.TagSerial),
		Firmware: m.Text(frame.TagFirmware),
	}
	copy(info.KSN[:], m.Get(frame.TagKSN))
	return info, nil
}

// Display shows line1 and line2 (up to 64 bytes of UTF-8 each) on the PIN pad.
func (d *Driver) Display(ctx context.Context, line1, line2 string) error {
	_, err := d.call(ctx, frame.Message{Command: frame.CmdDisplay, Fields: []frame.Field{
		frame.Text(frame.TagLine1, line1),
		frame.Text(frame.TagLine2, line2),
	}}, d.answer)
	return err
}

// GetPIN has the cardholder enter a PIN on the PIN pad and returns the encrypted
// PIN block and its KSN. The caller wipes the result once the host has answered.
//
// If ctx ends first, the PIN pad is told to cancel the entry and GetPIN returns
// ctx's error.
func (d *Driver) GetPIN(ctx context.Context, req PINRequest) (PINResult, error) {
	return d.getPIN(ctx, req, 0)
}

// getPIN runs a PIN entry with the key flags (0: DUKPT; FlagSessionKey: the PIK) and
// returns the block and, under DUKPT, its KSN.
func (d *Driver) getPIN(ctx context.Context, req PINRequest, flags uint8) (PINResult, error) {
	req, err := req.withDefaults()
	if err != nil {
		return PINResult{}, err
	}
	if req.AllowBypass {
		flags |= frame.FlagBypass
	}
	tenths := (req.Timeout + 99*time.Millisecond) / (100 * time.Millisecond)
	m, err := d.call(ctx, frame.Message{Command: frame.CmdGetPIN, Fields: []frame.Field{
		frame.Text(frame.TagPANDigits, req.PANDigits),
		frame.Text(frame.TagAmount, fmt.Sprintf("%012d", req.Amount)),
		frame.Uint8(frame.TagMinLen, uint8(req.Min)),
		frame.Uint8(frame.TagMaxLen, uint8(req.Max)),
		frame.Uint16(frame.TagTimeout, uint16(tenths)),
		frame.Uint8(frame.TagFlags, flags),
	}}, req.Timeout+d.answer)
	if err != nil {
		if ctx.Err() != nil {
			// The terminal gave up (the cashier cancelled): stop the prompt on the
			// PIN pad too, so the cardholder does not type into nothing.
			cctx, cancel := context.WithTimeout(context.Background(), d.answer)
			d.Cancel(cctx)
			cancel()
		}
		return PINResult{}, err
	}
	var r PINResult
	copy(r.Block[:], m.Get(frame.TagPINBlock))
	if flags&frame.FlagSessionKey == 0 {
		copy(r.KSN[:], m.Get(frame.TagKSN))
	}
	m.Wipe()
	return r, nil
}

// Cancel ends the PIN entry in progress, if any.
func (d *Driver) Cancel(ctx context.Context) error {
	_, err := d.call(ctx, frame.Message{Command: frame.CmdCancel}, d.answer)
	return err
}

// LoadInitialKey injects a DUKPT initial key (IPEK) and its KSN into the PIN pad.
// The key crosses the serial line in clear, so only simulated and development PIN
// pads accept it; a production one answers ErrNotPermitted and is loaded in a key
// injection facility instead. It returns the KSN the PIN pad now holds.
func (d *Driver) LoadInitialKey(ctx context.Context, ipek dukpt.Key, ksn dukpt.KSN) (dukpt.KSN, error) {
	m, err := d.call(ctx, frame.Message{Command: frame.CmdLoadKey, Fields: []frame.Field{
		frame.Bytes(frame.TagIPEK, ipek[:]),
		frame.Bytes(frame.TagKSN, ksn[:]),
	}}, d.answer)
	dukpt.Wipe(ipek[:])
	if err != nil {
		return dukpt.KSN{}, err
	}
	var now dukpt.KSN
	copy(now[:], m.Get(frame.TagKSN))
	return now, nil
}

// CardHash asks the PIN pad for the keyed hash of pan (12 to 19 digits), in hex. The
// PAN crosses the serial line to the pad, as the PAN digits of a PIN block do; the
// caller's slice is left as it was, the driver's copy is wiped. Errors never repeat
// the PAN.
func (d *Driver) CardHash(ctx context.Context, pan []byte) (string, error) {
	if len(pan) < 12 || len(pan) > 19 || !allDigits(pan) {
		return "", errors.New("pinpad: card hash: PAN must be 12 to 19 digits")
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdCardHash, Fields: []frame.Field{
		frame.Bytes(frame.TagPAN, bytes.Clone(pan)), // call wipes the request
	}}, d.answer)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(m.Get(frame.TagCardHash)), nil
}

// Seal has the PIN pad seal a journal head and returns the seal's MAC.
func (d *Driver) Seal(ctx context.Context, id int64, hash []byte) ([]byte, error) {
	if id < 0 || len(hash) != 32 {
		return nil, errors.New("pinpad: seal: want an event id >= 0 and a 32-byte hash")
	}
	m, err := d.call(ctx, frame.Message{Command: frame.CmdSeal, Fields: []frame.Field{
		frame.Uint64(frame.TagEventID, uint64(id)),
		frame.Bytes(frame.TagChainHash, bytes.Clone(hash)),
	}}, d.answer)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(m.Get(frame.TagSealMAC)), nil
}

// Anchor asks the PIN pad for the newest head it sealed.
func (d *Driver) Anchor(ctx context.Context) (int64, []byte, []byte, error) {
	m, err := d.call(ctx, frame.Message{Command: frame.CmdAnchor}, d.answer)
	if err != nil {
		return 0, nil, nil, err
	}
	id := m.Uint64(frame.TagEventID)
	if id > 1<<62 {
		return 0, nil, nil, fmt.Errorf("%w: anchor: event id out of range", ErrDeviceGone)
	}
	return int64(id), bytes.Clone(m.Get(frame.TagChainHash)), bytes.Clone(m.Get(frame.TagSealMAC)), nil
}

// CheckSeal asks the PIN pad whether mac is its seal of (id, hash). The pad only
// answers yes or no: it never gives a MAC for the terminal to compare.
func (d *Driver) CheckSeal(ctx context.Context, id int64, hash, mac []byte) (bool, error) {
	if id < 0 || len(hash) != 32 || len(mac) != 32 {
		return false, nil // not the shape of any seal
	}
	_, err := d.call(ctx, frame.Message{Command: frame.CmdCheckSeal, Fields: []frame.Field{
		frame.Uint64(frame.TagEventID, uint64(id)),
		frame.Bytes(frame.TagChainHash, bytes.Clone(hash)),
		frame.Bytes(frame.TagSealMAC, bytes.Clone(mac)),
	}}, d.answer)
	if errors.Is(err, errBadSeal) {
		return false, nil
	}
	return err == nil, err
}

// Close closes the serial line; calls in progress return ErrClosed.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	l := d.line
	d.line = nil
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.port.Close()
}
