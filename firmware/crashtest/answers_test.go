package crashtest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"posfw/firmware/host"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// answerFaults are the ways a host answer can be wrong (issue: "the money path trusts
// what it must verify"): each is applied to one request, chosen by its MTI, while the
// acquirer processes that request for real. late: the answer comes after the terminal's
// 2 s response timeout.
var answerFaults = []struct {
	name, fault string
	field       int // an echo fault: the request must carry this field
}{
	{"unsigned", "unsigned", 0},
	{"bad MAC", "bad-mac", 0},
	{"echo 3 processing code", "echo:3", 3},
	{"echo 4 amount", "echo:4", 4},
	{"echo 11 trace", "echo:11", 11},
	{"echo 41 terminal", "echo:41", 41},
	{"echo 42 merchant", "echo:42", 42},
	{"echo 60 batch", "echo:60", 60},
	{"echo 70 network code", "echo:70", 70},
	{"echo 90 original data", "echo:90", 90},
	{"unknown code", "code:Z9", 0},
	{"signed A0", "code:A0", 0},
	{"late", "slow:2.5", 0},
	{"duplicate", "duplicate-response", 0},
	{"cut in the middle", "cut", 0},
	{"held without answer", "hold", 0},
}

// carries lists the echoed fields each request carries (firmware/host/doc.go).
var carries = map[string][]int{
	"sale":       {3, 4, 11, 41, 42, 60},
	"void":       {3, 4, 11, 41, 42, 60, 90},
	"refund":     {3, 4, 11, 41, 42, 60, 90},
	"reversal":   {3, 4, 11, 41, 42, 60, 90},
	"settlement": {3, 11, 41, 42, 60},
	"upload":     {3, 4, 11, 41, 42, 60, 90},
	"sign-on":    {11, 41, 42, 70},
}

// applies reports whether a fault can be put on a request: an echo fault needs the field.
func applies(op string, field int) bool {
	return field == 0 || slices.Contains(carries[op], field)
}

// answerRig is a terminal (journal + engine + host client) and its acquirer.
type answerRig struct {
	ctx    context.Context
	j      *journal.Journal
	acq    *hostsim.Server
	e      *txn.Engine
	client *host.Client
}

func newAnswerRig(t *testing.T) *answerRig {
	t.Helper()
	dir := t.TempDir()
	acq, addr := startAcquirer(t, dir)
	j, err := journal.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	client := newClient(addr)
	t.Cleanup(func() { client.Close() })
	r := &answerRig{ctx: context.Background(), j: j, acq: acq, e: engine(j, client), client: client}
	if err := r.e.SignOn(r.ctx, "01"); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *answerRig) fault(t *testing.T, s string) {
	t.Helper()
	f, err := hostsim.ParseFault(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.acq.SetFault(f); err != nil {
		t.Fatal(err)
	}
}

func (r *answerRig) sale(t *testing.T, amount int64) *txn.Record {
	t.Helper()
	rec, err := r.e.Sale(r.ctx, txn.SaleRequest{Amount: amount, Card: swipe("ok"), Operator: "01"})
	if err != nil {
		t.Fatalf("sale: %v", err)
	}
	return rec
}

// recover clears the fault, signs on again when a MAC problem asked for it, and sends
// every reversal owed, as the terminal's worker does.
func (r *answerRig) recover(t *testing.T) {
	t.Helper()
	r.fault(t, "ok")
	if err := r.e.SignOn(r.ctx, "01"); err != nil {
		t.Fatal(err)
	}
	if left := r.e.FlushReversals(r.ctx); left != 0 {
		t.Fatalf("%d reversals left with the host well again", left)
	}
}

// final is where a record must end: approved, declined, or reversed; nothing between.
func (r *answerRig) final(t *testing.T, id int64) txn.Status {
	t.Helper()
	got, err := r.j.Get(r.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	switch got.Status {
	case txn.Approved, txn.Declined, txn.Reversed, txn.Voided, txn.PartiallyRefunded, txn.Refunded:
	default:
		t.Errorf("record %d (%s) ends %s; want approved, declined or reversed", id, got.Type, got.Status)
	}
	return got.Status
}

// TestAnswerMatrix puts each wrong answer on each message of the money path and checks
// that the request ends approved, declined or reversed — an answer that is not this
// request's valid answer is no answer, so a reversal — and that the acquirer's ledger
// agrees with the journal.
func TestAnswerMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out response timeouts")
	}
	type op struct {
		name   string
		mti    string
		before func(t *testing.T, r *answerRig) any                     // what must exist first
		run    func(t *testing.T, r *answerRig, arg any) (int64, error) // the faulted request; its record id
	}
	ops := []op{
		{"sale", "0200", nil, func(t *testing.T, r *answerRig, _ any) (int64, error) {
			rec, err := r.e.Sale(r.ctx, txn.SaleRequest{Amount: 1500, Card: swipe("ok"), Operator: "01"})
			if err != nil {
				return 0, err
			}
			return rec.ID, nil
		}},
		{"void", "0200", func(t *testing.T, r *answerRig) any { return r.sale(t, 1500) },
			func(t *testing.T, r *answerRig, arg any) (int64, error) {
				rec, err := r.e.Void(r.ctx, txn.VoidRequest{STAN: arg.(*txn.Record).STAN, Operator: "01", Supervisor: "00", SupervisorOK: true})
				if err != nil {
					return 0, err
				}
				return rec.ID, nil
			}},
		{"refund", "0220", func(t *testing.T, r *answerRig) any { return r.sale(t, 1500) },
			func(t *testing.T, r *answerRig, arg any) (int64, error) {
				s := arg.(*txn.Record)
				rec, err := r.e.Refund(r.ctx, txn.RefundRequest{OrigRRN: s.RRN, OrigDate: s.CreatedAt.In(time.Local).Format("0102"),
					Amount: 500, Card: swipe("ok"), Operator: "01", Supervisor: "00", SupervisorOK: true})
				if err != nil {
					return 0, err
				}
				return rec.ID, nil
			}},
		{"reversal", "0400", func(t *testing.T, r *answerRig) any {
			// A sale the acquirer approves but whose answer is lost: its reversal is owed.
			r.fault(t, "drop-after-request@0200")
			s := r.sale(t, 1500)
			if s.Status != txn.ReversalPending {
				t.Fatalf("sale with a dropped answer = %s; want reversal pending", s.Status)
			}
			return s
		}, func(t *testing.T, r *answerRig, arg any) (int64, error) {
			r.e.FlushReversals(r.ctx)
			return arg.(*txn.Record).ID, nil
		}},
	}
	for _, o := range ops {
		for _, f := range answerFaults {
			if !applies(o.name, f.field) {
				continue
			}
			t.Run(o.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				r := newAnswerRig(t)
				var arg any
				if o.before != nil {
					arg = o.before(t, r)
				}
				r.fault(t, f.fault+"@"+o.mti+"#1")
				id, err := o.run(t, r, arg)
				if err != nil {
					t.Fatalf("%s under %s: %v", o.name, f.fault, err)
				}
				during, _ := r.j.Get(r.ctx, id)
				r.recover(t)
				got := r.final(t, id)
				// Only a duplicated valid answer is still an answer.
				want := txn.Reversed
				switch {
				case o.name == "reversal":
					want = txn.Reversed
				case f.fault == "duplicate-response":
					want = txn.Approved
				}
				if got != want {
					t.Errorf("%s under %s: status %s right after, %s in the end; want %s", o.name, f.fault, during.Status, got, want)
				}
				check(t, 0, r.j, r.acq.Ledger())
			})
		}
	}
}

// TestAnswerMatrixSettlementAndSignOn: a wrong answer to a settlement leaves the batch
// open and a later settlement closes it with the acquirer agreeing; a wrong answer to a
// sign-on loads no keys and moves no money.
func TestAnswerMatrixSettlementAndSignOn(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out response timeouts")
	}
	for _, f := range answerFaults {
		t.Run("settlement/"+f.name, func(t *testing.T) {
			if !applies("settlement", f.field) {
				t.Skip("0500 carries no field", f.field)
			}
			t.Parallel()
			r := newAnswerRig(t)
			r.sale(t, 1500)
			r.sale(t, 2500)
			r.fault(t, f.fault+"@0500#1")
			_, err := r.e.Settle(r.ctx, "00")
			if b, _ := r.j.CurrentBatch(r.ctx); f.fault != "duplicate-response" && (err == nil || b != 1) {
				t.Errorf("settlement under %s = %v, batch now %d; want an error and batch 1 still open", f.fault, err, b)
			}
			r.recover(t)
			if b, _ := r.j.CurrentBatch(r.ctx); b == 1 {
				if _, err := r.e.Settle(r.ctx, "00"); err != nil {
					t.Fatalf("settlement again with the host well: %v", err)
				}
			}
			if b, _ := r.j.CurrentBatch(r.ctx); b != 2 {
				t.Errorf("batch after settlement = %d; want 2", b)
			}
			unsettled(t, r.acq.Ledger(), 2)
			check(t, 0, r.j, r.acq.Ledger())
		})
		t.Run("sign-on/"+f.name, func(t *testing.T) {
			if !applies("sign-on", f.field) {
				t.Skip("0800 carries no field", f.field)
			}
			t.Parallel()
			r := newAnswerRig(t)
			r.fault(t, f.fault+"@0800#1")
			err := r.e.SignOn(r.ctx, "01")
			switch f.fault {
			case "duplicate-response", "unsigned", "bad-mac":
				// 0810 carries no MAC (its keys carry check values): the answer is valid.
				if err != nil {
					t.Errorf("sign-on under %s = %v; want ok", f.fault, err)
				}
			default:
				if err == nil {
					t.Errorf("sign-on under %s succeeded; want a failure", f.fault)
				}
			}
			r.recover(t)
			if rec := r.sale(t, 1000); rec.Status != txn.Approved {
				t.Errorf("sale after the sign-on fault = %s; want approved", rec.Status)
			}
			check(t, 0, r.j, r.acq.Ledger())
		})
	}
}

// unsettled fails when the acquirer holds an approved record of a closed batch (one
// before open) that no settlement covered.
func unsettled(t *testing.T, l *hostsim.Ledger, open int64) {
	t.Helper()
	auths, err := l.List(terminalID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range auths {
		if a.Batch < open && a.Status == hostsim.Authorised && !a.Settled {
			t.Errorf("the acquirer holds %s %d of batch %d unsettled after the batch closed", a.Type, a.STAN, a.Batch)
		}
	}
}
