// Package printer drives the terminal's receipt printer: an ESC/POS thermal
// printer on a serial line, as specified by the Epson "ESC/POS Command
// Reference" (the stream itself is built by package escpos).
//
// The driver asks the printer's real-time status (DLE EOT n, "transmit
// real-time status") before a receipt, between chunks of it and after it,
// so that paper running out or an open cover stops printing with a typed
// error (ErrPaperOut, ErrCoverOpen) that the screen can show, and the
// receipt can be printed again once the cashier has fixed the printer. The
// transaction a receipt belongs to is the caller's: a failed print never
// changes it.
//
// ESC/POS status replies carry no request number: each is one byte of the
// shape 0xx1xx10 (Epson, "identification of send status"), sent in the
// order of the requests. The driver therefore has one round of requests in
// flight at a time, empties the input buffer before it, skips bytes of
// another shape, and after a reply that never came waits for the line to
// go quiet, so that a late reply is not taken for the next one.
//
// A status request is put into the stream only where the printer is
// between commands — right after a line feed that it takes as one — and
// not inside a QR code's data, an image or a GB18030 character, where DLE
// EOT would be read as data (Epson warns of exactly this). Checks are
// spaced Options.CheckEvery bytes apart, so that waiting for a reply costs a
// few byte times per KiB and a receipt streams at the line rate.
package printer

import (
	"context"
	"errors"
	"fmt"

	"posfw/drivers/printer/escpos"
)

// Printer is the receipt printer as the rest of the firmware sees it.
type Printer interface {
	// Status asks the printer for all four DLE EOT status bytes.
	Status(ctx context.Context) (escpos.Status, error)
	// Print sends a receipt (an ESC/POS stream) and returns once the
	// printer has taken all of it and still reports itself ready. A
	// failure is a *PrintError saying how much was sent.
	Print(ctx context.Context, receipt []byte) error
	// Close releases the serial port.
	Close() error
}

// Errors a Printer returns, alone or wrapped in a *PrintError; test them
// with errors.Is.
var (
	ErrPaperOut   = errors.New("printer: paper out")
	ErrCoverOpen  = errors.New("printer: cover open")
	ErrNotReady   = errors.New("printer: not ready (off line or in error)")
	ErrNoReply    = errors.New("printer: no status reply")
	ErrDeviceGone = errors.New("printer: device gone")
	ErrClosed     = errors.New("printer: driver closed")
)

// PrintError is a receipt that did not print whole. Sent bytes of it
// reached the printer (0: nothing did, the printer was not ready); since
// the paper may hold part of it, the caller offers a reprint of the whole
// receipt once Err is cleared.
type PrintError struct {
	Sent, Total int
	// Err is ErrPaperOut, ErrCoverOpen, ErrNotReady, ErrNoReply,
	// ErrDeviceGone (wrapped with detail) or the context's error.
	Err error
}

func (e *PrintError) Error() string {
	return fmt.Sprintf("%v (%d of %d receipt bytes sent)", e.Err, e.Sent, e.Total)
}

// Unwrap returns Err.
func (e *PrintError) Unwrap() error { return e.Err }

// stoppers are the conditions under which no receipt is printed, in the
// order a cashier clears them: with the cover open the paper sensor may
// read anything, so the cover comes first, then the paper, then the rest.
var stoppers = []struct {
	stops func(escpos.Status) bool
	err   error
}{
	{func(s escpos.Status) bool { return s.CoverOpen }, ErrCoverOpen},
	{func(s escpos.Status) bool { return s.PaperOut || s.PaperEndStop }, ErrPaperOut},
	{func(s escpos.Status) bool { return !s.Ready() }, ErrNotReady},
}

// CheckStatus returns nil if a printer in state s can print, or the error
// that names what stops it.
func CheckStatus(s escpos.Status) error {
	for _, c := range stoppers {
		if c.stops(s) {
			return c.err
		}
	}
	return nil
}
