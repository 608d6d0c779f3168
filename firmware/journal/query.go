package journal

import (
	"context"
	"database/sql"
	"time"

	"posfw/firmware/txn"
)

// Last is the newest record (for "reprint last").
func (j *Journal) Last(ctx context.Context) (*txn.Record, error) {
	return scanRecord(j.queryRow(ctx, qLast))
}

// AnyByTrace is the newest record of any type with this STAN (reprint and query).
func (j *Journal) AnyByTrace(ctx context.Context, stan int64) (*txn.Record, error) {
	return scanRecord(j.queryRow(ctx, qAnyByTrace, stan))
}

// Query selects records for the query screen and for disputes. Zero fields do not
// filter. Results are newest first, at most Limit (default 100).
type Query struct {
	STAN      int64
	RRN       string
	From, To  time.Time
	CardHash  string
	MaskedPAN string
	Amount    int64
	Limit     int
}

// Find runs a query.
func (j *Journal) Find(ctx context.Context, q Query) ([]txn.Record, error) {
	where, args := "WHERE 1 = 1", []any{}
	add := func(cond string, v any) {
		where += " AND " + cond
		args = append(args, v)
	}
	if q.STAN != 0 {
		add("stan = ?", q.STAN)
	}
	if q.RRN != "" {
		add("rrn = ? AND rrn != ''", q.RRN)
	}
	if !q.From.IsZero() {
		add("created_at >= ?", fmtTime(q.From))
	}
	if !q.To.IsZero() {
		add("created_at < ?", fmtTime(q.To))
	}
	if q.CardHash != "" {
		add("card_hash = ?", q.CardHash)
	}
	if q.MaskedPAN != "" {
		add("masked_pan = ?", q.MaskedPAN)
	}
	if q.Amount != 0 {
		add("amount = ?", q.Amount)
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	args = append(args, q.Limit)
	return j.list(ctx, where+" ORDER BY id DESC LIMIT ?", args...)
}

// SettlementInterrupted returns the batch whose settlement started but did not close
// (a crash or a lost link mid-way), so that it can be resumed.
func (j *Journal) SettlementInterrupted(ctx context.Context) (int64, bool, error) {
	var b int64
	err := j.queryRow(ctx, "SELECT batch FROM settlements WHERE state = 'started' ORDER BY batch LIMIT 1").Scan(&b)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return b, err == nil, err
}

// FailedReversals counts the reversals that ran out of tries (the acquirer must be called).
func (j *Journal) FailedReversals(ctx context.Context) (int64, error) {
	var n int64
	err := j.queryRow(ctx, qFailedReversals).Scan(&n)
	return n, err
}
