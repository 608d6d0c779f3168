-- 0008: QR orders (issue 17; txn/qr.go). One row per order the terminal made: a
-- customer-presented payment, or a refund or void that goes back to one. The order is
-- written before any message about it leaves, and every request and every answer is an
-- event of the chain (kinds 'order.*', record_id NULL) carrying the order's snapshot, so
-- the rows can be proven from the chain as the records' are. No column holds the
-- customer's payment code: payer is it masked (first and last four digits).
CREATE TABLE orders (
	id            INTEGER PRIMARY KEY,
	order_no      TEXT    NOT NULL UNIQUE,
	kind          TEXT    NOT NULL CHECK (kind IN ('payment', 'refund', 'void')),
	wallet        TEXT    NOT NULL,
	payer         TEXT    NOT NULL DEFAULT '',
	amount        INTEGER NOT NULL CHECK (amount > 0),
	currency      TEXT    NOT NULL,
	status        TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'unknown', 'voided')),
	refunded      INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
	orig_no       TEXT    NOT NULL DEFAULT '',
	batch         INTEGER NOT NULL,
	wallet_txn    TEXT    NOT NULL DEFAULT '',
	response_code TEXT    NOT NULL DEFAULT '',
	queries       INTEGER NOT NULL DEFAULT 0,
	operator      TEXT    NOT NULL,
	supervisor    TEXT    NOT NULL DEFAULT '',
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX orders_open ON orders (id) WHERE status IN ('pending', 'unknown');
CREATE INDEX orders_batch ON orders (batch, kind, status);
CREATE INDEX orders_orig ON orders (orig_no) WHERE orig_no != '';
