package txn_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"posfw/drivers/pinpad/pinpadtest"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
	"posfw/firmware/txn/txntest"
)

var (
	panOK  = []byte("6222021234567890127")
	panOK2 = []byte("4000001234567899")
)

type rig struct {
	e    *txn.Engine
	j    *journal.Journal
	host *txntest.Host
	now  time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := &rig{j: j, host: &txntest.Host{}, now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return r.now }
	j.SetClock(clock)
	r.e = &txn.Engine{
		Store: j, Cards: pinpadtest.Shared(t), Host: r.host, Currency: "CNY", Numeric: "156", MaxReversalTries: 3, Now: clock,
		Limits: txn.Limits{MaxAmount: 1_000_000, RefundCeiling: 500_000, DuplicateWindow: 2 * time.Minute},
	}
	return r
}

func card(pan []byte) *txn.Card {
	return &txn.Card{PAN: append([]byte(nil), pan...), Expiry: "3012", EntryMode: txn.Swiped}
}

func (r *rig) sale(t *testing.T, amount int64, pan []byte) *txn.Record {
	t.Helper()
	rec, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: amount, Card: card(pan), Operator: "01"})
	if err != nil {
		t.Fatalf("Sale(%d): %v", amount, err)
	}
	return rec
}

func refusedBy(t *testing.T, err error, rule string) {
	t.Helper()
	var ref *txn.Refusal
	if !errors.As(err, &ref) || ref.Rule != rule {
		t.Errorf("got %v; want refused by %q", err, rule)
	}
}

func TestSaleOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer txntest.Answer
		status txn.Status
		rev    bool // a pending reversal is left
	}{
		{"approved", txntest.Answer{Code: "00"}, txn.Approved, false},
		{"declined 51", txntest.Answer{Code: "51"}, txn.Declined, false},
		{"no response", txntest.Answer{Err: txn.ErrNoResponse}, txn.ReversalPending, true},
		{"bad MAC", txntest.Answer{Err: txn.ErrBadMAC}, txn.ReversalPending, true},
		{"not sent", txntest.Answer{Err: txn.ErrNotSent}, txn.NotSent, false},
		{"answer for another request", txntest.Answer{Err: txn.ErrBadAnswer}, txn.ReversalPending, true},
		{"unknown code", txntest.Answer{Code: "Z9"}, txn.ReversalPending, true},
		{"signed A0", txntest.Answer{Code: "A0"}, txn.ReversalPending, true},
		{"signed 97", txntest.Answer{Code: "97"}, txn.ReversalPending, true},
		{"duplicate transmission 94", txntest.Answer{Code: "94"}, txn.Declined, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.host.ReverseErr = txn.ErrNoResponse // keep reversals pending for inspection
			r.host.Script(tc.answer)
			rec := r.sale(t, 1234, panOK)
			if rec.Status != tc.status || rec.STAN != 1 || rec.Batch != 1 || rec.Invoice != 1 {
				t.Errorf("record = %s stan %d batch %d invoice %d; want %s, 1, 1, 1", rec.Status, rec.STAN, rec.Batch, rec.Invoice, tc.status)
			}
			if rec.MaskedPAN != "622202*********0127" {
				t.Errorf("masked PAN = %q", rec.MaskedPAN)
			}
			tasks, _ := r.j.PendingReversals(context.Background())
			if (len(tasks) == 1) != tc.rev {
				t.Errorf("pending reversals = %d; want reversal %v", len(tasks), tc.rev)
			}
			want := txn.ReversalReason(tc.answer.Err)
			if tc.answer.Code == "A0" {
				want = "A0"
			}
			if tc.rev && tasks[0].Reason != want {
				t.Errorf("reversal reason = %s; want %s", tasks[0].Reason, want)
			}
		})
	}
}

// TestReversalBeforeNextSale: an unanswered sale is reversed before the next request
// goes out, exactly once, and the record ends reversed.
func TestReversalBeforeNextSale(t *testing.T) {
	r := newRig(t)
	r.host.Script(txntest.Answer{Err: txn.ErrNoResponse})
	first := r.sale(t, 500, panOK)
	second := r.sale(t, 600, panOK2)
	if len(r.host.Reversals) != 1 || r.host.Reversals[0].Orig.ID != first.ID || r.host.Reversals[0].Reason != "98" {
		t.Fatalf("reversals sent = %+v; want one for record %d, reason 98", r.host.Reversals, first.ID)
	}
	if len(r.host.Sends) != 2 {
		t.Errorf("sends = %d; want 2", len(r.host.Sends))
	}
	got, _ := r.j.Get(context.Background(), first.ID)
	if got.Status != txn.Reversed || second.Status != txn.Approved {
		t.Errorf("first = %s, second = %s; want reversed, approved", got.Status, second.Status)
	}
	if n := r.e.FlushReversals(context.Background()); n != 0 || len(r.host.Reversals) != 1 {
		t.Errorf("second flush left %d and sent %d reversals; want 0 and still 1", n, len(r.host.Reversals))
	}
}

// TestTraceUsedMovesForward: a 94 answer (the host holds this trace number) declines the
// sale and the next request's trace number jumps past it, never reusing one.
func TestTraceUsedMovesForward(t *testing.T) {
	r := newRig(t)
	r.host.Script(txntest.Answer{Code: "94"})
	first := r.sale(t, 500, panOK)
	second := r.sale(t, 600, panOK2)
	if first.Status != txn.Declined {
		t.Errorf("answered 94: %s; want declined", first.Status)
	}
	if want := first.STAN + txn.TraceSkip + 1; second.STAN != want {
		t.Errorf("next trace after 94 = %d; want %d", second.STAN, want)
	}
	// The jump is in the chain: the journal's counters still prove out.
	if rep, err := r.j.Verify(context.Background()); err != nil || !rep.OK() {
		t.Errorf("verify after the jump = %+v, %v; want ok", rep, err)
	}
}

// finishFails is a journal whose Finish fails, as on a disk that filled up between the
// record and the host's answer.
type finishFails struct{ *journal.Journal }

func (finishFails) Finish(context.Context, txn.Outcome) (*txn.Record, error) {
	return nil, errors.New("database or disk is full")
}

// TestUnrecordedIsNotNotSent: when the outcome cannot be written after the request went
// out, the error never says "not sent", and the record stays armed for reversal.
func TestUnrecordedIsNotNotSent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer txntest.Answer
		want   error
	}{
		{"approved", txntest.Answer{Code: "00"}, txn.ErrUnrecorded},
		{"no answer", txntest.Answer{Err: txn.ErrNoResponse}, txn.ErrUnrecorded},
		{"not sent", txntest.Answer{Err: txn.ErrNotSent}, txn.ErrJournal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.e.Store = finishFails{r.j}
			r.host.Script(tc.answer)
			_, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: 500, Card: card(panOK), Operator: "01"})
			if !errors.Is(err, tc.want) || (tc.want == txn.ErrUnrecorded && errors.Is(err, txn.ErrJournal)) {
				t.Fatalf("Sale with a failing Finish = %v; want %v only", err, tc.want)
			}
			if n, err := r.j.Recover(context.Background()); n != 1 || err != nil {
				t.Errorf("Recover = %d, %v; want the pending record armed for reversal", n, err)
			}
		})
	}
}

// TestNoNewDebitWhileReversalOwed: while the reversal of an unanswered sale cannot be
// delivered, a new sale is refused before anything is written or sent (the customer
// retrying must not be debited twice); once the reversal goes, the sale goes.
func TestNoNewDebitWhileReversalOwed(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.host.Script(txntest.Answer{Err: txn.ErrNoResponse})
	first := r.sale(t, 500, panOK)
	r.host.ReverseErr = txn.ErrNoResponse
	_, err := r.e.Sale(ctx, txn.SaleRequest{Amount: 500, Card: card(panOK), Operator: "01"})
	refusedBy(t, err, "no pending reversals")
	if len(r.host.Sends) != 1 {
		t.Errorf("sends with a reversal owed = %d; want only the first sale", len(r.host.Sends))
	}
	r.host.ReverseErr = nil
	second := r.sale(t, 500, panOK)
	if got, _ := r.j.Get(ctx, first.ID); got.Status != txn.Reversed || second.Status != txn.Approved {
		t.Errorf("first = %s, retried sale = %s; want reversed, approved", got.Status, second.Status)
	}
}

func TestBadMACSignsOnAgain(t *testing.T) {
	r := newRig(t)
	r.host.Script(txntest.Answer{Err: txn.ErrBadMAC})
	r.sale(t, 500, panOK)
	if r.host.SignOns != 1 {
		t.Errorf("sign-ons after a MAC error = %d; want 1", r.host.SignOns)
	}
}

func TestReversalGivesUp(t *testing.T) {
	r := newRig(t)
	r.host.ReverseErr = txn.ErrNoResponse
	r.host.Script(txntest.Answer{Err: txn.ErrNoResponse})
	var told []txn.Record
	r.e.ReversalFailed = func(rec txn.Record) { told = append(told, rec) }
	rec := r.sale(t, 500, panOK)
	for i, want := range []int{1, 1, 0} {
		if left := r.e.FlushReversals(context.Background()); left != want {
			t.Errorf("try %d: FlushReversals = %d; want %d still to send", i+1, left, want)
		}
	}
	if len(told) != 1 || told[0].ID != rec.ID || told[0].Status != txn.ReversalFailed {
		t.Errorf("ReversalFailed told %+v; want record %d once, reversal_failed", told, rec.ID)
	}
	got, _ := r.j.Get(context.Background(), rec.ID)
	if got.Status != txn.ReversalFailed {
		t.Errorf("after 3 failed tries status = %s; want reversal_failed", got.Status)
	}
	if !r.host.Reversals[1].Repeat || r.host.Reversals[0].Repeat {
		t.Errorf("repeat flags = %v, %v; want first 0400 then 0401", r.host.Reversals[0].Repeat, r.host.Reversals[1].Repeat)
	}
	tot, _ := r.j.Totals(context.Background(), 1)
	if tot.ReversalsFailed.Count != 1 || tot.Sales.Count != 0 {
		t.Errorf("totals = %+v; want the failed reversal reported, no sale", tot)
	}
}

func TestDuplicateGuard(t *testing.T) {
	r := newRig(t)
	first := r.sale(t, 1000, panOK)
	r.now = r.now.Add(time.Minute)
	_, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: 1000, Card: card(panOK), Operator: "01"})
	refusedBy(t, err, "duplicate confirmed")
	// Another amount, another card, or after the window: no question asked.
	r.sale(t, 1001, panOK)
	r.sale(t, 1000, panOK2)
	rec, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: 1000, Card: card(panOK), Operator: "01", ConfirmDuplicate: true})
	if err != nil || !rec.DuplicateConfirmed || rec.Status != txn.Approved {
		t.Errorf("confirmed duplicate = %+v, %v; want approved and marked confirmed", rec, err)
	}
	r.now = r.now.Add(3 * time.Minute)
	if rec := r.sale(t, 1000, panOK); rec.DuplicateConfirmed {
		t.Error("a sale after the window was marked duplicate")
	}
	_ = first
}

func TestVoid(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	sale := r.sale(t, 2000, panOK)

	_, err := r.e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, Operator: "01", Supervisor: "00"})
	refusedBy(t, err, "supervisor authorised")
	_, err = r.e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, Card: card(panOK2), SupervisorOK: true, Operator: "01", Supervisor: "00"})
	refusedBy(t, err, "same card")
	_, err = r.e.Void(ctx, txn.VoidRequest{STAN: 999, SupervisorOK: true})
	refusedBy(t, err, "original found")

	v, err := r.e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, Card: card(panOK), SupervisorOK: true, Operator: "01", Supervisor: "00"})
	if err != nil || v.Status != txn.Approved || v.Amount != 2000 || v.OrigSTAN != sale.STAN || v.OrigRRN != sale.RRN {
		t.Fatalf("void = %+v, %v; want approved for 20.00 pointing at the sale", v, err)
	}
	if req := r.host.Sends[1]; req.Type != txn.Void || req.OrigSTAN != sale.STAN || req.OrigAuthCode != sale.AuthCode {
		t.Errorf("void request = %+v; want original STAN and auth code", req)
	}
	got, _ := r.j.Get(ctx, sale.ID)
	if got.Status != txn.Voided {
		t.Errorf("sale after void = %s; want voided", got.Status)
	}
	_, err = r.e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, SupervisorOK: true})
	refusedBy(t, err, "original not already voided")

	// After settlement the sale is out of reach of a void.
	s2 := r.sale(t, 300, panOK)
	if _, err := r.e.Settle(ctx, "00"); err != nil {
		t.Fatal(err)
	}
	_, err = r.e.Void(ctx, txn.VoidRequest{STAN: s2.STAN, SupervisorOK: true})
	refusedBy(t, err, "original not settled")
}

func TestVoidDeclinedLeavesSale(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	sale := r.sale(t, 2000, panOK)
	r.host.Script(txntest.Answer{Code: "12"})
	v, err := r.e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, SupervisorOK: true, Operator: "01", Supervisor: "00"})
	if err != nil || v.Status != txn.Declined {
		t.Fatalf("void = %v, %v; want declined", v, err)
	}
	if got, _ := r.j.Get(ctx, sale.ID); got.Status != txn.Approved {
		t.Errorf("sale after a declined void = %s; want approved", got.Status)
	}
}

func TestRefunds(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	sale := r.sale(t, 10000, panOK)
	date := sale.CreatedAt.Format("0102")
	refund := func(amount int64, pan []byte) (*txn.Record, error) {
		return r.e.Refund(ctx, txn.RefundRequest{OrigRRN: sale.RRN, OrigDate: date, Amount: amount, Card: card(pan),
			Operator: "01", Supervisor: "00", SupervisorOK: true})
	}
	_, err := refund(4000, panOK2)
	refusedBy(t, err, "original card")
	rf, err := refund(4000, panOK)
	if err != nil || rf.Status != txn.Approved || rf.OrigID != sale.ID {
		t.Fatalf("partial refund = %+v, %v", rf, err)
	}
	if got, _ := r.j.Get(ctx, sale.ID); got.Status != txn.PartiallyRefunded || got.Refunded != 4000 {
		t.Errorf("sale = %s refunded %d; want partially_refunded 4000", got.Status, got.Refunded)
	}
	_, err = refund(6001, panOK)
	refusedBy(t, err, "refunds within original")
	if _, err := refund(6000, panOK); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.j.Get(ctx, sale.ID); got.Status != txn.Refunded || got.Refunded != 10000 {
		t.Errorf("sale = %s refunded %d; want refunded 10000", got.Status, got.Refunded)
	}
	// Voiding the first refund makes its amount refundable again.
	if _, err := r.e.Void(ctx, txn.VoidRequest{STAN: rf.STAN, SupervisorOK: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.j.Get(ctx, sale.ID); got.Status != txn.PartiallyRefunded || got.Refunded != 6000 {
		t.Errorf("sale after voiding a refund = %s refunded %d; want partially_refunded 6000", got.Status, got.Refunded)
	}
	// Wrong date, voided original, unknown original.
	_, err = r.e.Refund(ctx, txn.RefundRequest{OrigRRN: sale.RRN, OrigDate: "0101", Amount: 1, Card: card(panOK), SupervisorOK: true})
	refusedBy(t, err, "original date matches")
	unknown, err := r.e.Refund(ctx, txn.RefundRequest{OrigRRN: "999999999999", OrigDate: "0101", Amount: 500, Card: card(panOK2), SupervisorOK: true, Operator: "01"})
	if err != nil || unknown.Status != txn.Approved || unknown.OrigID != 0 {
		t.Errorf("refund of an original the journal lacks = %+v, %v; want approved, left to the host", unknown, err)
	}
	s2 := r.sale(t, 700, panOK2)
	r.e.Void(ctx, txn.VoidRequest{STAN: s2.STAN, SupervisorOK: true})
	_, err = r.e.Refund(ctx, txn.RefundRequest{OrigRRN: s2.RRN, Amount: 100, Card: card(panOK2), SupervisorOK: true})
	refusedBy(t, err, "original not voided")
}

func TestManualRefund(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	sale := r.sale(t, 5000, panOK)
	r.host.Script(txntest.Answer{Code: "40"})
	rf, err := r.e.Refund(ctx, txn.RefundRequest{OrigRRN: sale.RRN, Amount: 5000, Card: card(panOK), SupervisorOK: true, Operator: "01"})
	if err != nil || rf.Status != txn.Declined || txn.LookupCode(rf.ResponseCode).Action != txn.ActManualRoute {
		t.Fatalf("refund on a closed route = %+v, %v; want declined with code 40", rf, err)
	}
	sends := len(r.host.Sends)
	m, err := r.e.ManualRefund(ctx, txn.ManualRefundRequest{Amount: 5000, Reason: "Original route unavailable", OrigRRN: sale.RRN,
		Operator: "01", Supervisor: "00", SupervisorOK: true})
	if err != nil || m.Status != txn.Recorded || m.MaskedPAN != sale.MaskedPAN {
		t.Fatalf("manual refund = %+v, %v", m, err)
	}
	if len(r.host.Sends) != sends {
		t.Error("a manual refund was sent online")
	}
	if got, _ := r.j.Get(ctx, sale.ID); got.Status != txn.Refunded {
		t.Errorf("sale after a full manual refund = %s; want refunded", got.Status)
	}
	tot, _ := r.j.Totals(ctx, 1)
	if tot.ManualRefunds != (txn.Total{Count: 1, Amount: 5000}) || tot.Refunds.Count != 0 {
		t.Errorf("totals = %+v; want the manual refund counted apart", tot)
	}
}

func TestSettlement(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	s1 := r.sale(t, 1000, panOK)
	r.sale(t, 2000, panOK2)
	r.host.Script(txntest.Answer{Code: "51"})
	r.sale(t, 3000, panOK)
	r.e.Void(ctx, txn.VoidRequest{STAN: s1.STAN, SupervisorOK: true})

	// A reversal the host cannot take blocks settlement.
	r.host.Script(txntest.Answer{Err: txn.ErrNoResponse})
	r.sale(t, 4000, panOK)
	r.host.ReverseErr = txn.ErrNoResponse
	_, err := r.e.Settle(ctx, "00")
	refusedBy(t, err, "no pending reversals")
	r.host.ReverseErr = nil

	r.host.Unbalanced = true
	s, err := r.e.Settle(ctx, "00")
	if err != nil {
		t.Fatal(err)
	}
	want := txn.Totals{Batch: 1, Sales: txn.Total{Count: 1, Amount: 2000}, Voids: txn.Total{Count: 1, Amount: 1000}}
	// The upload carries every record the totals count: the sale and the void.
	if s.Totals != want || s.Uploaded != 2 || s.Result != txn.SettledAfterUpload {
		t.Errorf("settlement = %+v; want totals %+v, unbalanced, 2 uploaded, balanced after upload", s, want)
	}
	if len(r.host.Uploads) != 2 || r.host.Uploads[1].Type != txn.Void {
		t.Errorf("uploaded %+v; want the sale and the void", r.host.Uploads)
	}
	if b, _ := r.j.CurrentBatch(ctx); b != 2 {
		t.Errorf("batch after settlement = %d; want 2", b)
	}
	// Settling the new, empty batch works and the old totals are not counted again.
	s, err = r.e.Settle(ctx, "00")
	if err != nil || s.Totals.Sales.Count != 0 || s.Totals.Batch != 2 {
		t.Errorf("second settlement = %+v, %v", s, err)
	}
}

// TestRecoverAfterCrash: a record left pending (the process died after the request was
// sent) is reversed at the next start.
func TestRecoverAfterCrash(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	rec := &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: 900, Currency: "CNY", Operator: "01"}
	if err := r.j.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if n, err := r.j.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	r.e.FlushReversals(ctx)
	if got, _ := r.j.Get(ctx, rec.ID); got.Status != txn.Reversed {
		t.Errorf("record after recovery = %s; want reversed", got.Status)
	}
	if rep, err := r.j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

func TestJournalRefusedBeforeSend(t *testing.T) {
	r := newRig(t)
	r.j.Close() // a failed write: the journal cannot commit
	_, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: 100, Card: card(panOK), Operator: "01"})
	if !errors.Is(err, txn.ErrJournal) {
		t.Errorf("sale with a dead journal = %v; want ErrJournal", err)
	}
	if len(r.host.Sends) != 0 {
		t.Error("the request was sent although the journal could not record it")
	}
}

// BenchmarkSale: the engine and journal of one sale, with the host answering at once.
func BenchmarkSale(b *testing.B) {
	j, err := journal.Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	e := &txn.Engine{Store: j, Cards: pinpadtest.Shared(b), Host: &txntest.Host{}, Currency: "CNY", Numeric: "156",
		Limits: txn.Limits{MaxAmount: 1 << 40, DuplicateWindow: 2 * time.Minute}}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Sale(ctx, txn.SaleRequest{Amount: int64(100 + i), Card: card(panOK), Operator: "01"}); err != nil {
			b.Fatal(err)
		}
	}
}
