package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"posfw/firmware/txn"
)

// TestExportTimeZone: created_at and updated_at are ISO 8601 with the offset of the zone
// the terminal recorded (SettingTimeZone), so a sale at 00:40 in Beijing exports as that
// local date and time, the instant unchanged; a journal that never named a zone exports UTC.
func TestExportTimeZone(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC) // 2026-12-06 00:40 in Beijing
	for _, tc := range []struct {
		zone        string // "" = never set
		created     string
		updated     string
		refuseMatch string // non-empty: Export must fail with this in its error
	}{
		{"", "2026-12-05T16:40:00.000000Z", "2026-12-05T16:40:02.000000Z", ""},
		{"Asia/Shanghai", "2026-12-06T00:40:00.000000+08:00", "2026-12-06T00:40:02.000000+08:00", ""},
		{"America/New_York", "2026-12-05T11:40:00.000000-05:00", "2026-12-05T11:40:02.000000-05:00", ""},
		{"Nowhere/Atlantis", "", "", `"Nowhere/Atlantis"`},
	} {
		name := tc.zone
		if name == "" {
			name = "unset" // a '#' in the journal's path (t.Run("") names it #00) ends its SQLite URI
		}
		t.Run(name, func(t *testing.T) {
			j := openTemp(t)
			j.SetClock(func() time.Time { return at.Add(2 * time.Second) })
			if tc.zone != "" {
				if err := j.SetSetting(ctx, SettingTimeZone, tc.zone, "system"); err != nil {
					t.Fatal(err)
				}
			}
			r := &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: 5000, Currency: "CNY", MaskedPAN: "622202******7894",
				EntryMode: txn.Swiped, Operator: "01", CreatedAt: at}
			if err := j.Begin(ctx, r); err != nil {
				t.Fatal(err)
			}
			if _, err := j.Finish(ctx, txn.Outcome{ID: r.ID, Status: txn.Approved, Response: txn.Response{Code: "00", RRN: "120600000001"}}); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			err := j.Export(ctx, &b, "json")
			if tc.refuseMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuseMatch) {
					t.Fatalf("Export with zone %q = %v; want an error naming it", tc.zone, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var row map[string]any
			if err := json.Unmarshal(b.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			if row["created_at"] != tc.created || row["updated_at"] != tc.updated {
				t.Errorf("created_at, updated_at = %v, %v; want %s, %s", row["created_at"], row["updated_at"], tc.created, tc.updated)
			}
			got, err := time.Parse(time.RFC3339Nano, row["created_at"].(string))
			if err != nil || !got.Equal(at) {
				t.Errorf("created_at %v parses as %v, %v; want the instant %v", row["created_at"], got, err, at)
			}
		})
	}
}
