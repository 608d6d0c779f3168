-- 0007: the field technician, operator 98 (firmware/operator: Technician), who services
-- the terminal from Manage → Technician; cashiers are 01-97. SQLite cannot change a
-- CHECK in place, so the table is made anew and its rows copied. A cashier 98 of an
-- older journal becomes the technician without a password: it can no longer sign in
-- until the administrator or `posfw provision password 98` gives it one.
CREATE TABLE operators_new (
	id           TEXT    PRIMARY KEY CHECK (length(id) = 2 AND id GLOB '[0-9][0-9]'),
	role         TEXT    NOT NULL CHECK (role IN ('cashier', 'supervisor', 'technician', 'administrator')),
	hash         TEXT    NOT NULL DEFAULT '',
	failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
	lockouts     INTEGER NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
	locked_until TEXT    NOT NULL DEFAULT '',
	created_at   TEXT    NOT NULL,
	updated_at   TEXT    NOT NULL,
	-- The role follows from the id; a row that disagrees is refused.
	CHECK ((id = '00') = (role = 'supervisor') AND (id = '98') = (role = 'technician') AND (id = '99') = (role = 'administrator'))
) STRICT;
INSERT INTO operators_new (id, role, hash, failures, lockouts, locked_until, created_at, updated_at)
	SELECT id,
	       CASE WHEN id = '98' THEN 'technician' ELSE role END,
	       CASE WHEN id = '98' AND role <> 'technician' THEN '' ELSE hash END,
	       failures, lockouts, locked_until, created_at, updated_at
	FROM operators;
DROP TABLE operators;
ALTER TABLE operators_new RENAME TO operators;
