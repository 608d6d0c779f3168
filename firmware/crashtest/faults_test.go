package crashtest

import (
	"context"
	"path/filepath"
	"testing"

	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// TestHostFaults runs a sale into each fault of the acquirer simulator, lets the host
// recover, and checks that terminal and acquirer agree: no double debit, every
// unanswered sale reversed exactly once.
func TestHostFaults(t *testing.T) {
	for _, tc := range []struct {
		fault  string
		status txn.Status // of the sale, before recovery
	}{
		{"ok", txn.Approved},
		{"down", txn.NotSent},
		{"timeout", txn.ReversalPending},
		{"garbage", txn.ReversalPending},
		{"slow:3", txn.ReversalPending}, // the response timeout is 2 s
		{"drop-after-request", txn.ReversalPending},
		{"duplicate-response", txn.Approved},
		{"bad-mac", txn.ReversalPending},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			acq, addr := startAcquirer(t, dir)
			j, err := journal.Open(filepath.Join(dir, "journal.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			client := newClient(addr)
			defer client.Close()
			e := engine(j, client)
			if err := e.SignOn(ctx, "01"); err != nil {
				t.Fatal(err)
			}
			f, err := hostsim.ParseFault(tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			if err := acq.SetFault(f); err != nil {
				t.Fatal(err)
			}
			rec, err := e.Sale(ctx, txn.SaleRequest{Amount: 1500, Card: swipe("ok"), Operator: "01"})
			if err != nil {
				t.Fatalf("sale under %s: %v", tc.fault, err)
			}
			if rec.Status != tc.status {
				t.Errorf("sale under %s = %s; want %s", tc.fault, rec.Status, tc.status)
			}
			ok, _ := hostsim.ParseFault("ok")
			if err := acq.SetFault(ok); err != nil {
				t.Fatal(err)
			}
			if !client.SignedOn() {
				e.SignOn(ctx, "01")
			}
			// The next sale sends the reversal first; both must end right.
			next, err := e.Sale(ctx, txn.SaleRequest{Amount: 2500, Card: swipe("ok"), Operator: "01"})
			if err != nil || next.Status != txn.Approved {
				t.Fatalf("next sale = %+v, %v", next, err)
			}
			check(t, 0, j, acq.Ledger())
			if tc.status == txn.ReversalPending {
				got, _ := j.Get(ctx, rec.ID)
				if got.Status != txn.Reversed {
					t.Errorf("unanswered sale after recovery = %s; want reversed", got.Status)
				}
				if a, err := acq.Ledger().ByTrace(terminalID, rec.STAN); err == nil && a.Reversals != 1 {
					t.Errorf("acquirer received %d reversals; want exactly 1", a.Reversals)
				}
			}
		})
	}
}
