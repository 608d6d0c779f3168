// Package padsim is a simulated PIN pad. It speaks the framed protocol of package
// frame byte for byte over any byte stream — in posfw sim, the controller end of a
// pseudo-terminal — and does what a PIN pad does: it holds a DUKPT initial key
// (ANSI X9.24-1:2009), shows text and prompts, takes a PIN on its keys, builds the ISO
// 9564-1 format 0 PIN block from it and the 12 PAN digits it was sent, encrypts the
// block under the PIN encryption key of its next KSN and answers block and KSN.
//
// Its keys are pressed by Type (digits, then ENTER — what `posfw simctl pin DIGITS`
// does) and PressCancel. A PIN entry nobody finishes ends with a timeout answer when
// the request's timeout passes, as on a real PIN pad.
//
// The simulator never logs or stores a PIN: digits live in one buffer for the length
// of the entry and are zeroed when it ends. Logf, when set, gets the messages with the
// PAN digits, PIN block and key redacted.
package padsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/frame"
	"posfw/drivers/pinpad/iso9564"
)

// The key the simulator holds unless given another: the Base Derivation Key and
// initial KSN of the ANSI X9.24-1:2009 test vectors, so that the host simulator,
// knowing the BDK, derives the same keys.
const (
	TestBDK = "0123456789ABCDEFFEDCBA9876543210"
	TestKSN = "FFFF9876543210E00000"
)

// Errors of the key-pressing methods.
var (
	// ErrIdle: keys were pressed while the PIN pad was not asking for a PIN.
	ErrIdle = errors.New("padsim: the PIN pad is not asking for a PIN")
	// ErrShortPIN: ENTER was pressed with fewer digits than the request's minimum;
	// the PIN pad ignores it and keeps waiting, as a real one does.
	ErrShortPIN = errors.New("padsim: ENTER ignored: PIN shorter than the minimum asked for")
)

// DefaultKeyWait is Sim.KeyWait's default.
const DefaultKeyWait = 2 * time.Second

// idle is what the PIN pad shows when nobody has told it anything.
var idle = [2]string{"WELCOME", ""}

// Sim is one simulated PIN pad. Set its exported fields before Serve.
type Sim struct {
	// Model, Serial and Firmware are what the info command answers.
	Model, Serial, Firmware string
	// Production makes the PIN pad refuse the load key command, as a production
	// PIN pad does (its keys come from a key injection facility).
	Production bool
	// KeyWait is how long Type and PressCancel wait for a PIN entry to begin, so
	// that a script may type as soon as the terminal asks for the PIN.
	KeyWait time.Duration
	// Link tunes the frame link.
	Link frame.LinkConfig
	// Logf, if set, receives a line for each message in and out, secrets redacted.
	Logf func(format string, args ...any)
	// NVRAM is the file that stands for the pad's own memory: its card and journal keys
	// and the journal's anchor. It must not be in the terminal's data directory (a
	// real pad keeps them inside itself). Empty: kept in memory, for tests.
	NVRAM string

	mu      sync.Mutex
	dev     *dukpt.Device
	lines   [2]string
	entry   *entry
	started chan struct{} // closed when an entry starts, then replaced
	link    *frame.Link
	sec     *secrets // loaded from NVRAM or generated at first use (keys.go)
	sess    session  // working keys of the last sign-on (session.go)
}

// entry is a PIN entry in progress.
type entry struct {
	request []byte // the get PIN payload, to recognise a resend
	seq     byte
	pan     string
	amount  int64
	min     int
	max     int
	bypass  bool
	session bool // the PIN block under the PIK, not DUKPT
	digits  []byte
	timer   *time.Timer
}

// testBDK and testKSN are TestBDK and TestKSN as bytes.
var (
	testBDK = dukpt.Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	testKSN = dukpt.KSN{0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x00}
)

// New returns a PIN pad holding the IPEK that TestBDK gives for TestKSN.
func New() *Sim {
	s := &Sim{Model: "POSFW-SIM-PP1", Serial: "SIM0000001", Firmware: "1.0.0",
		lines: idle, started: make(chan struct{})}
	s.LoadKey(dukpt.DeriveIPEK(testBDK, testKSN), testKSN)
	return s
}

// LoadKey injects an initial key and its KSN, replacing the key held; the counter
// starts again from ksn. The caller may wipe ipek afterwards.
func (s *Sim) LoadKey(ipek dukpt.Key, ksn dukpt.KSN) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev != nil {
		s.dev.Wipe()
	}
	s.dev = dukpt.NewDevice(ipek, ksn)
	dukpt.Wipe(ipek[:])
}

// KSN returns the KSN of the last PIN block (or the initial KSN before the first).
func (s *Sim) KSN() dukpt.KSN {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev.KSN()
}

// Screen returns the two lines the PIN pad shows now. During a PIN entry that is the
// amount and one star per digit typed.
func (s *Sim) Screen() [2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen()
}

func (s *Sim) screen() [2]string {
	e := s.entry
	if e == nil {
		return s.lines
	}
	out := [2]string{s.lines[0], "ENTER PIN"}
	if e.amount > 0 {
		out[0] = fmt.Sprintf("AMOUNT %d.%02d", e.amount/100, e.amount%100)
	}
	if len(e.digits) > 0 {
		out[1] = "PIN " + strings.Repeat("*", len(e.digits))
	}
	return out
}

// Serve speaks the protocol on rw until rw fails (the PTY closed). A PIN entry in
// progress then ends without an answer.
func (s *Sim) Serve(rw io.ReadWriter) error {
	link := frame.NewLink(rw, s.Link)
	s.mu.Lock()
	s.link = link
	s.mu.Unlock()
	for {
		select {
		case p := <-link.Frames():
			s.handle(link, p)
			dukpt.Wipe(p)
		case <-link.Done():
			s.mu.Lock()
			if e := s.entry; e != nil {
				s.endLocked(e)
			}
			if s.link == link {
				s.link = nil
			}
			s.mu.Unlock()
			return link.Err()
		}
	}
}

// handle answers one request.
func (s *Sim) handle(link *frame.Link, p []byte) {
	m, err := frame.ParseMessage(p)
	if len(p) < 2 || m.Response {
		return // nothing to answer: a host sends requests only
	}
	s.logf("padsim: <- %v", m)
	switch {
	case errors.Is(err, frame.ErrUnknownCommand):
		s.send(link, m, frame.StatusUnknownCommand)
		return
	case err != nil:
		s.logf("padsim: %v", err)
		s.send(link, m, frame.StatusBadRequest)
		return
	}
	switch m.Command {
	case frame.CmdInfo:
		ksn := s.KSN()
		s.send(link, m, frame.StatusOK,
			frame.Text(frame.TagModel, s.Model),
			frame.Text(frame.TagSerial, s.Serial),
			frame.Text(frame.TagFirmware, s.Firmware),
			frame.Bytes(frame.TagKSN, ksn[:]))
	case frame.CmdDisplay:
		s.mu.Lock()
		busy := s.entry != nil
		if !busy {
			s.lines = [2]string{m.Text(frame.TagLine1), m.Text(frame.TagLine2)}
		}
		s.mu.Unlock()
		s.send(link, m, okUnless(busy))
	case frame.CmdGetPIN:
		s.getPIN(link, m, p)
	case frame.CmdCancel:
		s.mu.Lock()
		e := s.entry
		s.mu.Unlock()
		if e != nil {
			s.finish(e, frame.StatusCancelled)
		}
		s.send(link, m, frame.StatusOK)
	case frame.CmdLoadKey:
		s.loadKey(link, m)
	case frame.CmdCardHash, frame.CmdSeal, frame.CmdAnchor, frame.CmdCheckSeal:
		s.keyed(link, m)
	case frame.CmdLoadTMK, frame.CmdLoadTMKPart, frame.CmdLoadWorkingKeys, frame.CmdMAC, frame.CmdEncryptTrack:
		s.sessionCmd(link, m)
	}
}

func okUnless(busy bool) frame.Status {
	if busy {
		return frame.StatusBusy
	}
	return frame.StatusOK
}

// getPIN starts a PIN entry; it is answered when the entry ends.
func (s *Sim) getPIN(link *frame.Link, m frame.Message, p []byte) {
	min, max := m.Uint(frame.TagMinLen), m.Uint(frame.TagMaxLen)
	tenths := m.Uint(frame.TagTimeout)
	var amount int64
	for _, c := range m.Get(frame.TagAmount) {
		amount = amount*10 + int64(c-'0')
	}
	if min < iso9564.MinPINLength || max > iso9564.MaxPINLength || min > max || tenths == 0 {
		s.send(link, m, frame.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if e := s.entry; e != nil {
		resend := e.seq == m.Seq && bytes.Equal(e.request, p)
		s.mu.Unlock()
		if !resend {
			s.send(link, m, frame.StatusBusy)
		}
		return // a resend of the request in progress: it will be answered
	}
	underPIK := m.Uint(frame.TagFlags)&frame.FlagSessionKey != 0
	if s.dev == nil && !underPIK || underPIK && s.sess.pik == nil {
		s.mu.Unlock()
		s.send(link, m, frame.StatusNoKey)
		return
	}
	e := &entry{
		session: underPIK,
		request: bytes.Clone(p),
		seq:     m.Seq,
		pan:     m.Text(frame.TagPANDigits),
		amount:  amount,
		min:     min,
		max:     max,
		bypass:  m.Uint(frame.TagFlags)&frame.FlagBypass != 0,
		digits:  make([]byte, 0, iso9564.MaxPINLength),
	}
	s.entry = e
	close(s.started)
	s.started = make(chan struct{})
	e.timer = time.AfterFunc(time.Duration(tenths)*100*time.Millisecond, func() {
		s.finish(e, frame.StatusTimeout)
	})
	s.mu.Unlock()
}

func (s *Sim) loadKey(link *frame.Link, m frame.Message) {
	if s.Production {
		s.send(link, m, frame.StatusNotPermitted)
		return
	}
	s.mu.Lock()
	busy := s.entry != nil
	s.mu.Unlock()
	if busy {
		s.send(link, m, frame.StatusBusy)
		return
	}
	var ipek dukpt.Key
	var ksn dukpt.KSN
	copy(ipek[:], m.Get(frame.TagIPEK))
	copy(ksn[:], m.Get(frame.TagKSN))
	s.LoadKey(ipek, ksn)
	s.send(link, m, frame.StatusOK, frame.Bytes(frame.TagKSN, ksn[:]))
}

// send answers request m with status and fields, and waits for the host's ACK.
func (s *Sim) send(link *frame.Link, m frame.Message, status frame.Status, fields ...frame.Field) error {
	r := frame.Message{Command: m.Command, Response: true, Seq: m.Seq, Status: status}
	if status == frame.StatusOK {
		r.Fields = fields
	}
	s.logf("padsim: -> %v", r)
	p, err := r.Marshal(nil)
	if err != nil {
		return err
	}
	defer dukpt.Wipe(p)
	return link.Send(context.Background(), p)
}

func (s *Sim) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// endLocked ends entry e: its timer stops and its digits are zeroed.
func (s *Sim) endLocked(e *entry) {
	s.entry = nil
	e.timer.Stop()
	dukpt.Wipe(e.digits[:cap(e.digits)])
	dukpt.Wipe(e.request)
}

// finish ends entry e, if it is still the one in progress, and answers its get PIN
// request with status and fields.
func (s *Sim) finish(e *entry, status frame.Status, fields ...frame.Field) error {
	s.mu.Lock()
	if s.entry != e {
		s.mu.Unlock()
		return ErrIdle // ended already, by a key, the timer or a cancel
	}
	s.endLocked(e)
	link := s.link
	s.mu.Unlock()
	if link == nil {
		return ErrIdle
	}
	return s.send(link, frame.Message{Command: frame.CmdGetPIN, Seq: e.seq}, status, fields...)
}

// waitEntry returns the PIN entry in progress, waiting up to KeyWait for one.
func (s *Sim) waitEntry() (*entry, error) {
	wait := s.KeyWait
	if wait <= 0 {
		wait = DefaultKeyWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		s.mu.Lock()
		e, started := s.entry, s.started
		s.mu.Unlock()
		if e != nil {
			return e, nil
		}
		select {
		case <-started:
		case <-t.C:
			return nil, ErrIdle
		}
	}
}

// Type presses the digit keys of digits, then ENTER, and returns once the terminal
// has acknowledged the answer. Digits beyond the request's maximum are ignored, as a
// PIN pad's keypad does. ENTER with too few digits is ignored (ErrShortPIN) and the
// entry goes on; with none and bypass allowed, the answer is a bypass.
func (s *Sim) Type(digits string) error {
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return errors.New("padsim: Type takes the digits 0-9 only")
		}
	}
	e, err := s.waitEntry()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.entry != e {
		s.mu.Unlock()
		return ErrIdle
	}
	for i := 0; i < len(digits) && len(e.digits) < e.max; i++ {
		e.digits = append(e.digits, digits[i])
	}
	n := len(e.digits)
	s.mu.Unlock()

	switch {
	case n == 0 && e.bypass:
		return s.finish(e, frame.StatusBypass)
	case n < e.min:
		return ErrShortPIN
	}
	return s.enter(e)
}

// enter encrypts the PIN of entry e and answers with block and KSN.
func (s *Sim) enter(e *entry) error {
	s.mu.Lock()
	if s.entry != e {
		s.mu.Unlock()
		return ErrIdle
	}
	if e.session {
		block, ok := s.sessionPINBlockLocked(e.digits, e.pan)
		s.mu.Unlock()
		if !ok {
			return s.finish(e, frame.StatusNoKey)
		}
		defer dukpt.Wipe(block[:])
		var zero dukpt.KSN
		return s.finish(e, frame.StatusOK, frame.Bytes(frame.TagPINBlock, block[:]), frame.Bytes(frame.TagKSN, zero[:]))
	}
	ksn, key, err := s.dev.Next()
	if err != nil {
		s.mu.Unlock()
		return s.finish(e, frame.StatusNoKey)
	}
	pinKey, err := dukpt.WorkingKey(key, dukpt.PINEncryption)
	if err != nil {
		s.mu.Unlock()
		return s.finish(e, frame.StatusNoKey)
	}
	// The PAN digits stand for a PAN whose check digit was dropped: give
	// iso9564 a placeholder check digit to drop again.
	plain, err := iso9564.Format0(string(e.digits), e.pan+"0")
	s.mu.Unlock()
	if err != nil {
		dukpt.Wipe(pinKey[:])
		return s.finish(e, frame.StatusBadRequest)
	}
	block := dukpt.EncryptPINBlock(pinKey, plain)
	defer dukpt.Wipe(block[:])
	return s.finish(e, frame.StatusOK, frame.Bytes(frame.TagPINBlock, block[:]), frame.Bytes(frame.TagKSN, ksn[:]))
}

// PressCancel presses CANCEL: the PIN entry in progress ends, answered "cancelled".
func (s *Sim) PressCancel() error {
	e, err := s.waitEntry()
	if err != nil {
		return err
	}
	return s.finish(e, frame.StatusCancelled)
}
