package journal

// The witness: the chain's anchor outside the data directory.
//
// The hash chain proves that no event was changed in place, but anyone who can write
// the file can also delete the last events and recompute the chain, put an old copy
// back, or lose the write-ahead log in a power cut, and the chain still links. So the
// chain's head is sealed by a witness that keeps its own record outside the data
// directory: the PIN pad. It MACs (event id, chain hash) under a key generated inside
// it and keeps the newest head it sealed as its anchor, which never goes back.
//
//   - After every commit that moved the chain, once no request is in flight, the
//     sealer goroutine has the head sealed and stores the seal in the seals table (the
//     newest 'head' seal replaces the one before). No serial round trip is added to a
//     sale: the seal follows the outcome, as the projection does. Close seals the head
//     it leaves, and Totals seals the head whose text goes on the settlement report
//     and to the acquirer ('settlement' seals are kept).
//   - At start the witness's anchor must be an event of the chain with the same hash:
//     otherwise events the pad saw are gone (a copy restored, a WAL deleted) or were
//     rewritten, and Open refuses before a single request can be sent.
//   - Verify checks each stored seal's MAC through the witness, that the chain passes
//     through each seal and through the anchor.
//
// A head sealed a moment before a power cut is the one window: events committed after
// the last seal are not vouched for until the next one.
//
// The counters (STAN, invoice, batch) are a projection of the chain as well: every
// value drawn is an event (a record's STAN and invoice, a STAN drawn for sign-on or
// settlement, a STAN moved forward, a batch closed). Open and Verify compare each
// counter with what the chain's newest such event says, so that a counter set back in
// the file (which would reuse a STAN) is refused.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Witness keeps the journal's newest head outside the data directory, sealed under a
// key the data directory does not hold. The PIN pad (drivers/pinpad) is one.
type Witness interface {
	// Seal MACs the head (event id, chain hash) and keeps it as the anchor when id is
	// not older than the anchor held.
	Seal(ctx context.Context, id int64, hash []byte) (mac []byte, err error)
	// Anchor is the newest head sealed (id 0 before the first) and its MAC.
	Anchor(ctx context.Context) (id int64, hash, mac []byte, err error)
	// CheckSeal reports whether mac is the witness's seal of (id, hash).
	CheckSeal(ctx context.Context, id int64, hash, mac []byte) (bool, error)
}

// Errors of a start that found the journal behind or beside its witness.
var (
	// ErrRolledBack: the witness sealed an event the journal does not hold.
	ErrRolledBack = errors.New("journal is older than the PIN pad's record")
	// ErrRewritten: the journal's event is not the one the witness sealed, or a stored
	// seal does not match the chain.
	ErrRewritten = errors.New("journal was rewritten")
	// ErrCounters: a counter disagrees with the chain.
	ErrCounters = errors.New("journal counter disagrees with its event chain")
)

// sealsVersion is the schema version that brought the seals table and STAN events.
const sealsVersion = 6

// Kinds of seal rows.
const (
	sealHead       = "head"
	sealSettlement = "settlement"
)

// Event kinds of the counters (besides the records that take a STAN and an invoice).
const (
	evSTAN     = "counter.stan"      // a STAN drawn for a message that is not a record
	evAdvance  = "counter.advance"   // the STAN moved forward (AdvanceSTAN)
	evBaseline = "counters.baseline" // the counters as found when a journal was upgraded
	evClose    = "settlement.close"
)

// sealRow is a sealed head.
type sealRow struct {
	id        int64
	hash, mac []byte
}

// Text is the short form printed on the settlement report and sent to the acquirer:
// event id, then the first 16 hex digits of the chain hash and of the seal's MAC.
func (s sealRow) text() string {
	return fmt.Sprintf("%d:%s:%s", s.id, hex.EncodeToString(s.hash)[:16], hex.EncodeToString(s.mac)[:16])
}

// sealer seals the head after commits (wakeSealer) until Close.
func (j *Journal) sealer() {
	defer close(j.sealerDone)
	for {
		select {
		case <-j.quit:
			return
		case <-j.sealWake:
			// An error (the pad unplugged) leaves the last seal; the next commit or
			// Close tries again.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			j.sealHead(ctx, sealHead)
			cancel()
		}
	}
}

// wakeSealer asks for the head to be sealed; called under the write lock after a
// commit that moved the chain, once no request is in flight.
func (j *Journal) wakeSealer() {
	if j.sealWake == nil {
		return
	}
	select {
	case j.sealWake <- struct{}{}:
	default: // due to run already
	}
}

// currentHead reads the chain's newest event from the file (another process may have
// appended since this writer's last commit).
func (j *Journal) currentHead(ctx context.Context) (chainHead, error) {
	j.write.Lock()
	defer j.write.Unlock()
	var h chainHead
	err := j.db.QueryRowContext(ctx, qChainHead).Scan(&h.id, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return chainHead{}, nil
	}
	return h, err
}

// sealHead has the witness seal the chain's head (if it has not already) and stores
// the seal: a 'head' seal once no request is in flight, a 'settlement' seal at once.
func (j *Journal) sealHead(ctx context.Context, kind string) (sealRow, error) {
	j.sealMu.Lock()
	defer j.sealMu.Unlock()
	h, err := j.currentHead(ctx)
	if err != nil || h.id == 0 {
		return sealRow{}, err
	}
	row := j.lastSeal
	if row.id != h.id || !bytes.Equal(row.hash, h.hash) {
		mac, err := j.witness.Seal(ctx, h.id, h.hash)
		if err != nil {
			return sealRow{}, fmt.Errorf("journal: sealing event %d: %w", h.id, err)
		}
		row = sealRow{id: h.id, hash: h.hash, mac: mac}
		j.lastSeal, j.unsaved = row, true
	}
	if kind == sealSettlement || j.unsaved {
		stored, err := j.storeSeal(ctx, row, kind)
		if err != nil {
			return row, err
		}
		if stored && kind == sealHead {
			j.unsaved = false
		}
	}
	return row, nil
}

const (
	qDropOldHeads = "DELETE FROM seals WHERE kind = 'head' AND event_id < ?"
	// A settlement seal stays one when the same head is sealed again.
	qStoreSeal = `INSERT INTO seals (event_id, hash, mac, kind, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (event_id) DO UPDATE SET kind = CASE WHEN seals.kind = 'settlement' THEN 'settlement' ELSE excluded.kind END`
)

// storeSeal writes a seal row in a transaction of its own. A head seal waits while a
// request is in flight (its commit would share the disk with the request's), and
// leaves the in-memory state of the fast path alone: the seals table is no projection.
func (j *Journal) storeSeal(ctx context.Context, row sealRow, kind string) (bool, error) {
	j.write.Lock()
	defer j.write.Unlock()
	if kind == sealHead && len(j.open) > 0 {
		return false, nil
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if kind == sealHead {
		if _, err := tx.ExecContext(ctx, qDropOldHeads, row.id); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, qStoreSeal, row.id, row.hash, row.mac, kind, fmtTime(j.now())); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// start runs the checks of a journal's start, in order: the witness's anchor is in the
// chain (before anything is written), a journal upgraded to sealsVersion gets the
// baseline its counters are proven from, the counters agree with the chain, and the
// head is sealed.
func (j *Journal) start(ctx context.Context, from int) error {
	if !j.sealable {
		return nil // a schema of the migration tests
	}
	if j.witness != nil && j.readOnly { // a writable open checked it first
		if err := j.checkAnchor(ctx); err != nil {
			return err
		}
	}
	if !j.readOnly && from > 0 && from < sealsVersion {
		if err := j.baseline(ctx); err != nil {
			return fmt.Errorf("journal %s: %w", j.path, err)
		}
	}
	if p, err := j.checkCounters(ctx); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	} else if p != "" {
		return fmt.Errorf("journal %s: %w: %s; refusing to start (a STAN could be used twice)", j.path, ErrCounters, p)
	}
	if j.witness != nil && !j.readOnly {
		if _, err := j.sealHead(ctx, sealHead); err != nil {
			return fmt.Errorf("journal %s: the PIN pad did not seal the journal's head: %w", j.path, err)
		}
	}
	return nil
}

// checkAnchorFirst checks the witness's anchor on a read-only connection, before the
// journal is opened for writing (or created: no journal at all, where the witness
// sealed one, is the furthest a journal can go back).
func checkAnchorFirst(path string, w Witness) error {
	ctx := context.Background()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		id, _, _, err := w.Anchor(ctx)
		if err != nil {
			return fmt.Errorf("journal %s: the PIN pad, which holds the journal's anchor, did not give it (%v); the journal cannot be checked", path, err)
		}
		if id > 0 {
			return fmt.Errorf("journal %s: %w: the PIN pad sealed event %d and there is no journal (a data directory wiped or replaced?); refusing to start", path, ErrRolledBack, id)
		}
		return nil
	}
	db, err := openRO(path)
	if err != nil {
		return err
	}
	defer db.Close()
	j := &Journal{db: db, path: path, witness: w}
	return j.checkAnchor(ctx)
}

// checkAnchor refuses a journal that does not hold the witness's anchor.
func (j *Journal) checkAnchor(ctx context.Context) error {
	id, hash, _, err := j.witness.Anchor(ctx)
	if err != nil {
		return fmt.Errorf("journal %s: the PIN pad, which holds the journal's anchor, did not give it (%v); the journal cannot be checked", j.path, err)
	}
	if p, err := j.anchorProblem(ctx, id, hash); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	} else if p != nil {
		return fmt.Errorf("journal %s: %w; refusing to start", j.path, p)
	}
	return nil
}

// anchorProblem says why the chain does not hold event id with this hash (nil: it does).
func (j *Journal) anchorProblem(ctx context.Context, id int64, hash []byte) (problem, err error) {
	if id == 0 {
		return nil, nil
	}
	var got []byte
	err = j.db.QueryRowContext(ctx, "SELECT hash FROM events WHERE id = ?", id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		var last int64
		if err := j.db.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM events").Scan(&last); err != nil {
			return nil, err
		}
		return fmt.Errorf("%w: the PIN pad sealed event %d, the journal ends at event %d (a restored copy or a lost write-ahead log?)", ErrRolledBack, id, last), nil
	}
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, hash) {
		return fmt.Errorf("%w: event %d is not the event the PIN pad sealed", ErrRewritten, id), nil
	}
	return nil, nil
}

// baseline appends the counters as found, the start of their proof in a journal
// written before every STAN was an event.
func (j *Journal) baseline(ctx context.Context) error {
	return j.tx(ctx, func(t *wtx) error {
		c := map[string]int64{}
		for _, name := range counterNames {
			var v int64
			if err := t.QueryRow(qCounter, name).Scan(&v); err != nil {
				return fmt.Errorf("counter %s: %w", name, err)
			}
			c[name] = v
		}
		return t.appendEvent(j.now(), evBaseline, 0, "", c)
	})
}

// counterNames are the counters the chain accounts for.
var counterNames = []string{"stan", "invoice", "batch"}

// qCounterEvents are the events that set a counter, newest first.
const qCounterEvents = `SELECT id, kind, body FROM events WHERE kind IN ('record.begin', 'record.append',
	'counter.stan', 'counter.advance', 'counters.baseline', 'settlement.close') ORDER BY id DESC`

// chainCounters is what the chain's newest events say each counter must be now. It
// reads back from the head only as far as it needs (usually a few events).
func (j *Journal) chainCounters(ctx context.Context) (map[string]int64, error) {
	rows, err := j.db.QueryContext(ctx, qCounterEvents)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := map[string]int64{}
	set := func(name string, v int64) {
		if _, ok := want[name]; !ok {
			want[name] = v
		}
	}
	for len(want) < len(counterNames) && rows.Next() {
		var id int64
		var kind, body string
		if err := rows.Scan(&id, &kind, &body); err != nil {
			return nil, err
		}
		var m map[string]int64
		switch kind {
		case evBegin, evAppend:
			var b struct{ STAN, Invoice int64 } // a record's snapshot
			if err := json.Unmarshal([]byte(body), &b); err != nil {
				return nil, fmt.Errorf("event %d (%s): %w", id, kind, err)
			}
			set("stan", after(b.STAN))
			set("invoice", after(b.Invoice))
			continue
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", id, kind, err)
		}
		switch kind {
		case evSTAN:
			set("stan", after(m["stan"]))
		case evAdvance:
			set("stan", m["to"])
		case evClose:
			set("batch", m["next"])
		case evBaseline:
			for _, name := range counterNames {
				set(name, m[name])
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range counterNames {
		set(name, 1) // a new journal's counters (migration 0001)
	}
	return want, nil
}

// checkCounters compares the counters table with the chain; the problem names the
// first counter that differs ("" when none does).
func (j *Journal) checkCounters(ctx context.Context) (string, error) {
	want, err := j.chainCounters(ctx)
	if err != nil {
		return "", err
	}
	for _, name := range counterNames {
		var got int64
		if err := j.db.QueryRowContext(ctx, qCounter, name).Scan(&got); err != nil {
			return "", fmt.Errorf("counter %s: %w", name, err)
		}
		if got != want[name] {
			return fmt.Sprintf("counter %s is %d but the event chain says %d", name, got, want[name]), nil
		}
	}
	return "", nil
}

// verifySeals checks every stored seal against the chain and, with a witness, its MAC
// and the witness's anchor. It fills rep's seal fields and returns the first problem.
func (j *Journal) verifySeals(ctx context.Context, rep *VerifyReport) (string, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT event_id, hash, mac FROM seals ORDER BY event_id")
	if err != nil {
		return "", err
	}
	var seals []sealRow
	for rows.Next() {
		var s sealRow
		if err := rows.Scan(&s.id, &s.hash, &s.mac); err != nil {
			rows.Close()
			return "", err
		}
		seals = append(seals, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, s := range seals {
		if p, err := j.anchorProblem(ctx, s.id, s.hash); err != nil {
			return "", err
		} else if p != nil {
			return fmt.Sprintf("seal of event %d: %v", s.id, p), nil
		}
		if j.witness != nil {
			ok, err := j.witness.CheckSeal(ctx, s.id, s.hash, s.mac)
			if err != nil {
				return "", fmt.Errorf("checking the seal of event %d with the PIN pad: %w", s.id, err)
			}
			if !ok {
				return fmt.Sprintf("the seal of event %d is not the PIN pad's", s.id), nil
			}
		}
		rep.Seals++
	}
	if j.witness == nil {
		return "", nil
	}
	id, hash, _, err := j.witness.Anchor(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the PIN pad's anchor: %w", err)
	}
	if p, err := j.anchorProblem(ctx, id, hash); err != nil {
		return "", err
	} else if p != nil {
		return p.Error(), nil
	}
	rep.Witnessed, rep.Anchor = true, id
	return "", nil
}

// SettlementHead seals the chain's head now and keeps it as a settlement seal: the
// text (Totals.Head) the settlement report prints and the acquirer receives. "" without
// a witness; with one whose seal failed, the unsealed head marked so.
func (j *Journal) SettlementHead(ctx context.Context) string {
	if j.witness == nil || j.readOnly || !j.sealable {
		return ""
	}
	row, err := j.sealHead(ctx, sealSettlement)
	if err == nil && row.id > 0 {
		return row.text()
	}
	h, herr := j.currentHead(ctx)
	if herr != nil || h.id == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%s:unsealed", h.id, hex.EncodeToString(h.hash)[:16])
}
