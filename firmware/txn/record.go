package txn

import (
	"time"
)

// Type is what a journal record is.
type Type string

// Record types. Their wire messages (DESIGN §3) are the host's business.
const (
	Sale         Type = "sale"          // 消费
	Void         Type = "void"          // 撤销
	Refund       Type = "refund"        // 退货
	ManualRefund Type = "manual_refund" // 手工退款, never sent online
)

// Status is where a record is in its life.
type Status string

// Record states (DESIGN §3).
const (
	Pending           Status = "pending"            // committed, request not answered yet
	Approved          Status = "approved"           // host said 00
	Declined          Status = "declined"           // host answered with another code
	NotSent           Status = "not_sent"           // the request never left (no connection): nothing to reverse
	ReversalPending   Status = "reversal_pending"   // no valid answer: the 0400 must go out
	Reversed          Status = "reversed"           // the host confirmed the reversal
	ReversalFailed    Status = "reversal_failed"    // the tries ran out: call the acquirer
	Voided            Status = "voided"             // an approved sale/refund that a void cancelled
	PartiallyRefunded Status = "partially_refunded" // a sale with refunds below its amount
	Refunded          Status = "refunded"           // a sale refunded in full
	Recorded          Status = "recorded"           // a manual refund, written down only
)

// transitions lists the states each state may move to; anything else is a bug the
// journal refuses.
var transitions = map[Status][]Status{
	Pending:         {Approved, Declined, NotSent, ReversalPending},
	ReversalPending: {Reversed, ReversalFailed},
	ReversalFailed:  {Reversed},
	Approved:        {Voided, PartiallyRefunded, Refunded},
	// A void of one of its refunds gives a sale its refundable amount back.
	PartiallyRefunded: {PartiallyRefunded, Refunded, Approved},
	Refunded:          {PartiallyRefunded, Approved},
}

// CanMove reports whether a record may go from one state to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// EntryMode is how the card was read.
type EntryMode string

// Entry modes.
const (
	Swiped EntryMode = "swipe"
	Keyed  EntryMode = "manual"
	Chip   EntryMode = "chip"
	Tapped EntryMode = "contactless"
	// Fallback is a swipe of a chip card after its chip failed (field 22 80x, the
	// dialect's fallback indicator).
	Fallback EntryMode = "fallback"
	NoEntry  EntryMode = "" // manual refunds: no card
)

// Record is one journal row: a money record. It never holds more of the card than the
// masked PAN and a keyed hash of it.
type Record struct {
	ID       int64
	Type     Type
	Status   Status
	Amount   int64 // minor units
	Currency string
	// STAN (trace no.), batch and invoice (voucher no.) are assigned by the journal in
	// the transaction that writes the record.
	STAN, Batch, Invoice int64
	RRN, AuthCode        string
	ResponseCode         string
	MaskedPAN            string
	CardHash             string // keyed HMAC of the PAN, hex
	EntryMode            EntryMode
	// The original of a void or refund: its journal id when known, and its references.
	OrigID   int64
	OrigSTAN int64
	OrigRRN  string
	OrigDate string // MMDD of the original, as the cashier keyed it
	// Refunded is the sum of approved refunds against this sale.
	Refunded   int64
	Operator   string
	Supervisor string
	// Reason of a manual refund, or why a duplicate was let through.
	Reason             string
	DuplicateConfirmed bool
	// ICC is the chip data (field 55 BER-TLV, no PAN, track or PIN) of a chip or
	// contactless record in upper-case hex (a Record stays comparable and its JSON
	// snapshot readable): the request's, then the card's final one (its TC or AAC).
	// Reversals and uploads send it; slips print AID, TVR, TSI and the cryptogram from it.
	ICC string
	// PSN is the card sequence number (field 23) of a chip record.
	PSN string
	// PIN says a PIN block went with the request: field 22's last digit, which the
	// record's reversal and upload repeat.
	PIN       bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Refundable is what is left to refund of an approved sale.
func (r *Record) Refundable() int64 {
	if r.Type != Sale || (r.Status != Approved && r.Status != PartiallyRefunded) {
		return 0
	}
	return r.Amount - r.Refunded
}
