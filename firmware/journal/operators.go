package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"posfw/firmware/operator"
)

// The journal keeps the terminal's operators, and their audit trail in its hash chain.
var _ operator.Store = (*Journal)(nil)

const operatorColumns = "id, role, hash, failures, lockouts, locked_until, created_at, updated_at"

// Operator returns operator id's record, or an error wrapping operator.ErrUnknown.
func (j *Journal) Operator(ctx context.Context, id string) (operator.Record, error) {
	var r operator.Record
	var locked, created, updated string
	err := j.db.QueryRowContext(ctx, "SELECT "+operatorColumns+" FROM operators WHERE id = ?", id).Scan(
		&r.ID, &r.Role, &r.Hash, &r.Failures, &r.Lockouts, &locked, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("operator %s: %w", id, operator.ErrUnknown)
	}
	if err != nil {
		return r, fmt.Errorf("operator %s: %w", id, err)
	}
	// A lock that cannot be read must not read as no lock.
	if locked != "" {
		if r.LockedUntil, err = time.Parse(timeFormat, locked); err != nil {
			return r, fmt.Errorf("operator %s: locked_until %q is not a time", id, locked)
		}
	}
	r.CreatedAt, r.UpdatedAt = parseTime(created), parseTime(updated)
	return r, nil
}

// fmtOptTime is fmtTime with the zero time as "".
func fmtOptTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtTime(t)
}

// operatorEvents appends operator audit events to the chain inside tx. The event's actor
// is also in its body, because the chain hashes the body and not the operator column.
func operatorEvents(t *wtx, now time.Time, events []operator.Event) error {
	for _, e := range events {
		if err := t.appendEvent(now, e.Kind, 0, e.Actor, e); err != nil {
			return err
		}
	}
	return nil
}

func insertOperator(t *wtx, now time.Time, r operator.Record) error {
	created, updated := r.CreatedAt, r.UpdatedAt
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = now
	}
	_, err := t.Exec("INSERT INTO operators ("+operatorColumns+") VALUES (?,?,?,?,?,?,?,?)",
		r.ID, string(r.Role), r.Hash, r.Failures, r.Lockouts, fmtOptTime(r.LockedUntil), fmtTime(created), fmtTime(updated))
	return err
}

// InsertOperator adds a new operator with its audit events in one transaction.
func (j *Journal) InsertOperator(ctx context.Context, r operator.Record, events ...operator.Event) error {
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		var n int
		if err := t.QueryRow("SELECT count(*) FROM operators WHERE id = ?", r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("operator %s: %w", r.ID, operator.ErrExists)
		}
		if err := insertOperator(t, now, r); err != nil {
			return fmt.Errorf("operator %s: %w", r.ID, err)
		}
		return operatorEvents(t, now, events)
	})
}

// UpdateOperator replaces an operator's record (not its creation time) with its audit
// events in one transaction.
func (j *Journal) UpdateOperator(ctx context.Context, r operator.Record, events ...operator.Event) error {
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		updated := r.UpdatedAt
		if updated.IsZero() {
			updated = now
		}
		res, err := t.Exec(`UPDATE operators SET role = ?, hash = ?, failures = ?, lockouts = ?,
			locked_until = ?, updated_at = ? WHERE id = ?`,
			string(r.Role), r.Hash, r.Failures, r.Lockouts, fmtOptTime(r.LockedUntil), fmtTime(updated), r.ID)
		if err != nil {
			return fmt.Errorf("operator %s: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("operator %s: %w", r.ID, operator.ErrUnknown)
		}
		return operatorEvents(t, now, events)
	})
}

// DeleteOperator removes an operator with its audit events in one transaction.
func (j *Journal) DeleteOperator(ctx context.Context, id string, events ...operator.Event) error {
	return j.tx(ctx, func(t *wtx) error {
		res, err := t.Exec("DELETE FROM operators WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("operator %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("operator %s: %w", id, operator.ErrUnknown)
		}
		return operatorEvents(t, j.now(), events)
	})
}

// AuditOperator appends operator audit events in one transaction.
func (j *Journal) AuditOperator(ctx context.Context, events ...operator.Event) error {
	return j.tx(ctx, func(t *wtx) error { return operatorEvents(t, j.now(), events) })
}

// SeedOperators inserts rs with their events in one transaction, only if the journal has
// no operators at all; it reports whether it did.
func (j *Journal) SeedOperators(ctx context.Context, rs []operator.Record, events ...operator.Event) (bool, error) {
	seeded := false
	err := j.tx(ctx, func(t *wtx) error {
		now := j.now()
		var n int
		if err := t.QueryRow("SELECT count(*) FROM operators").Scan(&n); err != nil || n > 0 {
			return err
		}
		for _, r := range rs {
			if err := insertOperator(t, now, r); err != nil {
				return fmt.Errorf("operator %s: %w", r.ID, err)
			}
		}
		seeded = true
		return operatorEvents(t, now, events)
	})
	return seeded && err == nil, err
}
