package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"posfw/firmware/txn"
)

// The journal is the engine's store.
var _ txn.Store = (*Journal)(nil)

// timeFormat is fixed-width so that text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

const recordColumns = `id, type, status, amount, currency, stan, batch, invoice, rrn, auth_code,
	response_code, masked_pan, card_hash, entry_mode, COALESCE(orig_id, 0), orig_stan, orig_rrn,
	orig_date, refunded, operator, supervisor, reason, duplicate_confirmed, created_at, updated_at, icc, psn, pin`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(s scanner) (*txn.Record, error) {
	var r txn.Record
	var created, updated string
	var dup int
	err := s.Scan(&r.ID, &r.Type, &r.Status, &r.Amount, &r.Currency, &r.STAN, &r.Batch, &r.Invoice,
		&r.RRN, &r.AuthCode, &r.ResponseCode, &r.MaskedPAN, &r.CardHash, &r.EntryMode, &r.OrigID,
		&r.OrigSTAN, &r.OrigRRN, &r.OrigDate, &r.Refunded, &r.Operator, &r.Supervisor, &r.Reason,
		&dup, &created, &updated, &r.ICC, &r.PSN, &r.PIN)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, txn.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.DuplicateConfirmed = dup != 0
	r.CreatedAt, r.UpdatedAt = parseTime(created), parseTime(updated)
	return &r, nil
}

const (
	// The record takes the counters' current values; qAdvanceRecordCounters moves them on
	// in the same transaction (STAN and invoice wrap after 999999).
	qInsertRecord = `INSERT INTO records (type, status, amount, currency, stan, batch, invoice,
		rrn, auth_code, response_code, masked_pan, card_hash, entry_mode, orig_id, orig_stan, orig_rrn,
		orig_date, refunded, operator, supervisor, reason, duplicate_confirmed, created_at, updated_at, icc, psn, pin)
		VALUES (?, ?, ?, ?, (SELECT value FROM counters WHERE name = 'stan'),
		(SELECT value FROM counters WHERE name = 'batch'), (SELECT value FROM counters WHERE name = 'invoice'),
		?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id, stan, batch, invoice`
	qAdvanceRecordCounters = `UPDATE counters SET value = CASE WHEN value >= 999999 THEN 1 ELSE value + 1 END
		WHERE name IN ('stan', 'invoice')`
	qCounter     = "SELECT value FROM counters WHERE name = ?"
	qAdvanceSTAN = `UPDATE counters SET value = CASE WHEN value >= 999999 THEN 1 ELSE value + 1 END
		WHERE name = 'stan'`
	qGetRecord = "SELECT " + recordColumns + " FROM records WHERE id = ?"
	qSetStatus = "UPDATE records SET status = ?, updated_at = ? WHERE id = ?"
	// A record still pending is an armed reversal: if no outcome follows, it is reversed.
	qPendingRecords  = "SELECT id FROM records WHERE status = 'pending' ORDER BY id"
	qRecoverRecord   = "UPDATE records SET status = 'reversal_pending', updated_at = ? WHERE id = ? AND status = 'pending' RETURNING " + recordColumns
	qRecoverReversal = `INSERT INTO reversals (record_id, state, reason, updated_at) VALUES (?, 'pending', '98', ?)
		ON CONFLICT (record_id) DO UPDATE SET state = 'pending', reason = '98', updated_at = excluded.updated_at`
	qArmReversal = `INSERT INTO reversals (record_id, state, reason, updated_at) VALUES (?, 'pending', ?, ?)
		ON CONFLICT (record_id) DO UPDATE SET state = 'pending', reason = excluded.reason, updated_at = excluded.updated_at`
	qPendingReversals = "SELECT " + recordColumns + `, rev_reason, rev_tries FROM (
		SELECT r.*, v.reason AS rev_reason, v.tries AS rev_tries FROM reversals v JOIN records r ON r.id = v.record_id
		WHERE v.state = 'pending') ORDER BY id`
	qReversalTries = "SELECT tries FROM reversals WHERE record_id = ? AND state = 'pending'"
	qReversalSent  = "UPDATE reversals SET state = ?, tries = ?, updated_at = ? WHERE record_id = ?"
)

// insertRecord writes r as a new record, assigning its id, STAN, batch and invoice.
func insertRecord(t *wtx, r *txn.Record, now time.Time) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	// As stored: UTC, microseconds; so the event snapshot equals the row read back.
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Microsecond)
	r.UpdatedAt = now
	var orig any
	if r.OrigID != 0 {
		orig = r.OrigID
	}
	if err := t.QueryRow(qInsertRecord,
		r.Type, r.Status, r.Amount, r.Currency, r.RRN, r.AuthCode,
		r.ResponseCode, r.MaskedPAN, r.CardHash, r.EntryMode, orig, r.OrigSTAN, r.OrigRRN, r.OrigDate,
		r.Refunded, r.Operator, r.Supervisor, r.Reason, r.DuplicateConfirmed, fmtTime(r.CreatedAt), fmtTime(r.UpdatedAt),
		r.ICC, r.PSN, r.PIN,
	).Scan(&r.ID, &r.STAN, &r.Batch, &r.Invoice); err != nil {
		return err
	}
	_, err := t.Exec(qAdvanceRecordCounters)
	return err
}

func getTx(t *wtx, id int64) (*txn.Record, error) {
	return scanRecord(t.QueryRow(qGetRecord, id))
}

// Event kinds of the money records. Begin, Finish and their effects are the fast path
// (project.go): the event is the commit and the tables follow.
const (
	evBegin  = "record.begin"
	evFinish = "record.finish"
	evEffect = "record.effect"
	evArmed  = "reversal.armed"
	evAppend = "record.append"
)

// Begin commits a pending record: one event carrying the record, with its id, STAN,
// batch and invoice. The pending record is the armed reversal: until an outcome
// replaces it, a restart (Recover) turns it into a reversal to send.
func (j *Journal) Begin(ctx context.Context, r *txn.Record) error {
	if r.Status != txn.Pending {
		return fmt.Errorf("journal: Begin of a %s record; want pending", r.Status)
	}
	if !j.projected {
		return fmt.Errorf("journal: schema before version 5 has no fast path")
	}
	return j.run(ctx, true, func(t *wtx) error {
		if !j.next.ok || r.OrigID != 0 {
			// Reading the tables (the numbers, the original): they must be up to the chain.
			if err := t.catchUp(); err != nil {
				return err
			}
		}
		if !j.next.ok {
			if err := t.loadNumbers(); err != nil {
				return err
			}
		}
		now := j.now()
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		// As stored: UTC, microseconds; so the event snapshot equals the row read back.
		r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Microsecond)
		r.UpdatedAt = now
		n := j.next
		r.ID, r.STAN, r.Batch, r.Invoice = n.id, n.stan, n.batch, n.invoice
		if err := t.projectable(r); err != nil {
			return err
		}
		if err := t.appendEvent(now, evBegin, r.ID, r.Operator, r); err != nil {
			return err
		}
		kept := *r
		t.onCommit(func() {
			j.next.id, j.next.stan, j.next.invoice = n.id+1, after(n.stan), after(n.invoice)
			j.open[kept.ID] = &kept
		})
		return nil
	})
}

// Append commits a record never sent online, with its effects.
func (j *Journal) Append(ctx context.Context, r *txn.Record, effects []txn.Effect) error {
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		if err := insertRecord(t, r, now); err != nil {
			return err
		}
		if err := t.appendEvent(now, evAppend, r.ID, r.Operator, r); err != nil {
			return err
		}
		changed, err := applyEffects(t, now, effects)
		if err != nil {
			return err
		}
		for _, c := range changed {
			if err := upsertRecord(t, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Finish commits a pending record's outcome and returns the record as it now stands:
// one event for the record, one more when its reversal goes live, one per effect.
func (j *Journal) Finish(ctx context.Context, o txn.Outcome) (*txn.Record, error) {
	if !txn.CanMove(txn.Pending, o.Status) {
		return nil, fmt.Errorf("journal: record %d cannot go from pending to %s", o.ID, o.Status)
	}
	var r txn.Record
	err := j.run(ctx, true, func(t *wtx) error {
		cur, kept := j.open[o.ID]
		if !kept || len(o.Effects) > 0 {
			// Reading the tables: they must be up to the chain.
			if err := t.catchUp(); err != nil {
				return err
			}
		}
		if !kept {
			var err error
			if cur, err = getTx(t, o.ID); errors.Is(err, txn.ErrNotFound) {
				return fmt.Errorf("journal: no record %d", o.ID)
			} else if err != nil {
				return err
			}
		}
		if cur.Status != txn.Pending {
			return fmt.Errorf("journal: record %d cannot go from %s to %s", o.ID, cur.Status, o.Status)
		}
		now := j.now()
		r = *cur
		r.Status, r.RRN, r.AuthCode, r.ResponseCode, r.UpdatedAt = o.Status, o.Response.RRN, o.Response.AuthCode, o.Response.Code, now
		if o.ICC != "" {
			r.ICC = o.ICC // the card's final cryptogram
		}
		if err := t.appendEvent(now, evFinish, r.ID, r.Operator, &r); err != nil {
			return err
		}
		if o.Status == txn.ReversalPending {
			if err := t.appendEvent(now, evArmed, r.ID, "", armed{Record: r, Reason: o.ReversalReason}); err != nil {
				return err
			}
		}
		if _, err := applyEffects(t, now, o.Effects); err != nil {
			return err
		}
		t.onCommit(func() {
			delete(j.open, r.ID)
			if r.Status == txn.ReversalPending {
				j.mayOwe()
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// applyEffects appends an event for each record an outcome changes and returns the
// changed records; the caller writes them or leaves them to the projection.
func applyEffects(t *wtx, now time.Time, effects []txn.Effect) ([]*txn.Record, error) {
	var changed []*txn.Record
	for _, e := range effects {
		r, err := getTx(t, e.ID)
		if err != nil {
			return nil, fmt.Errorf("effect on record %d: %w", e.ID, err)
		}
		if e.Status != "" && e.Status != r.Status && !txn.CanMove(r.Status, e.Status) {
			return nil, fmt.Errorf("journal: record %d cannot go from %s to %s", r.ID, r.Status, e.Status)
		}
		if e.Status != "" {
			r.Status = e.Status
		}
		r.Refunded += e.RefundedDelta
		r.UpdatedAt = now
		if err := t.projectable(r); err != nil {
			return nil, err
		}
		if err := t.appendEvent(now, evEffect, r.ID, "", r); err != nil {
			return nil, err
		}
		changed = append(changed, r)
	}
	return changed, nil
}

const (
	qByTrace    = "SELECT " + recordColumns + " FROM records WHERE stan = ? AND type IN ('sale', 'refund') ORDER BY id DESC LIMIT 1"
	qAnyByTrace = "SELECT " + recordColumns + " FROM records WHERE stan = ? ORDER BY id DESC LIMIT 1"
	// rrn != '' lets SQLite use the partial index records_rrn (RRNs arrive with the answer).
	qByRRN     = "SELECT " + recordColumns + " FROM records WHERE rrn = ? AND rrn != '' AND type = 'sale' ORDER BY id DESC LIMIT 1"
	qLast      = "SELECT " + recordColumns + " FROM records ORDER BY id DESC LIMIT 1"
	qDuplicate = "SELECT " + recordColumns + ` FROM records WHERE card_hash = ? AND amount = ? AND created_at >= ?
		AND type = 'sale' AND status IN ('approved', 'partially_refunded', 'refunded') ORDER BY id DESC LIMIT 1`
	qFailedReversals = "SELECT count(*) FROM reversals WHERE state = 'failed'"
)

// Get returns a record by id.
func (j *Journal) Get(ctx context.Context, id int64) (*txn.Record, error) {
	return scanRecord(j.queryRow(ctx, qGetRecord, id))
}

// ByTrace is the newest sale or refund with this STAN.
func (j *Journal) ByTrace(ctx context.Context, stan int64) (*txn.Record, error) {
	return scanRecord(j.queryRow(ctx, qByTrace, stan))
}

// ByRRN is the newest sale with this RRN.
func (j *Journal) ByRRN(ctx context.Context, rrn string) (*txn.Record, error) {
	if rrn == "" {
		return nil, txn.ErrNotFound
	}
	return scanRecord(j.queryRow(ctx, qByRRN, rrn))
}

// Duplicate is the newest approved sale on the card for the amount since a time.
func (j *Journal) Duplicate(ctx context.Context, cardHash string, amount int64, since time.Time) (*txn.Record, error) {
	return scanRecord(j.queryRow(ctx, qDuplicate, cardHash, amount, fmtTime(since)))
}

// Recover turns the records a crash left pending (their reversals armed) into pending
// reversals, reason 98: the request may have reached the host.
func (j *Journal) Recover(ctx context.Context) (int, error) {
	n := 0
	err := j.tx(ctx, func(t *wtx) error {
		n = 0 // a second run (the chain moved) counts again
		now := j.now()
		rows, err := t.Query(qPendingRecords)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			r, err := scanRecord(t.QueryRow(qRecoverRecord, fmtTime(now), id))
			if err != nil {
				return fmt.Errorf("recover record %d: %w", id, err)
			}
			if _, err := t.Exec(qRecoverReversal, id, fmtTime(now)); err != nil {
				return err
			}
			if err := t.appendEvent(now, "record.recover", id, "", r); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// PendingReversals lists the reversals still to send, oldest first.
//
// The engine asks before every request, and nearly always there is none: once a query
// has found none, the answer stands without SQL until a commit that may leave one (see
// mayOwe), which DESIGN §5's single writer makes this process's own.
func (j *Journal) PendingReversals(ctx context.Context) ([]txn.ReversalTask, error) {
	gen := j.owes.Load()
	if gen == j.owesNone.Load() {
		return nil, nil
	}
	rows, err := j.query(ctx, qPendingReversals)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tasks []txn.ReversalTask
	for rows.Next() {
		var t txn.ReversalTask
		r, err := scanRecord(extra{rows, []any{&t.Reason, &t.Tries}})
		if err != nil {
			return nil, err
		}
		t.Record = *r
		tasks = append(tasks, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(tasks) == 0 {
		// A commit since gen moved owes on: the answer is then asked again.
		j.owesNone.Store(gen)
	}
	return tasks, nil
}

// mayOwe notes a commit that may leave a reversal to send: every write except the fast
// path's (tx.go), a Finish that got no answer, a chain moved by another writer.
func (j *Journal) mayOwe() { j.owes.Add(1) }

// extra scans a record followed by more columns.
type extra struct {
	s    scanner
	more []any
}

func (e extra) Scan(dest ...any) error { return e.s.Scan(append(dest, e.more...)...) }

// ReversalSent records a reversal's answer or a failed try.
func (j *Journal) ReversalSent(ctx context.Context, id int64, ok bool, max int) error {
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		var tries int
		if err := t.QueryRow(qReversalTries, id).Scan(&tries); err != nil {
			return fmt.Errorf("reversal of record %d: %w", id, err)
		}
		tries++
		state, status := "pending", txn.Status("")
		switch {
		case ok:
			state, status = "done", txn.Reversed
		case tries >= max:
			state, status = "failed", txn.ReversalFailed
		}
		if _, err := t.Exec(qReversalSent, state, tries, fmtTime(now), id); err != nil {
			return err
		}
		r, err := getTx(t, id)
		if err != nil {
			return err
		}
		if status != "" {
			r.Status, r.UpdatedAt = status, now
			if _, err := t.Exec(qSetStatus, status, fmtTime(now), id); err != nil {
				return err
			}
		}
		return t.appendEvent(now, "reversal."+state, id, "", map[string]any{"record": r, "tries": tries, "answered": ok})
	})
}

// CurrentBatch is the open batch number.
func (j *Journal) CurrentBatch(ctx context.Context) (int64, error) { return j.Counter(ctx, "batch") }

// NextSTAN draws a STAN for a message that is not a record (sign-on, settlement). The
// draw is an event, so that the chain accounts for every STAN (witness.go).
func (j *Journal) NextSTAN(ctx context.Context) (int64, error) {
	var v int64
	err := j.tx(ctx, func(t *wtx) error {
		if err := t.QueryRow(qCounter, "stan").Scan(&v); err != nil {
			return fmt.Errorf("counter stan: %w", err)
		}
		if _, err := t.Exec(qAdvanceSTAN); err != nil {
			return err
		}
		return t.appendEvent(j.now(), evSTAN, 0, "", map[string]int64{"stan": v})
	})
	return v, err
}

// AdvanceSTAN moves the STAN counter past a value, when the next STAN is not already
// beyond it: the host answered 94 (duplicate transmission), so its record of this
// terminal's STANs is ahead of the counter, and the next request must not reuse one.
// The move is one transaction with its event in the chain. past is 1 to 999999; a
// value below the next STAN changes nothing (the counter is already past it).
func (j *Journal) AdvanceSTAN(ctx context.Context, past int64) error {
	if past < 1 || past > 999999 {
		return fmt.Errorf("journal: AdvanceSTAN(%d): want a STAN of 1 to 999999", past)
	}
	return j.tx(ctx, func(t *wtx) error {
		var cur int64
		if err := t.QueryRow(qCounter, "stan").Scan(&cur); err != nil {
			return fmt.Errorf("counter stan: %w", err)
		}
		if past < cur {
			return nil
		}
		next := after(past)
		if _, err := t.Exec("UPDATE counters SET value = ? WHERE name = 'stan'", next); err != nil {
			return err
		}
		return t.appendEvent(j.now(), evAdvance, 0, "", map[string]int64{"from": cur, "past": past, "to": next})
	})
}

// Totals adds up a batch per type (Head is left empty: SettlementHead seals it, once
// per settlement, not for every look at the totals).
func (j *Journal) Totals(ctx context.Context, batch int64) (txn.Totals, error) {
	return j.totals(ctx, batch)
}

func (j *Journal) totals(ctx context.Context, batch int64) (txn.Totals, error) {
	t := txn.Totals{Batch: batch}
	rows, err := j.query(ctx, `SELECT type, status, count(*), COALESCE(sum(amount), 0)
		FROM records WHERE batch = ? GROUP BY type, status`, batch)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ txn.Type
		var st txn.Status
		var n, amt int64
		if err := rows.Scan(&typ, &st, &n, &amt); err != nil {
			return t, err
		}
		if tot := totalFor(&t, typ, st); tot != nil {
			tot.Count += n
			tot.Amount += amt
		}
	}
	return t, rows.Err()
}

// totalFor is the row of the settlement table a type and status count in, or nil.
func totalFor(t *txn.Totals, typ txn.Type, st txn.Status) *txn.Total {
	switch {
	case st == txn.ReversalFailed:
		return &t.ReversalsFailed
	case typ == txn.Sale && (st == txn.Approved || st == txn.PartiallyRefunded || st == txn.Refunded):
		return &t.Sales
	case typ == txn.Refund && st == txn.Approved:
		return &t.Refunds
	case typ == txn.Void && st == txn.Approved:
		return &t.Voids
	case typ == txn.ManualRefund && st == txn.Recorded:
		return &t.ManualRefunds
	}
	return nil
}

// Approved lists the approved sales and refunds of a batch (the 0320 batch upload).
func (j *Journal) Approved(ctx context.Context, batch int64) ([]txn.Record, error) {
	return j.list(ctx, `WHERE batch = ? AND type IN ('sale', 'refund')
		AND status IN ('approved', 'partially_refunded', 'refunded') ORDER BY id`, batch)
}

func (j *Journal) list(ctx context.Context, where string, args ...any) ([]txn.Record, error) {
	rows, err := j.query(ctx, "SELECT "+recordColumns+" FROM records "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []txn.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// StartSettlement records that a batch's settlement began; calling it again is harmless.
func (j *Journal) StartSettlement(ctx context.Context, batch int64, totals txn.Totals) error {
	b, _ := json.Marshal(totals)
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		res, err := t.Exec("INSERT OR IGNORE INTO settlements (batch, state, totals, started_at) VALUES (?, 'started', ?, ?)", batch, string(b), fmtTime(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return t.appendEvent(now, "settlement.start", 0, "", totals)
	})
}

// CloseBatch ends a batch's settlement and opens the next batch; closing a closed batch
// again is harmless.
func (j *Journal) CloseBatch(ctx context.Context, batch int64) error {
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		res, err := t.Exec("UPDATE settlements SET state = 'closed', closed_at = ? WHERE batch = ? AND state = 'started'", fmtTime(now), batch)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := t.Exec("UPDATE counters SET value = ? WHERE name = 'batch' AND value = ?", batch+1, batch); err != nil {
			return err
		}
		return t.appendEvent(now, evClose, 0, "", map[string]int64{"batch": batch, "next": batch + 1})
	})
}

// Audit appends an audit event.
func (j *Journal) Audit(ctx context.Context, e txn.Event) error {
	return j.tx(ctx, func(t *wtx) error {
		return t.appendEvent(j.now(), "audit."+e.Kind, 0, e.Operator, e)
	})
}

func (j *Journal) now() time.Time {
	t := time.Now()
	if j.clock != nil {
		t = j.clock()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// SetClock makes the journal stamp records with clock instead of the system time
// (tests, and a terminal whose clock is set from the host).
func (j *Journal) SetClock(clock func() time.Time) { j.clock = clock }
