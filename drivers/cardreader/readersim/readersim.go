// Package readersim is a simulated serial magnetic stripe reader. On a swipe
// it sends the card's tracks as one ISO/IEC 7813 frame — track 1, track 2,
// CR LF, each track with its sentinels and LRC, as package iso7813 defines it —
// byte for byte as a reader does, over any byte stream: in posfw sim, the
// controller end of a pseudo-terminal. The cards are the test card catalogue
// of DESIGN.md §4 (package testcards).
package readersim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/cardreader/testcards"
)

// ErrNotServing is returned by a swipe while the reader is not attached to a
// line.
var ErrNotServing = errors.New("readersim: reader not connected")

// Sim is one simulated reader. Swipes and the fault mode may be changed from
// any goroutine while it serves.
type Sim struct {
	mu      sync.Mutex // guards the fields below
	line    *line      // the line swipes go to, nil when none
	garbage bool
	rng     *rand.Rand

	sendMu sync.Mutex // one frame at a time on the line
}

// line is one attachment to a line.
type line struct {
	w    io.Writer
	done chan struct{} // closed, with err set, when the attachment ends
	err  error
	once sync.Once
}

func (l *line) end(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

// New returns a reader in good order. Its garbage is pseudo-random from a
// fixed seed, so that a failing test sees the same bytes again.
func New() *Sim {
	return &Sim{rng: rand.New(rand.NewPCG(7813, 1))}
}

// Attach connects the reader to w, in place of any line it had: swipes are
// written to w from now on.
//
// A magnetic stripe reader takes no commands, so the simulator never reads
// its line. It must not: a Read pending on a PTY's controller end keeps the
// PTY from closing (creack/pty's file is in blocking mode, so os.File.Close
// defers the close until that Read returns), and the firmware would then not
// see the device go away.
func (s *Sim) Attach(w io.Writer) { s.attach(w) }

func (s *Sim) attach(w io.Writer) *line {
	l := &line{w: w, done: make(chan struct{})}
	s.mu.Lock()
	old := s.line
	s.line = l
	s.mu.Unlock()
	if old != nil {
		old.end(nil)
	}
	return l
}

// Serve is Attach, then waits: it returns the error of a swipe that could not
// be written (the PTY closed), or nil after Close or another Attach. It is
// for running the reader in its own goroutine like the other simulators;
// swipes made before that goroutine attached fail with ErrNotServing, so
// call Attach first where that matters.
func (s *Sim) Serve(w io.Writer) error {
	l := s.attach(w)
	<-l.done
	s.mu.Lock()
	if s.line == l {
		s.line = nil
	}
	s.mu.Unlock()
	return l.err
}

// Close disconnects the reader: Serve returns nil and swipes fail with
// ErrNotServing until the next Attach or Serve.
func (s *Sim) Close() error {
	s.mu.Lock()
	l := s.line
	s.line = nil
	s.mu.Unlock()
	if l != nil {
		l.end(nil)
	}
	return nil
}

// Swipe swipes the named catalogue card: ok, ok2, pin, nsf, expired or
// bad-track (whose track 2 LRC is wrong). It returns once the frame is
// written; like a real line it blocks while the firmware leaves the line's
// buffer full.
func (s *Sim) Swipe(name string) error {
	frame := testcards.Frame(name)
	if frame == nil {
		return fmt.Errorf("readersim: no test card %q (cards: %s)", name, strings.Join(testcards.Names(), ", "))
	}
	return s.send(frame)
}

// SwipeCard swipes a card that is not in the catalogue, such as a chip card.
// c is encoded as it is, unchecked.
func (s *Sim) SwipeCard(c iso7813.Card) error { return s.send(iso7813.Encode(c)) }

// SetGarbage turns the garbage fault on or off (`simctl fault reader=garbage`).
// While it is on, every swipe sends random bytes instead of the frame, ended by
// CR LF, as a reader with a dirty head or on the wrong line rate would.
func (s *Sim) SetGarbage(on bool) {
	s.mu.Lock()
	s.garbage = on
	s.mu.Unlock()
}

func (s *Sim) send(frame []byte) error {
	s.mu.Lock()
	l := s.line
	if s.garbage {
		frame = s.noise()
	}
	s.mu.Unlock()
	if l == nil {
		return ErrNotServing
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if _, err := l.w.Write(frame); err != nil {
		err = fmt.Errorf("readersim: %w", err)
		l.end(err)
		return err
	}
	return nil
}

// noise returns 24 to 71 random bytes, with no LF among them, then CR LF: one
// bad line, so that one swipe in garbage mode is one read error.
func (s *Sim) noise() []byte {
	b := make([]byte, 24+s.rng.IntN(48), 80)
	for i := range b {
		for b[i] = byte(s.rng.Uint32()); b[i] == '\n'; {
			b[i] = byte(s.rng.Uint32())
		}
	}
	return append(b, '\r', '\n')
}
