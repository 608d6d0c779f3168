package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"posfw/drivers/cardreader/testcards"
	"posfw/firmware/host"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// benchResult is the one JSON line `posfw bench` prints (DESIGN §10).
//
// p50/p99 are whole sales; host_p50_ms is the host's part (request out to answer in,
// the simulator's own work included); terminal_p50_ms is the rest — what the terminal
// adds — and ratio is terminal_p50_ms / (2 × commit_ms), the target of DESIGN §10 (≤ 1.5).
type benchResult struct {
	Sales       int     `json:"sales"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	HostP50     float64 `json:"host_p50_ms"`
	TerminalP50 float64 `json:"terminal_p50_ms"`
	CommitMS    float64 `json:"commit_ms"`
	Ratio       float64 `json:"ratio"`
}

// timedHost measures the host's part of each sale.
type timedHost struct {
	txn.Host
	last time.Duration
}

func (h *timedHost) Send(ctx context.Context, r txn.Request) (txn.Response, error) {
	start := time.Now()
	resp, err := h.Host.Send(ctx, r)
	h.last = time.Since(start)
	return resp, err
}

// runBench runs N sales end to end without the UI — engine, journal, ISO 8583 client,
// an in-process host simulator on loopback with its ledger in memory (a zero-delay
// host) — and measures a single-row durable SQLite commit on the same disk.
func runBench(e *env, args []string) error {
	fs := e.flags("bench")
	n := fs.Int("n", 200, "number of sales")
	data := fs.String("data", "", "directory for the journal (default: a temporary one; use the disk you care about)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *n < 1 || *n > 1_000_000 {
		return usageError{fmt.Sprintf("--n %d: want 1 to 1000000", *n)}
	}
	dir := *data
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "posfw-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(dir, "bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	acq, err := hostsim.New(hostsim.Config{})
	if err != nil {
		return err
	}
	defer acq.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go acq.Serve(ln)
	tmk, _ := hex.DecodeString(hostsim.DefaultMasterKey)
	client := host.New(host.Config{Address: ln.Addr().String(), TerminalID: "BENCH001", MerchantID: "898000000000001", MasterKey: tmk})
	defer client.Close()

	j, err := journal.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		return err
	}
	defer j.Close()
	th := &timedHost{Host: client}
	eng := &txn.Engine{Store: j, Host: th, Currency: "CNY", Numeric: "156", MaxReversalTries: 3,
		Limits: txn.Limits{MaxAmount: 1 << 40, RefundCeiling: 1 << 40}}
	if err := eng.SignOn(ctx, "bench"); err != nil {
		return err
	}
	card, _ := testcards.Lookup("ok")
	lat := make([]float64, 0, *n)
	hostLat := make([]float64, 0, *n)
	termLat := make([]float64, 0, *n)
	for i := 0; i < *n; i++ {
		c := &txn.Card{PAN: append([]byte(nil), card.PAN...), Track2: card.Track2Equivalent(), Expiry: card.Expiry, EntryMode: txn.Swiped}
		start := time.Now()
		// Whole-yuan amounts stay clear of the simulator's rules by cents (.51, .96, .98).
		rec, err := eng.Sale(ctx, txn.SaleRequest{Amount: int64(100 * (1 + i)), Card: c, Operator: "01", ConfirmDuplicate: true})
		total := time.Since(start)
		lat = append(lat, ms(total))
		hostLat = append(hostLat, ms(th.last))
		termLat = append(termLat, ms(total-th.last))
		c.Wipe()
		if err != nil {
			return err
		}
		if rec.Status != txn.Approved {
			return fmt.Errorf("sale %d: %s %s", i, rec.Status, rec.ResponseCode)
		}
	}
	commit, err := commitCost(dir, max(*n, 50))
	if err != nil {
		return err
	}
	r := benchResult{Sales: *n, P50: pct(lat, 50), P99: pct(lat, 99), HostP50: pct(hostLat, 50), TerminalP50: pct(termLat, 50), CommitMS: commit}
	r.Ratio = round(r.TerminalP50 / (2 * commit))
	b, _ := json.Marshal(r)
	fmt.Fprintln(e.stdout, string(b))
	return nil
}

// commitCost is the median time of a one-row transaction committed with the journal's
// settings (WAL, synchronous=FULL) on the same disk.
func commitCost(dir string, n int) (float64, error) {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "commit.db")+"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return 0, err
	}
	var ts []float64
	for i := 0; i < n; i++ {
		start := time.Now()
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec("INSERT INTO t (v) VALUES (?)", "one row of about the size of a record"); err != nil {
			tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		ts = append(ts, ms(time.Since(start)))
	}
	return pct(ts, 50), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// pct is the p-th percentile (nearest rank).
func pct(v []float64, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return round(s[max(i, 0)])
}
