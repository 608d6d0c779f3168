package txn

import (
	"context"
	"errors"
	"time"
)

// Effect is a change an outcome makes to another record in the same journal transaction:
// a void marks its original voided; a refund adds to its sale's refunded amount.
type Effect struct {
	ID            int64
	Status        Status // new status, "" to keep it
	RefundedDelta int64
}

// Outcome is what became of a pending record.
type Outcome struct {
	ID       int64
	Status   Status
	Response Response
	// ReversalReason is set when Status is ReversalPending.
	ReversalReason string
	Effects        []Effect
	// ICC, when set, replaces the record's chip data (the card's final cryptogram), hex
	// as Record.ICC.
	ICC string
}

// ReversalTask is a record whose reversal must still be sent.
type ReversalTask struct {
	Record Record
	Reason string
	Tries  int
}

// Event is an audit entry: logins, password changes, refusals, settlements.
type Event struct {
	Kind     string
	Operator string
	Detail   string
}

// Store is the journal as the engine sees it. Every method that changes state is one
// durable transaction; counters (STAN, batch, invoice) advance inside it.
type Store interface {
	// Begin commits r as a new pending record — assigning ID, STAN, batch and invoice —
	// before the request is sent. A pending record is an armed reversal: if no outcome
	// follows, Recover makes it a reversal to send.
	Begin(ctx context.Context, r *Record) error
	// Append commits a record that is never sent online (a manual refund) with its effects.
	Append(ctx context.Context, r *Record, effects []Effect) error
	// Finish commits a pending record's outcome, disarms or activates its reversal and
	// applies the effects, in one transaction; it returns the record as it now stands.
	Finish(ctx context.Context, o Outcome) (*Record, error)

	Get(ctx context.Context, id int64) (*Record, error)
	// ByTrace is the newest sale or refund of the current batch with this STAN.
	ByTrace(ctx context.Context, stan int64) (*Record, error)
	// ByRRN is the sale with this RRN.
	ByRRN(ctx context.Context, rrn string) (*Record, error)
	// Duplicate is the newest approved sale on the card for the amount since a time.
	Duplicate(ctx context.Context, cardHash string, amount int64, since time.Time) (*Record, error)

	// Recover turns the records left pending by a crash into pending reversals
	// (reason 98): the request may have reached the host.
	Recover(ctx context.Context) (int, error)
	PendingReversals(ctx context.Context) ([]ReversalTask, error)
	// ReversalSent records a reversal's answer (ok) or a failed try; after max tries the
	// record becomes ReversalFailed.
	ReversalSent(ctx context.Context, id int64, ok bool, max int) error

	CurrentBatch(ctx context.Context) (int64, error)
	NextSTAN(ctx context.Context) (int64, error)
	// AdvanceSTAN moves the STAN counter so that the next one is after past (1 to
	// 999999), never back, in one durable transaction recorded in the chain.
	AdvanceSTAN(ctx context.Context, past int64) error
	Totals(ctx context.Context, batch int64) (Totals, error)
	// SettlementHead seals the journal's head for a settlement (Totals.Head): "" when
	// the store has no witness to seal it.
	SettlementHead(ctx context.Context) string
	// UploadRecords lists every record of a batch its totals count (standing sales,
	// approved refunds and voids): what a batch upload (0320) carries.
	UploadRecords(ctx context.Context, batch int64) ([]Record, error)
	// SettlementInterrupted returns the batch whose settlement started (its 0500 may
	// have reached the acquirer) and did not close.
	SettlementInterrupted(ctx context.Context) (batch int64, ok bool, err error)
	// StartSettlement records that batch's settlement began (idempotent).
	StartSettlement(ctx context.Context, batch int64, t Totals) error
	// CloseBatch ends the settlement of batch and opens the next batch.
	CloseBatch(ctx context.Context, batch int64) error

	Audit(ctx context.Context, e Event) error
}

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// ErrJournal wraps a failed journal write: the transaction was refused before anything
// was sent.
var ErrJournal = errors.New("journal write failed, transaction not sent")

// ErrUnrecorded: the request went to the host (or may have), but its outcome could not
// be written. The record stays pending, its reversal armed: at the next start it is
// reversed. The cashier must not be told "not sent".
var ErrUnrecorded = errors.New("outcome not recorded, will be reversed")
