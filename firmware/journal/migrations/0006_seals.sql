-- 0006: the chain's head sealed by a witness outside the data directory (the PIN pad;
-- witness.go). A seal is the pad's MAC over an event id and that event's chain hash;
-- 'head' seals are superseded by the next (only the newest is kept: the chain through
-- it vouches for every event before), 'settlement' seals are the heads printed on
-- settlement reports and sent to the acquirer, and are kept. From this version on,
-- every STAN drawn is an event of the chain, so the counters can be proven from it.
CREATE TABLE seals (
	event_id INTEGER PRIMARY KEY,
	hash     BLOB    NOT NULL CHECK (length(hash) = 32),
	mac      BLOB    NOT NULL CHECK (length(mac) = 32),
	kind     TEXT    NOT NULL CHECK (kind IN ('head', 'settlement')),
	at       TEXT    NOT NULL
) STRICT;
