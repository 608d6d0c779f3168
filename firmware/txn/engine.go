package txn

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"posfw/ui/i18n"
)

// Limits are the configured money limits.
type Limits struct {
	MaxAmount       int64
	RefundCeiling   int64
	DuplicateWindow time.Duration
}

// Engine runs transactions: rules, journal, host, in that order.
type Engine struct {
	Store    Store
	Host     Host
	Cards    CardHasher
	Limits   Limits
	Currency string // ISO 4217 alpha, stored on records
	Numeric  string // ISO 4217 numeric, sent in field 49
	// MaxReversalTries before a reversal is given up (and the acquirer must be called).
	MaxReversalTries int
	Now              func() time.Time
	// Location is the terminal's time zone: the local date printed on slips and keyed
	// back for refunds (MMDD) is in it. Stored instants stay UTC. Default time.Local.
	Location *time.Location
	// ReversalFailed, when set, is called once for each reversal whose last try has just
	// failed (the record is now ReversalFailed): the merchant must call the acquirer.
	ReversalFailed func(Record)

	// flushing serialises reversal sending between the flows and the background worker,
	// so that one reversal is never in flight twice.
	flushing sync.Mutex
}

// localDate is t's MMDD in the terminal's time zone, as the slip prints it.
func (e *Engine) localDate(t time.Time) string {
	loc := e.Location
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("0102")
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// batchCheck applies BatchRules: nil when the current batch may take a new record.
func (e *Engine) batchCheck(ctx context.Context) error {
	_, settling, err := e.Store.SettlementInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if ref := apply(BatchRules, &BatchCheck{Settling: settling}); ref != nil {
		return ref
	}
	return nil
}

// SaleRequest is a sale the cashier keyed.
type SaleRequest struct {
	Amount           int64
	Card             *Card
	Operator         string
	ConfirmDuplicate bool
}

// Sale runs a sale. It returns the record in its final state, or a *Refusal (a local rule
// said no), or an error wrapping ErrJournal (nothing was sent).
func (e *Engine) Sale(ctx context.Context, req SaleRequest) (*Record, error) {
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	c := SaleCheck{Amount: req.Amount, MaxAmount: e.Limits.MaxAmount, HasCard: req.Card != nil && len(req.Card.PAN) > 0, Confirmed: req.ConfirmDuplicate}
	var hash string
	if c.HasCard {
		var err error
		if hash, err = e.Cards.CardHash(ctx, req.Card.PAN); err != nil {
			return nil, fmt.Errorf("%w: card hash: %v", ErrJournal, err)
		}
		if e.Limits.DuplicateWindow > 0 {
			dup, err := e.Store.Duplicate(ctx, hash, req.Amount, e.now().Add(-e.Limits.DuplicateWindow))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%w: %v", ErrJournal, err)
			}
			c.Duplicate = dup
		}
	}
	if ref := apply(SaleRules, &c); ref != nil {
		return nil, ref
	}
	r := &Record{
		Type: Sale, Amount: req.Amount, Currency: e.Currency,
		MaskedPAN: req.Card.Masked(), CardHash: hash, EntryMode: req.Card.EntryMode,
		Operator: req.Operator, DuplicateConfirmed: c.Duplicate != nil,
		ICC: req.Card.iccHex(), PSN: req.Card.PSN, PIN: len(req.Card.PINBlock) > 0,
	}
	return e.online(ctx, r, req.Card, nil, "")
}

// VoidRequest is a void the supervisor authorised.
type VoidRequest struct {
	STAN         int64
	Card         *Card // nil when the card is not presented
	Operator     string
	Supervisor   string
	SupervisorOK bool
}

// FindForVoid returns the record a void of this trace no. would cancel, for the cashier
// to confirm (masked PAN, amount, time), or a refusal saying why it cannot be voided.
func (e *Engine) FindForVoid(ctx context.Context, stan int64) (*Record, error) {
	c, err := e.voidCheck(ctx, VoidRequest{STAN: stan, SupervisorOK: true})
	if err != nil {
		return nil, err
	}
	if ref := apply(VoidRules, c); ref != nil {
		return nil, ref
	}
	return c.Orig, nil
}

func (e *Engine) voidCheck(ctx context.Context, req VoidRequest) (*VoidCheck, error) {
	batch, err := e.Store.CurrentBatch(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	c := &VoidCheck{CurrentBatch: batch, Supervisor: req.SupervisorOK}
	orig, err := e.Store.ByTrace(ctx, req.STAN)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	default:
		c.Orig = orig
	}
	if req.Card != nil && len(req.Card.PAN) > 0 {
		if c.CardHash, err = e.Cards.CardHash(ctx, req.Card.PAN); err != nil {
			return nil, fmt.Errorf("%w: card hash: %v", ErrJournal, err)
		}
	}
	return c, nil
}

// Void cancels an approved sale or refund of the current batch.
func (e *Engine) Void(ctx context.Context, req VoidRequest) (*Record, error) {
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	c, err := e.voidCheck(ctx, req)
	if err != nil {
		return nil, err
	}
	if ref := apply(VoidRules, c); ref != nil {
		return nil, ref
	}
	o := c.Orig
	r := &Record{
		Type: Void, Amount: o.Amount, Currency: o.Currency,
		MaskedPAN: o.MaskedPAN, CardHash: o.CardHash, EntryMode: o.EntryMode,
		OrigID: o.ID, OrigSTAN: o.STAN, OrigRRN: o.RRN, OrigDate: e.localDate(o.CreatedAt),
		Operator: req.Operator, Supervisor: req.Supervisor,
	}
	if req.Card != nil {
		r.EntryMode, r.PSN, r.ICC, r.PIN = req.Card.EntryMode, req.Card.PSN, req.Card.iccHex(), len(req.Card.PINBlock) > 0
	}
	effects := []Effect{{ID: o.ID, Status: Voided}}
	if o.Type == Refund && o.OrigID != 0 {
		// Voiding a refund gives the amount back to the sale's refundable.
		sale, err := e.Store.Get(ctx, o.OrigID)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJournal, err)
		}
		effects = append(effects, Effect{ID: sale.ID, Status: refundStatus(sale, -o.Amount), RefundedDelta: -o.Amount})
	}
	return e.online(ctx, r, req.Card, effects, o.AuthCode)
}

// RefundRequest is a refund the supervisor authorised.
type RefundRequest struct {
	OrigRRN      string
	OrigDate     string // MMDD
	Amount       int64
	Card         *Card
	Operator     string
	Supervisor   string
	SupervisorOK bool
}

// FindForRefund returns the original sale of a refund when the journal has it (nil when
// it does not: the refund is then left to the host).
func (e *Engine) FindForRefund(ctx context.Context, rrn, date string) (*Record, error) {
	o, err := e.Store.ByRRN(ctx, rrn)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if date != "" && e.localDate(o.CreatedAt) != date {
		return nil, &Refusal{Rule: "original date matches", Text: i18n.Text{EN: "Date does not match the original", ZH: "原交易日期不符"}}
	}
	return o, nil
}

// Refund returns money to the original card.
func (e *Engine) Refund(ctx context.Context, req RefundRequest) (*Record, error) {
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	orig, err := e.FindForRefund(ctx, req.OrigRRN, req.OrigDate)
	if err != nil {
		return nil, err
	}
	c := RefundCheck{Amount: req.Amount, Ceiling: e.Limits.RefundCeiling, Supervisor: req.SupervisorOK, Orig: orig}
	if req.Card != nil && len(req.Card.PAN) > 0 {
		if c.CardHash, err = e.Cards.CardHash(ctx, req.Card.PAN); err != nil {
			return nil, fmt.Errorf("%w: card hash: %v", ErrJournal, err)
		}
	}
	if req.Card == nil || len(req.Card.PAN) == 0 {
		return nil, &Refusal{Rule: "card presented", Text: i18n.Text{EN: "No card", ZH: "无卡"}}
	}
	if ref := apply(RefundRules, &c); ref != nil {
		return nil, ref
	}
	r := &Record{
		Type: Refund, Amount: req.Amount, Currency: e.Currency,
		MaskedPAN: req.Card.Masked(), CardHash: c.CardHash, EntryMode: req.Card.EntryMode,
		PSN: req.Card.PSN, ICC: req.Card.iccHex(), PIN: len(req.Card.PINBlock) > 0, OrigRRN: req.OrigRRN, OrigDate: req.OrigDate,
		Operator: req.Operator, Supervisor: req.Supervisor,
	}
	var effects []Effect
	authCode := ""
	if orig != nil {
		r.OrigID, r.OrigSTAN, authCode = orig.ID, orig.STAN, orig.AuthCode
		effects = []Effect{{ID: orig.ID, Status: refundStatus(orig, req.Amount), RefundedDelta: req.Amount}}
	}
	return e.online(ctx, r, req.Card, effects, authCode)
}

// refundStatus is a sale's status after delta more (or, negative, less) is refunded.
func refundStatus(sale *Record, delta int64) Status {
	switch after := sale.Refunded + delta; {
	case after <= 0:
		return Approved
	case after >= sale.Amount:
		return Refunded
	default:
		return PartiallyRefunded
	}
}

// ManualRefundRequest records a refund made outside the card route.
type ManualRefundRequest struct {
	Amount       int64
	Reason       string
	OrigRRN      string
	OrigDate     string
	Operator     string
	Supervisor   string
	SupervisorOK bool
}

// ManualRefund writes a manual refund record; nothing is sent online.
func (e *Engine) ManualRefund(ctx context.Context, req ManualRefundRequest) (*Record, error) {
	if err := e.batchCheck(ctx); err != nil {
		return nil, err
	}
	orig, err := e.FindForRefund(ctx, req.OrigRRN, req.OrigDate)
	if err != nil {
		return nil, err
	}
	c := ManualRefundCheck{Amount: req.Amount, Ceiling: e.Limits.RefundCeiling, Supervisor: req.SupervisorOK, Reason: req.Reason, OrigRRN: req.OrigRRN, Orig: orig}
	if ref := apply(ManualRefundRules, &c); ref != nil {
		return nil, ref
	}
	r := &Record{
		Type: ManualRefund, Status: Recorded, Amount: req.Amount, Currency: e.Currency,
		OrigRRN: req.OrigRRN, OrigDate: req.OrigDate, Reason: req.Reason,
		Operator: req.Operator, Supervisor: req.Supervisor,
	}
	var effects []Effect
	if orig != nil {
		r.OrigID, r.OrigSTAN, r.MaskedPAN, r.CardHash = orig.ID, orig.STAN, orig.MaskedPAN, orig.CardHash
		effects = []Effect{{ID: orig.ID, Status: refundStatus(orig, req.Amount), RefundedDelta: req.Amount}}
	}
	if err := e.Store.Append(ctx, r, effects); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return r, nil
}

// online is the write-ahead path of every request sent to the host: flush reversals
// owed, commit the record (pending: its reversal armed), send, commit the outcome.
func (e *Engine) online(ctx context.Context, r *Record, card *Card, effects []Effect, origAuth string) (*Record, error) {
	if err := e.reversalsFirst(ctx); err != nil {
		return nil, err
	}
	r.Status = Pending
	r.CreatedAt = e.now()
	if err := e.Store.Begin(ctx, r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	req := Request{
		Type: r.Type, STAN: r.STAN, Batch: r.Batch, Amount: r.Amount, Currency: e.Numeric,
		Card: card, OrigSTAN: r.OrigSTAN, OrigRRN: r.OrigRRN, OrigAuthCode: origAuth, OrigDate: r.OrigDate, At: r.CreatedAt,
	}
	resp, err := e.Host.Send(ctx, req)
	o, signOn := outcomeOf(r.ID, resp, err, effects)
	if card != nil && card.Chip != nil {
		o = chipOutcome(card.Chip, o, err == nil)
	}
	// The outcome must be committed even if the caller's context ended meanwhile: the
	// host has answered (or not), and the journal must say which.
	done, ferr := e.Store.Finish(context.WithoutCancel(ctx), o)
	if ferr != nil {
		// The record stays pending (its reversal armed) and Recover turns it into a pending
		// reversal at the next start, so an unrecorded approval is undone, never lost.
		if o.Status == NotSent {
			return nil, fmt.Errorf("%w: outcome not recorded: %v", ErrJournal, ferr)
		}
		// The request may have reached the host: "not sent" would be a lie.
		return nil, fmt.Errorf("%w: %v", ErrUnrecorded, ferr)
	}
	if err := e.afterAnswer(ctx, r.STAN, o.Response.Code, signOn); err != nil {
		return nil, err
	}
	return done, nil
}

// afterAnswer is what an answer to the request under trace stan asks of the terminal
// itself, for a card request (after its outcome is safe) and a QR message alike: a 94
// moves the trace number past the host's, and keys the host no longer shares
// (signOn) are renewed by a sign-on.
func (e *Engine) afterAnswer(ctx context.Context, stan int64, code string, signOn bool) error {
	if code != "" && LookupCode(code).Action == ActTraceUsed {
		// The host holds this trace number already: the journal's counters are behind the
		// host's. Move past them, so that no later request reuses a trace the host knows.
		past := (stan+TraceSkip-1)%maxSTAN + 1
		if err := e.Store.AdvanceSTAN(context.WithoutCancel(ctx), past); err != nil {
			return fmt.Errorf("%w: moving the trace number forward: %v", ErrJournal, err)
		}
	}
	if signOn {
		// The working keys no longer match the host's: sign on again, so that the
		// reversal and the next request go out under new keys.
		e.SignOn(context.WithoutCancel(ctx), "system")
	}
	return nil
}

// TraceSkip is how far the STAN jumps when the host answers 94 (trace already used): the
// journal lost requests the host holds, and there is no telling how many.
const TraceSkip = 1000

// maxSTAN is the largest trace number (field 11 is n6); the counter wraps to 1.
const maxSTAN = 999999

// outcomeOf decides what becomes of a record from the host's answer. Only an approval
// or a known decline is final; anything that leaves the terminal unsure whether money
// moved — no answer, a MAC that does not verify, an answer that does not repeat the
// request, a code the terminal does not know or one that asks for a reversal — is a
// reversal. signOn is true when the working keys must be renewed.
func outcomeOf(id int64, resp Response, err error, effects []Effect) (o Outcome, signOn bool) {
	o = Outcome{ID: id, Response: resp}
	switch {
	case errors.Is(err, ErrNotSent):
		o.Status = NotSent
		return o, false
	case err != nil:
		o.Status, o.ReversalReason = ReversalPending, ReversalReason(err)
		return o, errors.Is(err, ErrBadMAC)
	}
	switch LookupCode(resp.Code).Action {
	case ActApproved:
		o.Status, o.Effects = Approved, effects
	case ActReverse:
		o.Status, o.ReversalReason = ReversalPending, "06"
		if resp.Code == "A0" {
			o.ReversalReason = "A0"
		}
		return o, true
	case ActUnknown:
		o.Status, o.ReversalReason = ReversalPending, "06"
	default:
		o.Status = Declined
	}
	return o, false
}

// ReasonCardDeclined is the reversal reason of an approval the card did not accept
// (ISO 8583 reason 06, the terminal could not complete).
const ReasonCardDeclined = "06"

// chipOutcome gives the host's answer to the card before the outcome is written: the
// record is still pending, its reversal armed, so a power cut while the card works
// reverses it. An approval the card refuses (AAC at the second GENERATE AC, a card
// pulled out, a failed issuer authentication the card will not pass) is reversed;
// every other outcome stands, the card being told to decline.
func chipOutcome(chip ChipCard, o Outcome, answered bool) Outcome {
	v := chip.Complete(answered && o.Status != ReversalPending, o.Response)
	if v.ICC != nil {
		o.ICC = strings.ToUpper(hex.EncodeToString(v.ICC))
	}
	if o.Status == Approved && !v.Accepted {
		o.Status, o.ReversalReason, o.Effects = ReversalPending, ReasonCardDeclined, nil
	}
	return o
}

// reversalsFirst sends the reversals owed and applies ReversalRules: nil when none is
// left and the next request may go.
func (e *Engine) reversalsFirst(ctx context.Context) error {
	left := e.FlushReversals(ctx)
	if left < 0 {
		return fmt.Errorf("%w: cannot read pending reversals", ErrJournal)
	}
	if ref := apply(ReversalRules, &ReversalCheck{PendingReversals: left}); ref != nil {
		return ref
	}
	return nil
}

// FlushReversals sends every pending reversal once; it returns how many are still to
// send (a reversal whose tries ran out is no longer one: it is ReversalFailed).
func (e *Engine) FlushReversals(ctx context.Context) int {
	e.flushing.Lock()
	defer e.flushing.Unlock()
	tasks, err := e.Store.PendingReversals(ctx)
	if err != nil {
		return -1
	}
	left := 0
	for _, t := range tasks {
		resp, err := e.Host.Reverse(ctx, Reversal{Orig: t.Record, Reason: t.Reason, Repeat: t.Tries > 0})
		ok := err == nil && ClearsReversal(resp.Code)
		max := e.MaxReversalTries
		if max <= 0 {
			max = 3
		}
		gaveUp := !ok && t.Tries+1 >= max
		switch err = e.Store.ReversalSent(context.WithoutCancel(ctx), t.Record.ID, ok, max); {
		case err != nil || (!ok && !gaveUp):
			left++
		case gaveUp && e.ReversalFailed != nil:
			r := t.Record
			r.Status = ReversalFailed
			e.ReversalFailed(r)
		}
	}
	return left
}

// SignOn signs the terminal on and loads its working keys.
func (e *Engine) SignOn(ctx context.Context, operator string) error {
	stan, err := e.Store.NextSTAN(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	err = e.Host.SignOn(ctx, stan)
	detail := "ok"
	if err != nil {
		detail = err.Error()
	}
	e.Store.Audit(ctx, Event{Kind: "sign_on", Operator: operator, Detail: detail})
	return err
}

// TCUploader is a Host whose acquirer wants the final cryptogram (the TC) of every chip
// and contactless record of a batch after a settlement it agreed with, as CUP does (the
// IC card TC upload, 0320 with field 55). The engine sends them with Upload.
type TCUploader interface {
	WantsTCUpload() bool
}

// uploadChipRecords sends the batch's chip records when the Host wants their TCs; it
// returns how many went.
func (e *Engine) uploadChipRecords(ctx context.Context, batch int64) (int, error) {
	if u, ok := e.Host.(TCUploader); !ok || !u.WantsTCUpload() {
		return 0, nil
	}
	recs, err := e.Store.UploadRecords(ctx, batch)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	n := 0
	for _, r := range recs {
		if r.ICC == "" || (r.EntryMode != Chip && r.EntryMode != Tapped) {
			continue
		}
		stan, err := e.Store.NextSTAN(ctx)
		if err != nil {
			return n, fmt.Errorf("%w: %v", ErrJournal, err)
		}
		if err := e.Host.Upload(ctx, r, stan); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SettleResult is how a batch closed; the screen and the report say the same words.
type SettleResult string

// How a batch closes (CUP convention for the last one).
const (
	// SettledBalanced: the acquirer agreed with the totals at the first 0500.
	SettledBalanced SettleResult = "balanced"
	// SettledAfterUpload: it disagreed, the whole batch was uploaded, and it agreed then.
	SettledAfterUpload SettleResult = "balanced_after_upload"
	// ClosedUnbalanced: it still disagreed after a complete upload. The batch closes;
	// the acquirer settles from the uploaded detail and the merchant reconciles with it.
	ClosedUnbalanced SettleResult = "unbalanced_uploaded"
)

// SettleResults are the words for each result, on the screen and on the report.
var SettleResults = map[SettleResult]i18n.Text{
	SettledBalanced:    {EN: "Settled: BALANCED", ZH: "结算成功，对账平"},
	SettledAfterUpload: {EN: "BALANCED after upload", ZH: "上送后对账平"},
	ClosedUnbalanced:   {EN: "Closed: UNBALANCED", ZH: "对账不平，已上送"},
}

// Settlement is a closed batch's report.
type Settlement struct {
	Totals   Totals
	Result   SettleResult
	Uploaded int // records sent in the batch upload
}

// Settle settles the current batch: reversals first, then 0500, a batch upload when the
// host disagrees, and the batch closed. From the first 0500 until the batch closes, the
// batch takes no new record (BatchRules): interrupted at any step — no answer, a power
// cut —, calling Settle again resumes the same settlement with the same totals, and an
// acquirer that had already settled answers the repeated 0500 as it did the first.
func (e *Engine) Settle(ctx context.Context, operator string) (*Settlement, error) {
	if err := e.reversalsFirst(ctx); err != nil {
		return nil, err
	}
	batch, err := e.Store.CurrentBatch(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	t, err := e.Store.Totals(ctx, batch)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	t.Head = e.Store.SettlementHead(ctx)
	if err := e.Store.StartSettlement(ctx, batch, t); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	s := &Settlement{Totals: t, Result: SettledBalanced}
	stan, err := e.Store.NextSTAN(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	balanced, err := e.Host.Settle(ctx, t, stan, false)
	if err != nil {
		return nil, err
	}
	if !balanced {
		recs, err := e.Store.UploadRecords(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJournal, err)
		}
		for _, r := range recs {
			if stan, err = e.Store.NextSTAN(ctx); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrJournal, err)
			}
			if err := e.Host.Upload(ctx, r, stan); err != nil {
				return nil, err
			}
			s.Uploaded++
		}
		// Batch end: the acquirer holds every record the totals count and answers again.
		if stan, err = e.Store.NextSTAN(ctx); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJournal, err)
		}
		again, err := e.Host.Settle(ctx, t, stan, true)
		if err != nil {
			return nil, err
		}
		s.Result = ClosedUnbalanced
		if again {
			s.Result = SettledAfterUpload
		}
	}
	if s.Result == SettledBalanced {
		// The batch upload carries every chip record's final cryptogram; a balanced batch
		// had none, and an acquirer that wants them (CUP's IC TC upload) gets them now.
		n, err := e.uploadChipRecords(ctx, batch)
		s.Uploaded += n
		if err != nil {
			return nil, err
		}
	}
	if err := e.Store.CloseBatch(context.WithoutCancel(ctx), batch); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	e.Store.Audit(ctx, Event{Kind: "settlement", Operator: operator, Detail: fmt.Sprintf("batch %06d %s, %d uploaded: sales %d/%s refunds %d/%s voids %d/%s",
		batch, s.Result, s.Uploaded, t.Sales.Count, Money(t.Sales.Amount), t.Refunds.Count, Money(t.Refunds.Amount), t.Voids.Count, Money(t.Voids.Amount))})
	return s, nil
}
