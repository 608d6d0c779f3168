package hostsim

// The issuer side of chip requests (issue 16). A request whose field 55 carries chip
// data is authorised as the card's issuer would: the card is found among the card
// simulator's test cards by its PAN, its keys derived from its issuer's master keys
// (emvcrypto.TestIssuer, Option A with the PSN of field 23 or 5F34), and its ARQC (9F26)
// checked over the data of field 55 (the common session key of EMV Book 2 A1.3 from the
// ATC, MAC algorithm 3 over emvcrypto.ACTags). A cryptogram that does not verify, or a
// card the issuer does not know, is declined A7 (security check failed) with no chip
// data in the answer. A verified request is decided by the usual rules, and the answer
// carries 91: the ARPC (method 1) over the response code it gives, so that the card
// can tell the answer is its issuer's. Approvals of one test card (ScriptCard) also
// carry an issuer script for after the second GENERATE AC (template 72): a PUT DATA of
// its electronic cash balance (9F79), MACed under the card's SMI session key.
//
// The ledger notes each chip request's ATC, ARQC, whether it verified and the chip
// data answered (a repeat of the request gets the same); a batch upload's cryptogram
// (the TC) is noted with the upload.

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/emv"
	"posfw/firmware/host"
	"posfw/firmware/txn"
)

// CodeSecurity is the response code of a chip request whose cryptogram the issuer could
// not verify (UnionPay A7, 安全处理失败).
const CodeSecurity = "A7"

// ScriptCard is the test card whose approvals carry an issuer script.
const ScriptCard = "chip-pin"

// Script is the issuer script ScriptCard gets: PUT DATA (secure messaging, CLA 84) of
// the electronic cash balance 9F79 (n12: 100.00), script id 9F18.
var (
	ScriptID     = []byte{0x00, 0x00, 0x00, 0x16}
	ScriptHeader = []byte{0x84, 0xDA, 0x9F, 0x79}
	ScriptData   = []byte{0x00, 0x00, 0x00, 0x01, 0x00, 0x00}
)

// chipCall is the chip part of a financial request.
type chipCall struct {
	icc      tlv.List
	err      error            // field 55 does not parse
	profile  *cardsim.Profile // the test card of the PAN; nil when the issuer does not know it
	psn      string
	atc      []byte
	arqc     []byte
	verified bool
}

func (ch *chipCall) get(t tlv.Tag) ([]byte, bool) {
	o, ok := ch.icc.Find(t)
	return o.Value, ok
}

var (
	profilesOnce  sync.Once
	profilesByPAN map[string]*cardsim.Profile
)

// profileByPAN finds a test chip card by its PAN.
func profileByPAN(pan string) *cardsim.Profile {
	profilesOnce.Do(func() {
		profilesByPAN = map[string]*cardsim.Profile{}
		for _, name := range cardsim.Names() {
			if p, err := cardsim.Lookup(name); err == nil {
				profilesByPAN[p.PAN] = p
			}
		}
	})
	return profilesByPAN[pan]
}

// chipOf reads the chip data of a request; nil when it carries none.
func chipOf(r *request, pan string) *chipCall {
	raw := r.get(55)
	if raw == "" {
		return nil
	}
	ch := &chipCall{}
	if ch.icc, ch.err = tlv.Parse([]byte(raw)); ch.err != nil {
		return ch
	}
	ch.atc, _ = ch.get(0x9F36)
	ch.arqc, _ = ch.get(0x9F26)
	ch.psn = "00"
	if p := r.get(23); len(p) == 3 {
		ch.psn = p[1:]
	} else if v, ok := ch.get(0x5F34); ok && len(v) == 1 {
		ch.psn = fmt.Sprintf("%02X", v[0])
	}
	if pan != "" {
		ch.profile = profileByPAN(pan)
	}
	return ch
}

// chipCryptogram is the issuer's check of a request with chip data: the ARQC must
// verify under the card's keys.
func chipCryptogram(s *Server, _ *ledgerTx, c *call) (string, error) {
	ch := c.chip
	switch {
	case ch == nil:
		return "", nil
	case ch.err != nil:
		s.log.Info("hostsim: chip data does not parse", "terminal", c.r.terminal, "stan", c.r.stan, "error", ch.err)
		return codeFormat, nil
	case len(ch.arqc) == 0 && c.a.Type != txn.Sale:
		// A void or refund of a chip card may read the card without a cryptogram
		// (PBOC's simplified flow): nothing to verify, and no ARPC to give.
		return "", nil
	case ch.profile == nil:
		s.log.Info("hostsim: chip data of a card no issuer here knows", "terminal", c.r.terminal, "stan", c.r.stan)
		return CodeSecurity, nil
	case len(ch.arqc) != 8 || len(ch.atc) != 2:
		s.log.Info("hostsim: chip data without a cryptogram and ATC", "terminal", c.r.terminal, "stan", c.r.stan)
		return CodeSecurity, nil
	}
	err := emvcrypto.TestIssuer(ch.profile.Issuer).VerifyCryptogram(c.pan, ch.psn, ch.get, ch.arqc)
	if err != nil {
		s.log.Info("hostsim: ARQC does not verify", "terminal", c.r.terminal, "stan", c.r.stan, "error", err)
		return CodeSecurity, nil
	}
	ch.verified = true
	return "", nil
}

// chipAnswer is field 55 of the answer to a verified chip request answered code: 91 =
// ARPC ‖ ARC, and ScriptCard's script when approved.
func chipAnswer(c *call, code string) ([]byte, error) {
	ch := c.chip
	if ch == nil || !ch.verified {
		return nil, nil
	}
	iss := emvcrypto.TestIssuer(ch.profile.Issuer)
	iad, err := iss.IssuerAuthData(c.pan, ch.psn, ch.atc, ch.arqc, []byte(code))
	if err != nil {
		return nil, err
	}
	h := emv.HostICC{IssuerAuth: iad}
	if code == host.CodeApproved && ch.profile.Name == ScriptCard {
		cmd, err := iss.ScriptCommand(c.pan, ch.psn, ch.atc, ch.arqc, ScriptHeader, ScriptData)
		if err != nil {
			return nil, err
		}
		h.Scripts72 = []emv.Script{{ID: ScriptID, Commands: [][]byte{cmd}}}
	}
	return h.Bytes(), nil
}

// ChipNote is what the ledger keeps of a chip request.
type ChipNote struct {
	ATC      int    // 9F36
	ARQC     string // 9F26, hex
	Verified bool   // the ARQC verified under the card's keys
	Answer   []byte // field 55 of the answer
	// ReversalATC is the ATC the last reversal of the request carried; -1 when none
	// came or it carried no chip data.
	ReversalATC int
}

const chipSchema = `
CREATE TABLE IF NOT EXISTS chip (
	auth_id  INTEGER PRIMARY KEY REFERENCES auth(id),
	atc      INTEGER NOT NULL,
	arqc     TEXT    NOT NULL,
	verified INTEGER NOT NULL,
	answer   BLOB    NOT NULL,
	reversal_atc INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS chip_upload (
	terminal   TEXT    NOT NULL,
	batch      INTEGER NOT NULL,
	orig_stan  INTEGER NOT NULL,
	cryptogram TEXT    NOT NULL, -- 9F26 of the record's chip data, hex (its TC)
	cid        TEXT    NOT NULL, -- 9F27, hex: 40 a TC
	PRIMARY KEY (terminal, batch, orig_stan)
);`

func atcOf(b []byte) int {
	if len(b) != 2 {
		return -1
	}
	return int(b[0])<<8 | int(b[1])
}

// noteChip records the chip data of an answered request.
func (t *ledgerTx) noteChip(authID int64, ch *chipCall, answer []byte) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT OR REPLACE INTO chip (auth_id, atc, arqc, verified, answer)
		VALUES (?, ?, ?, ?, ?)`, authID, atcOf(ch.atc), strings.ToUpper(hex.EncodeToString(ch.arqc)), ch.verified, append([]byte{}, answer...))
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// rowScanner is a row of database/sql.
type rowScanner interface{ Scan(dest ...any) error }

func scanChip(row rowScanner) (ChipNote, bool, error) {
	var n ChipNote
	err := row.Scan(&n.ATC, &n.ARQC, &n.Verified, &n.Answer, &n.ReversalATC)
	if errors.Is(err, sql.ErrNoRows) {
		return ChipNote{}, false, nil
	}
	if err != nil {
		return ChipNote{}, false, fmt.Errorf("hostsim: ledger: %w", err)
	}
	return n, true, nil
}

const chipColumns = `atc, arqc, verified, answer, reversal_atc`

func (t *ledgerTx) chipOf(authID int64) (ChipNote, bool, error) {
	return scanChip(t.tx.QueryRowContext(t.ctx, `SELECT `+chipColumns+` FROM chip WHERE auth_id = ?`, authID))
}

// Chip returns the chip note of a ledger row; ok is false when the request carried no
// chip data.
func (l *Ledger) Chip(authID int64) (n ChipNote, ok bool, err error) {
	return scanChip(l.db.QueryRow(`SELECT `+chipColumns+` FROM chip WHERE auth_id = ?`, authID))
}

// noteUploadChip records the cryptogram of an uploaded chip record.
func (t *ledgerTx) noteUploadChip(terminal string, batch, origSTAN int64, icc []byte) error {
	l, err := tlv.Parse(icc)
	if err != nil {
		return nil // the upload is recorded; chip data that does not parse is not noted
	}
	ac, cid := l.Value(0x9F26), l.Value(0x9F27)
	_, err = t.tx.ExecContext(t.ctx, `INSERT OR REPLACE INTO chip_upload (terminal, batch, orig_stan,
		cryptogram, cid) VALUES (?, ?, ?, ?, ?)`, terminal, batch, origSTAN,
		strings.ToUpper(hex.EncodeToString(ac)), strings.ToUpper(hex.EncodeToString(cid)))
	if err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}

// UploadedCryptogram returns the cryptogram (9F26, hex) and its kind (9F27, hex) that a
// batch upload carried for a terminal's record; ok is false when none did.
func (l *Ledger) UploadedCryptogram(terminal string, batch, stan int64) (ac, cid string, ok bool, err error) {
	err = l.db.QueryRow(`SELECT cryptogram, cid FROM chip_upload WHERE terminal = ? AND batch = ? AND orig_stan = ?`,
		terminal, batch, stan).Scan(&ac, &cid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("hostsim: ledger: %w", err)
	}
	return ac, cid, true, nil
}

// checkReversalChip notes the ATC a chip reversal carries and compares it with the
// original's: a reversal names the card's transaction it undoes. A mismatch is logged,
// not refused: the terminal's reversal must clear whatever its chip data says.
func (s *Server) checkReversalChip(tx *ledgerTx, r *request, orig *Auth) error {
	raw := r.get(55)
	if raw == "" {
		return nil
	}
	n, ok, err := tx.chipOf(orig.ID)
	if err != nil || !ok {
		return err
	}
	l, err := tlv.Parse([]byte(raw))
	if err != nil {
		s.log.Warn("hostsim: reversal's chip data does not parse", "terminal", r.terminal, "stan", orig.STAN)
		return nil
	}
	atc := atcOf(l.Value(0x9F36))
	if atc != n.ATC {
		s.log.Warn("hostsim: reversal's ATC is not the original's", "terminal", r.terminal, "stan", orig.STAN, "atc", atc, "original_atc", n.ATC)
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE chip SET reversal_atc = ? WHERE auth_id = ?`, atc, orig.ID); err != nil {
		return fmt.Errorf("hostsim: ledger: %w", err)
	}
	return nil
}
