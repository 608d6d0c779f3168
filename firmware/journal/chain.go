package journal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"posfw/firmware/txn"
)

// legacyCardKeyFile is where firmware before the PIN pad's card hash kept its key,
// beside the journal; Open removes it.
const legacyCardKeyFile = "card.key"

// chainHash is SHA-256(prev || kind || 0 || record_id || 0 || at || 0 || body).
func chainHash(prev []byte, kind string, recordID int64, at, body string) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, s := range []string{kind, strconv.FormatInt(recordID, 10), at, body} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

const (
	// The row goes in only if the chain still ends where this writer believes it does.
	qInsertEvent = `INSERT INTO events (id, at, kind, record_id, operator, body, prev_hash, hash)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE coalesce((SELECT max(id) FROM events), 0) = ?`
	qChainHead = "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1"
)

// chainHead is the newest event: the id the next one follows and the hash it links to.
type chainHead struct {
	id   int64
	hash []byte // nil: not read yet
}

// readHead reads the newest event (a zero hash before the first).
func (t *wtx) readHead() error {
	h := chainHead{hash: make([]byte, sha256.Size)}
	if err := t.QueryRow(qChainHead).Scan(&h.id, &h.hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	t.head = h
	return nil
}

// appendEvent adds a row to the hash chain inside the transaction. The chain's head is
// kept in memory between transactions, and the insert is conditional on the chain still
// ending there: if another writer (a provisioning tool on the same file) appended
// meanwhile, or the file is not the one the head was read from, nothing is inserted and
// errHeadMoved makes the caller (run) build the whole transaction again from the file.
func (t *wtx) appendEvent(now time.Time, kind string, recordID int64, operator string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if t.head.hash == nil {
		if err := t.readHead(); err != nil {
			return err
		}
	}
	at := fmtTime(now)
	var rid any
	if recordID != 0 {
		rid = recordID
	}
	h := chainHash(t.head.hash, kind, recordID, at, string(b))
	res, err := t.Exec(qInsertEvent, t.head.id+1, at, kind, rid, operator, string(b), t.head.hash, h, t.head.id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return errHeadMoved
	}
	t.head = chainHead{id: t.head.id + 1, hash: h}
	return nil
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Events  int64
	Records int64
	// BadEvent is the first event whose hash or link does not verify (0: none).
	BadEvent int64
	// BadRecord is the first record whose row differs from its last event (0: none).
	BadRecord int64
	// Seals is how many stored seals of the chain's head were checked: the chain passes
	// through each, and with a witness each MAC is the witness's.
	Seals int64
	// Witnessed: the witness's anchor (event Anchor) is in the chain.
	Witnessed bool
	Anchor    int64
	Problem   string
}

// OK reports whether the journal verified.
func (v VerifyReport) OK() bool { return v.Problem == "" }

// Verify runs PRAGMA integrity_check, walks the event hash chain, checks every record
// row against the snapshot its last event holds and every counter against the chain's
// events, then every stored seal against the chain (and, with a witness, its MAC) and
// the witness's anchor. It names the first problem.
func (j *Journal) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	if err := j.IntegrityCheck(ctx); err != nil {
		rep.Problem = err.Error()
		return rep, nil
	}
	rows, err := j.query(ctx, "SELECT id, at, kind, COALESCE(record_id, 0), body, prev_hash, hash FROM events ORDER BY id")
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	last := map[int64]string{}       // record id → body of its last record event
	lastOrder := map[string]string{} // order number → its snapshot in its last event
	for rows.Next() {
		var id, rid int64
		var at, kind, body string
		var p, h []byte
		if err := rows.Scan(&id, &at, &kind, &rid, &body, &p, &h); err != nil {
			return rep, err
		}
		rep.Events++
		if !bytes.Equal(p, prev) {
			rep.BadEvent, rep.Problem = id, fmt.Sprintf("event %d does not link to the event before it", id)
			return rep, nil
		}
		if !bytes.Equal(h, chainHash(p, kind, rid, at, body)) {
			rep.BadEvent, rep.Problem = id, fmt.Sprintf("event %d content does not match its hash", id)
			return rep, nil
		}
		prev = h
		if strings.HasPrefix(kind, "order.") {
			noteOrder(lastOrder, body)
		}
		if rid != 0 && !strings.HasPrefix(kind, "reversal.") {
			last[rid] = body
		} else if rid != 0 {
			var wrap struct {
				Record json.RawMessage `json:"record"`
			}
			if json.Unmarshal([]byte(body), &wrap) == nil && wrap.Record != nil {
				last[rid] = string(wrap.Record)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	recs, err := j.list(ctx, "ORDER BY id")
	if err != nil {
		return rep, err
	}
	for _, r := range recs {
		rep.Records++
		b, _ := json.Marshal(r)
		if snap, ok := last[r.ID]; !ok || !sameRecord(snap, string(b)) {
			rep.BadRecord, rep.Problem = r.ID, fmt.Sprintf("record %d differs from its last journal event", r.ID)
			return rep, nil
		}
	}
	if rep.Problem, err = j.verifyOrders(ctx, lastOrder); err != nil || rep.Problem != "" {
		return rep, err
	}
	if rep.Problem, err = j.verifyEMVParams(ctx); err != nil || rep.Problem != "" {
		return rep, err
	}
	if !j.sealable {
		return rep, nil
	}
	p, err := j.checkCounters(ctx)
	if err != nil || p != "" {
		rep.Problem = p
		return rep, err
	}
	rep.Problem, err = j.verifySeals(ctx, &rep)
	return rep, err
}

// sameRecord compares two record snapshots as JSON values.
//
// Both are read as a txn.Record and written again, so that a snapshot taken before a
// field was added (an event of an older schema: no "ICC", "PSN" or "PIN") equals the
// row read now, whose new columns hold their zero values; any value that differs
// still differs.
func sameRecord(a, b string) bool {
	var x, y txn.Record
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
