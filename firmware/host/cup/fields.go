package cup

import (
	"errors"
	"fmt"
	"strconv"
)

// Transaction type codes (60.1).
const (
	TypeNetwork    = "00" // sign-on, settlement, batch upload
	TypeSale       = "22"
	TypeVoid       = "23"
	TypeRefund     = "25"
	TypeEcho       = "00"
	ProcSale       = "000000"
	ProcVoidRefund = "200000" // void and refund alike, told apart by 60.1
)

// Network management codes (60.3).
const (
	NetSignOnSingle = "001" // sign-on: single-length PIK and MAK (62 is 24 bytes)
	NetSignOnDouble = "003" // sign-on: double-length PIK and MAK area (40 bytes)
	NetSignOnTDK    = "004" // sign-on: as 003 plus a track data key (60 bytes)
	NetEcho         = "301" // echo test
	NetSettle       = "201" // settlement
	NetSettleUpload = "202" // settlement after a batch upload (the trailer)
	NetBatchUpload  = "203" // batch upload of one record
	// NetBatchUploadICC is the batch upload of a chip record (its TC in 55) after an
	// unbalanced settlement (204 when balanced, which this terminal never sends: it
	// uploads only when the totals disagree).
	NetBatchUploadICC = "206"
	// NetNone is 60.3 of a financial request that carries 60.4 and 60.5.
	NetNone = "000"
)

// 60.4, the terminal's read capability: 2 magnetic stripe, 5 contact chip, 6 contact
// and contactless chip (this terminal's readers), 0 unknown.
const ReadContactContactless = "6"

// ICCondition is 60.5, the IC card condition code of the PBOC debit/credit standard:
// 2 when a chip card is swiped because its chip failed (fallback), else 0 (a chip
// transaction, or not applicable). 1 (a chip card swiped while the last chip
// transaction did not fail) never arises: the terminal asks for the chip instead.
func ICCondition(fallback bool) string {
	if fallback {
		return "2"
	}
	return "0"
}

// Field60 is field 60 (n..17): 60.1 transaction type, 60.2 batch, 60.3 network
// management code, then 60.4-60.6, one digit each (terminal capability, IC condition,
// partial approval), present only when set.
type Field60 struct {
	Type    string // n2
	Batch   string // n6
	NetCode string // n3, "" when not sent (then 60.4-60.6 are not sent either)
	Rest    string // 60.4-60.6, 0 to 3 digits (up to 6 accepted from a host)
}

// String returns the digits of field 60.
func (f Field60) String() string {
	s := f.Type + f.Batch
	if f.NetCode != "" {
		s += f.NetCode + f.Rest
	}
	return s
}

// ParseField60 splits field 60.
func ParseField60(s string) (Field60, error) {
	if !allDigits(s) || (len(s) != 2 && len(s) != 8 && (len(s) < 11 || len(s) > 17)) {
		return Field60{}, fmt.Errorf("cup: field 60 must be 2, 8 or 11-17 digits, got %d", len(s))
	}
	f := Field60{Type: s[:2]}
	if len(s) >= 8 {
		f.Batch = s[2:8]
	}
	if len(s) >= 11 {
		f.NetCode, f.Rest = s[8:11], s[11:]
	}
	return f, nil
}

// Field61 is field 61 of a void, refund, reversal or upload: the original's batch,
// trace and local date (MMDD), 16 digits.
type Field61 struct {
	Batch, STAN, Date string
}

// String returns the 16 digits.
func (f Field61) String() string { return f.Batch + f.STAN + f.Date }

// ParseField61 splits field 61 (16 digits; a host may add up to 13 more, which are
// kept out of the result).
func ParseField61(s string) (Field61, error) {
	if len(s) < 16 || !allDigits(s) {
		return Field61{}, fmt.Errorf("cup: field 61 must be at least 16 digits, got %d", len(s))
	}
	return Field61{Batch: s[:6], STAN: s[6:12], Date: s[12:16]}, nil
}

// Total is one side of the settlement totals: an amount in minor units and a count.
type Total struct {
	Amount, Count int64
}

// Field48 is the settlement totals of 0500/0510: for cards of the domestic network
// (RMB) and then for foreign cards, the debit total (amount n12, count n3), the credit
// total (the same) and the settlement flag (n1: 0 not yet compared, 1 balanced, 2 not
// balanced, 3 error), 62 digits.
type Field48 struct {
	Debit, Credit               Total
	Flag                        byte // '0'..'3'
	ForeignDebit, ForeignCredit Total
	ForeignFlag                 byte
}

const (
	maxAmount12 = 999_999_999_999
	maxCount3   = 999
)

// String returns the 62 digits, or an error when a total does not fit.
func (f Field48) String() (string, error) {
	var b []byte
	for _, g := range []struct {
		d, c Total
		flag byte
	}{{f.Debit, f.Credit, f.Flag}, {f.ForeignDebit, f.ForeignCredit, f.ForeignFlag}} {
		for _, t := range []Total{g.d, g.c} {
			if t.Amount < 0 || t.Amount > maxAmount12 || t.Count < 0 || t.Count > maxCount3 {
				return "", fmt.Errorf("cup: settlement total (%d, %d) does not fit field 48", t.Amount, t.Count)
			}
			b = fmt.Appendf(b, "%012d%03d", t.Amount, t.Count)
		}
		flag := g.flag
		if flag == 0 {
			flag = '0'
		}
		if flag < '0' || flag > '9' {
			return "", errors.New("cup: settlement flag must be a digit")
		}
		b = append(b, flag)
	}
	return string(b), nil
}

// ParseField48 reads settlement totals.
func ParseField48(s string) (Field48, error) {
	var f Field48
	if len(s) != 62 || !allDigits(s) {
		return f, fmt.Errorf("cup: settlement totals (field 48) must be 62 digits, got %d", len(s))
	}
	total := func(p string) Total {
		a, _ := strconv.ParseInt(p[:12], 10, 64)
		c, _ := strconv.ParseInt(p[12:15], 10, 64)
		return Total{a, c}
	}
	f.Debit, f.Credit, f.Flag = total(s[0:15]), total(s[15:30]), s[30]
	f.ForeignDebit, f.ForeignCredit, f.ForeignFlag = total(s[31:46]), total(s[46:61]), s[61]
	return f, nil
}

// CheckLen is the length of a check value in field 62 of a CUP sign-on: the first 4
// bytes of the key's encryption of 8 zero bytes.
const CheckLen = 4

// WorkingKey is a working key as field 62 of 0810 carries it: encrypted under the
// terminal master key (TDES ECB), and the check value of the clear key.
type WorkingKey struct {
	Enc   []byte // 8 or 16 bytes; a 16-byte MAK area may be E(MAK8) + 8 zero bytes
	Check []byte // CheckLen bytes
}

// Keys62 are the working keys of a sign-on answer: the PIN key, the MAC key and,
// with 60.3 = 004, the track data key.
type Keys62 struct {
	PIK, MAK, TDK WorkingKey
}

// keyLen is the length of each key of field 62 by the sign-on's 60.3.
func keyLen(netCode string) (n, keys int, err error) {
	switch netCode {
	case NetSignOnSingle:
		return 8, 2, nil
	case NetSignOnDouble:
		return 16, 2, nil
	case NetSignOnTDK:
		return 16, 3, nil
	}
	return 0, 0, fmt.Errorf("cup: %q is not a sign-on code", netCode)
}

// ParseKeys62 splits field 62 of a sign-on answer whose 60.3 is netCode.
func ParseKeys62(b []byte, netCode string) (Keys62, error) {
	n, count, err := keyLen(netCode)
	if err != nil {
		return Keys62{}, err
	}
	if len(b) != count*(n+CheckLen) {
		return Keys62{}, fmt.Errorf("cup: working keys (field 62) are %d bytes; %s sends %d", len(b), netCode, count*(n+CheckLen))
	}
	var ks [3]WorkingKey
	for i := 0; i < count; i++ {
		p := b[i*(n+CheckLen):]
		ks[i] = WorkingKey{Enc: append([]byte(nil), p[:n]...), Check: append([]byte(nil), p[n:n+CheckLen]...)}
	}
	return Keys62{PIK: ks[0], MAK: ks[1], TDK: ks[2]}, nil
}

// Bytes returns field 62 for a sign-on answer with 60.3 = netCode.
func (k Keys62) Bytes(netCode string) ([]byte, error) {
	n, count, err := keyLen(netCode)
	if err != nil {
		return nil, err
	}
	var b []byte
	for i, w := range []WorkingKey{k.PIK, k.MAK, k.TDK}[:count] {
		if len(w.Enc) != n || len(w.Check) != CheckLen {
			return nil, fmt.Errorf("cup: working key %d must be %d bytes with a %d-byte check value", i+1, n, CheckLen)
		}
		b = append(append(b, w.Enc...), w.Check...)
	}
	return b, nil
}

// Security53 is field 53: PIN block format 2 (ISO 9564 format 0 with the PAN), the
// encryption algorithm (0 single DES, 6 double-length TDES), and 1 when track data is
// encrypted, then 13 zeros.
func Security53(doubleLength, trackEncrypted bool) string {
	alg, trk := byte('0'), byte('0')
	if doubleLength {
		alg = '6'
	}
	if trackEncrypted {
		trk = '1'
	}
	return string([]byte{'2', alg, trk}) + "0000000000000"
}

// Org63 is the card organisation an answer's field 63 begins with ("CUP").
func Org63(s string) string {
	if len(s) < 3 {
		return ""
	}
	return s[:3]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// tdbLen is the length of the track data block CUP encrypts.
const tdbLen = 8

// EncryptTrack encrypts track data (35 or 36) as CUP acquirers specify: the track is
// packed BCD (the separator as the nibble D, a trailing 0 nibble when odd), and the
// track data block (TDB), the 8 bytes that end before the last byte, is replaced by its
// encryption under the TDK (enc, the PIN pad). The result is the field's value: as many
// characters as the track, hex nibbles with D for the separator. A track that packs to
// fewer than 9 bytes is returned as it is (sent in clear). The caller wipes both.
func EncryptTrack(track []byte, enc func(tdb []byte) ([]byte, error)) ([]byte, bool, error) {
	packed, err := track2BCD.Encode(track)
	if err != nil {
		return nil, false, err
	}
	defer clear(packed)
	if len(packed) < tdbLen+1 {
		return append([]byte(nil), track...), false, nil
	}
	tdb := packed[len(packed)-1-tdbLen : len(packed)-1]
	e, err := enc(tdb)
	if err != nil {
		return nil, false, err
	}
	if len(e) != tdbLen {
		clear(e)
		return nil, false, errors.New("cup: encrypted track block is not 8 bytes")
	}
	copy(tdb, e)
	clear(e)
	return nibbles(packed, len(track)), true, nil
}

// DecryptTrack undoes EncryptTrack with dec (the acquirer's TDK): the clear track, the
// separator as '='. An encrypted field that does not decrypt to track characters is an
// error (another key, or not encrypted).
func DecryptTrack(value []byte, dec func(tdb []byte) ([]byte, error)) ([]byte, error) {
	packed, err := track2BCD.Encode(value)
	if err != nil {
		return nil, err
	}
	defer clear(packed)
	if len(packed) < tdbLen+1 {
		return nil, errors.New("cup: encrypted track too short")
	}
	tdb := packed[len(packed)-1-tdbLen : len(packed)-1]
	d, err := dec(tdb)
	if err != nil || len(d) != tdbLen {
		return nil, errors.New("cup: track block does not decrypt")
	}
	copy(tdb, d)
	clear(d)
	return clearTrack(packed, len(value))
}

// nibbles writes the first n nibbles of packed as characters: digits, A-F, D.
func nibbles(packed []byte, n int) []byte {
	const hexdigits = "0123456789ABCDEF"
	out := make([]byte, n)
	for i := range out {
		v := packed[i/2] >> 4
		if i%2 == 1 {
			v = packed[i/2] & 0x0F
		}
		out[i] = hexdigits[v]
	}
	return out
}

// clearTrack reads n nibbles of clear track data: digits and the separator ('=').
func clearTrack(packed []byte, n int) ([]byte, error) {
	out := make([]byte, n)
	for i := range out {
		v := packed[i/2] >> 4
		if i%2 == 1 {
			v = packed[i/2] & 0x0F
		}
		switch {
		case v <= 9:
			out[i] = '0' + v
		case v == 0xD:
			out[i] = '='
		default:
			clear(out)
			return nil, errors.New("cup: the track does not decrypt to track data")
		}
	}
	return out, nil
}
