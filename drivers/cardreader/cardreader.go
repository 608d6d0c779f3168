// Package cardreader is the terminal's card reader seam: how a card was
// presented (swiped, keyed, and later inserted or tapped) and the card it
// carried, behind one small interface, Reader.
//
// MagStripe drives a serial magnetic stripe reader that sends each swipe as
// one ISO/IEC 7813 frame (track 1, track 2, CR LF; see package iso7813 for the
// frame). Manual builds the presentation of a card number keyed by hand. The
// presentation kinds carry their ISO 8583 point-of-service entry mode (field
// 22, PAN entry digits) as data, and a chip or contactless presentation carries
// an APDU channel (ISO/IEC 7816-4) so that EMV can arrive later without
// changing callers.
//
// # Card data
//
// A Presentation holds the full PAN and track data. Whoever receives one from
// Read or Manual owns it and must call Wipe once the host has answered, or as
// soon as the card is no longer needed, on every path. Errors of this package
// never contain card data: a failed swipe is a *ReadError whose text is only
// iso7813.ReadErrorMessage, with the precise cause (an *iso7813.Error, which
// names the problem and the track, not the data) wrapped for logs.
package cardreader

import (
	"context"
	"errors"
	"fmt"

	"posfw/drivers/cardreader/iso7813"
)

// Reader is a card reader as the transaction sees it.
type Reader interface {
	// Read waits for the next card and returns how it was presented. It
	// returns ctx.Err() when ctx ends first.
	Read(ctx context.Context) (Presentation, error)
	// Close releases the device; a pending Read returns ErrClosed.
	Close() error
}

// Kind is how a card was presented.
type Kind int

// Presentation kinds. Inserted and Tapped are for EMV, later.
const (
	Swiped   Kind = iota + 1 // magnetic stripe read in full
	Keyed                    // PAN and expiry keyed by hand
	Inserted                 // contact chip
	Tapped                   // contactless chip
)

// kinds is, per Kind, its name and its ISO 8583 POS entry mode, PAN entry
// part (field 22, first two digits; the third, PIN entry capability, belongs
// to the terminal and is added by the host link).
var kinds = [...]struct{ name, entryMode string }{
	0:        {"unknown", "00"},
	Swiped:   {"swipe", "90"},       // full magnetic stripe read, track data unaltered
	Keyed:    {"manual", "01"},      // manual key entry
	Inserted: {"chip", "05"},        // integrated circuit card
	Tapped:   {"contactless", "07"}, // contactless integrated circuit card
}

func (k Kind) row() int {
	if k < 0 || int(k) >= len(kinds) {
		return 0
	}
	return int(k)
}

// String is the kind's name: swipe, manual, chip or contactless.
func (k Kind) String() string { return kinds[k.row()].name }

// EntryMode is the kind's ISO 8583 POS entry mode PAN entry code: "90" for a
// full magnetic stripe read, "01" for manual entry, "05" chip, "07"
// contactless, "00" (unknown) for an invalid Kind.
func (k Kind) EntryMode() string { return kinds[k.row()].entryMode }

// ICC is the APDU channel to a chip card (ISO/IEC 7816-4), contact or
// contactless.
type ICC interface {
	// Exchange sends a command APDU and returns the response APDU, status
	// words SW1 SW2 included.
	Exchange(ctx context.Context, apdu []byte) ([]byte, error)
}

// Presentation is one card presented to the terminal.
type Presentation struct {
	Kind Kind
	// Card is the card's data: from its tracks when swiped, PAN and expiry
	// only when keyed (so no service code: Card.PINRequired then says true and
	// the rules above decide).
	Card iso7813.Card
	// ICC is the chip's APDU channel when Inserted or Tapped; nil otherwise.
	ICC ICC
}

// Wipe zeroes the card data. The receiver of the Presentation must call it
// once the card is no longer needed (after the host answered).
func (p *Presentation) Wipe() { p.Card.Wipe() }

// String returns the kind and the masked PAN, never the full one.
func (p Presentation) String() string { return p.Kind.String() + " " + p.Card.Masked() }

// Format prints String for every verb, so that no fmt verb leaks card data.
func (p Presentation) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// Errors of Read. A failed swipe is a *ReadError instead.
var (
	// ErrUseChip: the swiped card has a chip (service code 2xx or 6xx). Read
	// returns it together with the swiped Presentation, because whether a
	// fallback swipe may be accepted (entry mode 80) is decided above the
	// driver; the caller must Wipe that Presentation either way.
	ErrUseChip = errors.New("insert chip")
	// ErrDeviceGone: the reader is not connected (the port failed or could
	// not be opened). The cause is wrapped. A later Read tries to reconnect.
	ErrDeviceGone = errors.New("card reader not connected")
	// ErrClosed: the Reader was closed.
	ErrClosed = errors.New("card reader closed")
)

// ReadError is a swipe that could not be used: bad LRC, a partial read,
// garbage on the line. Its text is iso7813.ReadErrorMessage, what the cashier
// is told whatever the cause; Cause is for logs and errors.Is.
type ReadError struct {
	Cause error
}

// Error returns iso7813.ReadErrorMessage.
func (e *ReadError) Error() string { return iso7813.ReadErrorMessage }

// Unwrap returns the cause, e.g. an *iso7813.Error wrapping iso7813.ErrBadLRC.
func (e *ReadError) Unwrap() error { return e.Cause }
