package journal

import (
	"context"

	"posfw/firmware/txn"
)

// UploadRecords lists what a batch upload (0320) carries: every record of the batch
// that the settlement totals count — standing sales, approved refunds and approved
// voids — so that the acquirer can settle from the upload alone.
func (j *Journal) UploadRecords(ctx context.Context, batch int64) ([]txn.Record, error) {
	return j.list(ctx, `WHERE batch = ? AND (
		(type = 'sale' AND status IN ('approved', 'partially_refunded', 'refunded'))
		OR (type IN ('refund', 'void') AND status = 'approved')) ORDER BY id`, batch)
}
