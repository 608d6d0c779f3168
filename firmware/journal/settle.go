package journal

import (
	"context"
	"fmt"

	"posfw/firmware/txn"
)

// maxSTAN is the largest trace number (field 11 is n6); the counter wraps to 1.
const maxSTAN = 999999

// SkipSTAN moves the STAN counter so that the next trace number is the one after past
// (wrapping after 999999), with an audit event in the chain, in one transaction. The
// engine calls it when the host answers 94: the host already holds trace numbers the
// journal is about to reuse.
func (j *Journal) SkipSTAN(ctx context.Context, past int64) error {
	if past < 0 {
		return fmt.Errorf("journal: cannot skip the trace number to %d", past)
	}
	next := past%maxSTAN + 1
	return j.tx(ctx, func(t *wtx) error {
		var was int64
		if err := t.QueryRow(qCounter, "stan").Scan(&was); err != nil {
			return fmt.Errorf("counter stan: %w", err)
		}
		if _, err := t.Exec("UPDATE counters SET value = ? WHERE name = 'stan'", next); err != nil {
			return err
		}
		return t.appendEvent(j.now(), "audit.stan_skip", 0, "system",
			txn.Event{Kind: "stan_skip", Operator: "system", Detail: fmt.Sprintf("host answered 94: next trace %06d instead of %06d", next, was)})
	})
}

// UploadRecords lists what a batch upload (0320) carries: every record of the batch
// that the settlement totals count — standing sales, approved refunds and approved
// voids — so that the acquirer can settle from the upload alone.
func (j *Journal) UploadRecords(ctx context.Context, batch int64) ([]txn.Record, error) {
	return j.list(ctx, `WHERE batch = ? AND (
		(type = 'sale' AND status IN ('approved', 'partially_refunded', 'refunded'))
		OR (type IN ('refund', 'void') AND status = 'approved')) ORDER BY id`, batch)
}
