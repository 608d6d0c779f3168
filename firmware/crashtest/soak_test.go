package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// soakFaults are the acquirer's misbehaviours a soak cycle draws from, each on every
// request or on one message of the money path.
var soakFaults = []string{
	"ok", "ok", "ok",
	"timeout", "garbage", "drop-after-request", "duplicate-response", "bad-mac", "unsigned",
	"echo:4", "code:Z9", "cut", "slow:2.5",
	"drop-after-request@0500#1", "hold@0500#1", "code:95@0500#1", "drop-after-request@0320#1",
	"cut@0320#2", "drop-after-request@0500#2", "hold@0400#1", "unsigned@0220", "echo:90@0200",
}

// TestSoak is the long-running fault test (make soak): cycles of a terminal life — random
// sales, voids, refunds and settlements in a child process — under a random acquirer
// fault, killed (SIGKILL) at a random step or not at all; after each, a restart recovers
// and the journal is reconciled with the acquirer's ledger. Journal and ledger carry over
// from cycle to cycle. POSFW_SOAK_CYCLES sets the number of cycles (unset: skipped);
// POSFW_SOAK_SEED the seed (default: the time).
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("POSFW_SOAK_CYCLES"))
	if n <= 0 {
		t.Skip("set POSFW_SOAK_CYCLES (make soak)")
	}
	seed, err := strconv.ParseUint(os.Getenv("POSFW_SOAK_SEED"), 10, 64)
	if err != nil {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	acq, addr := startAcquirer(t, dir)
	kills := 0
	for c := 1; c <= n && !t.Failed(); c++ {
		fs := soakFaults[rng.IntN(len(soakFaults))]
		f, err := hostsim.ParseFault(fs)
		if err != nil {
			t.Fatal(err)
		}
		if err := acq.SetFault(f); err != nil {
			t.Fatal(err)
		}
		killAt := 0
		if rng.IntN(3) > 0 {
			killAt = 1 + rng.IntN(40)
		}
		if life(t, c, "CRASH_CHILD=soak", "CRASH_DIR="+dir, "CRASH_HOST="+addr,
			fmt.Sprintf("CRASH_KILL_AT=%d", killAt), fmt.Sprintf("CRASH_SEED=%d", rng.Uint64())) {
			kills++
		}
		ok, _ := hostsim.ParseFault("ok")
		acq.SetFault(ok)
		b := restart(t, c, dir, addr, acq.Ledger())
		unsettled(t, acq.Ledger(), b)
	}
	if j, err := journal.Open(filepath.Join(dir, "journal.db")); err == nil {
		recs, _ := j.Find(context.Background(), journal.Query{Limit: 1_000_000})
		b, _ := j.CurrentBatch(context.Background())
		byStatus := map[txn.Status]int{}
		for _, r := range recs {
			byStatus[r.Status]++
		}
		t.Logf("soak: journal of %d records in %d batches, by status: %v", len(recs), b, byStatus)
		j.Close()
	}
	fired := acq.Fired()
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range fired {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("soak: seed %d, %d cycles, %d killed, faults fired:", seed, n, kills)
	for _, k := range kinds {
		t.Logf("  %-28s %d", k, fired[k])
	}
}

// soakChild is one cycle's terminal life: a dozen random operations.
func soakChild() int {
	ctx := context.Background()
	seed, _ := strconv.ParseUint(os.Getenv("CRASH_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 2))
	e, j, err := childTerminal()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := e.SignOn(ctx, "01"); err != nil {
		return 0 // the fault keeps the terminal from signing on: nothing to do this cycle
	}
	cards := []string{"ok", "ok2"}
	for range 12 {
		switch k := rng.IntN(10); {
		case k < 5:
			amount := int64(100 + rng.IntN(50000))
			card := swipe(cards[rng.IntN(2)])
			if rng.IntN(2) == 0 {
				// A chip card, whose second GENERATE AC is one more step a kill can land on.
				if c, err := chipCard(lifeSteps, amount); err == nil {
					card = c
				}
			}
			e.Sale(ctx, txn.SaleRequest{Amount: amount, Card: card, Operator: "01", ConfirmDuplicate: true})
		case k < 7:
			if o := pick(ctx, j, rng, txn.Sale, txn.Refund); o != nil {
				e.Void(ctx, txn.VoidRequest{STAN: o.STAN, Operator: "01", Supervisor: "00", SupervisorOK: true})
			}
		case k < 9:
			if o := pick(ctx, j, rng, txn.Sale); o != nil && o.Amount > o.Refunded && o.EntryMode == txn.Swiped {
				card := "ok"
				if o.MaskedPAN != swipe("ok").Masked() {
					card = "ok2"
				}
				e.Refund(ctx, txn.RefundRequest{OrigRRN: o.RRN, OrigDate: o.CreatedAt.In(time.Local).Format("0102"),
					Amount: 1 + rng.Int64N(o.Amount-o.Refunded), Card: swipe(card), Operator: "01", Supervisor: "00", SupervisorOK: true})
			}
		default:
			e.Settle(ctx, "00")
		}
	}
	return 0
}

// pick is a random approved record of one of the types in the journal's newest 50.
func pick(ctx context.Context, j *journal.Journal, rng *rand.Rand, types ...txn.Type) *txn.Record {
	recs, err := j.Find(ctx, journal.Query{Limit: 50})
	if err != nil {
		return nil
	}
	var ok []txn.Record
	for _, r := range recs {
		if slices.Contains(types, r.Type) && (r.Status == txn.Approved || r.Status == txn.PartiallyRefunded) {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	r := ok[rng.IntN(len(ok))]
	return &r
}
