package crashtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/cardreader/testcards"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/host"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

const terminalID = "CRASH001"

// TestMain runs the terminal side when the test binary is started as a child.
func TestMain(m *testing.M) {
	switch os.Getenv("CRASH_CHILD") {
	case "1":
		os.Exit(child())
	case "soak":
		os.Exit(soakChild())
	}
	os.Exit(m.Run())
}

// steps counts the journal and host steps of the child and kills it after step KillAt.
type steps struct {
	n, killAt int
}

func (s *steps) step() {
	s.n++
	if s.n == s.killAt {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	}
}

type killStore struct {
	*journal.Journal
	s *steps
}

func (k killStore) Begin(ctx context.Context, r *txn.Record) error {
	err := k.Journal.Begin(ctx, r)
	k.s.step()
	return err
}
func (k killStore) Finish(ctx context.Context, o txn.Outcome) (*txn.Record, error) {
	r, err := k.Journal.Finish(ctx, o)
	k.s.step()
	return r, err
}
func (k killStore) ReversalSent(ctx context.Context, id int64, ok bool, max int) error {
	err := k.Journal.ReversalSent(ctx, id, ok, max)
	k.s.step()
	return err
}
func (k killStore) StartSettlement(ctx context.Context, b int64, t txn.Totals) error {
	err := k.Journal.StartSettlement(ctx, b, t)
	k.s.step()
	return err
}
func (k killStore) CloseBatch(ctx context.Context, b int64) error {
	err := k.Journal.CloseBatch(ctx, b)
	k.s.step()
	return err
}

type killHost struct {
	txn.Host
	s *steps
}

// Send is killed after the host answered and before the outcome is committed: the
// "debited but terminal showed failure" case.
func (k killHost) Send(ctx context.Context, r txn.Request) (txn.Response, error) {
	resp, err := k.Host.Send(ctx, r)
	k.s.step()
	return resp, err
}
func (k killHost) Settle(ctx context.Context, t txn.Totals, stan int64, trailer bool) (bool, error) {
	ok, err := k.Host.Settle(ctx, t, stan, trailer)
	k.s.step()
	return ok, err
}

// newClient is a host link whose keys are in a simulated PIN pad on a PTY holding the
// host simulator's TMK (the pad lives as long as the process).
func newClient(addr string) *host.Client {
	sim := padsim.New()
	tmk, _ := hex.DecodeString(hostsim.DefaultMasterKey)
	sim.InjectTMK(tmk)
	pad, _, err := padsim.Connect(sim)
	if err != nil {
		panic(err)
	}
	return host.New(host.Config{Address: addr, TerminalID: terminalID, MerchantID: "898000000000001", Keys: pad,
		ResponseTimeout: 2 * time.Second})
}

func engine(st txn.Store, h txn.Host) *txn.Engine {
	return &txn.Engine{Store: st, Cards: cards{}, Host: h, Currency: "CNY", Numeric: "156", MaxReversalTries: 3,
		Limits: txn.Limits{MaxAmount: 1_000_000, RefundCeiling: 1_000_000}}
}

func swipe(name string) *txn.Card {
	c, _ := testcards.Lookup(name)
	return &txn.Card{PAN: c.PAN, Track2: c.Track2Equivalent(), Expiry: c.Expiry, EntryMode: txn.Swiped}
}

// child is one terminal life: sign on, a sale, its void, a second sale, a chip sale,
// settlement.
// It exits 0 when it got through without being killed.
func child() int {
	ctx := context.Background()
	e, _, err := childTerminal()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := e.SignOn(ctx, "01"); err != nil {
		fmt.Fprintln(os.Stderr, "sign-on:", err)
		return 2
	}
	sale, err := e.Sale(ctx, txn.SaleRequest{Amount: 1000, Card: swipe("ok"), Operator: "01"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sale:", err)
		return 2
	}
	if _, err := e.Void(ctx, txn.VoidRequest{STAN: sale.STAN, SupervisorOK: true, Operator: "01", Supervisor: "00"}); err != nil {
		fmt.Fprintln(os.Stderr, "void:", err)
		return 2
	}
	if _, err := e.Sale(ctx, txn.SaleRequest{Amount: 2000, Card: swipe("ok2"), Operator: "01"}); err != nil {
		fmt.Fprintln(os.Stderr, "sale 2:", err)
		return 2
	}
	chip, err := chipCard(lifeSteps, 3000)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := e.Sale(ctx, txn.SaleRequest{Amount: 3000, Card: chip, Operator: "01"}); err != nil {
		fmt.Fprintln(os.Stderr, "chip sale:", err)
		return 2
	}
	if _, err := e.Settle(ctx, "00"); err != nil {
		fmt.Fprintln(os.Stderr, "settle:", err)
		return 2
	}
	return 0
}

// lifeSteps are the steps of the child's life (childTerminal), for the chip card's.
var lifeSteps *steps

// childTerminal is the terminal of a life run as a child: the journal in CRASH_DIR, the
// host at CRASH_HOST, killed after step CRASH_KILL_AT of journal and host.
func childTerminal() (*txn.Engine, *journal.Journal, error) {
	killAt, _ := strconv.Atoi(os.Getenv("CRASH_KILL_AT"))
	s := &steps{killAt: killAt}
	lifeSteps = s
	j, err := journal.Open(filepath.Join(os.Getenv("CRASH_DIR"), "journal.db"))
	if err != nil {
		return nil, nil, err
	}
	return engine(killStore{j, s}, killHost{newClient(os.Getenv("CRASH_HOST")), s}), j, nil
}

// TestKillAtEveryStep kills the terminal after step 1, 2, ... until a life completes.
func TestKillAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per step")
	}
	for k := 1; ; k++ {
		if done := crashAt(t, k); done {
			if k < 8 {
				t.Fatalf("the life finished after %d steps; the scenario has more than that", k)
			}
			t.Logf("killed after each of %d steps", k-1)
			return
		}
		if k > 60 {
			t.Fatal("the life never finished")
		}
	}
}

// startAcquirer runs the host simulator on loopback with its ledger in dir.
func startAcquirer(t *testing.T, dir string) (*hostsim.Server, string) {
	t.Helper()
	acq, err := hostsim.New(hostsim.Config{Ledger: filepath.Join(dir, "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { acq.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go acq.Serve(ln)
	return acq, ln.Addr().String()
}

// crashAt runs one life killed after step k, restarts, and checks. It reports whether
// the life completed (k beyond the last step).
func crashAt(t *testing.T, k int) bool {
	dir := t.TempDir()
	acq, addr := startAcquirer(t, dir)
	killed := life(t, k, "CRASH_CHILD=1", "CRASH_DIR="+dir, "CRASH_HOST="+addr, fmt.Sprintf("CRASH_KILL_AT=%d", k))
	restart(t, k, dir, addr, acq.Ledger())
	checkChipKill(t, k, dir)
	return !killed
}

// life runs terminal life k as a child process of the test binary and reports whether
// it was killed; any other failure of the child fails the test.
func life(t *testing.T, k int, env ...string) (killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("life %d: child failed without being killed: %v\n%s", k, err, out)
	}
	return true
}

// restart is the terminal's start after life k: recover, sign on, send what is owed,
// resume an interrupted settlement; then the journal is reconciled with the acquirer's
// ledger. It returns the open batch.
func restart(t *testing.T, k int, dir, addr string, l *hostsim.Ledger) int64 {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatalf("life %d: journal after the life: %v", k, err)
	}
	defer j.Close()
	client := newClient(addr)
	defer client.Close()
	e := engine(j, client)
	if _, err := j.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.SignOn(ctx, "01"); err != nil {
		t.Fatalf("life %d: sign-on: %v", k, err)
	}
	if left := e.FlushReversals(ctx); left != 0 {
		t.Errorf("life %d: %d reversals left after restart", k, left)
	}
	if b, ok, err := j.SettlementInterrupted(ctx); err != nil {
		t.Fatal(err)
	} else if ok {
		if _, err := e.Settle(ctx, "00"); err != nil {
			t.Errorf("life %d: resuming the settlement of batch %d: %v", k, b, err)
		}
		if cur, _ := j.CurrentBatch(ctx); cur != b+1 {
			t.Errorf("life %d: batch after resumed settlement = %d; want %d", k, cur, b+1)
		}
	}
	check(t, k, j, l)
	b, err := j.CurrentBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// standing are the journal states in which a sale's money is with the merchant.
var standing = map[txn.Status]bool{txn.Approved: true, txn.PartiallyRefunded: true, txn.Refunded: true}

func check(t *testing.T, k int, j *journal.Journal, l *hostsim.Ledger) {
	t.Helper()
	ctx := context.Background()
	if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("step %d: journal verify = %+v, %v", k, rep, err)
	}
	recs, err := j.Find(ctx, journal.Query{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	byTrace := map[int64]txn.Record{}
	for _, r := range recs {
		byTrace[r.STAN] = r
		switch r.Status {
		case txn.Pending, txn.ReversalPending:
			t.Errorf("step %d: record %d (%s) left %s after restart", k, r.ID, r.Type, r.Status)
		}
	}
	auths, err := l.List(terminalID)
	if err != nil {
		t.Fatal(err)
	}
	var ledgerSales, journalSales int64
	for _, a := range auths {
		if a.Type == txn.Sale && a.Status == hostsim.Authorised {
			ledgerSales += a.Amount
		}
		if a.Code == "" {
			continue // a reversal of a request the acquirer never saw
		}
		r, ok := byTrace[a.STAN]
		if !ok {
			t.Errorf("step %d: the acquirer has %s %d (%s) that the journal lost", k, a.Type, a.STAN, a.Status)
			continue
		}
		want := map[hostsim.Status]func(txn.Status) bool{
			hostsim.Authorised: func(s txn.Status) bool { return standing[s] || (r.Type != txn.Sale && s == txn.Approved) },
			hostsim.Voided:     func(s txn.Status) bool { return s == txn.Voided },
			// A reversal given up (its answers kept failing) while the acquirer did take it:
			// the journal says "call the acquirer"; no money is out of place.
			hostsim.Reversed: func(s txn.Status) bool { return s == txn.Reversed || s == txn.NotSent || s == txn.ReversalFailed },
			// A decline whose answer was lost: the terminal reversed (or gave up reversing)
			// a request that moved no money.
			hostsim.Declined: func(s txn.Status) bool { return s == txn.Declined || s == txn.Reversed || s == txn.ReversalFailed },
		}[a.Status]
		if want != nil && !want(r.Status) {
			t.Errorf("step %d: %s %d is %s at the acquirer but %s in the journal", k, a.Type, a.STAN, a.Status, r.Status)
		}
		// Repeats of one reversal are harmless on a declined or reversed original; on a
		// standing one they mean reversals that never took.
		if a.Reversals > 1 && a.Status == hostsim.Authorised {
			t.Errorf("step %d: %s %d reversed %d times", k, a.Type, a.STAN, a.Reversals)
		}
	}
	for _, r := range recs {
		if r.Type == txn.Sale && standing[r.Status] {
			journalSales += r.Amount
		}
	}
	if ledgerSales != journalSales {
		t.Errorf("step %d: standing sales: acquirer %d, journal %d", k, ledgerSales, journalSales)
	}
}
