// Package scannersim is a simulated serial barcode scanner, as package
// scanner drives one: it sends each code it is shown as the code's bytes then
// CR LF, and it understands the trigger commands of Honeywell ("SYN T CR" on,
// "SYN U CR" off) and Newland ("~ SOH 0000 #SCNTRG1 ; ETX" on, "#SCNTRG0"
// off, each answered with the same frame and an ACK before the ";", as the
// scanner does). In posfw sim it serves the controller end of a
// pseudo-terminal.
//
// In trigger mode (the default, a scanner built into a terminal) a code
// shown while the terminal has not triggered the scanner is not read, as a
// scanner whose light is off reads nothing; the scanner stops after each good
// read. In presentation mode every code shown is sent.
package scannersim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

var (
	// ErrNotServing is returned by Show while the scanner is not attached to
	// a line (unplugged).
	ErrNotServing = errors.New("scannersim: scanner not connected")
	// ErrNotTriggered is returned by Show when the terminal did not trigger
	// the scanner in time: it is not asking for a code.
	ErrNotTriggered = errors.New("scannersim: the terminal has not triggered the scanner (it is not asking for a code)")
)

// Sim is one simulated scanner. Show may be called from any goroutine while
// it serves.
type Sim struct {
	presentation bool

	mu        sync.Mutex // guards the fields below
	w         io.Writer  // the line codes go to, nil when none
	gen       int        // counts attachments, so an old Serve does not detach a new line
	triggered bool
	changed   chan struct{} // closed and replaced when triggered or w changes
	triggers  int

	sendMu sync.Mutex // one code at a time on the line
}

// New returns a scanner in serial trigger mode.
func New() *Sim { return &Sim{changed: make(chan struct{})} }

// NewPresentation returns a scanner in presentation mode: it reads every
// code shown, triggered or not.
func NewPresentation() *Sim { return &Sim{presentation: true, changed: make(chan struct{})} }

// notify wakes Show's waiters; mu is held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Serve attaches the scanner to rw and reads the terminal's commands from it
// until rw fails (the PTY closed: unplugged), Close or another Serve. It
// returns the read error, nil after Close.
func (s *Sim) Serve(rw io.ReadWriter) error {
	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.w, s.triggered = rw, false
	s.notify()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.gen == gen {
			s.w, s.triggered = nil, false
			s.notify()
		}
		s.mu.Unlock()
	}()
	var cmd []byte
	buf := make([]byte, 256)
	for {
		n, err := rw.Read(buf)
		for _, c := range buf[:n] {
			cmd = s.command(rw, append(cmd, c))
		}
		if err != nil {
			s.mu.Lock()
			mine := s.gen == gen
			s.mu.Unlock()
			if !mine {
				return nil
			}
			return err
		}
	}
}

// command acts on a complete command at the end of cmd and returns what is
// left to wait for; bytes that cannot start a command are dropped.
func (s *Sim) command(w io.Writer, cmd []byte) []byte {
	switch {
	case bytes.Equal(cmd, []byte{0x16, 'T', '\r'}):
		s.setTrigger(true)
		return cmd[:0]
	case bytes.Equal(cmd, []byte{0x16, 'U', '\r'}):
		s.setTrigger(false)
		return cmd[:0]
	case cmd[0] == 0x16 && len(cmd) < 3:
		return cmd
	case cmd[0] == '~':
		if len(cmd) >= 2 && cmd[1] != 0x01 || len(cmd) > 64 {
			return cmd[:0]
		}
		if cmd[len(cmd)-1] != 0x03 {
			return cmd
		}
		body := string(cmd)
		switch body {
		case "~\x010000#SCNTRG1;\x03", "~\x010000@SCNTRG1;\x03":
			s.setTrigger(true)
		case "~\x010000#SCNTRG0;\x03", "~\x010000@SCNTRG0;\x03":
			s.setTrigger(false)
		default:
			return cmd[:0] // not a command this scanner knows: no answer
		}
		// The answer: the command with ACK before its ";".
		answer := append([]byte(body[:len(body)-2]), 0x06, ';', 0x03)
		s.sendMu.Lock()
		w.Write(answer)
		s.sendMu.Unlock()
		return cmd[:0]
	}
	return cmd[:0]
}

func (s *Sim) setTrigger(on bool) {
	s.mu.Lock()
	s.triggered = on
	if on {
		s.triggers++
	}
	s.notify()
	s.mu.Unlock()
}

// Triggered reports whether the terminal has the scanner scanning.
func (s *Sim) Triggered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.triggered
}

// Triggers counts the trigger-on commands received.
func (s *Sim) Triggers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.triggers
}

// Show holds code before the scanner, waiting up to wait for the terminal to
// trigger it (in trigger mode), and sends the code with its CR LF. A code
// with CR or LF in it is refused: the line would carry two codes.
func (s *Sim) Show(ctx context.Context, code string, wait time.Duration) error {
	switch {
	case code == "":
		return errors.New("scannersim: no code to show")
	case strings.ContainsAny(code, "\r\n"):
		return errors.New("scannersim: a code cannot hold CR or LF")
	}
	return s.send(ctx, []byte(code+"\r\n"), wait)
}

// ShowRaw sends line as it is, no suffix added, as a misconfigured or noisy
// scanner would: for tests of what the terminal refuses.
func (s *Sim) ShowRaw(ctx context.Context, line []byte, wait time.Duration) error {
	return s.send(ctx, line, wait)
}

func (s *Sim) send(ctx context.Context, line []byte, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		s.mu.Lock()
		w, ready, changed := s.w, s.triggered || s.presentation, s.changed
		if w != nil && ready {
			s.triggered = false // one good read, then the scanner stops
			s.notify()
		}
		s.mu.Unlock()
		if w != nil && ready {
			s.sendMu.Lock()
			_, err := w.Write(line)
			s.sendMu.Unlock()
			if err != nil {
				return fmt.Errorf("scannersim: %w", err)
			}
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if w == nil {
				return ErrNotServing
			}
			return ErrNotTriggered
		}
	}
}

// Close disconnects the scanner: Serve returns nil and Show fails with
// ErrNotServing until the next Serve.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.gen++
	s.w, s.triggered = nil, false
	s.notify()
	s.mu.Unlock()
	return nil
}
