-- 0010: the EMV parameters downloaded from the acquirer (issue 16): the AIDs the terminal
-- accepts and the CA public keys, versioned. Each set stored is a row of emv_param_sets
-- (version counting up from 1; the newest is the one in force) and its entries are rows
-- of emv_param_entries, each the TLV the host sent in field 62 (upper-case hex), in the
-- order received. Every download is an event of the chain (kind 'emv.params', record_id
-- NULL) carrying the whole set, or 'emv.params_unchanged' when it equals the set in
-- force, so that what the kernel runs with can be proven from the chain. Public keys and
-- risk parameters only: nothing here is card data or a secret.
CREATE TABLE emv_param_sets (
	version    INTEGER PRIMARY KEY CHECK (version > 0),
	digest     TEXT    NOT NULL,
	operator   TEXT    NOT NULL,
	created_at TEXT    NOT NULL
) STRICT;
CREATE TABLE emv_param_entries (
	version INTEGER NOT NULL REFERENCES emv_param_sets (version),
	kind    TEXT    NOT NULL CHECK (kind IN ('aid', 'capk')),
	seq     INTEGER NOT NULL,
	tlv     TEXT    NOT NULL,
	PRIMARY KEY (version, kind, seq)
) STRICT;
