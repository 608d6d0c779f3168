package host

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// Message is one row of the dialect's message table.
type Message struct {
	MTI      string // the request
	Response string // the MTI of its answer
	MAC      bool   // request and answer carry a MAC
	Purpose  string
}

// Messages is the iso87 dialect's table of requests and their answers.
var Messages = []Message{
	{"0800", "0810", false, "network management: sign-on (70=001), echo (70=301), EMV parameter download (emvdownload.go)"},
	{"0820", "0830", false, "network management advice: EMV parameter query (70=372, 382; emvdownload.go)"},
	{"0200", "0210", true, "financial request: sale, void"},
	{"0220", "0230", true, "financial advice: refund"},
	{"0400", "0410", true, "reversal"},
	{"0401", "0410", true, "reversal, repeat"},
	{"0500", "0510", true, "settlement"},
	{"0320", "0330", true, "batch upload"},
}

// LookupMessage returns the row of a request MTI.
func LookupMessage(mti string) (Message, bool) {
	for _, m := range Messages {
		if m.MTI == mti {
			return m, true
		}
	}
	return Message{}, false
}

// Financial is one row of the table of financial requests: the message and
// processing code (field 3) that carry a record type.
type Financial struct {
	Type txn.Type
	MTI  string
	Proc string
}

// Financials lists the record types that go online (DESIGN.md §3). A manual
// refund is never sent.
var Financials = []Financial{
	{txn.Sale, "0200", "000000"},
	{txn.Void, "0200", "020000"},
	{txn.Refund, "0220", "200000"},
}

// FinancialOf returns the row of a record type.
func FinancialOf(t txn.Type) (Financial, bool) {
	for _, f := range Financials {
		if f.Type == t {
			return f, true
		}
	}
	return Financial{}, false
}

// FinancialByProc returns the row of a processing code. The MTI is not
// checked: a reversal (0400) or an upload (0320) carries the original's code.
func FinancialByProc(proc string) (Financial, bool) {
	for _, f := range Financials {
		if f.Proc == proc {
			return f, true
		}
	}
	return Financial{}, false
}

// Field values with a meaning of their own.
const (
	ProcSettle = "920000" // field 3 of 0500
	// ProcSettleTrailer is field 3 of the 0500 that ends a batch upload: the acquirer
	// settles from the upload, and tells it from a first 0500 sent again.
	ProcSettleTrailer = "960000"
	NetSignOn         = "001" // field 70 of a sign-on
	NetEcho           = "301" // field 70 of an echo test
	CodeApproved      = "00"  // field 39: approved; settlement balanced
	CodeUnbalanced    = "95"  // field 39 of 0510: totals do not agree, upload the batch
	CodeMACError      = "A0"  // field 39: the request's MAC did not verify
)

// Echo is one row of the table of request fields an answer must repeat. An answer
// that differs in any of them answers some other request, or was altered on the way:
// it is not this request's answer, whatever its MAC and response code say.
type Echo struct {
	Field int
	// Required: the answer must carry the field when the request did. Otherwise a
	// host may leave it out, but must not change it.
	Required bool
	What     string
}

// Echoes are the fields an iso87 answer repeats (ISO 8583:1987 "mandatory echo"):
// a signed 0210 for another amount or merchant must never show Approved for this one.
var Echoes = []Echo{
	{3, true, "processing code"},
	{4, true, "amount"},
	{11, true, "trace number"},
	{41, true, "terminal id"},
	{42, true, "merchant id"},
	{49, false, "currency"},
	{60, true, "batch number"},
	{70, true, "network management code"},
	{90, true, "original data"},
}

// CheckEcho reports the first field of Echoes in which answer differs from request
// (both as field number → value).
func CheckEcho(request, answer Fields) error {
	for _, e := range Echoes {
		want, sent := request[e.Field]
		if !sent {
			continue
		}
		got, ok := answer[e.Field]
		switch {
		case !ok && e.Required:
			return fmt.Errorf("the answer leaves out field %d (%s)", e.Field, e.What)
		case ok && got != want:
			return fmt.Errorf("the answer changes field %d (%s)", e.Field, e.What)
		}
	}
	return nil
}

// entryModes is the PAN entry mode, the first two digits of field 22. The
// third digit is 1 when a PIN was entered and 2 when not (the UnionPay use of
// ISO 8583 "PIN entry capability").
var entryModes = map[txn.EntryMode]string{
	txn.Keyed:  "01",
	txn.Swiped: "02",
	txn.Chip:   "05",
	txn.Tapped: "07",
	// A chip card swiped after its chip could not be read (ISO 8583 "80": chip-capable
	// terminal, magnetic stripe read, chip failed).
	txn.Fallback: "80",
}

// EntryModeCode returns field 22 for a card read in mode m.
func EntryModeCode(m txn.EntryMode, pin bool) (string, bool) {
	c, ok := entryModes[m]
	if !ok {
		return "", false
	}
	if pin {
		return c + "1", true
	}
	return c + "2", true
}

// ---- MAC ----

// macHexLen is the length on the wire of the MAC field: 8 bytes as hex.
const macHexLen = 2 * mac.Size

// ErrNoMAC is returned by CheckMAC for a message that has no MAC field.
var ErrNoMAC = errors.New("host: message has no MAC")

// MACField returns the field that carries msg's MAC: 128 when the message
// has a secondary bitmap (a field above 64 other than 128), 64 otherwise.
func MACField(msg *iso8583.Message) int {
	for id := range msg.GetFields() {
		if id > 64 && id != 128 {
			return 128
		}
	}
	return 64
}

// PackMAC packs msg with its X9.19 MAC under a clear key: the acquirer's side and
// tests (the terminal MACs through the PIN pad, ISO87.Encode). The MAC field (MACField)
// is set to 8 zero bytes and the message packed; the MAC is computed over all
// of it but the MAC field's last 16 hex digits, and written there.
func PackMAC(msg *iso8583.Message, key []byte) ([]byte, error) {
	msg.UnsetField(64)
	msg.UnsetField(128)
	f := MACField(msg)
	if err := msg.BinaryField(f, make([]byte, mac.Size)); err != nil {
		return nil, fmt.Errorf("host: set MAC field: %v", err)
	}
	b, err := iso87.Pack(msg)
	if err != nil {
		return nil, err
	}
	m, err := mac.X919(key, b[:len(b)-macHexLen])
	if err != nil {
		return nil, fmt.Errorf("host: %v", err)
	}
	hexUpper(b[len(b)-macHexLen:], m[:])
	if err := msg.BinaryField(f, m[:]); err != nil {
		return nil, fmt.Errorf("host: set MAC field: %v", err)
	}
	return b, nil
}

// CheckMAC verifies, under a clear key (the acquirer's side), the MAC of b, a
// message as received, which iso87.Unpack decoded into msg. It returns nil, ErrNoMAC, mac.ErrMismatch or an error
// about the key.
func CheckMAC(b []byte, msg *iso8583.Message, key []byte) error {
	f := MACField(msg)
	if _, ok := msg.GetFields()[f]; !ok {
		return ErrNoMAC
	}
	got, err := msg.GetBytes(f)
	if err != nil || len(got) != mac.Size || len(b) < macHexLen {
		return ErrNoMAC
	}
	// The MAC field is the last one and iso87.Unpack accepts only the
	// canonical encoding, so these are its bytes; check, as b and msg come
	// from the caller.
	var h [macHexLen]byte
	hexUpper(h[:], got)
	if subtle.ConstantTimeCompare(h[:], b[len(b)-macHexLen:]) != 1 {
		return errors.New("host: MAC field is not the last field of the message")
	}
	return mac.Verify(mac.X919, key, b[:len(b)-macHexLen], got)
}

func hexUpper(dst, src []byte) {
	hex.Encode(dst, src)
	for i, c := range dst {
		if 'a' <= c && c <= 'f' {
			dst[i] = c - 'a' + 'A'
		}
	}
}

// ---- working keys ----

// KeySize is the length of the master and working keys: double-length TDES.
const KeySize = 16

// keyBlockLen is the length of a KeyBlock in field 62: 32 + 6 hex digits.
const keyBlockLen = 2*KeySize + 2*3

// ErrKeyCheck is returned when a working key does not match its check value:
// it was damaged, or the terminal and host do not share the master key.
var ErrKeyCheck = errors.New("host: working key does not match its check value")

// KeyBlock is a working key as the host delivers it in field 62 of 0810.
type KeyBlock struct {
	Key [KeySize]byte // encrypted under the terminal master key, TDES ECB
	KCV [3]byte       // check value of the clear key
}

// SealKey encrypts a clear working key under the master key tmk.
func SealKey(tmk, clear []byte) (KeyBlock, error) {
	var kb KeyBlock
	if len(clear) != KeySize {
		return kb, fmt.Errorf("host: a working key is %d bytes, got %d", KeySize, len(clear))
	}
	c, err := tdes(tmk)
	if err != nil {
		return kb, err
	}
	c.Encrypt(kb.Key[:8], clear[:8])
	c.Encrypt(kb.Key[8:], clear[8:])
	if kb.KCV, err = mac.KCV(clear); err != nil {
		return kb, fmt.Errorf("host: %v", err)
	}
	return kb, nil
}

// Open decrypts the key under a clear master key tmk and checks it against its
// KCV: the acquirer's side and tests (a terminal's PIN pad does this inside
// itself). The caller wipes the result.
func (kb KeyBlock) Open(tmk []byte) ([]byte, error) {
	c, err := tdes(tmk)
	if err != nil {
		return nil, err
	}
	k := make([]byte, KeySize)
	c.Decrypt(k[:8], kb.Key[:8])
	c.Decrypt(k[8:], kb.Key[8:])
	kcv, err := mac.KCV(k)
	if err != nil || subtle.ConstantTimeCompare(kcv[:], kb.KCV[:]) != 1 {
		clear(k)
		return nil, ErrKeyCheck
	}
	return k, nil
}

// String returns the block as it travels: 38 upper-case hex digits. The key
// in it is encrypted.
func (kb KeyBlock) String() string {
	return strings.ToUpper(hex.EncodeToString(kb.Key[:]) + hex.EncodeToString(kb.KCV[:]))
}

// ParseKeyBlocks decodes field 62 of 0810: the MAC key's block, optionally
// followed by the PIN key's.
func ParseKeyBlocks(s string) ([]KeyBlock, error) {
	if len(s) != keyBlockLen && len(s) != 2*keyBlockLen {
		return nil, fmt.Errorf("host: working keys field is %d characters; want %d or %d", len(s), keyBlockLen, 2*keyBlockLen)
	}
	var kbs []KeyBlock
	for ; s != ""; s = s[keyBlockLen:] {
		var kb KeyBlock
		if err := unhexUpper(kb.Key[:], s[:2*KeySize]); err != nil {
			return nil, fmt.Errorf("host: working key: %v", err)
		}
		if err := unhexUpper(kb.KCV[:], s[2*KeySize:keyBlockLen]); err != nil {
			return nil, fmt.Errorf("host: working key check value: %v", err)
		}
		kbs = append(kbs, kb)
	}
	return kbs, nil
}

// unhexUpper decodes upper-case hex only, so that every value has one
// encoding.
func unhexUpper(dst []byte, s string) error {
	if strings.ToUpper(s) != s {
		return errors.New("not upper-case hex")
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return errors.New("not hex")
	}
	return nil
}

// tdes returns two-key triple DES (K1 K2 K1) for a 16-byte key.
func tdes(key []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("host: the master key is %d bytes, got %d", KeySize, len(key))
	}
	k := make([]byte, 0, 24)
	k = append(append(k, key...), key[:8]...)
	c, err := des.NewTripleDESCipher(k)
	clear(k)
	if err != nil {
		return nil, fmt.Errorf("host: %v", err)
	}
	return c, nil
}

// ---- field 90 ----

// OriginalData is field 90, original data elements: what identifies the
// request a void, refund, reversal or upload refers to.
type OriginalData struct {
	MTI      string // the original's MTI, "0200"
	STAN     int64  // 0 when unknown
	DateTime string // the original's local date and time (13, 12), MMDDhhmmss; zeros when unknown
}

// zeroDateTime is the date and time of an original whose time is unknown.
const zeroDateTime = "0000000000"

// dateTime formats t in loc as MMDDhhmmss.
func dateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return zeroDateTime
	}
	return t.In(loc).Format("0102150405")
}

// String returns the 42 digits of field 90; the two institution ids, which a
// terminal does not know, are zeros.
func (o OriginalData) String() string {
	dt := o.DateTime
	if dt == "" {
		dt = zeroDateTime
	}
	return fmt.Sprintf("%-4s%06d%-10s%011d%011d", o.MTI, o.STAN, dt, 0, 0)
}

// ParseOriginalData decodes field 90.
func ParseOriginalData(s string) (OriginalData, error) {
	if len(s) != 42 || !allDigits(s) {
		return OriginalData{}, errors.New("host: original data elements (field 90) must be 42 digits")
	}
	stan, _ := strconv.ParseInt(s[4:10], 10, 64)
	return OriginalData{MTI: s[:4], STAN: stan, DateTime: s[10:20]}, nil
}

// ---- field 63 of 0500 ----

// totalsGroups is the layout of the settlement totals, in wire order.
var totalsGroups = []struct {
	name  string
	total func(*txn.Totals) *txn.Total
}{
	{"sales", func(t *txn.Totals) *txn.Total { return &t.Sales }},
	{"refunds", func(t *txn.Totals) *txn.Total { return &t.Refunds }},
	{"voids", func(t *txn.Totals) *txn.Total { return &t.Voids }},
	{"manual refunds", func(t *txn.Totals) *txn.Total { return &t.ManualRefunds }},
	{"failed reversals", func(t *txn.Totals) *txn.Total { return &t.ReversalsFailed }},
}

const (
	countDigits  = 6
	amountDigits = 12
	groupLen     = countDigits + amountDigits
	maxCount     = 999_999
	maxAmount    = 999_999_999_999
)

// EncodeTotals returns field 63 of 0500 for t (the batch number goes in 60).
func EncodeTotals(t txn.Totals) (string, error) {
	var b strings.Builder
	for _, g := range totalsGroups {
		v := g.total(&t)
		if v.Count < 0 || v.Count > maxCount || v.Amount < 0 || v.Amount > maxAmount {
			return "", fmt.Errorf("host: settlement %s (%d, %d) do not fit field 63", g.name, v.Count, v.Amount)
		}
		fmt.Fprintf(&b, "%0*d%0*d", countDigits, v.Count, amountDigits, v.Amount)
	}
	return b.String(), nil
}

// ParseTotals decodes field 63 of 0500.
func ParseTotals(s string) (txn.Totals, error) {
	var t txn.Totals
	if len(s) != groupLen*len(totalsGroups) || !allDigits(s) {
		return t, fmt.Errorf("host: settlement totals (field 63) must be %d digits", groupLen*len(totalsGroups))
	}
	for i, g := range totalsGroups {
		v := g.total(&t)
		s := s[i*groupLen:]
		v.Count, _ = strconv.ParseInt(s[:countDigits], 10, 64)
		v.Amount, _ = strconv.ParseInt(s[countDigits:groupLen], 10, 64)
	}
	return t, nil
}

// ---- small formats ----

// FormatSTAN returns field 11 for a trace number, 1 to 999999.
func FormatSTAN(n int64) (string, error) {
	if n < 1 || n > 999_999 {
		return "", fmt.Errorf("host: STAN %d is not 1 to 999999", n)
	}
	return fmt.Sprintf("%06d", n), nil
}

// FormatBatch returns field 60 for a batch number, 0 to 999999.
func FormatBatch(n int64) (string, error) {
	if n < 0 || n > 999_999 {
		return "", fmt.Errorf("host: batch number %d is not 0 to 999999", n)
	}
	return fmt.Sprintf("%06d", n), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
