package hostsim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver "sqlite3"

	"posfw/firmware/txn"
)

// Status is what the acquirer believes of an authorisation.
type Status string

// Ledger states. How much of a sale was refunded is a column of its own
// (Auth.Refunded), and so is settlement (Auth.Settled).
const (
	Authorised Status = "authorised" // approved and standing
	Declined   Status = "declined"   // answered with a code other than 00
	Voided     Status = "voided"     // cancelled by an approved void
	Reversed   Status = "reversed"   // undone by a reversal (0400/0401)
)

// Auth is one ledger row: a sale, void or refund the acquirer answered, or a
// reversal of a request it never saw (a row with status Reversed and no
// response code).
type Auth struct {
	ID       int64
	Terminal string
	STAN     int64
	// Date and Time are the request's local date (MMDD, field 13) and time
	// (hhmmss, field 12). Terminal, STAN and Date identify the row.
	Date, Time       string
	Type             txn.Type
	Amount           int64
	Currency         string
	MaskedPAN        string
	RRN              string // unique; "" for a reversal of an unknown request
	AuthCode         string
	Code             string // the response code given; "" when the request never arrived
	Status           Status
	Refunded         int64 // approved refunds against a sale
	OrigID           int64 // the original of a void or refund
	Batch            int64
	Settled          bool // included in a balanced settlement
	RouteUnavailable bool // a refund to this sale's card is answered 40
	Reversals        int  // reversal messages received for it
	CreatedAt        time.Time

	cardHash string // keyed hash of the PAN: "same card" checks
	digest   string // keyed hash of the request's content: duplicate STANs
}

// ErrNotFound is returned by the queries when no row matches.
var ErrNotFound = errors.New("hostsim: no such authorisation in the ledger")

// Ledger is the simulator's SQLite record of what the acquirer believes.
type Ledger struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS auth (
	id                INTEGER PRIMARY KEY,
	terminal          TEXT    NOT NULL,
	stan              INTEGER NOT NULL,
	date              TEXT    NOT NULL,
	time              TEXT    NOT NULL,
	type              TEXT    NOT NULL,
	amount            INTEGER NOT NULL,
	currency          TEXT    NOT NULL,
	masked_pan        TEXT    NOT NULL,
	card_hash         TEXT    NOT NULL,
	digest            TEXT    NOT NULL,
	rrn               TEXT    UNIQUE,
	auth_code         TEXT    NOT NULL,
	code              TEXT    NOT NULL,
	status            TEXT    NOT NULL,
	refunded          INTEGER NOT NULL DEFAULT 0,
	orig_id           INTEGER REFERENCES auth(id),
	batch             INTEGER NOT NULL,
	settled           INTEGER NOT NULL DEFAULT 0,
	route_unavailable INTEGER NOT NULL DEFAULT 0,
	reversals         INTEGER NOT NULL DEFAULT 0,
	created_at        TEXT    NOT NULL,
	UNIQUE (terminal, stan, date)
);
CREATE TABLE IF NOT EXISTS settlement (
	terminal TEXT    NOT NULL,
	batch    INTEGER NOT NULL,
	result   TEXT    NOT NULL,
	head     TEXT    NOT NULL DEFAULT '', -- the terminal's sealed journal head (field 62)
	PRIMARY KEY (terminal, batch)
);
CREATE TABLE IF NOT EXISTS upload (
	terminal  TEXT    NOT NULL,
	batch     INTEGER NOT NULL,
	orig_stan INTEGER NOT NULL,
	type      TEXT    NOT NULL,
	amount    INTEGER NOT NULL,
	rrn       TEXT    NOT NULL,
	PRIMARY KEY (terminal, batch, orig_stan)
);`

// openLedger opens (creating if needed) the ledger at path; "" keeps it in
// memory. The simulator is the only writer. Commits are not fsynced
// (synchronous=NORMAL in WAL mode): the simulator's ledger must be right,
// not survive a power cut, and must not add disk time to a benchmark.
func openLedger(path string) (*Ledger, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", "5000")
	dsn := "file:" + path + "?" + q.Encode()
	if path == "" {
		dsn = "file::memory:?" + q.Encode()
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("hostsim: ledger %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; and an in-memory database lives in one connection
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(schema + qrSchema + chipSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("hostsim: ledger %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close closes the ledger.
func (l *Ledger) Close() error { return l.db.Close() }

const columns = `id, terminal, stan, date, time, type, amount, currency, masked_pan, card_hash,
	digest, coalesce(rrn, ''), auth_code, code, status, refunded, coalesce(orig_id, 0), batch,
	settled, route_unavailable, reversals, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanAuth(row scanner) (*Auth, error) {
	var a Auth
	var created string
	err := row.Scan(&a.ID, &a.Terminal, &a.STAN, &a.Date, &a.Time, &a.Type, &a.Amount, &a.Currency,
		&a.MaskedPAN, &a.cardHash, &a.digest, &a.RRN, &a.AuthCode, &a.Code, &a.Status, &a.Refunded,
		&a.OrigID, &a.Batch, &a.Settled, &a.RouteUnavailable, &a.Reversals, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("hostsim: ledger: %w", err)
	}
	a.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	return &a, nil
}

// ByRRN returns the row with this retrieval reference number.
func (l *Ledger) ByRRN(rrn string) (Auth, error) {
	a, err := scanAuth(l.db.QueryRow(`SELECT `+columns+` FROM auth WHERE rrn = ?`, rrn))
	if err != nil {
		return Auth{}, err
	}
	return *a, nil
}

// ByTrace returns the latest row of a terminal with this STAN.
func (l *Ledger) ByTrace(terminal string, stan int64) (Auth, error) {
	a, err := scanAuth(l.db.QueryRow(`SELECT `+columns+` FROM auth WHERE terminal = ? AND stan = ?
		ORDER BY id DESC LIMIT 1`, terminal, stan))
	if err != nil {
		return Auth{}, err
	}
	return *a, nil
}

// List returns the rows of a terminal ("" for all) in the order they were
// written.
func (l *Ledger) List(terminal string) ([]Auth, error) {
	rows, err := l.db.Query(`SELECT `+columns+` FROM auth WHERE ? = '' OR terminal = ? ORDER BY id`, terminal, terminal)
	if err != nil {
		return nil, fmt.Errorf("hostsim: ledger: %w", err)
	}
	defer rows.Close()
	var as []Auth
	for rows.Next() {
		a, err := scanAuth(rows)
		if err != nil {
			return nil, err
		}
		as = append(as, *a)
	}
	return as, rows.Err()
}

// Count returns how many rows are in status s.
func (l *Ledger) Count(s Status) (int, error) {
	var n int
	if err := l.db.QueryRow(`SELECT count(*) FROM auth WHERE status = ?`, s).Scan(&n); err != nil {
		return 0, fmt.Errorf("hostsim: ledger: %w", err)
	}
	return n, nil
}

// Totals returns what the acquirer would settle for a terminal now: count
// and amount of its unsettled, standing sales, refunds and voids (the
// groups the terminal reports in 0500 that the acquirer can know).
func (l *Ledger) Totals(terminal string) (txn.Totals, error) {
	return totals(context.Background(), l.db, terminal)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func totals(ctx context.Context, q querier, terminal string) (txn.Totals, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, count(*), coalesce(sum(amount), 0) FROM auth
		WHERE terminal = ? AND status = ? AND settled = 0 GROUP BY type`, terminal, Authorised)
	if err != nil {
		return txn.Totals{}, fmt.Errorf("hostsim: ledger: %w", err)
	}
	return sumRows(rows)
}

// sumRows reads (type, count, amount) rows into totals.
func sumRows(rows *sql.Rows) (txn.Totals, error) {
	defer rows.Close()
	var t txn.Totals
	for rows.Next() {
		var typ txn.Type
		var v txn.Total
		if err := rows.Scan(&typ, &v.Count, &v.Amount); err != nil {
			return t, fmt.Errorf("hostsim: ledger: %w", err)
		}
		switch typ {
		case txn.Sale:
			t.Sales = v
		case txn.Refund:
			t.Refunds = v
		case txn.Void:
			t.Voids = v
		}
	}
	return t, rows.Err()
}

// FlagRouteUnavailable marks a sale so that refunds against it are answered
// 40, original route unavailable (the card was closed, say).
func (l *Ledger) FlagRouteUnavailable(rrn string) error {
	res, err := l.db.Exec(`UPDATE auth SET route_unavailable = 1 WHERE rrn = ?`, rrn)
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- inside a request's transaction ----

// ledgerTx is the ledger inside the transaction of one request.
type ledgerTx struct {
	tx  *sql.Tx
	ctx context.Context
}

// update runs f in one transaction, committed when f returns nil.
func (l *Ledger) update(f func(tx *ledgerTx) error) error {
	ctx := context.Background()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	if err := f(&ledgerTx{tx, ctx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// one returns the row a query selects, nil when none.
func (t *ledgerTx) one(where string, args ...any) (*Auth, error) {
	a, err := scanAuth(t.tx.QueryRowContext(t.ctx, `SELECT `+columns+` FROM auth WHERE `+where, args...))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return a, err
}

func (t *ledgerTx) byKey(terminal string, stan int64, date string) (*Auth, error) {
	return t.one(`terminal = ? AND stan = ? AND date = ?`, terminal, stan, date)
}

func (t *ledgerTx) byRRN(rrn string) (*Auth, error) {
	return t.one(`rrn = ?`, rrn)
}

func (t *ledgerTx) byID(id int64) (*Auth, error) {
	return t.one(`id = ?`, id)
}

// latestUnsettled is the terminal's latest unsettled row with this STAN.
func (t *ledgerTx) latestUnsettled(terminal string, stan int64) (*Auth, error) {
	return t.one(`terminal = ? AND stan = ? AND settled = 0 ORDER BY id DESC LIMIT 1`, terminal, stan)
}

// insert writes a new row and sets its ID and, for a request that was
// answered, its RRN (host date + row id, so unique) and, for an approval, its
// authorisation code.
func (t *ledgerTx) insert(a *Auth, hostDate string) error {
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO auth (terminal, stan, date, time, type, amount,
		currency, masked_pan, card_hash, digest, auth_code, code, status, refunded, orig_id, batch,
		reversals, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, nullif(?, 0), ?, ?, ?)`,
		a.Terminal, a.STAN, a.Date, a.Time, a.Type, a.Amount, a.Currency, a.MaskedPAN, a.cardHash,
		a.digest, a.Code, a.Status, a.Refunded, a.OrigID, a.Batch, a.Reversals,
		a.CreatedAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	if a.Code == "" {
		return nil
	}
	a.RRN = fmt.Sprintf("%s%08d", hostDate, a.ID%100_000_000)
	if a.Code == "00" {
		a.AuthCode = fmt.Sprintf("%06d", a.ID%1_000_000)
	}
	_, err = t.tx.ExecContext(t.ctx, `UPDATE auth SET rrn = ?, auth_code = ? WHERE id = ?`, a.RRN, a.AuthCode, a.ID)
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// save writes back the fields a later message can change.
func (t *ledgerTx) save(a *Auth) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE auth SET status = ?, refunded = ?, reversals = ? WHERE id = ?`,
		a.Status, a.Refunded, a.Reversals, a.ID)
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// addUpload records one record of a batch upload; a repeat replaces it.
func (t *ledgerTx) addUpload(terminal string, batch, origSTAN int64, typ txn.Type, amount int64, rrn string) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT OR REPLACE INTO upload (terminal, batch, orig_stan, type,
		amount, rrn) VALUES (?, ?, ?, ?, ?, ?)`, terminal, batch, origSTAN, typ, amount, rrn)
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// uploaded returns the totals of a batch's uploaded records, and whether
// there are any.
func (t *ledgerTx) uploaded(terminal string, batch int64) (txn.Totals, bool, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM upload WHERE terminal = ? AND batch = ?`,
		terminal, batch).Scan(&n)
	if err != nil || n == 0 {
		return txn.Totals{}, false, err
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT type, count(*), sum(amount) FROM upload
		WHERE terminal = ? AND batch = ? GROUP BY type`, terminal, batch)
	if err != nil {
		return txn.Totals{}, false, fmt.Errorf("hostsim: ledger: %w", err)
	}
	tot, err := sumRows(rows)
	return tot, true, err
}

// Settlement results as the acquirer records them per terminal and batch.
const (
	ResultBalanced            = "balanced"
	ResultBalancedAfterUpload = "balanced_after_upload"
	ResultUnbalancedUploaded  = "unbalanced_uploaded"
)

// Settlement returns how a terminal's batch was settled ("" when it was not).
func (l *Ledger) Settlement(terminal string, batch int64) (string, error) {
	res, _, err := l.settlement(terminal, batch)
	return res, err
}

// SettledHead returns the journal head the terminal reported when the batch was
// settled: the acquirer's evidence of what the terminal's journal held.
func (l *Ledger) SettledHead(terminal string, batch int64) (string, error) {
	_, head, err := l.settlement(terminal, batch)
	return head, err
}

func (l *Ledger) settlement(terminal string, batch int64) (result, head string, err error) {
	err = l.db.QueryRow(`SELECT result, head FROM settlement WHERE terminal = ? AND batch = ?`, terminal, batch).Scan(&result, &head)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("hostsim: ledger: %w", err)
	}
	return result, head, nil
}

// batchTotals are the standing rows of one batch, settled or not: what the
// acquirer holds of the batch the terminal reports.
func (t *ledgerTx) batchTotals(terminal string, batch int64) (txn.Totals, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT type, count(*), coalesce(sum(amount), 0) FROM auth
		WHERE terminal = ? AND batch = ? AND status = ? GROUP BY type`, terminal, batch, Authorised)
	if err != nil {
		return txn.Totals{}, fmt.Errorf("hostsim: ledger: %w", err)
	}
	return sumRows(rows)
}

// settle closes one batch of a terminal: its rows are marked settled and
// the result recorded (a repeat keeps the first result).
func (t *ledgerTx) settle(terminal string, batch int64, result, head string) error {
	return t.exec([]string{
		`UPDATE auth SET settled = 1 WHERE terminal = ?1 AND batch = ?2 AND settled = 0`,
		`INSERT OR IGNORE INTO settlement (terminal, batch, result, head) VALUES (?1, ?2, ?3, ?4)`,
	}, terminal, batch, result, head)
}

// dropUpload forgets what an upload of a batch left: a new settlement starts.
func (t *ledgerTx) dropUpload(terminal string, batch int64) error {
	return t.exec([]string{`DELETE FROM upload WHERE terminal = ?1 AND batch = ?2`}, terminal, batch)
}

// settleUpload closes a batch from its upload: the uploaded rows are settled;
// standing rows of the batch the terminal did not upload are not its own and
// are taken out (reversed); the upload is dropped.
func (t *ledgerTx) settleUpload(terminal string, batch int64, result, head string) error {
	return t.exec([]string{
		`UPDATE auth SET settled = 1 WHERE terminal = ?1 AND batch = ?2 AND settled = 0
			AND stan IN (SELECT orig_stan FROM upload WHERE terminal = ?1 AND batch = ?2)`,
		`UPDATE auth SET status = 'reversed' WHERE terminal = ?1 AND batch = ?2 AND settled = 0 AND status = 'authorised'`,
		`INSERT OR REPLACE INTO settlement (terminal, batch, result, head) VALUES (?1, ?2, ?3, ?4)`,
		`DELETE FROM upload WHERE terminal = ?1 AND batch = ?2`,
	}, terminal, batch, result, head)
}

// exec runs statements in order with the same arguments.
func (t *ledgerTx) exec(stmts []string, args ...any) error {
	for _, q := range stmts {
		if _, err := t.tx.ExecContext(t.ctx, q, args...); err != nil {
			return fmt.Errorf("hostsim: ledger: %w", err)
		}
	}
	return nil
}
