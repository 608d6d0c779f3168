package journal

import (
	"context"
	"database/sql"
	"errors"
)

// wtx is one write transaction, and the hash chain's head as it leaves it.
type wtx struct {
	ctx  context.Context
	tx   *sql.Tx
	j    *Journal
	head chainHead
	// committed runs after a successful commit, under the write lock: in-memory state
	// (the next numbers, the pending records) moves only with the file.
	committed []func()
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

// onCommit queues f to run once the transaction has committed.
func (t *wtx) onCommit(f func()) { t.committed = append(t.committed, f) }

// tx runs f in one IMMEDIATE transaction (the DSN's _txlock), committed durably
// (synchronous=FULL) when f returns nil and rolled back otherwise. It is the way of every
// writer except the fast path (project.go): the tables are first brought up to the
// chain, f changes them and appends its events, and the projection mark moves to the
// chain's head in the same commit, so that no event of f is ever replayed.
func (j *Journal) tx(ctx context.Context, f func(t *wtx) error) error {
	return j.run(ctx, false, func(t *wtx) error {
		if err := t.catchUp(); err != nil {
			return err
		}
		start := t.head.id
		if err := f(t); err != nil {
			return err
		}
		if t.head.id != start {
			return t.mark(t.head.id)
		}
		return nil
	})
}

// run is one write transaction under the write lock. If the chain moved under this
// writer's head (another process appended), the transaction is rolled back and run once
// more from the file's state: the head read again, the tables brought up to the chain,
// the in-memory numbers reloaded. A fast transaction leaves the projection behind, for
// the projector once no request is in flight.
func (j *Journal) run(ctx context.Context, fast bool, f func(t *wtx) error) error {
	j.write.Lock()
	defer j.write.Unlock()
	for retried := false; ; retried = true {
		err := j.once(ctx, fast, retried, f)
		if !errors.Is(err, errHeadMoved) || retried {
			return err
		}
		j.forget()
	}
}

func (j *Journal) once(ctx context.Context, fast, retried bool, f func(t *wtx) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := &wtx{ctx: ctx, tx: tx, j: j, head: j.head}
	start := j.head.id
	if retried && fast {
		if err := t.catchUp(); err != nil {
			return err
		}
	}
	if err := f(t); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	j.head = t.head
	if !fast {
		j.behind.Store(false)
		j.forgetNumbers()
		j.mayOwe()
	}
	for _, f := range t.committed {
		f()
	}
	if t.head.id != start && len(j.open) == 0 {
		// The chain moved and no request is out: the witness seals the new head.
		j.wakeSealer()
	}
	if fast {
		j.behind.Store(true)
		// Not while a request is out: the projection would share the CPU and the disk
		// with it and hold the lock its Finish needs. A reader catches up by itself.
		if len(j.open) == 0 {
			select {
			case j.wake <- struct{}{}:
			default: // the projector is already due to run
			}
		}
	}
	return nil
}

// Ping runs an empty write transaction: it returns once this writer could take the
// journal's write lock and the database's, which a writer stuck on a dead disk or behind
// a hung transaction cannot. It is the journal's beat for the service watchdog.
func (j *Journal) Ping(ctx context.Context) error {
	return j.tx(ctx, func(*wtx) error { return nil })
}
