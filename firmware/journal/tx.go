package journal

import (
	"context"
	"database/sql"
)

// wtx is one write transaction, and the hash chain's head as it leaves it.
type wtx struct {
	ctx  context.Context
	tx   *sql.Tx
	j    *Journal
	head chainHead
}

// Exec runs a statement in the transaction.
func (t *wtx) Exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, q, args...)
}

// QueryRow runs a one-row query (or a statement with RETURNING) in the transaction.
func (t *wtx) QueryRow(q string, args ...any) scanner {
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// Query runs a query in the transaction.
func (t *wtx) Query(q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, q, args...)
}

// tx runs f in one IMMEDIATE transaction (the DSN's _txlock): committed durably
// (synchronous=FULL) when f returns nil, rolled back otherwise. Writers in this process
// take turns on j.write, so the chain head kept in memory moves only with a commit.
func (j *Journal) tx(ctx context.Context, f func(t *wtx) error) error {
	j.write.Lock()
	defer j.write.Unlock()
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := &wtx{ctx: ctx, tx: tx, j: j, head: j.head}
	if err := f(t); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	j.head = t.head
	return nil
}
