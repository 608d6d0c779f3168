// Package scanner drives serial barcode and QR code scanners in their serial
// mode: the scanner sends each code it reads as ASCII (UTF-8 for a QR code
// that carries it) followed by a CR LF suffix, the factory suffix of serial
// scanners and the one a terminal's integrator sets. Scanners behind a
// USB-serial adapter (USB CDC-ACM, "USB COM port emulation") are the same
// to this package.
//
// A scanner built into a terminal has no trigger button the cashier presses:
// the terminal triggers it by a serial command when it wants a code and stops
// it when it no longer does. The commands are the manufacturers':
//
//   - Honeywell (and the many engines that copy its command set: Datalogic,
//     NCR RealScan, Canmax): in Manual/Serial Trigger Mode, "SYN T CR"
//     (16 54 0D) activates the scanner and "SYN U CR" (16 55 0D) deactivates
//     it; the scanner stops by itself after one good read or its serial
//     read time-out (Honeywell 1250g and 4820 user guides, "Serial Trigger
//     Commands", chapter "Serial Programming Commands").
//   - Newland (NLS-HR and EM/FM engines): commands framed as
//     "~ SOH 0000 # ... ; ETX" (7E 01 30 30 30 30 ... 3B 03; Newland "Serial
//     Programming Command Manual", Command Syntax, and the NLS-HR52 user
//     manual), "#SCNTRG1" starting a scan in command-triggered mode and
//     "#SCNTRG0" stopping it. The scanner answers each command with the same
//     frame, an ACK (06) inserted before the ";"; those answers are not codes
//     and are dropped.
//
// With TriggerNone the scanner is left in its presentation (auto-sense) mode
// and simply sends what it sees.
//
// A code shown to the scanner before the terminal asked for one is dropped,
// not returned by the next Read: a customer's payment code is valid for a
// minute or so and belongs to the sale it was shown for.
//
// # Payment codes
//
// A customer-presented payment code (付款码) is a bearer credential while it
// lives. Errors of this package never contain a code's characters, only why
// a line was refused and where.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Scanner is a barcode scanner as a flow sees it.
type Scanner interface {
	// Read triggers the scanner (when it needs triggering), waits for one
	// code and returns it. A line that is not a code is a *CodeError; a
	// scanner that went away ErrDeviceGone; ctx's end ctx.Err().
	Read(ctx context.Context) (string, error)
	// Close releases the device; a pending Read returns ErrClosed.
	Close() error
	// String names the device and where it is.
	String() string
}

// MaxCode is the longest code taken, in bytes: the most a QR code holds
// (version 40, numeric mode, 7089 digits). A longer line is refused.
const MaxCode = 7089

var (
	// ErrDeviceGone: the scanner is not connected (its port failed or could
	// not be opened); a later Read tries to open it again.
	ErrDeviceGone = errors.New("scanner not connected")
	// ErrClosed: the Scanner was closed.
	ErrClosed = errors.New("scanner closed")
)

// CodeError is a line from the scanner that is not a code the terminal
// takes. It says why, never what the line held.
type CodeError struct {
	Reason string
}

func (e *CodeError) Error() string { return "scanner: unreadable code: " + e.Reason }

// Trigger is how the terminal starts and stops the scanner.
type Trigger string

// Triggers this package speaks.
const (
	TriggerNone      Trigger = "none"      // presentation mode: the scanner reads whatever it sees
	TriggerHoneywell Trigger = "honeywell" // SYN T CR / SYN U CR
	TriggerNewland   Trigger = "newland"   // ~ SOH 0000 #SCNTRG1 ; ETX / #SCNTRG0
)

// Triggers lists the trigger kinds, for a board file's check.
var Triggers = []Trigger{TriggerNone, TriggerHoneywell, TriggerNewland}

// ParseTrigger reads a board's trigger setting; "" is TriggerNone.
func ParseTrigger(s string) (Trigger, error) {
	if s == "" {
		return TriggerNone, nil
	}
	for _, t := range Triggers {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("scanner trigger %q is not one of none, honeywell, newland", s)
}

// The serial commands of each trigger kind.
var (
	honeywellOn  = []byte{0x16, 'T', '\r'}
	honeywellOff = []byte{0x16, 'U', '\r'}
	newlandOn    = []byte("~\x010000#SCNTRG1;\x03")
	newlandOff   = []byte("~\x010000#SCNTRG0;\x03")
)

// Commands returns the bytes that activate and deactivate a scanner of kind
// t; both nil for TriggerNone.
func (t Trigger) Commands() (on, off []byte) {
	switch t {
	case TriggerHoneywell:
		return honeywellOn, honeywellOff
	case TriggerNewland:
		return newlandOn, newlandOff
	}
	return nil, nil
}

// ParseLine returns the code a line from the scanner carries: the line
// without its CR/LF suffix, which must be non-empty UTF-8 of at most MaxCode
// bytes with no control character (C0, DEL or C1) in it. A code is returned
// exactly as the scanner sent it, spaces included.
func ParseLine(line []byte) (string, error) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	switch {
	case len(line) == 0:
		return "", &CodeError{Reason: "empty line"}
	case len(line) > MaxCode:
		return "", &CodeError{Reason: fmt.Sprintf("%d bytes, longer than %d", len(line), MaxCode)}
	}
	for i := 0; i < len(line); {
		r, n := utf8.DecodeRune(line[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return "", &CodeError{Reason: fmt.Sprintf("byte %d (0x%02X) is not UTF-8", i, line[i])}
		case unicode.IsControl(r):
			return "", &CodeError{Reason: fmt.Sprintf("control character %U at byte %d", r, i)}
		}
		i += n
	}
	return string(line), nil
}
