package journal

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/firmware/txn"
)

// stopProjector keeps the fast path's tables behind the chain until a reader asks.
func stopProjector(j *Journal) {
	close(j.quit)
	<-j.projectorDone
	j.quit, j.projectorDone = make(chan struct{}), make(chan struct{})
	close(j.projectorDone)
}

// powerCut copies the journal's files as a power cut would leave them: the database and
// its WAL, with no checkpoint and no clean close.
func powerCut(t *testing.T, j *Journal) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "journal.db")
	for _, suffix := range []string{"", "-wal"} {
		in, err := os.Open(j.path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestPowerCutBeforeProjection: the power goes after Begin and Finish have committed
// their events and before any table was written. At the next start every record is back
// as its events left it (a voided sale, an unanswered one with its reversal live, a
// request still pending), the counters go on from the last STAN, and nothing is sent
// twice or lost.
func TestPowerCutBeforeProjection(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	stopProjector(j)

	a := newSale()
	if err := j.Begin(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, approved(a.ID)); err != nil {
		t.Fatal(err)
	}
	b := newSale()
	if err := j.Begin(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, txn.Outcome{ID: b.ID, Status: txn.ReversalPending, ReversalReason: "A0"}); err != nil {
		t.Fatal(err)
	}
	v := &txn.Record{Type: txn.Void, Status: txn.Pending, Amount: a.Amount, Currency: "CNY", OrigID: a.ID, OrigSTAN: a.STAN, Operator: "01", Supervisor: "00"}
	if err := j.Begin(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, txn.Outcome{ID: v.ID, Status: txn.Approved, Response: txn.Response{Code: "00"},
		Effects: []txn.Effect{{ID: a.ID, Status: txn.Voided}}}); err != nil {
		t.Fatal(err)
	}
	c := newSale()
	if err := j.Begin(ctx, c); err != nil {
		t.Fatal(err)
	}
	image := powerCut(t, j)

	// The image must really hold events the tables do not. The void read its original,
	// so the tables were brought up to the void's Begin (rows a, b, void); the void's
	// outcome, its effect on a and sale c are behind.
	raw, err := sql.Open("sqlite3", "file:"+image+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var mark, last, rows int64
	raw.QueryRow(qProjected).Scan(&mark)
	raw.QueryRow("SELECT max(id) FROM events").Scan(&last)
	raw.QueryRow("SELECT count(*) FROM records").Scan(&rows)
	raw.Close()
	if last-mark != 3 || rows != 3 {
		t.Fatalf("power-cut image: mark %d, last event %d, %d record rows; want 3 events behind the tables, 3 rows", mark, last, rows)
	}

	k, err := Open(image)
	if err != nil {
		t.Fatalf("Open after the power cut: %v", err)
	}
	defer k.Close()
	for _, want := range []struct {
		id     int64
		status txn.Status
	}{{a.ID, txn.Voided}, {b.ID, txn.ReversalPending}, {v.ID, txn.Approved}, {c.ID, txn.Pending}} {
		got, err := k.Get(ctx, want.id)
		if err != nil || got.Status != want.status {
			t.Errorf("record %d after the power cut = %v, %v; want %s", want.id, got, err, want.status)
		}
	}
	if n, err := k.Recover(ctx); err != nil || n != 1 {
		t.Errorf("Recover = %d, %v; want sale c's pending request turned into a reversal", n, err)
	}
	tasks, err := k.PendingReversals(ctx)
	if err != nil || len(tasks) != 2 || tasks[0].Record.ID != b.ID || tasks[0].Reason != "A0" || tasks[1].Record.ID != c.ID || tasks[1].Reason != "98" {
		t.Errorf("PendingReversals = %+v, %v; want b (A0) then c (98)", tasks, err)
	}
	d := newSale()
	if err := k.Begin(ctx, d); err != nil {
		t.Fatal(err)
	}
	if d.ID != c.ID+1 || d.STAN != c.STAN+1 || d.Invoice != c.Invoice+1 {
		t.Errorf("next sale after the power cut: id %d STAN %d invoice %d; want %d, %d, %d", d.ID, d.STAN, d.Invoice, c.ID+1, c.STAN+1, c.Invoice+1)
	}
	if rep, err := k.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify after the power cut = %+v, %v; want clean", rep, err)
	}
}

// TestReadersWaitForTheProjection: a read right after a fast commit sees the commit,
// whether or not the projector has run.
func TestReadersWaitForTheProjection(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	stopProjector(j)
	r := newSale()
	if err := j.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, approved(r.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := j.ByTrace(ctx, r.STAN)
	if err != nil || got.Status != txn.Approved || got.RRN != "100000000001" {
		t.Fatalf("ByTrace right after Finish = %+v, %v; want the approved sale", got, err)
	}
	if tot, err := j.Totals(ctx, r.Batch); err != nil || tot.Sales.Count != 1 || tot.Sales.Amount != r.Amount {
		t.Errorf("Totals = %+v, %v; want the one sale", tot, err)
	}
}

// TestFastPathRefusesWhatTheTablesWould: an event the projection could not apply would
// stop every reader, so Begin and Finish refuse it before committing.
func TestFastPathRefusesWhatTheTablesWould(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	sale := newSale()
	if err := j.Begin(ctx, sale); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, approved(sale.ID)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    *txn.Record
	}{
		{"unknown type", &txn.Record{Type: "preauth", Status: txn.Pending, Amount: 1, Operator: "01"}},
		{"negative amount", &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: -1, Operator: "01"}},
		{"missing original", &txn.Record{Type: txn.Void, Status: txn.Pending, Amount: 1, OrigID: 99, Operator: "01"}},
	} {
		if err := j.Begin(ctx, tc.r); err == nil {
			t.Errorf("Begin of a record with %s = nil; want an error", tc.name)
		}
	}
	refund := &txn.Record{Type: txn.Refund, Status: txn.Pending, Amount: 2000, OrigID: sale.ID, Operator: "01"}
	if err := j.Begin(ctx, refund); err != nil {
		t.Fatal(err)
	}
	over := txn.Outcome{ID: refund.ID, Status: txn.Approved, Effects: []txn.Effect{{ID: sale.ID, Status: txn.Refunded, RefundedDelta: 2000}}}
	if _, err := j.Finish(ctx, over); err == nil {
		t.Errorf("Finish refunding 2000 of a 1000 sale = nil; want an error")
	}
	if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v; want clean (nothing half-written)", rep, err)
	}
	if got, _ := j.Get(ctx, refund.ID); got == nil || got.Status != txn.Pending {
		t.Errorf("refund after the refused outcome = %+v; want still pending (its reversal armed)", got)
	}
}

// FuzzProject: whatever an event row holds (a damaged file, a tool that wrote to it),
// replaying it is an error or a row, never a panic, and never leaves a transaction open.
func FuzzProject(f *testing.F) {
	f.Add(evBegin, `{"ID":1,"Type":"sale","Status":"pending","Amount":1000,"Currency":"CNY","STAN":7,"Batch":1,"Invoice":7,"Operator":"01"}`)
	f.Add(evFinish, `{"ID":1,"Type":"sale","Status":"approved","Amount":1000,"STAN":7}`)
	f.Add(evArmed, `{"record":{"ID":1,"Status":"reversal_pending"},"reason":"98"}`)
	f.Add(evEffect, `{"ID":1,"Refunded":-5}`)
	f.Add("audit.login", `{}`)
	f.Add(evBegin, `not json`)
	j, err := Open(filepath.Join(f.TempDir(), "journal.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { j.Close() })
	f.Fuzz(func(t *testing.T, kind, body string) {
		ctx := context.Background()
		tx, err := j.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		w := &wtx{ctx: ctx, tx: tx, j: j}
		err = w.project(1, kind, []byte(body))
		known := kind == evBegin || kind == evFinish || kind == evEffect || kind == evArmed
		if !known && err == nil {
			t.Errorf("project(%q) = nil; want an error for a kind the fast path never writes", kind)
		}
	})
}

// TestPendingReversalsSeesEveryNewOne: once a query has found no reversal to send, the
// answer is kept without SQL; every commit that can leave one must make it ask again.
func TestPendingReversalsSeesEveryNewOne(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	count := func(step string, want int) {
		t.Helper()
		tasks, err := j.PendingReversals(ctx)
		if err != nil || len(tasks) != want {
			t.Errorf("%s: PendingReversals = %d, %v; want %d", step, len(tasks), err, want)
		}
	}
	count("fresh journal", 0)
	a := newSale()
	if err := j.Begin(ctx, a); err != nil {
		t.Fatal(err)
	}
	count("request out (its reversal armed, not live)", 0)
	if _, err := j.Finish(ctx, txn.Outcome{ID: a.ID, Status: txn.ReversalPending, ReversalReason: "98"}); err != nil {
		t.Fatal(err)
	}
	count("no answer", 1)
	if err := j.ReversalSent(ctx, a.ID, true, 3); err != nil {
		t.Fatal(err)
	}
	count("0410 in", 0)
	b := newSale()
	if err := j.Begin(ctx, b); err != nil {
		t.Fatal(err)
	}
	count("second request out", 0)
	if n, err := j.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	count("recovered after a crash", 1)
}

// TestOpenRefusesAnEventItCannotReplay: an event past the projection mark that cannot
// be applied (a damaged file) stops Open with one clear line naming the event.
func TestOpenRefusesAnEventItCannotReplay(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	fill(t, j)
	stopProjector(j)
	r := newSale()
	if err := j.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := j.db.Exec("UPDATE events SET body = 'garbage' WHERE id = (SELECT max(id) FROM events)"); err == nil {
		t.Fatal("the append-only trigger let an event be changed")
	}
	if _, err := j.db.Exec("DROP TRIGGER events_append_only_update; UPDATE events SET body = 'garbage' WHERE id = (SELECT max(id) FROM events)"); err != nil {
		t.Fatal(err)
	}
	image := powerCut(t, j)
	_, err := Open(image)
	if err == nil || !strings.Contains(err.Error(), "replaying") || !strings.Contains(err.Error(), "record.begin") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open of a journal with an unreplayable event = %v; want one line naming the event", err)
	}
	t.Log(err)
}
