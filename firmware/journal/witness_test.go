package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/pinpadtest"
	"posfw/firmware/txn"
)

var _ Witness = (*pinpad.Driver)(nil)

// sale runs one approved sale through Begin and Finish.
func sale(t *testing.T, j *Journal, amount int64) *txn.Record {
	t.Helper()
	ctx := context.Background()
	r := newSale()
	r.Amount = amount
	if err := j.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, approved(r.ID)); err != nil {
		t.Fatal(err)
	}
	return r
}

// copyFiles copies the journal's files that exist (suffixes "", "-wal") to a new
// directory, as a power cut or a backup would leave them.
func copyFiles(t *testing.T, src string, suffixes ...string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "journal.db")
	for _, suffix := range suffixes {
		b, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestCountersCoveredByTheChain: a counter set back (or forward) with raw SQL, as an
// edited page would, fails Verify naming it and is refused at the next start; the
// legitimate moves of every counter verify.
func TestCountersCoveredByTheChain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		counter string
		delta   int64
	}{
		{"stan", -1}, {"stan", -3}, {"stan", +5}, {"invoice", -1}, {"batch", -1}, {"batch", +1},
	} {
		name := fmt.Sprintf("%s%+d", tc.counter, tc.delta)
		p := filepath.Join(t.TempDir(), "journal.db")
		j, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		// Every way a counter moves: records, a STAN drawn for sign-on, a batch closed,
		// a STAN moved past a host's duplicate, a manual refund.
		sale(t, j, 1000)
		if _, err := j.NextSTAN(ctx); err != nil {
			t.Fatal(err)
		}
		if err := j.StartSettlement(ctx, 1, txn.Totals{Batch: 1}); err != nil {
			t.Fatal(err)
		}
		if err := j.CloseBatch(ctx, 1); err != nil {
			t.Fatal(err)
		}
		s := sale(t, j, 2000)
		if err := j.AdvanceSTAN(ctx, s.STAN+10); err != nil {
			t.Fatal(err)
		}
		if err := j.Append(ctx, &txn.Record{Type: txn.ManualRefund, Status: txn.Recorded, Amount: 500, Currency: "CNY", OrigID: s.ID, Operator: "01", Supervisor: "00", Reason: "route closed"}, nil); err != nil {
			t.Fatal(err)
		}
		if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
			t.Fatalf("%s: Verify before tampering = %+v, %v; want OK", name, rep, err)
		}
		if _, err := j.db.Exec("UPDATE counters SET value = value + ? WHERE name = ?", tc.delta, tc.counter); err != nil {
			t.Fatal(err)
		}
		rep, err := j.Verify(ctx)
		if err != nil || rep.OK() || !strings.Contains(rep.Problem, "counter "+tc.counter) {
			t.Errorf("%s: Verify = %q, %v; want it to name counter %s", name, rep.Problem, err, tc.counter)
		}
		j.Close()
		_, err = Open(p)
		if !errors.Is(err, ErrCounters) || !strings.Contains(err.Error(), "counter "+tc.counter) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Open = %v; want one line refusing counter %s", name, err, tc.counter)
		}
	}
}

// TestAdvanceSTAN: the STAN moves past a value the host has seen, once, in the chain.
func TestAdvanceSTAN(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		from      int64 // the next STAN before
		past      int64
		want      int64
		wantEvent bool
	}{
		{"past a later STAN", 5, 40, 41, true},
		{"past the next STAN itself", 5, 5, 6, true},
		{"a STAN already behind", 5, 3, 5, false},
		{"past the last STAN: wraps", 999990, 999999, 1, true},
	} {
		p := filepath.Join(t.TempDir(), "journal.db")
		j, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		// Where the counter stands is set the way a long-lived journal got there.
		if err := j.AdvanceSTAN(ctx, tc.from-1); err != nil && tc.from > 1 {
			t.Fatal(err)
		}
		before, _ := j.Verify(ctx)
		if err := j.AdvanceSTAN(ctx, tc.past); err != nil {
			t.Fatalf("%s: AdvanceSTAN(%d) = %v", tc.name, tc.past, err)
		}
		if got, _ := j.Counter(ctx, "stan"); got != tc.want {
			t.Errorf("%s: next STAN = %d; want %d", tc.name, got, tc.want)
		}
		rep, err := j.Verify(ctx)
		if err != nil || !rep.OK() || (rep.Events > before.Events) != tc.wantEvent {
			t.Errorf("%s: Verify = %+v, %v; want OK, an event added: %v", tc.name, rep, err, tc.wantEvent)
		}
		if r := sale(t, j, 100); r.STAN != tc.want {
			t.Errorf("%s: the next sale took STAN %d; want %d", tc.name, r.STAN, tc.want)
		}
		j.Close()
		if k, err := Open(p); err != nil {
			t.Errorf("%s: reopen = %v", tc.name, err)
		} else {
			k.Close()
		}
	}
	j := openTemp(t)
	for _, bad := range []int64{0, -1, 1000000} {
		if err := j.AdvanceSTAN(ctx, bad); err == nil {
			t.Errorf("AdvanceSTAN(%d) = nil; want an error", bad)
		}
	}
}

// rewrite deletes events from id `from` to `to` (and their records), then recomputes
// the chain after them as a forger with write access to the file would: each later
// event renumbered to close the gap and rehashed, the counters set to what the chain
// now says, every seal dropped. Without a witness the result verifies.
func rewrite(t *testing.T, path string, from, to int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("DROP TRIGGER events_append_only_update")
	exec("DROP TRIGGER events_append_only_delete")
	exec("DELETE FROM records WHERE id IN (SELECT record_id FROM events WHERE id BETWEEN ? AND ?)", from, to)
	exec("DELETE FROM events WHERE id BETWEEN ? AND ?", from, to)
	exec("UPDATE events SET id = id - ? WHERE id > ?", to-from+1, to)
	var prev []byte
	db.QueryRow("SELECT hash FROM events WHERE id = ?", from-1).Scan(&prev)
	rows, err := db.Query("SELECT id, at, kind, COALESCE(record_id, 0), body FROM events WHERE id >= ? ORDER BY id", from)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		id, rid        int64
		at, kind, body string
	}
	var evs []ev
	for rows.Next() {
		var e ev
		rows.Scan(&e.id, &e.at, &e.kind, &e.rid, &e.body)
		evs = append(evs, e)
	}
	rows.Close()
	for _, e := range evs {
		h := chainHash(prev, e.kind, e.rid, e.at, e.body)
		exec("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?", prev, h, e.id)
		prev = h
	}
	exec("UPDATE counters SET value = (SELECT max(id) FROM events) WHERE name = 'projected'")
	exec("DELETE FROM seals")
	exec(`CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
		BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`)
	exec(`CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
		BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`)
	// The counters as the shortened chain has them.
	j := &Journal{db: db, path: path}
	want, err := j.chainCounters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range want {
		exec("UPDATE counters SET value = ? WHERE name = ?", v, name)
	}
}

// TestWitnessCatchesRollback: with the PIN pad as witness, a journal that went back in
// time or was rewritten is refused at start, in one line, before anything is written;
// Verify fails on it; the same journals without the witness are not caught, which is
// why the witness is there.
func TestWitnessCatchesRollback(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// make runs a terminal's life on journal p with witness w and returns the file
		// to start again from.
		make    func(t *testing.T, p string, w Witness) string
		want    error
		anchors bool // Verify without the witness still fails (a stored seal catches it)
	}{
		{"WAL deleted after a power cut", func(t *testing.T, p string, w Witness) string {
			j, err := OpenWith(p, Options{Witness: w})
			if err != nil {
				t.Fatal(err)
			}
			sale(t, j, 1000)
			if _, err := j.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			sale(t, j, 2000) // two approved sales, only in the WAL
			sale(t, j, 3000)
			if err := j.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cut := copyFiles(t, p, "") // the -wal is gone
			j.Close()
			return cut
		}, ErrRolledBack, false},
		{"an old copy restored", func(t *testing.T, p string, w Witness) string {
			j, err := OpenWith(p, Options{Witness: w})
			if err != nil {
				t.Fatal(err)
			}
			sale(t, j, 1000)
			if err := j.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			old := copyFiles(t, p, "", "-wal")
			sale(t, j, 2000)
			j.Close()
			return old
		}, ErrRolledBack, false},
		{"the last sale deleted, the chain recomputed", func(t *testing.T, p string, w Witness) string {
			j, err := OpenWith(p, Options{Witness: w})
			if err != nil {
				t.Fatal(err)
			}
			sale(t, j, 1000)
			last := sale(t, j, 2000)
			if err := j.Audit(ctx, txn.Event{Kind: "signoff", Operator: "01"}); err != nil {
				t.Fatal(err)
			}
			var first, end int64
			j.db.QueryRow("SELECT min(id), max(id) FROM events WHERE record_id = ?", last.ID).Scan(&first, &end)
			j.Close()
			rewrite(t, p, first, end)
			return p
		}, ErrRolledBack, false},
		{"the last sale deleted, the chain recomputed and padded to its length", func(t *testing.T, p string, w Witness) string {
			j, err := OpenWith(p, Options{Witness: w})
			if err != nil {
				t.Fatal(err)
			}
			sale(t, j, 1000)
			last := sale(t, j, 2000)
			var first, end int64
			j.db.QueryRow("SELECT min(id), max(id) FROM events WHERE record_id = ?", last.ID).Scan(&first, &end)
			j.Close()
			rewrite(t, p, first, end)
			// Two audit events put the chain back at its old length.
			k, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			for range end - first + 1 {
				k.Audit(ctx, txn.Event{Kind: "login", Operator: "01"})
			}
			k.Close()
			return p
		}, ErrRewritten, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nvram := filepath.Join(t.TempDir(), "pad.nvram")
			p := filepath.Join(t.TempDir(), "journal.db")
			w := pinpadtest.At(t, nvram)
			back := tc.make(t, p, w)
			// Without the witness the journal looks whole: that is the attack.
			if j, err := Open(copyFiles(t, back, "")); err != nil {
				t.Fatalf("Open without a witness = %v; want it to open (nothing inside shows the loss)", err)
			} else {
				rep, err := j.Verify(ctx)
				if err != nil || !rep.OK() {
					t.Errorf("Verify without a witness = %+v, %v; want OK (only the witness can tell)", rep, err)
				}
				j.Close()
			}
			before := fileHashIf(t, back)
			_, err := OpenWith(back, Options{Witness: w})
			if !errors.Is(err, tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open with the witness = %v; want one line wrapping %v", err, tc.want)
			}
			if after := fileHashIf(t, back); after != before {
				t.Error("the refused journal changed; want it left as found")
			}
			j, err := OpenWith(back, Options{Witness: w, ReadOnly: true})
			if err == nil {
				j.Close()
				t.Fatalf("read-only Open with the witness succeeded; want %v", tc.want)
			}
		})
	}
}

func fileHashIf(t *testing.T, p string) [32]byte {
	t.Helper()
	b, _ := os.ReadFile(p)
	return sha256.Sum256(b)
}

// TestSeals: the head is sealed after the sales (in the background) and at close; the
// settlement's totals carry the sealed head; Verify checks each seal through the pad
// and fails on one the pad did not make, or on a chain that no longer passes through it.
func TestSeals(t *testing.T) {
	ctx := context.Background()
	nvram := filepath.Join(t.TempDir(), "pad.nvram")
	w := pinpadtest.At(t, nvram)
	p := filepath.Join(t.TempDir(), "journal.db")
	j, err := OpenWith(p, Options{Witness: w})
	if err != nil {
		t.Fatal(err)
	}
	sale(t, j, 1000)
	sale(t, j, 2000)
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var head int64
	j.db.QueryRow("SELECT max(id) FROM events").Scan(&head)
	if id, _, _, err := w.Anchor(ctx); err != nil || id != head {
		t.Errorf("pad anchor after the sales = %d, %v; want the head, event %d", id, err, head)
	}
	tot := txn.Totals{Head: j.SettlementHead(ctx)}
	var hash, mac []byte
	j.db.QueryRow("SELECT hash, mac FROM seals WHERE event_id = ? AND kind = 'settlement'", head).Scan(&hash, &mac)
	want := fmt.Sprintf("%d:%x:%x", head, hash[:8], mac[:8])
	if tot.Head != want || len(hash) != 32 {
		t.Errorf("Totals.Head = %q; want %q (the settlement seal)", tot.Head, want)
	}
	sale(t, j, 3000)
	j.Close()
	var n int
	k, err := OpenWith(p, Options{Witness: w})
	if err != nil {
		t.Fatalf("reopen with the witness = %v", err)
	}
	defer k.Close()
	k.db.QueryRow("SELECT count(*) FROM seals").Scan(&n)
	if n != 2 {
		t.Errorf("%d seals stored; want 2 (the settlement's and the newest head)", n)
	}
	rep, err := k.Verify(ctx)
	if err != nil || !rep.OK() || rep.Seals != 2 || !rep.Witnessed {
		t.Fatalf("Verify = %+v, %v; want OK, 2 seals, the anchor witnessed", rep, err)
	}
	for _, tc := range []struct {
		name, kind, column, want string
	}{
		{"a MAC the pad did not make", "head", "mac", "not the PIN pad's"},
		{"a seal of a hash the chain does not have", "settlement", "hash", "rewritten"},
	} {
		var keep []byte
		k.db.QueryRow("SELECT "+tc.column+" FROM seals WHERE kind = ?", tc.kind).Scan(&keep)
		if _, err := k.db.Exec("UPDATE seals SET "+tc.column+" = zeroblob(32) WHERE kind = ?", tc.kind); err != nil {
			t.Fatal(err)
		}
		rep, err := k.Verify(ctx)
		if err != nil || rep.OK() || !strings.Contains(rep.Problem, tc.want) {
			t.Errorf("%s: Verify = %q, %v; want a problem saying %q", tc.name, rep.Problem, err, tc.want)
		}
		k.db.Exec("UPDATE seals SET "+tc.column+" = ? WHERE kind = ?", keep, tc.kind)
	}
	if rep, err := k.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify with the seals put back = %+v, %v; want OK", rep, err)
	}
}

// TestWitnessWithoutJournal: a pad that sealed a journal, and no journal at all (a data
// directory wiped or swapped): refused, and no empty journal is created in its place.
func TestWitnessWithoutJournal(t *testing.T) {
	w := pinpadtest.At(t, filepath.Join(t.TempDir(), "pad.nvram"))
	p := filepath.Join(t.TempDir(), "journal.db")
	j, err := OpenWith(p, Options{Witness: w})
	if err != nil {
		t.Fatal(err)
	}
	sale(t, j, 1000)
	j.Close()
	gone := filepath.Join(t.TempDir(), "journal.db")
	if _, err := OpenWith(gone, Options{Witness: w}); !errors.Is(err, ErrRolledBack) {
		t.Errorf("Open of no journal with a pad that sealed one = %v; want ErrRolledBack", err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the refused start left a journal file (%v); want none", err)
	}
	// A new pad and a new journal: the first start of a terminal.
	k, err := OpenWith(gone, Options{Witness: pinpadtest.At(t, "")})
	if err != nil {
		t.Fatalf("first start with a new pad = %v", err)
	}
	k.Close()
}
