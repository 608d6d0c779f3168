package journal

import (
	"encoding/json"
	"testing"
	"time"

	"posfw/firmware/txn"
)

// TestSnapshotOfAnOlderSchema: a record's last event written before the chip columns
// existed (no "ICC", "PSN", "PIN" in its snapshot) matches the row read after the
// migration, so `journal verify` passes on an upgraded terminal; a changed value in a
// new column, or in an old one, is still caught.
func TestSnapshotOfAnOlderSchema(t *testing.T) {
	r := txn.Record{ID: 1, Type: txn.Sale, Status: txn.Approved, Amount: 100, Currency: "CNY", STAN: 1, Batch: 1,
		MaskedPAN: "622202******7894", EntryMode: txn.Swiped, Operator: "01",
		CreatedAt: time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 12, 5, 16, 40, 1, 0, time.UTC)}
	b, _ := json.Marshal(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	delete(m, "ICC")
	delete(m, "PSN")
	delete(m, "PIN")
	old, _ := json.Marshal(m)
	row := func(edit func(*txn.Record)) string {
		c := r
		edit(&c)
		b, _ := json.Marshal(c)
		return string(b)
	}
	for _, tc := range []struct {
		name string
		row  string
		want bool
	}{
		{"the row as migrated", row(func(*txn.Record) {}), true},
		{"chip data written into the row", row(func(c *txn.Record) { c.ICC = "9F270140" }), false},
		{"a PIN flag set in the row", row(func(c *txn.Record) { c.PIN = true }), false},
		{"the amount changed", row(func(c *txn.Record) { c.Amount = 1000 }), false},
	} {
		if got := sameRecord(string(old), tc.row); got != tc.want {
			t.Errorf("%s: sameRecord = %v; want %v", tc.name, got, tc.want)
		}
	}
}
