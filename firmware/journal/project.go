package journal

// The fast path.
//
// A sale waits for two durable commits, Begin before the request goes out and Finish
// when the answer is in, and on flash or a virtual disk a commit costs about what it
// writes: each WAL page is two writes and more for the sync to flush. A commit of the
// record row with its five indexes, the counters and the event would touch eight pages
// for Begin and five for Finish. So Begin and Finish commit only their events: the hash
// chain, whose rows carry each record's whole snapshot, is the truth, and a commit of
// one event row is about the cost of a single-row commit. The tables the events
// describe (records and their indexes, the counters, the reversals) follow in a
// projection transaction that a background goroutine commits while the request is on
// the wire or the slip prints.
//
// The counter 'projected' is the newest event the tables reflect; it moves in the same
// transaction as the tables. Open replays the events beyond it, so a power cut between
// an event and its projection loses nothing: the record, its STAN and its armed reversal
// come back from the chain. Every reader waits for the projection first (settle), so
// nobody reads tables that are behind the chain, and every other writer (tx) brings
// the tables up to the chain before it changes them.
//
// Begin needs the next record id, STAN, batch and invoice without reading the tables,
// and Finish the pending record it finishes: the writer keeps both in memory between
// fast commits. Any other write forgets them (they are read again at the next Begin),
// and so does a chain that moved under this writer.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"posfw/firmware/txn"
)

// errHeadMoved: the chain no longer ends where this writer believed (another process
// appended); the transaction is built again from the file.
var errHeadMoved = errors.New("journal: the event chain moved under this writer")

const (
	qProjected    = "SELECT value FROM counters WHERE name = 'projected'"
	qSetProjected = "UPDATE counters SET value = ? WHERE name = 'projected'"
	qEventsAfter  = "SELECT id, kind, body FROM events WHERE id > ? ORDER BY id"
	// A snapshot replaces the row it describes, or is the row.
	qUpsertRecord = `INSERT INTO records (id, type, status, amount, currency, stan, batch, invoice,
		rrn, auth_code, response_code, masked_pan, card_hash, entry_mode, orig_id, orig_stan, orig_rrn,
		orig_date, refunded, operator, supervisor, reason, duplicate_confirmed, created_at, updated_at, icc, psn, pin)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, rrn = excluded.rrn,
		auth_code = excluded.auth_code, response_code = excluded.response_code,
		refunded = excluded.refunded, updated_at = excluded.updated_at, icc = excluded.icc`
	// A counter after the value a record took (STAN and invoice wrap after 999999).
	qCounterAfter = `UPDATE counters SET value = CASE WHEN ? >= 999999 THEN 1 ELSE ? + 1 END WHERE name = ?`
	qNextNumbers  = `SELECT (SELECT value FROM counters WHERE name = 'stan'), (SELECT value FROM counters WHERE name = 'batch'),
		(SELECT value FROM counters WHERE name = 'invoice'), COALESCE((SELECT max(id) FROM records), 0) + 1`
)

// numbers are what the next Begin gives its record.
type numbers struct {
	ok                       bool
	id, stan, batch, invoice int64
}

func after(v int64) int64 {
	if v >= 999999 {
		return 1
	}
	return v + 1
}

// forget drops everything this writer keeps of the file (after the chain moved).
func (j *Journal) forget() {
	j.head = chainHead{}
	j.forgetNumbers()
	j.mayOwe()
}

// forgetNumbers drops the next numbers and the pending records kept in memory; the next
// Begin reads them again.
func (j *Journal) forgetNumbers() {
	j.next = numbers{}
	clear(j.open)
}

// loadNumbers reads the next numbers; the tables must be up to the chain.
func (t *wtx) loadNumbers() error {
	n := numbers{ok: true}
	if err := t.QueryRow(qNextNumbers).Scan(&n.stan, &n.batch, &n.invoice, &n.id); err != nil {
		return fmt.Errorf("journal: counters: %w", err)
	}
	t.j.next = n
	return nil
}

// mark records that the tables reflect the chain up to event id.
func (t *wtx) mark(id int64) error {
	_, err := t.Exec(qSetProjected, id)
	return err
}

// catchUp brings the tables up to the chain: it applies, in order, every event after
// the projection mark and moves the mark to the last.
func (t *wtx) catchUp() error {
	if !t.j.projected {
		return nil // a schema before 0005 (tests of migrations): the tables are the truth
	}
	var mark int64
	if err := t.QueryRow(qProjected).Scan(&mark); err != nil {
		return fmt.Errorf("journal: projection mark: %w", err)
	}
	type event struct {
		id         int64
		kind, body string
	}
	rows, err := t.Query(qEventsAfter, mark)
	if err != nil {
		return err
	}
	var evs []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.id, &e.kind, &e.body); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(evs) == 0 {
		return nil
	}
	for _, e := range evs {
		if err := t.project(e.id, e.kind, []byte(e.body)); err != nil {
			return err
		}
	}
	return t.mark(evs[len(evs)-1].id)
}

// armed is the body of a reversal.armed event: the record and why it is reversed.
type armed struct {
	Record txn.Record `json:"record"`
	Reason string     `json:"reason"`
}

// project applies one fast-path event to the tables. Only the fast path leaves events
// behind the mark; any other kind there means the file was not written by this journal.
func (t *wtx) project(id int64, kind string, body []byte) error {
	switch kind {
	case evBegin, evFinish, evEffect:
		var r txn.Record
		if err := json.Unmarshal(body, &r); err != nil {
			return fmt.Errorf("journal: event %d (%s): %w", id, kind, err)
		}
		if err := upsertRecord(t, &r); err != nil {
			return fmt.Errorf("journal: event %d (%s): %w", id, kind, err)
		}
		if kind != evBegin {
			return nil
		}
		if _, err := t.Exec(qCounterAfter, r.STAN, r.STAN, "stan"); err != nil {
			return err
		}
		_, err := t.Exec(qCounterAfter, r.Invoice, r.Invoice, "invoice")
		return err
	case evArmed:
		var a armed
		if err := json.Unmarshal(body, &a); err != nil {
			return fmt.Errorf("journal: event %d (%s): %w", id, kind, err)
		}
		_, err := t.Exec(qArmReversal, a.Record.ID, a.Reason, fmtTime(a.Record.UpdatedAt))
		return err
	}
	return fmt.Errorf("journal: event %d (%s) is past the projection mark and is not a fast-path event", id, kind)
}

// projectable refuses a record the tables would refuse (migrations/0002's CHECKs and
// the original's foreign key): on the fast path the event commits before the row is
// written, and an event the projection cannot apply would stop every reader.
func (t *wtx) projectable(r *txn.Record) error {
	switch {
	case !recordTypes[r.Type]:
		return fmt.Errorf("journal: record type %q unknown", r.Type)
	case r.Amount < 0:
		return fmt.Errorf("journal: record amount %d is negative", r.Amount)
	case r.Refunded < 0 || r.Refunded > r.Amount:
		return fmt.Errorf("journal: record %d refunded %d of %d", r.ID, r.Refunded, r.Amount)
	case r.OrigID != 0:
		var one int
		if err := t.QueryRow("SELECT 1 FROM records WHERE id = ?", r.OrigID).Scan(&one); err != nil {
			return fmt.Errorf("journal: original record %d: %w", r.OrigID, err)
		}
	}
	return nil
}

// recordTypes are the types the records table takes.
var recordTypes = map[txn.Type]bool{txn.Sale: true, txn.Void: true, txn.Refund: true, txn.ManualRefund: true}

// upsertRecord writes a record snapshot as its row.
func upsertRecord(t *wtx, r *txn.Record) error {
	var orig any
	if r.OrigID != 0 {
		orig = r.OrigID
	}
	_, err := t.Exec(qUpsertRecord, r.ID, r.Type, r.Status, r.Amount, r.Currency, r.STAN, r.Batch, r.Invoice,
		r.RRN, r.AuthCode, r.ResponseCode, r.MaskedPAN, r.CardHash, r.EntryMode, orig, r.OrigSTAN, r.OrigRRN,
		r.OrigDate, r.Refunded, r.Operator, r.Supervisor, r.Reason, r.DuplicateConfirmed,
		fmtTime(r.CreatedAt), fmtTime(r.UpdatedAt), r.ICC, r.PSN, r.PIN)
	return err
}

// projector commits the projection behind the fast path, one transaction per wake-up.
func (j *Journal) projector() {
	defer close(j.projectorDone)
	for {
		select {
		case <-j.quit:
			return
		case <-j.wake:
			// An error stays behind the mark; the next reader or writer meets it.
			j.settle(context.Background())
		}
	}
}

// settle waits until the tables reflect every committed event, committing the
// projection itself if the projector has not yet.
func (j *Journal) settle(ctx context.Context) error {
	if !j.behind.Load() {
		return nil
	}
	j.write.Lock()
	defer j.write.Unlock()
	if !j.behind.Load() {
		return nil
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := &wtx{ctx: ctx, tx: tx, j: j, head: j.head}
	if err := t.catchUp(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	j.behind.Store(false)
	return nil
}

// Flush waits until the records, counters and reversals tables reflect every committed
// event (the fast path's projection is done) and, with a witness, the head is sealed
// and the seal stored. Readers wait for the projection by themselves; Flush is for a
// caller that wants the background work finished, such as a benchmark between two
// measurements.
func (j *Journal) Flush(ctx context.Context) error {
	if err := j.settle(ctx); err != nil {
		return err
	}
	if j.sealWake != nil {
		_, err := j.sealHead(ctx, sealHead)
		return err
	}
	return nil
}

// queryRow is how a reader reaches the tables: after the projection.
func (j *Journal) queryRow(ctx context.Context, q string, args ...any) scanner {
	if err := j.settle(ctx); err != nil {
		return errScanner{err}
	}
	return j.db.QueryRowContext(ctx, q, args...)
}

// query is queryRow for many rows.
func (j *Journal) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := j.settle(ctx); err != nil {
		return nil, err
	}
	return j.db.QueryContext(ctx, q, args...)
}

// errScanner is a row that could not be read.
type errScanner struct{ err error }

func (e errScanner) Scan(...any) error { return e.err }
