package journal

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"posfw/firmware/txn"
)

// TestTwoWritersShareTheChain: a second writer on the same file (a provisioning tool while
// the terminal runs) appends between the first one's transactions; the first one's chain
// head, kept in memory, is stale, and its next event must still link to the newest.
func TestTwoWritersShareTheChain(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "journal.db")
	a, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, w := range []*Journal{a, b, b, a, a, b, a} {
		if i%2 == 0 {
			r := newSale()
			if err := w.Begin(ctx, r); err != nil {
				t.Fatalf("writer step %d: Begin: %v", i, err)
			}
			if _, err := w.Finish(ctx, approved(r.ID)); err != nil {
				t.Fatalf("writer step %d: Finish: %v", i, err)
			}
			continue
		}
		if err := w.Audit(ctx, txn.Event{Kind: "login", Operator: "01", Detail: "ok"}); err != nil {
			t.Fatalf("writer step %d: Audit: %v", i, err)
		}
	}
	rep, err := a.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify after two writers = %+v, %v; want a clean chain", rep, err)
	}
	if rep.Events != 11 {
		t.Errorf("events = %d; want 11 (4 sales × 2 + 3 audits)", rep.Events)
	}
}

// TestStaleHeadAhead: a head that points past the file's last event (the file was put
// back from a backup under a running writer) is noticed, not linked to.
func TestStaleHeadAhead(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	fill(t, j)
	j.head = chainHead{id: 500, hash: make([]byte, 32)}
	if err := j.Audit(ctx, txn.Event{Kind: "login", Operator: "01", Detail: "ok"}); err != nil {
		t.Fatalf("Audit with a stale head: %v", err)
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v; want a clean chain", rep, err)
	}
}

// TestSTANWraps: STAN and invoice go from 999999 back to 1 (field 11 has six digits).
func TestSTANWraps(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	if _, err := j.db.Exec("UPDATE counters SET value = 999999 WHERE name IN ('stan', 'invoice')"); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for range 2 {
		r := newSale()
		if err := j.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.STAN, r.Invoice)
	}
	if s, err := j.NextSTAN(ctx); err != nil || s != 2 {
		t.Errorf("NextSTAN after the wrap = %d, %v; want 2", s, err)
	}
	if want := []int64{999999, 999999, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("STAN, invoice of two sales across the wrap = %v; want %v", got, want)
	}
}

// TestFinishReturnsStoredRecord: the record Finish hands back is the row as stored.
func TestFinishReturnsStoredRecord(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	r := newSale()
	if err := j.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := j.Finish(ctx, approved(r.ID))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := j.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *stored {
		t.Errorf("Finish returned %+v; the journal holds %+v", *got, *stored)
	}
	if got.Status != txn.Approved || got.RRN != "100000000001" || got.AuthCode != "A00001" {
		t.Errorf("Finish returned status %s RRN %q auth %q; want approved 100000000001 A00001", got.Status, got.RRN, got.AuthCode)
	}
	if _, err := j.Finish(ctx, approved(r.ID)); err == nil || !strings.Contains(err.Error(), "cannot go from approved to approved") {
		t.Errorf("second Finish = %v; want a refusal naming both states", err)
	}
	if _, err := j.Finish(ctx, approved(r.ID+100)); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Errorf("Finish of a missing record = %v; want 'no record'", err)
	}
}

// TestArmedReversalSurvivesMigration: a journal written by schema 3, where a request's
// reversal was a reversals row armed beside its pending record, is migrated with the
// request still unanswered; at the next start the reversal goes out as before.
func TestArmedReversalSurvivesMigration(t *testing.T) {
	ctx := context.Background()
	v3 := fstest.MapFS{}
	ms, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ms[:3] {
		b, _ := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		v3["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
	}
	p := filepath.Join(t.TempDir(), "journal.db")
	old, err := open(p, v3, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	// What schema 3's Begin wrote: the pending record, its event, its armed reversal.
	r := newSale()
	err = old.tx(ctx, func(t *wtx) error {
		now := old.now()
		// Schema 3's columns: the chip columns of 0009 are not there yet.
		r.CreatedAt, r.UpdatedAt = now.UTC().Truncate(time.Microsecond), now
		if err := t.QueryRow(`INSERT INTO records (type, status, amount, currency, stan, batch, invoice,
			masked_pan, card_hash, entry_mode, operator, created_at, updated_at)
			VALUES (?, ?, ?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?) RETURNING id, stan, batch, invoice`,
			r.Type, r.Status, r.Amount, r.Currency, r.MaskedPAN, r.CardHash, r.EntryMode, r.Operator,
			fmtTime(r.CreatedAt), fmtTime(r.UpdatedAt)).Scan(&r.ID, &r.STAN, &r.Batch, &r.Invoice); err != nil {
			return err
		}
		if err := t.appendEvent(now, evBegin, r.ID, r.Operator, r); err != nil {
			return err
		}
		_, err := t.Exec("INSERT INTO reversals (record_id, state, updated_at) VALUES (?, 'armed', ?)", r.ID, fmtTime(now))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	j, err := Open(p)
	if err != nil {
		t.Fatalf("Open migrates from schema 3: %v", err)
	}
	defer j.Close()
	if n, err := j.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1 record turned into a reversal", n, err)
	}
	tasks, err := j.PendingReversals(ctx)
	if err != nil || len(tasks) != 1 || tasks[0].Record.ID != r.ID || tasks[0].Reason != "98" || tasks[0].Record.Status != txn.ReversalPending {
		t.Fatalf("PendingReversals = %+v, %v; want record %d, reason 98, reversal_pending", tasks, err, r.ID)
	}
	if err := j.ReversalSent(ctx, r.ID, true, 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Get(ctx, r.ID); got.Status != txn.Reversed {
		t.Errorf("after the 0410: status %s; want reversed", got.Status)
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v; want clean", rep, err)
	}
}
