-- 0003: operators (DESIGN §3, §4; firmware/operator): cashiers 01-98, the supervisor 00
-- and the administrator 99. hash is the password's argon2id hash in PHC string form,
-- never the password; '' means no password yet. Each change to a row is committed in
-- one transaction with its audit event in the events chain, and neither the password
-- nor the hash ever goes into an event.
CREATE TABLE operators (
	id           TEXT    PRIMARY KEY CHECK (length(id) = 2 AND id GLOB '[0-9][0-9]'),
	role         TEXT    NOT NULL CHECK (role IN ('cashier', 'supervisor', 'administrator')),
	hash         TEXT    NOT NULL DEFAULT '',
	failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
	lockouts     INTEGER NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
	locked_until TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL,
	updated_at   TEXT    NOT NULL,
	-- The role follows from the id; a row that disagrees is refused.
	CHECK ((id = '00') = (role = 'supervisor') AND (id = '99') = (role = 'administrator'))
) STRICT;
