// Package pinpad drives the terminal's PIN pad over a serial line: it shows the
// amount, asks the cardholder for the PIN and gets back an encrypted PIN block —
// never the PIN.
//
// The PIN pad does the cryptography itself. From the PIN typed on its keys and the 12
// PAN digits it is given, it builds an ISO 9564-1 format 0 PIN block (package
// iso9564), encrypts it with TDES under the PIN encryption key of its next DUKPT
// transaction (ANSI X9.24-1:2009, package dukpt), and answers the encrypted block and
// the Key Serial Number. The firmware holds these in a PINResult until the host has
// answered, then wipes them. The PIN pad is given the 12 digits the block is built
// from (AccountDigits), not the full PAN.
//
// The driver speaks the framed protocol of package frame (STX | len | payload | ETX |
// LRC, ACK/NAK and resend), which its package doc describes byte by byte. Package
// padsim is a PIN pad speaking the same bytes, for posfw sim and the tests.
package pinpad

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/iso9564"
)

// Pad is the PIN pad as the rest of the firmware sees it.
type Pad interface {
	// Info asks the PIN pad who it is and which KSN it used last.
	Info(ctx context.Context) (Info, error)
	// Display shows two lines of text (the amount prompt, say) on the PIN pad.
	Display(ctx context.Context, line1, line2 string) error
	// GetPIN has the cardholder enter a PIN and returns it encrypted. It returns
	// when the cardholder presses ENTER or CANCEL, when req.Timeout passes, or when
	// ctx ends (the PIN pad is then told to cancel).
	GetPIN(ctx context.Context, req PINRequest) (PINResult, error)
	// Cancel ends a PIN entry in progress; GetPIN then returns ErrCancelled.
	// Without one it does nothing.
	Cancel(ctx context.Context) error
	// CardHash is the keyed hash of a PAN under the pad's card key, in hex: equal for
	// the same card on this pad, and no help in finding the PAN without the pad.
	CardHash(ctx context.Context, pan []byte) (string, error)
	// Seal has the pad MAC a journal head (event id, chain hash) under its journal key
	// and keep it as its anchor when id is not older than the anchor held.
	Seal(ctx context.Context, id int64, hash []byte) (mac []byte, err error)
	// Anchor is the newest head the pad sealed (id 0 before the first) and its MAC.
	Anchor(ctx context.Context) (id int64, hash, mac []byte, err error)
	// CheckSeal reports whether mac is the pad's seal of (id, hash); the error is for
	// a pad that could not say.
	CheckSeal(ctx context.Context, id int64, hash, mac []byte) (bool, error)
	// Close releases the serial line.
	Close() error
}

// Info is what a PIN pad says about itself.
type Info struct {
	Model, Serial, Firmware string
	// KSN is the Key Serial Number of the last PIN block (or the initial KSN before
	// the first), which tells the host which DUKPT key the next one comes from.
	KSN dukpt.KSN
}

// Limits of a PINRequest. A zero Min, Max or Timeout takes its default.
const (
	DefaultMinPIN     = iso9564.MinPINLength
	DefaultMaxPIN     = iso9564.MaxPINLength
	DefaultPINTimeout = 30 * time.Second
	// MaxPINTimeout is the longest timeout the protocol carries (65535 tenths of a
	// second).
	MaxPINTimeout = 65535 * 100 * time.Millisecond
	// MaxAmount is the largest amount the protocol carries (12 digits).
	MaxAmount = 999_999_999_999
)

// PINRequest asks for one PIN entry.
type PINRequest struct {
	// PANDigits are the 12 PAN digits of an ISO 9564 format 0 PIN block: the 12
	// rightmost digits without the check digit, from AccountDigits. The PIN pad uses
	// them only to build the block; the full PAN never leaves the terminal.
	PANDigits string
	// Amount in minor units, shown on the PIN pad while the PIN is entered.
	Amount int64
	// Min and Max bound the PIN length, 4 to 12 digits (ISO 9564-1).
	Min, Max int
	// Timeout is how long the cardholder has to finish entering the PIN.
	Timeout time.Duration
	// AllowBypass lets the cardholder press ENTER with no digits; GetPIN then
	// returns ErrBypass. Without it, ENTER with no digits is ignored.
	AllowBypass bool
}

// PINResult is a PIN as it leaves the PIN pad: encrypted.
type PINResult struct {
	// Block is the ISO 9564 format 0 PIN block, TDES-encrypted under the DUKPT PIN
	// encryption key of KSN.
	Block [8]byte
	KSN   dukpt.KSN
}

// Wipe zeroes the block and the KSN, once the host has answered.
func (r *PINResult) Wipe() {
	dukpt.Wipe(r.Block[:])
	dukpt.Wipe(r.KSN[:])
}

// String shows the KSN only: a PIN block is never printed, even encrypted.
func (r PINResult) String() string {
	return "pinpad.PINResult{KSN: " + r.KSN.String() + ", Block: redacted}"
}

// GoString is String, so that %#v is safe too.
func (r PINResult) GoString() string { return r.String() }

// Errors a Pad returns. Match them with errors.Is.
var (
	// ErrCancelled: CANCEL was pressed on the PIN pad, or Cancel was called.
	ErrCancelled = errors.New("pinpad: PIN entry cancelled")
	// ErrTimeout: the cardholder did not finish entering the PIN in time.
	ErrTimeout = errors.New("pinpad: no PIN entered in time")
	// ErrBypass: the cardholder pressed ENTER with no digits, and bypass was allowed.
	ErrBypass = errors.New("pinpad: PIN bypassed")
	// ErrBusy: the PIN pad is in a PIN entry and refused another command.
	ErrBusy = errors.New("pinpad: busy with a PIN entry")
	// ErrNoKey: the PIN pad has no DUKPT key, or has used all of its counter values.
	ErrNoKey = errors.New("pinpad: no usable PIN key")
	// ErrNotPermitted: the PIN pad refused to load a key over the serial line.
	ErrNotPermitted = errors.New("pinpad: not permitted by the PIN pad")
	// ErrDeviceGone: the PIN pad does not acknowledge or answer, or its serial line
	// failed (unplugged, simulator stopped). The driver opens the line again at its
	// next call.
	ErrDeviceGone = errors.New("pinpad: PIN pad not answering or gone")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("pinpad: driver closed")
	// ErrSealConflict: the PIN pad already sealed another hash for this event id: the
	// journal was rewritten from that event on.
	ErrSealConflict = errors.New("pinpad: the PIN pad sealed another hash for this event")
)

// panFieldDigits is how many PAN digits a format 0 block carries.
const panFieldDigits = 12

// AccountDigits returns the 12 digits of pan that an ISO 9564 format 0 PIN block is
// built from: the 12 rightmost without the check digit, zero-padded on the left for
// a short PAN. The error never repeats the PAN.
func AccountDigits(pan string) (string, error) {
	if len(pan) < iso9564.MinPANLength || len(pan) > iso9564.MaxPANLength || !allDigits(pan) {
		return "", fmt.Errorf("pinpad: PAN must be %d to %d digits", iso9564.MinPANLength, iso9564.MaxPANLength)
	}
	body := pan[:len(pan)-1]
	if len(body) >= panFieldDigits {
		return body[len(body)-panFieldDigits:], nil
	}
	b := make([]byte, panFieldDigits)
	for i := range b {
		b[i] = '0'
	}
	copy(b[panFieldDigits-len(body):], body)
	return string(b), nil
}

// withDefaults fills in the zero fields of r and checks it.
func (r PINRequest) withDefaults() (PINRequest, error) {
	if r.Min == 0 {
		r.Min = DefaultMinPIN
	}
	if r.Max == 0 {
		r.Max = DefaultMaxPIN
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultPINTimeout
	}
	switch {
	case len(r.PANDigits) != panFieldDigits || !allDigits(r.PANDigits):
		return r, errors.New("pinpad: PAN digits must be the 12 digits from AccountDigits")
	case r.Amount < 0 || r.Amount > MaxAmount:
		return r, fmt.Errorf("pinpad: amount must be 0 to %d minor units", int64(MaxAmount))
	case r.Min < iso9564.MinPINLength || r.Max > iso9564.MaxPINLength || r.Min > r.Max:
		return r, fmt.Errorf("pinpad: PIN length limits %d-%d: want %d <= min <= max <= %d",
			r.Min, r.Max, iso9564.MinPINLength, iso9564.MaxPINLength)
	case r.Timeout < 100*time.Millisecond || r.Timeout > MaxPINTimeout:
		return r, fmt.Errorf("pinpad: PIN timeout %v: want 100ms to %v", r.Timeout, MaxPINTimeout)
	}
	return r, nil
}

func allDigits[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
