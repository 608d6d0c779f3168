package journal

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
)

// The journal keeps the EMV parameter sets the acquirer downloaded (migrations/0010).

// Event kinds of the EMV parameters.
const (
	evEMVParams          = "emv.params"           // a new set, now in force: all of it
	evEMVParamsUnchanged = "emv.params_unchanged" // a download equal to the set in force
)

// emvParamsEvent is the body of an EMV parameter event: the set as stored.
type emvParamsEvent struct {
	Version int64    `json:"version"`
	Digest  string   `json:"digest"`
	AIDs    []string `json:"aids,omitempty"`  // each AID's TLV, hex
	CAPKs   []string `json:"capks,omitempty"` // each key's TLV, hex
}

// StoreEMVParams journals a downloaded set, checked first. A set that differs from the
// one in force becomes the next version, in force from now; one equal to it (same
// digest) stores nothing new. Either way the download is an event of the chain. It
// returns the version in force and whether it is new.
func (j *Journal) StoreEMVParams(ctx context.Context, s emvparam.Set, operator string) (version int64, changed bool, err error) {
	if err := s.Check(); err != nil {
		return 0, false, fmt.Errorf("journal: %w", err)
	}
	digest := s.Digest()
	err = j.tx(ctx, func(t *wtx) error {
		now := j.now()
		var cur int64
		var curDigest string
		switch err := t.QueryRow("SELECT version, digest FROM emv_param_sets ORDER BY version DESC LIMIT 1").Scan(&cur, &curDigest); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		}
		if cur > 0 && curDigest == digest {
			version, changed = cur, false
			return t.appendEvent(now, evEMVParamsUnchanged, 0, operator, emvParamsEvent{Version: cur, Digest: digest})
		}
		version, changed = cur+1, true
		if _, err := t.Exec("INSERT INTO emv_param_sets (version, digest, operator, created_at) VALUES (?, ?, ?, ?)",
			version, digest, operator, fmtTime(now)); err != nil {
			return err
		}
		ev := emvParamsEvent{Version: version, Digest: digest}
		for i, a := range s.AIDs {
			h := strings.ToUpper(hex.EncodeToString(a.TLV()))
			if _, err := t.Exec("INSERT INTO emv_param_entries (version, kind, seq, tlv) VALUES (?, 'aid', ?, ?)", version, i, h); err != nil {
				return err
			}
			ev.AIDs = append(ev.AIDs, h)
		}
		for i, k := range s.CAPKs {
			h := strings.ToUpper(hex.EncodeToString(k.TLV()))
			if _, err := t.Exec("INSERT INTO emv_param_entries (version, kind, seq, tlv) VALUES (?, 'capk', ?, ?)", version, i, h); err != nil {
				return err
			}
			ev.CAPKs = append(ev.CAPKs, h)
		}
		return t.appendEvent(now, evEMVParams, 0, operator, ev)
	})
	if err != nil {
		return 0, false, err
	}
	return version, changed, nil
}

// EMVParamsInfo is when and by whom the set in force was stored.
type EMVParamsInfo struct {
	Version  int64
	Digest   string
	Operator string
	StoredAt time.Time
}

// EMVParams reads the set in force (the newest version); ok is false when the acquirer
// never downloaded one. Every entry is read and checked again as it was on download (a
// key's checksum included): a row changed since is an error, never a key in use.
func (j *Journal) EMVParams(ctx context.Context) (s emvparam.Set, info EMVParamsInfo, ok bool, err error) {
	if !j.hasTable("emv_param_sets") {
		return s, info, false, nil // a read-only journal of an older schema
	}
	var at string
	err = j.queryRow(ctx, "SELECT version, digest, operator, created_at FROM emv_param_sets ORDER BY version DESC LIMIT 1").
		Scan(&info.Version, &info.Digest, &info.Operator, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return s, info, false, nil
	}
	if err != nil {
		return s, info, false, err
	}
	info.StoredAt = parseTime(at)
	rows, err := j.query(ctx, "SELECT kind, tlv FROM emv_param_entries WHERE version = ? ORDER BY kind, seq", info.Version)
	if err != nil {
		return s, info, false, err
	}
	defer rows.Close()
	def := emv.DefaultParams().AIDs[0]
	for rows.Next() {
		var kind, h string
		if err := rows.Scan(&kind, &h); err != nil {
			return s, info, false, err
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return s, info, false, fmt.Errorf("journal: EMV parameters version %d: an entry is not hex", info.Version)
		}
		switch kind {
		case "aid":
			a, err := emvparam.ParseAID(b, def)
			if err != nil {
				return s, info, false, fmt.Errorf("journal: EMV parameters version %d: %w", info.Version, err)
			}
			s.AIDs = append(s.AIDs, a)
		case "capk":
			k, err := emvparam.ParseCAPK(b)
			if err != nil {
				return s, info, false, fmt.Errorf("journal: EMV parameters version %d: %w", info.Version, err)
			}
			s.CAPKs = append(s.CAPKs, k)
		}
	}
	if err := rows.Err(); err != nil {
		return s, info, false, err
	}
	if got := s.Digest(); got != info.Digest {
		return s, info, false, fmt.Errorf("journal: EMV parameters version %d do not match their digest", info.Version)
	}
	s.Version = info.Version
	return s, info, true, nil
}

// verifyEMVParams checks every stored set against its event in the chain: the same
// version, digest and entries, and no set without one. It names the first problem.
func (j *Journal) verifyEMVParams(ctx context.Context) (string, error) {
	if !j.hasTable("emv_param_sets") {
		return "", nil
	}
	rows, err := j.query(ctx, "SELECT body FROM events WHERE kind = ? ORDER BY id", evEMVParams)
	if err != nil {
		return "", err
	}
	chained := map[int64]emvParamsEvent{}
	for rows.Next() {
		var body string
		var ev emvParamsEvent
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return "", err
		}
		if json.Unmarshal([]byte(body), &ev) != nil {
			rows.Close()
			return "an EMV parameter event is not readable", nil
		}
		chained[ev.Version] = ev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	sets, err := j.query(ctx, "SELECT version, digest FROM emv_param_sets ORDER BY version")
	if err != nil {
		return "", err
	}
	type set struct {
		version int64
		digest  string
	}
	var stored []set
	for sets.Next() {
		var s set
		if err := sets.Scan(&s.version, &s.digest); err != nil {
			sets.Close()
			return "", err
		}
		stored = append(stored, s)
	}
	sets.Close()
	if err := sets.Err(); err != nil {
		return "", err
	}
	for _, s := range stored {
		ev, ok := chained[s.version]
		if !ok || ev.Digest != s.digest {
			return fmt.Sprintf("EMV parameters version %d differ from their journal event", s.version), nil
		}
		var got emvParamsEvent
		entries, err := j.query(ctx, "SELECT kind, tlv FROM emv_param_entries WHERE version = ? ORDER BY kind, seq", s.version)
		if err != nil {
			return "", err
		}
		for entries.Next() {
			var kind, h string
			if err := entries.Scan(&kind, &h); err != nil {
				entries.Close()
				return "", err
			}
			if kind == "aid" {
				got.AIDs = append(got.AIDs, h)
			} else {
				got.CAPKs = append(got.CAPKs, h)
			}
		}
		entries.Close()
		if !slices.Equal(got.AIDs, ev.AIDs) || !slices.Equal(got.CAPKs, ev.CAPKs) {
			return fmt.Sprintf("EMV parameters version %d differ from their journal event", s.version), nil
		}
	}
	// A set the chain holds and the tables do not was deleted: the one in force would be
	// an older one, brought back (a withdrawn key, old limits).
	for v := range chained {
		if !slices.ContainsFunc(stored, func(s set) bool { return s.version == v }) {
			return fmt.Sprintf("EMV parameters version %d of the journal's events are missing", v), nil
		}
	}
	return "", nil
}
