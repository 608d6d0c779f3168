-- 0001: the journal's first shape: terminal facts and the counters every money
-- record advances (STAN, batch, invoice), each in the same transaction as its record.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL CHECK (value >= 0)
) STRICT;

INSERT INTO counters (name, value) VALUES ('stan', 1), ('batch', 1), ('invoice', 1);
