package host

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
	"posfw/firmware/txn"
)

// EMV parameter download: the AIDs the terminal accepts and the CA public keys, from
// the acquirer (issue 16). CUP terminals do it with the network management exchanges of
// the UnionPay POS specification, 60.1 = 00 and 60.3 the code below; the iso87 dialect
// carries the same exchanges with the code in field 70. For each list, the terminal:
//
//  1. queries (0820 → 0830, 372 keys / 382 AIDs): 62 = "1" and the count received so
//     far in two digits; the answer's 62 is a status byte ('0' nothing, '1' the list
//     ends here, '2' more: query again) and the list (emvparam.RefList, AIDList);
//  2. downloads each entry (0800 → 0810, 370 / 380): 62 = its 9F06 (and 9F22); the
//     answer's 62 is '1' and the entry's TLV, or '0' when the host has no such entry;
//  3. ends (0800 → 0810, 371 / 381), no 62.
//
// Field 62 carries the bytes as they are in CUP (binary, LLL) and as upper-case hex
// digits in iso87 (whose 62 is LLL characters). None of these messages carries a MAC
// (CUP sends none on network management); each key's checksum (DF03) is checked, and a
// key whose checksum fails refuses the whole download, so that a damaged set never
// replaces the one in force.
const (
	NetCAPKQuery    = "372" // 0820: query the CA public keys
	NetCAPKDownload = "370" // 0800: download one CA public key
	NetCAPKEnd      = "371" // 0800: CA public key download ends
	NetAIDQuery     = "382" // 0820: query the IC parameters (AIDs)
	NetAIDDownload  = "380" // 0800: download one AID's parameters
	NetAIDEnd       = "381" // 0800: IC parameter download ends
)

// EMVField62 is field 62 of an EMV parameter message in dialect d: b as it is (CUP) or
// as upper-case hex (iso87).
func EMVField62(d Dialect, b []byte) string {
	if d.Name() == "cup" {
		return string(b)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// ParseEMVField62 reads field 62 of an EMV parameter message in dialect d.
func ParseEMVField62(d Dialect, s string) ([]byte, error) {
	if d.Name() == "cup" {
		return []byte(s), nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("field 62 is not hex")
	}
	return b, nil
}

// ErrEMVDownload marks a download the host answered with something unusable: a refusal
// code, a malformed list, a key whose checksum fails. The set in force stays.
var ErrEMVDownload = errors.New("EMV parameter download refused")

// DownloadEMV downloads the acquirer's CA public keys and AIDs (query, each entry,
// end; keys first) and returns them as a set, checked. stan gives each message its
// trace number (the journal's counter). Nothing is stored here: the caller journals
// the set.
func (c *Client) DownloadEMV(ctx context.Context, stan func() (int64, error)) (emvparam.Set, error) {
	d := emvDownload{c: c, stan: stan}
	var set emvparam.Set
	refs, err := d.query(ctx, NetCAPKQuery, "CA public key", func(b []byte) (byte, int, error) {
		st, l, err := emvparam.ParseRefList(b)
		d.refs = append(d.refs, l...)
		return st, len(l), err
	})
	if err != nil {
		return set, err
	}
	for _, r := range d.refs[:refs] {
		body, err := d.entry(ctx, NetCAPKDownload, emvparam.KeyRequest(r), "CA public key "+r.Name())
		if err != nil {
			return set, err
		}
		if body == nil {
			continue // listed, then not there: left out, as the host's own list says
		}
		k, err := emvparam.ParseCAPK(body)
		if err != nil {
			return set, fmt.Errorf("%w: %w", ErrEMVDownload, err)
		}
		if !bytes.Equal(k.RID, r.RID) || k.Index != r.Index {
			return set, fmt.Errorf("%w: asked for CA public key %s, got %s", ErrEMVDownload, r.Name(), k.Name())
		}
		set.CAPKs = append(set.CAPKs, k)
	}
	if err := d.end(ctx, NetCAPKEnd, "CA public key"); err != nil {
		return set, err
	}
	n, err := d.query(ctx, NetAIDQuery, "IC parameter", func(b []byte) (byte, int, error) {
		st, l, err := emvparam.ParseAIDList(b)
		d.aids = append(d.aids, l...)
		return st, len(l), err
	})
	if err != nil {
		return set, err
	}
	def := emv.DefaultParams().AIDs[0]
	for _, aid := range d.aids[:n] {
		body, err := d.entry(ctx, NetAIDDownload, emvparam.AIDRequest(aid), fmt.Sprintf("IC parameters of %X", aid))
		if err != nil {
			return set, err
		}
		if body == nil {
			continue
		}
		a, err := emvparam.ParseAID(body, def)
		if err != nil {
			return set, fmt.Errorf("%w: %w", ErrEMVDownload, err)
		}
		if !bytes.Equal(a.AID, aid) {
			return set, fmt.Errorf("%w: asked for the IC parameters of %X, got %X", ErrEMVDownload, aid, a.AID)
		}
		set.AIDs = append(set.AIDs, a)
	}
	if err := d.end(ctx, NetAIDEnd, "IC parameter"); err != nil {
		return set, err
	}
	if err := set.Check(); err != nil {
		return emvparam.Set{}, fmt.Errorf("%w: %v", ErrEMVDownload, err)
	}
	return set, nil
}

// emvDownload is one run of DownloadEMV.
type emvDownload struct {
	c    *Client
	stan func() (int64, error)
	refs []emvparam.Ref
	aids [][]byte
}

// maxQueries bounds a query's rounds: a host that says "more" for ever is refused.
const maxQueries = 20

// exchange sends one EMV parameter message and returns the answer's field 62, decoded,
// once the answer is 00.
func (d *emvDownload) exchange(ctx context.Context, mti, code string, f62 []byte, what string) ([]byte, error) {
	n, err := d.stan()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: trace number: %v", what, txn.ErrNotSent, err)
	}
	s, err := FormatSTAN(n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", what, txn.ErrNotSent, err)
	}
	c := d.c
	f := Fields{7: dateTime(c.cfg.Now(), time.UTC), 11: s, 41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 70: code}
	if f62 != nil {
		f[62] = EMVField62(c.cfg.Dialect, f62)
	}
	resp, err := c.exchange(ctx, mti, f, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if rc := resp.Get(39); rc != CodeApproved {
		return nil, &RefusedError{what, rc}
	}
	v, ok := resp.Fields[62]
	if !ok {
		return nil, nil
	}
	b, err := ParseEMVField62(c.cfg.Dialect, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrEMVDownload, what, err)
	}
	return b, nil
}

// query runs the query rounds of one list; parse reads one answer's 62, appending its
// entries, and returns the status and how many it read. query returns the total.
func (d *emvDownload) query(ctx context.Context, code, what string, parse func([]byte) (byte, int, error)) (int, error) {
	total := 0
	for range maxQueries {
		q, err := emvparam.Query(total)
		if err != nil {
			return 0, fmt.Errorf("%w: %s list: %v", ErrEMVDownload, what, err)
		}
		b, err := d.exchange(ctx, "0820", code, q, what+" query")
		if err != nil {
			return 0, err
		}
		if b == nil {
			return 0, fmt.Errorf("%w: %s query answered without field 62", ErrEMVDownload, what)
		}
		st, n, err := parse(b)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrEMVDownload, err)
		}
		total += n
		switch {
		case st == emvparam.StatusMore && n == 0:
			return 0, fmt.Errorf("%w: %s query: the host says more but lists none", ErrEMVDownload, what)
		case st == emvparam.StatusMore:
			continue
		}
		return total, nil
	}
	return 0, fmt.Errorf("%w: %s query: more than %d rounds", ErrEMVDownload, what, maxQueries)
}

// entry downloads one entry: its TLV, or nil when the host answers it has none.
func (d *emvDownload) entry(ctx context.Context, code string, req []byte, what string) ([]byte, error) {
	b, err := d.exchange(ctx, "0800", code, req, what)
	if err != nil {
		return nil, err
	}
	st, body, err := emvparam.ParseAnswer(b)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %v", ErrEMVDownload, what, err)
	case st == emvparam.StatusNone:
		return nil, nil
	case st != emvparam.StatusLast:
		return nil, fmt.Errorf("%w: %s: status %q", ErrEMVDownload, what, st)
	}
	return body, nil
}

// end tells the host a list is downloaded.
func (d *emvDownload) end(ctx context.Context, code, what string) error {
	_, err := d.exchange(ctx, "0800", code, nil, what+" download end")
	return err
}
