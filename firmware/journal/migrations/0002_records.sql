-- 0002: money records, their reversals, settlements, and the append-only event chain.
-- No column holds a full PAN, track data, CVV, PIN or PIN block: masked_pan is
-- first-6/last-4 and card_hash an HMAC-SHA256 under the device's own secret.
CREATE TABLE records (
	id            INTEGER PRIMARY KEY,
	type          TEXT    NOT NULL CHECK (type IN ('sale', 'void', 'refund', 'manual_refund')),
	status        TEXT    NOT NULL,
	amount        INTEGER NOT NULL CHECK (amount >= 0),
	currency      TEXT    NOT NULL,
	stan          INTEGER NOT NULL,
	batch         INTEGER NOT NULL,
	invoice       INTEGER NOT NULL,
	rrn           TEXT    NOT NULL DEFAULT '',
	auth_code     TEXT    NOT NULL DEFAULT '',
	response_code TEXT    NOT NULL DEFAULT '',
	masked_pan    TEXT    NOT NULL DEFAULT '',
	card_hash     TEXT    NOT NULL DEFAULT '',
	entry_mode    TEXT    NOT NULL DEFAULT '',
	orig_id       INTEGER REFERENCES records (id),
	orig_stan     INTEGER NOT NULL DEFAULT 0,
	orig_rrn      TEXT    NOT NULL DEFAULT '',
	orig_date     TEXT    NOT NULL DEFAULT '',
	refunded      INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
	operator      TEXT    NOT NULL,
	supervisor    TEXT    NOT NULL DEFAULT '',
	reason        TEXT    NOT NULL DEFAULT '',
	duplicate_confirmed INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL
) STRICT;

CREATE INDEX records_stan ON records (stan);
CREATE INDEX records_rrn ON records (rrn);
CREATE INDEX records_batch ON records (batch, type, status);
CREATE INDEX records_card ON records (card_hash, amount, created_at);
CREATE INDEX records_created ON records (created_at);

-- A reversal is armed in the same transaction as its record, before the request is sent;
-- the outcome disarms it (an answer came) or makes it pending (none did).
CREATE TABLE reversals (
	record_id INTEGER PRIMARY KEY REFERENCES records (id),
	state     TEXT    NOT NULL CHECK (state IN ('armed', 'pending', 'done', 'failed')),
	reason    TEXT    NOT NULL DEFAULT '',
	tries     INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT   NOT NULL
) STRICT;
CREATE INDEX reversals_state ON reversals (state);

CREATE TABLE settlements (
	batch      INTEGER PRIMARY KEY,
	state      TEXT    NOT NULL CHECK (state IN ('started', 'closed')),
	totals     TEXT    NOT NULL,
	started_at TEXT    NOT NULL,
	closed_at  TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Append-only: every state change and audit entry, each row carrying
-- hash = SHA-256(prev_hash || kind || record_id || at || body).
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	at        TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	record_id INTEGER,
	operator  TEXT    NOT NULL DEFAULT '',
	body      TEXT    NOT NULL,
	prev_hash BLOB    NOT NULL,
	hash      BLOB    NOT NULL
) STRICT;

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
