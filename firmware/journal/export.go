package journal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"posfw/firmware/txn"
)

// ExportFields are the columns of an export, in order (DESIGN §5 and more). No column
// holds more of the card than the masked PAN.
var ExportFields = []string{
	"id", "type", "status", "amount", "currency", "stan", "rrn", "auth_code", "batch", "invoice",
	"masked_pan", "entry_mode", "original_stan", "original_rrn", "original_date", "refunded",
	"operator", "supervisor", "reason", "created_at", "updated_at", "response_code",
}

func exportRow(r txn.Record) []string {
	return []string{
		strconv.FormatInt(r.ID, 10), string(r.Type), string(r.Status), strconv.FormatInt(r.Amount, 10), r.Currency,
		fmt.Sprintf("%06d", r.STAN), r.RRN, r.AuthCode, fmt.Sprintf("%06d", r.Batch), fmt.Sprintf("%06d", r.Invoice),
		r.MaskedPAN, string(r.EntryMode), fmt.Sprintf("%06d", r.OrigSTAN), r.OrigRRN, r.OrigDate, strconv.FormatInt(r.Refunded, 10),
		r.Operator, r.Supervisor, r.Reason, fmtTime(r.CreatedAt), fmtTime(r.UpdatedAt), r.ResponseCode,
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
		if err := write(exportRow(*r)); err != nil {
			return err
		}
	}
	return rows.Err()
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
		"SELECT count(*) FROM records":                           &s.Records,
		"SELECT count(*) FROM events":                            &s.Events,
		"SELECT count(*) FROM reversals WHERE state = 'pending'": &s.PendingReversals,
		"SELECT count(*) FROM reversals WHERE state = 'failed'":  &s.FailedReversals,
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
