package crashtest

import (
	"errors"
	"testing"
	"time"

	"posfw/firmware/hostsim"
	"posfw/firmware/txn"
)

// TestSettlementAfterLostAnswer is issue 18's first reproduction: the acquirer settles
// batch 1 but its 0510 never arrives. The batch takes no new sale until the settlement
// is resumed; the resumed settlement is the same one (the acquirer answers as before),
// and no record of a closed batch stays unsettled at the acquirer.
func TestSettlementAfterLostAnswer(t *testing.T) {
	r := newAnswerRig(t)
	r.sale(t, 1000)
	s2, err := r.e.Sale(r.ctx, txn.SaleRequest{Amount: 2000, Card: swipe("ok2"), Operator: "01"})
	if err != nil || s2.Status != txn.Approved {
		t.Fatalf("sale 20.00 = %+v, %v", s2, err)
	}
	if v, err := r.e.Void(r.ctx, txn.VoidRequest{STAN: s2.STAN, Operator: "01", Supervisor: "00", SupervisorOK: true}); err != nil || v.Status != txn.Approved {
		t.Fatalf("void = %+v, %v", v, err)
	}
	r.fault(t, "drop-after-request@0500#1")
	if _, err := r.e.Settle(r.ctx, "00"); !errors.Is(err, txn.ErrNoResponse) {
		t.Fatalf("settlement with its answer lost = %v; want no response", err)
	}
	if got, _ := r.acq.Ledger().Settlement(terminalID, 1); got != hostsim.ResultBalanced {
		t.Fatalf("the acquirer settled batch 1 as %q; the test needs it settled", got)
	}
	r.fault(t, "ok")
	// A sale now would land in a batch the acquirer has closed.
	var ref *txn.Refusal
	if _, err := r.e.Sale(r.ctx, txn.SaleRequest{Amount: 3000, Card: swipe("ok"), Operator: "01"}); !errors.As(err, &ref) || ref.Rule != "no settlement in progress" {
		t.Fatalf("sale during an unfinished settlement = %v; want refused: no settlement in progress", err)
	}
	s, err := r.e.Settle(r.ctx, "00")
	if err != nil || s.Result != txn.SettledBalanced {
		t.Fatalf("resumed settlement = %+v, %v; want balanced", s, err)
	}
	if b, _ := r.j.CurrentBatch(r.ctx); b != 2 {
		t.Fatalf("batch after settlement = %d; want 2", b)
	}
	unsettled(t, r.acq.Ledger(), 2)
	s3 := r.sale(t, 3000)
	if s3.Batch != 2 || s3.Status != txn.Approved {
		t.Fatalf("sale after settlement = batch %d %s; want batch 2 approved", s3.Batch, s3.Status)
	}
	if _, err := r.e.Settle(r.ctx, "00"); err != nil {
		t.Fatalf("settlement of batch 2: %v", err)
	}
	if got, _ := r.acq.Ledger().Settlement(terminalID, 2); got != hostsim.ResultBalanced {
		t.Errorf("acquirer's batch 2 = %q; want balanced", got)
	}
	unsettled(t, r.acq.Ledger(), 3)
	check(t, 0, r.j, r.acq.Ledger())
}

// TestSettlementUploadCarriesVoids: when the acquirer answers the first 0500 with 95,
// the upload must carry every record the totals count — voids too — so that the batch
// balances on the upload; terminal and acquirer then agree it was balanced after upload.
func TestSettlementUploadCarriesVoids(t *testing.T) {
	r := newAnswerRig(t)
	r.sale(t, 1000)
	s2 := r.sale(t, 2000)
	if _, err := r.e.Void(r.ctx, txn.VoidRequest{STAN: s2.STAN, Operator: "01", Supervisor: "00", SupervisorOK: true}); err != nil {
		t.Fatal(err)
	}
	r.fault(t, "code:95@0500#1")
	s, err := r.e.Settle(r.ctx, "00")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.acq.Ledger().Settlement(terminalID, 1)
	if s.Result != txn.SettledAfterUpload || s.Uploaded != 2 || got != hostsim.ResultBalancedAfterUpload {
		t.Errorf("settlement = %s with %d uploaded, acquirer %q; want balanced after upload, 2 uploaded (sale, void), the acquirer agreeing", s.Result, s.Uploaded, got)
	}
	unsettled(t, r.acq.Ledger(), 2)
	check(t, 0, r.j, r.acq.Ledger())
}

// TestSettlementFaultMatrix puts each wrong answer on each message of a settlement that
// needs a batch upload (issue 18 §3): the first 0500, the first and second 0320, and the
// trailer 0500. The acquirer holds one sale the terminal never recorded, so the first
// 0500 is answered 95. Whatever fails, settling again until the batch closes ends with
// terminal and acquirer agreeing on balanced or unbalanced, no standing record of the
// closed batch left unsettled, and the stranger taken out.
func TestSettlementFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out response timeouts")
	}
	for _, place := range []struct{ name, op, sel string }{
		{"first 0500", "settlement", "@0500#1"},
		{"upload 1", "upload", "@0320#1"},
		{"upload 2", "upload", "@0320#2"},
		{"trailer 0500", "settlement", "@0500#2"},
	} {
		for _, f := range answerFaults {
			if !applies(place.op, f.field) {
				continue
			}
			t.Run(place.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				r := newAnswerRig(t)
				r.sale(t, 1000)
				s2 := r.sale(t, 2000)
				if _, err := r.e.Void(r.ctx, txn.VoidRequest{STAN: s2.STAN, Operator: "01", Supervisor: "00", SupervisorOK: true}); err != nil {
					t.Fatal(err)
				}
				const stranger = 990001
				if resp, err := r.client.Send(r.ctx, txn.Request{Type: txn.Sale, STAN: stranger, Batch: 1, Amount: 777,
					Card: swipe("ok"), At: time.Now()}); err != nil || resp.Code != "00" {
					t.Fatalf("the stranger's sale = %+v, %v", resp, err)
				}
				r.fault(t, f.fault+place.sel)
				var s *txn.Settlement
				var err error
				for try := 1; ; try++ {
					if s, err = r.e.Settle(r.ctx, "00"); err == nil {
						break
					}
					if try == 3 {
						t.Fatalf("settlement still failing after %d tries: %v", try, err)
					}
					r.recover(t)
				}
				if b, _ := r.j.CurrentBatch(r.ctx); b != 2 {
					t.Fatalf("batch after settlement = %d; want 2", b)
				}
				acq, _ := r.acq.Ledger().Settlement(terminalID, 1)
				if (s.Result == txn.ClosedUnbalanced) != (acq == hostsim.ResultUnbalancedUploaded) || acq == "" {
					t.Errorf("terminal says %s, acquirer %q: they disagree", s.Result, acq)
				}
				unsettled(t, r.acq.Ledger(), 2)
				if a, err := r.acq.Ledger().ByTrace(terminalID, stranger); err != nil || a.Status != hostsim.Reversed {
					t.Errorf("the sale the terminal never had is %s at the acquirer (%v); want taken out", a.Status, err)
				}
				tot, _ := r.acq.Ledger().Totals(terminalID)
				if tot.Sales.Count != 0 {
					t.Errorf("the acquirer has %+v unsettled sales after the batch closed", tot.Sales)
				}
			})
		}
	}
}
