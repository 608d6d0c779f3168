package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/pinpad/pinpadtest"
	"posfw/firmware/txn"
	"posfw/firmware/txn/txntest"
)

// fill writes an approved sale, a declined sale and a pending record.
func fill(t *testing.T, j *Journal) []*txn.Record {
	t.Helper()
	ctx := context.Background()
	var recs []*txn.Record
	for i, st := range []txn.Status{txn.Approved, txn.Declined, ""} {
		r := &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: int64(1000 * (i + 1)), Currency: "CNY",
			MaskedPAN: "622202*********0127", CardHash: cardHash(t, j, "6222021234567890127"), EntryMode: txn.Swiped, Operator: "01"}
		if err := j.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st != "" {
			if _, err := j.Finish(ctx, txn.Outcome{ID: r.ID, Status: st, Response: txn.Response{Code: map[txn.Status]string{txn.Approved: "00", txn.Declined: "51"}[st], RRN: "10000000000" + string(rune('0'+i))}}); err != nil {
				t.Fatal(err)
			}
		}
		recs = append(recs, r)
	}
	// Tests that change the tables behind the journal's back need them up to the chain.
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return recs
}

func openTemp(t *testing.T) *Journal {
	t.Helper()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestVerifyNamesTampering(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper string
		check  func(VerifyReport) bool
	}{
		{"clean", "", func(r VerifyReport) bool { return r.OK() && r.Events >= 5 && r.Records == 3 }},
		{"record amount changed", "UPDATE records SET amount = 1 WHERE id = 2",
			func(r VerifyReport) bool { return r.BadRecord == 2 }},
		{"event body changed", `DROP TRIGGER events_append_only_update;
			UPDATE events SET body = replace(body, '"Amount":1000', '"Amount":9') WHERE id = 1`,
			func(r VerifyReport) bool { return r.BadEvent == 1 }},
		{"event deleted", `DROP TRIGGER events_append_only_delete; DELETE FROM events WHERE id = 2`,
			func(r VerifyReport) bool { return r.BadEvent == 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := openTemp(t)
			fill(t, j)
			if tc.tamper != "" {
				if _, err := j.db.Exec(tc.tamper); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := j.Verify(ctx)
			if err != nil || !tc.check(rep) {
				t.Errorf("Verify = %+v, %v", rep, err)
			}
		})
	}
}

func TestEventsAppendOnly(t *testing.T) {
	j := openTemp(t)
	fill(t, j)
	for _, q := range []string{"UPDATE events SET kind = 'x'", "DELETE FROM events"} {
		if _, err := j.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v; want refused as append-only", q, err)
		}
	}
}

func TestIllegalTransitionRefused(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	recs := fill(t, j)
	_, err := j.Finish(ctx, txn.Outcome{ID: recs[0].ID, Status: txn.Declined})
	if err == nil {
		t.Fatal("approved → declined accepted")
	}
	if r, _ := j.Get(ctx, recs[0].ID); r.Status != txn.Approved {
		t.Errorf("record after a refused transition = %s; want approved", r.Status)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	fill(t, j)
	var b bytes.Buffer
	if err := j.Export(ctx, &b, "json"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("export lines = %d; want 3", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"type", "status", "amount", "currency", "stan", "rrn", "auth_code", "batch", "masked_pan",
		"entry_mode", "original_stan", "original_rrn", "operator", "created_at", "response_code"} {
		if _, ok := first[f]; !ok {
			t.Errorf("export lacks field %q: %s", f, lines[0])
		}
	}
	if first["status"] != "approved" || first["amount"] != float64(1000) || first["masked_pan"] != "622202*********0127" {
		t.Errorf("first export row = %v", first)
	}
	b.Reset()
	if err := j.Export(ctx, &b, "csv"); err != nil || !strings.HasPrefix(b.String(), "id,type,status,amount") {
		t.Errorf("csv export = %q, %v", b.String(), err)
	}
	if strings.Contains(b.String(), "6222021234567890127") {
		t.Error("export holds a full PAN")
	}
	if err := j.Export(ctx, &b, "xml"); err == nil {
		t.Error("export as xml accepted")
	}
}

func TestCountersInTransaction(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	recs := fill(t, j)
	for i, r := range recs {
		if r.STAN != int64(i+1) || r.Invoice != int64(i+1) || r.Batch != 1 {
			t.Errorf("record %d: stan %d invoice %d batch %d", i, r.STAN, r.Invoice, r.Batch)
		}
	}
	// A failed Begin (bad type) advances nothing.
	bad := &txn.Record{Type: "teleport", Status: txn.Pending, Currency: "CNY", Operator: "01"}
	if err := j.Begin(ctx, bad); err == nil {
		t.Fatal("Begin of an unknown type accepted")
	}
	if v, _ := j.Counter(ctx, "stan"); v != 4 {
		t.Errorf("stan after a failed Begin = %d; want 4", v)
	}
}

func TestDuplicateWindowQuery(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	j.SetClock(func() time.Time { return now })
	fill(t, j)
	h := cardHash(t, j, "6222021234567890127")
	if r, err := j.Duplicate(ctx, h, 1000, now.Add(-time.Minute)); err != nil || r.Amount != 1000 {
		t.Errorf("Duplicate = %v, %v; want the approved 10.00 sale", r, err)
	}
	if _, err := j.Duplicate(ctx, h, 2000, now.Add(-time.Minute)); err != txn.ErrNotFound {
		t.Errorf("Duplicate of a declined sale = %v; want not found", err)
	}
	if _, err := j.Duplicate(ctx, h, 1000, now.Add(time.Second)); err != txn.ErrNotFound {
		t.Errorf("Duplicate outside the window = %v; want not found", err)
	}
}

func newSale() *txn.Record {
	return &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: 1000, Currency: "CNY", MaskedPAN: "622202*********0127", Operator: "01"}
}

func approved(id int64) txn.Outcome {
	return txn.Outcome{ID: id, Status: txn.Approved, Response: txn.Response{Code: "00", RRN: "100000000001", AuthCode: "A00001"}}
}

// TestFullOrReadOnlyRefusedBeforeSend: a journal that cannot take the record (disk full,
// read-only) refuses the sale before anything is sent, and stays consistent.
func TestFullOrReadOnlyRefusedBeforeSend(t *testing.T) {
	for _, tc := range []struct{ name, pragma string }{
		{"database full", "PRAGMA max_page_count = %d"},
		{"read-only", "PRAGMA query_only = ON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			j := openTemp(t)
			fill(t, j)
			q := tc.pragma
			if strings.Contains(q, "%d") {
				// No free page left inside the file either (a migration that rebuilt a
				// table leaves some): the disk is full for the next record, not later.
				if _, err := j.db.Exec("VACUUM"); err != nil {
					t.Fatal(err)
				}
				var pages int
				j.db.QueryRow("PRAGMA page_count").Scan(&pages)
				q = fmt.Sprintf(q, pages)
			}
			if _, err := j.db.Exec(q); err != nil {
				t.Fatal(err)
			}
			host := &txntest.Host{}
			e := &txn.Engine{Store: j, Cards: pinpadtest.Shared(t), Host: host, Currency: "CNY", Numeric: "156", Limits: txn.Limits{MaxAmount: 1 << 40}}
			// Big enough records to need new pages.
			var err error
			sent := 0
			for i := 0; i < 50 && err == nil; i++ {
				sent = len(host.Sends)
				_, err = e.Sale(ctx, txn.SaleRequest{Amount: int64(100 + i), Operator: strings.Repeat("x", 2000),
					Card: &txn.Card{PAN: []byte("6222021234567894"), EntryMode: txn.Swiped}})
			}
			if !errors.Is(err, txn.ErrJournal) {
				t.Fatalf("sale on a %s journal = %v; want ErrJournal", tc.name, err)
			}
			var pending int
			j.db.QueryRow("SELECT count(*) FROM records WHERE status = 'pending'").Scan(&pending)
			if len(host.Sends) != sent {
				t.Errorf("the refused sale was sent to the host")
			}
			if pending != 1 { // fill's own pending record; nothing else may be half-written
				t.Errorf("%d pending records; want only fill's", pending)
			}
			if rep, err := j.Verify(ctx); err != nil || !rep.OK() {
				t.Errorf("Verify after the refusal = %+v, %v", rep, err)
			}
		})
	}
}

// cardHash is the PAN's hash as the PIN pad computes it.
func cardHash(t *testing.T, j *Journal, pan string) string {
	t.Helper()
	h, err := pinpadtest.Shared(t).CardHash(context.Background(), []byte(pan))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
