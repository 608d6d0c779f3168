-- 0004: a record still pending is its own armed reversal, so a sale's two commits write
-- only what changed: reversals rows are written when a reversal goes live (no answer) and
-- no longer for every request. Recover finds pending records through records_pending.
-- RRNs arrive with the answer, so records_rrn leaves out the empty RRN of pending records.
CREATE INDEX records_pending ON records (id) WHERE status = 'pending';
DROP INDEX records_rrn;
CREATE INDEX records_rrn ON records (rrn) WHERE rrn != '';
