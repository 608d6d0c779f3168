package txn

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Card is the card as presented, held in memory only for the time of one request. The
// PAN, track 2 and PIN block go to the host and nowhere else; Wipe zeroes them.
type Card struct {
	PAN       []byte
	Track2    []byte // ISO 7813 track 2 data between the sentinels (field 35), nil when keyed
	Expiry    string // YYMM
	EntryMode EntryMode
	// PINBlock and KSN come encrypted from the PIN pad; empty when no PIN was entered.
	PINBlock []byte
	KSN      []byte
	// ICC is the chip's data for the host (field 55, BER-TLV) of a chip or contactless
	// card: cryptogram, counters, TVR. It holds no PAN, track or PIN (the kernel's
	// Field55 leaves them out), so the record may keep it. Nil for other cards.
	ICC []byte
	// PSN is the card's sequence number (EMV 5F34, field 23) as two digits; "" when the
	// card has none.
	PSN string
	// Chip, set for an online chip transaction, is the card that has the last word on
	// the host's answer (EMV's second GENERATE AC): the engine gives it the answer
	// before the outcome is written.
	Chip ChipCard
}

// iccHex is the card's chip data as a record keeps it.
func (c *Card) iccHex() string { return strings.ToUpper(hex.EncodeToString(c.ICC)) }

// ChipCard is the card's side of an online chip transaction: the host's answer goes
// back to the card (issuer authentication, scripts, the second GENERATE AC), and an
// approval the card does not accept is reversed.
type ChipCard interface {
	// Complete gives the card the host's answer; answered is false when no valid answer
	// came (the card is then asked to decline). It must not block for long: the record
	// is still pending, its reversal armed, while the card works.
	Complete(answered bool, resp Response) ChipVerdict
}

// ChipVerdict is what the card made of the host's answer.
type ChipVerdict struct {
	// Accepted: the card approved (TC) what the host approved.
	Accepted bool
	// ICC replaces the record's chip data: the final cryptogram, TVR and TSI, for the
	// slip, the reversal and the upload. Nil keeps the request's.
	ICC []byte
	// Reason says why the card did not accept, for the log and the slip.
	Reason string
}

// Wipe zeroes the card data.
func (c *Card) Wipe() {
	for _, b := range [][]byte{c.PAN, c.Track2, c.PINBlock, c.KSN} {
		clear(b)
	}
}

// Masked is first 6 and last 4 of the PAN, the rest '*'.
func (c *Card) Masked() string { return MaskPAN(c.PAN) }

// MaskPAN masks a PAN to first 6 / last 4.
func MaskPAN(pan []byte) string {
	if len(pan) < 11 {
		return "****"
	}
	m := make([]byte, len(pan))
	for i := range m {
		switch {
		case i < 6, i >= len(pan)-4:
			m[i] = pan[i]
		default:
			m[i] = '*'
		}
	}
	return string(m)
}

// CardHasher computes the keyed hash of a PAN that records keep for same-card rules
// (void and refund to the original card, duplicate warnings). Its key must not sit beside
// the journal: with the key, a masked PAN (first 6, last 4) and its hash give the full PAN
// back by brute force in seconds.
type CardHasher interface {
	CardHash(ctx context.Context, pan []byte) (string, error)
}

// Request is one message the engine asks the host to carry.
type Request struct {
	Type   Type // Sale, Void or Refund
	STAN   int64
	Batch  int64
	Amount int64
	// Currency is the ISO 4217 numeric code (field 49).
	Currency string
	Card     *Card
	// Original references for voids and refunds.
	OrigSTAN     int64
	OrigRRN      string
	OrigAuthCode string
	OrigDate     string
	At           time.Time
}

// Response is the host's answer.
type Response struct {
	Code     string // field 39
	RRN      string // field 37
	AuthCode string // field 38
	HostTime time.Time
	// ICC is the host's field 55 for the card (issuer authentication data, scripts), as
	// raw BER-TLV bytes in a string so that a Response stays comparable; "" when none.
	ICC string
}

// Reversal asks the host to undo a request that got no valid answer.
type Reversal struct {
	Orig   Record
	Reason string // 98 no response, A0 MAC error, 06 other
	Repeat bool   // 0401 instead of 0400
}

// Totals are a batch's counts and amounts per type (settlement 0500).
type Totals struct {
	Batch int64
	// Per type: count and amount of approved (not voided) records.
	Sales, Refunds  Total
	Voids           Total
	ManualRefunds   Total
	ReversalsFailed Total
	// Head is the journal's chain head when the totals were taken, sealed by a key the
	// data directory does not hold, in the journal's text form; it travels with the
	// settlement and prints on its report so that a rewritten journal can be proven
	// rewritten. "" when the store has none.
	Head string
}

// Total is a count and an amount.
type Total struct {
	Count  int64
	Amount int64
}

// Host carries requests to the acquirer.
type Host interface {
	// SignOn exchanges 0800/0810 and loads the working keys it delivers.
	SignOn(ctx context.Context, stan int64) error
	// Send sends a financial request and waits for its answer.
	Send(ctx context.Context, req Request) (Response, error)
	// Reverse sends a reversal (0400/0401) and waits for its answer.
	Reverse(ctx context.Context, rev Reversal) (Response, error)
	// Settle sends the batch totals (0500). Balanced reports whether the host agreed; when it
	// did not, the engine uploads the batch (Upload) and settles again with trailer set: the
	// batch-end message, on which the acquirer settles from the upload.
	Settle(ctx context.Context, t Totals, stan int64, trailer bool) (balanced bool, err error)
	// Upload sends one approved record of the batch (0320 batch upload).
	Upload(ctx context.Context, r Record, stan int64) error
}

// Errors a Host returns. They decide what happens to the record, so a Host must return
// exactly one of them (wrapped) when a request fails.
var (
	// ErrNotSent: the request certainly did not leave (no connection could be made).
	// Nothing can have been debited; no reversal is needed.
	ErrNotSent = errors.New("host not reachable, request not sent")
	// ErrNoResponse: the request may have left but no valid answer came (timeout,
	// connection dropped, garbage). Reversal reason 98.
	ErrNoResponse = errors.New("no response from host")
	// ErrBadMAC: an answer came with a MAC that does not verify. Reversal reason A0, then
	// sign on again.
	ErrBadMAC = errors.New("host response failed MAC check")
	// ErrBadAnswer: a signed answer that does not repeat the request (another amount,
	// merchant, terminal, processing code or original): it answers some other request,
	// so this one is unanswered. Reversal reason 06.
	ErrBadAnswer = errors.New("host answer does not match the request")
)

// ReversalReason is the reason code of the 0400 for a Host error (06 for an answer that
// does not match, and any other error that may have left a request unanswered).
func ReversalReason(err error) string {
	switch {
	case errors.Is(err, ErrNoResponse):
		return "98"
	case errors.Is(err, ErrBadMAC):
		return "A0"
	}
	return "06"
}
