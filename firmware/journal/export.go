package journal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"posfw/firmware/txn"
)

// ExportFields are the columns of an export, in order (DESIGN §5 and more). No column
// holds more of the card than the masked PAN.
var ExportFields = []string{
	"id", "type", "status", "amount", "currency", "stan", "rrn", "auth_code", "batch", "invoice",
	"masked_pan", "entry_mode", "original_stan", "original_rrn", "original_date", "refunded",
	"operator", "supervisor", "reason", "created_at", "updated_at", "response_code",
	// QR orders (orders.go): their rows have type qr_payment, qr_refund or qr_void.
	"order_no", "wallet", "payer", "original_order",
}

// SettingTimeZone is the setting that names the terminal's time zone (IANA name). The
// app keeps it up to date at start, so an export read anywhere — a technician's laptop,
// a court — gives local times with the offset the terminal used.
const SettingTimeZone = "terminal.timezone"

// exportTime is ISO 8601 with the terminal's offset (2026-12-06T01:04:00.000000+08:00):
// the same instant as the stored UTC, and the local date the slip printed.
const exportTime = "2006-01-02T15:04:05.000000Z07:00"

// exportZone is the zone of the terminal that wrote the journal; UTC when it never said.
func (j *Journal) exportZone(ctx context.Context) (*time.Location, error) {
	name, ok, err := j.Setting(ctx, SettingTimeZone)
	if err != nil || !ok {
		return time.UTC, err
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("export: the journal's time zone %q: %v", name, err)
	}
	return loc, nil
}

func exportRow(r txn.Record, loc *time.Location) []string {
	return []string{
		strconv.FormatInt(r.ID, 10), string(r.Type), string(r.Status), strconv.FormatInt(r.Amount, 10), r.Currency,
		fmt.Sprintf("%06d", r.STAN), r.RRN, r.AuthCode, fmt.Sprintf("%06d", r.Batch), fmt.Sprintf("%06d", r.Invoice),
		r.MaskedPAN, string(r.EntryMode), fmt.Sprintf("%06d", r.OrigSTAN), r.OrigRRN, r.OrigDate, strconv.FormatInt(r.Refunded, 10),
		r.Operator, r.Supervisor, r.Reason, r.CreatedAt.In(loc).Format(exportTime), r.UpdatedAt.In(loc).Format(exportTime), r.ResponseCode,
		"", "", "", "",
	}
}

// Export writes every record, oldest first, as JSON lines ("json") or CSV with a header
// ("csv").
func (j *Journal) Export(ctx context.Context, w io.Writer, format string) error {
	var write func(row []string) error
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		write = func(row []string) error {
			obj := make(map[string]any, len(row))
			for i, f := range ExportFields {
				obj[f] = row[i]
			}
			obj["amount"], obj["refunded"], obj["id"] = mustInt(row[3]), mustInt(row[15]), mustInt(row[0])
			return enc.Encode(obj)
		}
	case "csv":
		cw := csv.NewWriter(w)
		defer cw.Flush()
		if err := cw.Write(ExportFields); err != nil {
			return err
		}
		write = cw.Write
	default:
		return fmt.Errorf("export format %q: want json or csv", format)
	}
	loc, err := j.exportZone(ctx)
	if err != nil {
		return err
	}
	rows, err := j.query(ctx, "SELECT "+recordColumns+" FROM records ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := write(exportRow(*r, loc)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	orders, err := j.Orders(ctx)
	if err != nil {
		return err
	}
	for _, o := range orders {
		if err := write(orderRow(o, loc)); err != nil {
			return err
		}
	}
	return nil
}

func mustInt(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

// Stats is a summary of the journal.
type Stats struct {
	Records          int64            `json:"records"`
	Events           int64            `json:"events"`
	ByStatus         map[string]int64 `json:"by_status"`
	Batch            int64            `json:"batch"`
	PendingReversals int64            `json:"pending_reversals"`
	FailedReversals  int64            `json:"failed_reversals"`
	SchemaVersion    int              `json:"schema_version"`
	// Orders counts the QR orders, OpenOrders those whose end is not known yet.
	Orders     int64 `json:"orders"`
	OpenOrders int64 `json:"open_orders"`
}

// Stats counts records by status, events and reversals.
func (j *Journal) Stats(ctx context.Context) (Stats, error) {
	s := Stats{ByStatus: map[string]int64{}}
	var err error
	if s.SchemaVersion, err = j.Version(); err != nil {
		return s, err
	}
	if s.Batch, err = j.CurrentBatch(ctx); err != nil {
		return s, err
	}
	for q, dst := range map[string]*int64{
		"SELECT count(*) FROM records":                                       &s.Records,
		"SELECT count(*) FROM events":                                        &s.Events,
		"SELECT count(*) FROM reversals WHERE state = 'pending'":             &s.PendingReversals,
		"SELECT count(*) FROM reversals WHERE state = 'failed'":              &s.FailedReversals,
		"SELECT count(*) FROM orders":                                        &s.Orders,
		"SELECT count(*) FROM orders WHERE status IN ('pending', 'unknown')": &s.OpenOrders,
	} {
		if err := j.queryRow(ctx, q).Scan(dst); err != nil {
			return s, err
		}
	}
	rows, err := j.query(ctx, "SELECT type || '/' || status, count(*) FROM records GROUP BY type, status")
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return s, err
		}
		s.ByStatus[k] = n
	}
	return s, rows.Err()
}
