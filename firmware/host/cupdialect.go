package host

import (
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/cup"
	"posfw/firmware/txn"
)

// CUPConfig is an acquirer's CUP settings (config keys host.tpdu, host.header,
// host.field22, host.sign_on).
type CUPConfig struct {
	TPDU    string // 10 hex digits; default 6000030000
	Header  string // 12 hex digits; default 603100310000
	Field22 string // "left" (default) or "right"
	// SignOn is the sign-on's 60.3: 001 (single-length keys), 003 (double-length PIK,
	// MAK area; the default) or 004 (003 plus a track data key).
	SignOn string
	// Operator is field 63 of sign-on and settlement requests (default "001").
	Operator string
	// Totals is how field 48 counts: "net" (the default: debit = standing sales,
	// credit = standing refunds) or "gross" (voided sales stay in debit, and voids are
	// counted in credit).
	Totals string
}

// CUP is the China UnionPay dialect (package cup). The mapping of the neutral fields:
//
//	neutral                      CUP
//	3 of a void (020000)         3 = 200000 and 60.1 = 23 (sale 22, refund 25)
//	60 batch, 70 network code    60 = 60.1 type, 60.2 batch, 60.3 (sign-on 001/003/004,
//	                             echo 301; settlement 201, trailer 202, upload 203)
//	3 of 0500 (920000, 960000)   not sent: 60.3 201 or 202
//	90 original data             61 = original batch (this batch, or 000000 for a
//	                             refund), trace, MMDD (the time of day is not carried)
//	63 settlement totals         48: debit = sales, credit = refunds (net), flag 0
//	62 KSN (20 hex digits)       62: the 10 bytes
//	62 keys of 0810, head of 0500  62 as they are
//	7                            not sent
//	MTI 0401 (reversal repeat)   0400 again
//	(PIN entered)                26 = 12, 53 = 2600000000000000
//	(track encrypted, TDK)       35 with its data block under the TDK, 53 = 2610000000000000
//	(sign-on, settlement)        63 = operator; answers 0210/0230 carry 63 = "CUP"
type CUP struct {
	codec    cup.Codec
	signOn   string
	operator string
	gross    bool
}

var _ Dialect = CUP{}

// NewCUP checks c and returns the dialect.
func NewCUP(c CUPConfig) (CUP, error) {
	d := CUP{signOn: c.SignOn, operator: c.Operator}
	tp, hd := c.TPDU, c.Header
	if tp == "" {
		tp = "6000030000"
	}
	if hd == "" {
		hd = "603100310000"
	}
	if err := unhexInto(d.codec.TPDU[:], tp); err != nil {
		return d, fmt.Errorf("host: TPDU %q: want %d hex digits", c.TPDU, 2*cup.TPDULen)
	}
	if err := unhexInto(d.codec.Header[:], hd); err != nil {
		return d, fmt.Errorf("host: header %q: want %d hex digits", c.Header, 2*cup.HeaderLen)
	}
	var err error
	if d.codec.Field22, err = cup.ParseField22(c.Field22); err != nil {
		return d, fmt.Errorf("host: %v", err)
	}
	switch d.signOn {
	case "":
		d.signOn = cup.NetSignOnDouble
	case cup.NetSignOnSingle, cup.NetSignOnDouble, cup.NetSignOnTDK:
	default:
		return d, fmt.Errorf("host: sign-on code %q: want 001, 003 or 004", c.SignOn)
	}
	if d.operator == "" {
		d.operator = "001"
	}
	switch c.Totals {
	case "", "net":
	case "gross":
		d.gross = true
	default:
		return d, fmt.Errorf("host: settlement totals %q: want net or gross", c.Totals)
	}
	if len(d.operator) > 163 {
		return d, errors.New("host: operator too long for field 63")
	}
	return d, nil
}

func unhexInto(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return errors.New("length")
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

// Name is "cup".
func (CUP) Name() string { return "cup" }

// typeCode is 60.1 for a request of this MTI and neutral processing code.
func typeCode(mti, proc string) string {
	switch mti {
	case "0800", "0810", "0820", "0830", "0500", "0510":
		return cup.TypeNetwork
	}
	if m, ok := QRMessageByProc(proc); ok {
		return m.Type
	}
	switch proc {
	case "000000":
		return cup.TypeSale
	case "020000":
		return cup.TypeVoid
	case "200000":
		return cup.TypeRefund
	}
	return "00"
}

// toWire maps neutral fields to CUP fields (string values; the card's stay apart).
func (d CUP) toWire(mti string, f Fields, pin, trackEnc bool) (Fields, error) {
	w := Fields{}
	for _, id := range []int{2, 4, 11, 12, 13, 14, 22, 23, 25, 35, 37, 38, 39, 41, 42, 49, 52, 55, 64} {
		if v, ok := f[id]; ok {
			w[id] = v
		}
	}
	typ := typeCode(mti, f[3])
	batch := f[60]
	if batch == "" {
		batch = "000000"
	}
	f60 := cup.Field60{Type: typ, Batch: batch}
	switch mti {
	case "0800", "0810", "0820", "0830":
		f60.NetCode = f[70]
		if f60.NetCode == NetSignOn {
			f60.NetCode = d.signOn
		}
		if mti == "0800" {
			w[63] = d.operator
		}
	case "0500", "0510":
		f60.NetCode = cup.NetSettle
		if f[3] == ProcSettleTrailer {
			f60.NetCode = cup.NetSettleUpload
		}
		if mti == "0500" {
			w[63] = d.operator
		}
	case "0320", "0330":
		f60.NetCode = cup.NetBatchUpload
	}
	if chipRequest(mti, f) {
		// A chip, contactless or fallback request says what the terminal reads and
		// whether the chip failed (60.4, 60.5); 60.3 is then present as well.
		if f60.NetCode == "" {
			f60.NetCode = cup.NetNone
		}
		if mti == "0320" && f[55] != "" {
			f60.NetCode = cup.NetBatchUploadICC
		}
		f60.Rest = cup.ReadContactContactless + cup.ICCondition(isFallback(f[22]))
	}
	w[60] = f60.String()
	if p, ok := f[3]; ok && mti != "0500" && mti != "0510" {
		if p == "020000" {
			p = cup.ProcVoidRefund
		}
		w[3] = p
	}
	qr, isQR := QRMessageByProc(f[3])
	if isQR {
		// QR orders (qr.go): 60.1 says which; 3 is a purchase's or a refund's code, and
		// the order travels in 63.
		w[3] = "000000"
		if qr.Op == txn.QRRefund {
			w[3] = "200000"
		}
		if v, ok := f[63]; ok {
			w[63] = v
		}
	}
	if v, ok := f[90]; ok {
		od, err := ParseOriginalData(v)
		if err != nil {
			return nil, err
		}
		ob := batch
		if mti == "0220" || mti == "0230" {
			ob = "000000" // a refund's original is in some earlier batch
		}
		w[61] = cup.Field61{Batch: ob, STAN: fmt.Sprintf("%06d", od.STAN), Date: od.DateTime[:4]}.String()
	}
	if v, ok := f[63]; ok && (mti == "0500" || mti == "0510") {
		t, err := ParseTotals(v)
		if err != nil {
			return nil, err
		}
		v := d.SettlementCompares(TotalsView{SalesCount: t.Sales.Count, SalesAmount: t.Sales.Amount,
			RefundsCount: t.Refunds.Count, RefundsAmount: t.Refunds.Amount, VoidsCount: t.Voids.Count, VoidsAmount: t.Voids.Amount})
		s, err := cup.Field48{Debit: cup.Total{Amount: v.SalesAmount, Count: v.SalesCount},
			Credit: cup.Total{Amount: v.RefundsAmount, Count: v.RefundsCount}}.String()
		if err != nil {
			return nil, err
		}
		w[48] = s
	}
	if v, ok := f[62]; ok {
		if mti[:2] == "02" && len(v) == 20 {
			k, err := hex.DecodeString(v)
			if err != nil {
				return nil, errors.New("host: KSN is not hex")
			}
			v = string(k)
		}
		w[62] = v
	}
	if pin {
		w[26] = "12"
	}
	if pin || trackEnc {
		// 53.2 says how the PIN key is used: single DES after a 001 sign-on (8-byte PIK).
		w[53] = cup.Security53(d.signOn != cup.NetSignOnSingle, trackEnc)
	}
	if (mti == "0210" || mti == "0230") && !isQR {
		w[63] = "CUP"
	}
	return w, nil
}

// chipRequest reports whether a request is of a chip card: it carries chip data (55),
// or its entry mode (22) is chip (05x), contactless (07x) or fallback (80x).
func chipRequest(mti string, f Fields) bool {
	switch mti {
	case "0200", "0220", "0400", "0401", "0320":
	default:
		return false
	}
	if f[55] != "" {
		return true
	}
	m := f[22]
	return strings.HasPrefix(m, entryModes[txn.Chip]) || strings.HasPrefix(m, entryModes[txn.Tapped]) || isFallback(m)
}

// isFallback reports whether field 22 says a chip card was swiped after its chip failed.
func isFallback(mode string) bool { return strings.HasPrefix(mode, entryModes[txn.Fallback]) }

// fromWire maps CUP fields back to neutral ones.
func (d CUP) fromWire(mti string, w Fields) (Fields, error) {
	f := Fields{}
	for _, id := range []int{2, 4, 11, 12, 13, 14, 22, 23, 25, 35, 37, 38, 39, 41, 42, 49, 52, 53, 55, 64} {
		if v, ok := w[id]; ok {
			f[id] = v
		}
	}
	var f60 cup.Field60
	if v, ok := w[60]; ok {
		var err error
		if f60, err = cup.ParseField60(v); err != nil {
			return nil, err
		}
	}
	switch mti {
	case "0800", "0810", "0820", "0830":
		if f60.NetCode != "" {
			f[70] = f60.NetCode
		}
	case "0500", "0510":
		f[60] = f60.Batch
		switch f60.NetCode {
		case cup.NetSettle:
			f[3] = ProcSettle
		case cup.NetSettleUpload:
			f[3] = ProcSettleTrailer
		}
	default:
		if _, ok := w[60]; ok {
			f[60] = f60.Batch
		}
	}
	if p, ok := w[3]; ok {
		if p == cup.ProcVoidRefund && f60.Type == cup.TypeVoid {
			p = "020000"
		}
		f[3] = p
	}
	if qr, ok := qrMessageByType(f60.Type); ok && strings.HasPrefix(mti, "02") {
		f[3] = qr.Proc
		if v, ok := w[63]; ok {
			f[63] = v
		}
	}
	if v, ok := w[61]; ok {
		o, err := cup.ParseField61(v)
		if err != nil {
			return nil, err
		}
		stan, _ := strconv.ParseInt(o.STAN, 10, 64)
		om := "0200"
		if f60.Type == cup.TypeRefund {
			om = "0220"
		}
		f[90] = OriginalData{MTI: om, STAN: stan, DateTime: o.Date + "000000"}.String()
	}
	if v, ok := w[48]; ok && (mti == "0500" || mti == "0510") {
		t, err := cup.ParseField48(v)
		if err != nil {
			return nil, err
		}
		var tt txn.Totals
		tt.Sales.Amount, tt.Sales.Count = t.Debit.Amount, t.Debit.Count
		tt.Refunds.Amount, tt.Refunds.Count = t.Credit.Amount, t.Credit.Count
		s, err := EncodeTotals(tt)
		if err != nil {
			return nil, err
		}
		f[63] = s
	}
	if v, ok := w[62]; ok {
		if mti[:2] == "02" && len(v) == 10 {
			v = strings.ToUpper(hex.EncodeToString([]byte(v)))
		}
		f[62] = v
	}
	return f, nil
}

// Encode maps f and packs it with TPDU and header; with sign, field 64 carries the
// CUP MAC of MTI to the field before 64.
func (d CUP) Encode(mti string, f Fields, card CardFields, k Crypto) ([]byte, error) {
	trackEnc := false
	if t := card[35]; len(t) > 0 && k.Track != nil {
		enc, ok, err := cup.EncryptTrack(t, k.Track)
		if err != nil {
			return nil, fmt.Errorf("track data: %w", err)
		}
		defer clear(enc)
		c := CardFields{}
		for id, b := range card {
			c[id] = b
		}
		c[35], card, trackEnc = enc, c, ok
	}
	w, err := d.toWire(mti, f, len(card[52]) > 0, trackEnc)
	if err != nil {
		return nil, err
	}
	sign := k.Sign
	msg := d.codec.NewMessage()
	if mti == "0401" {
		mti = "0400" // CUP repeats a reversal as it was: there is no 0401
	}
	msg.MTI(mti)
	for id, v := range w {
		if err := msg.BinaryField(id, []byte(v)); err != nil {
			return nil, fmt.Errorf("field %d: %v", id, err)
		}
	}
	for id, b := range card {
		if err := msg.BinaryField(id, b); err != nil {
			return nil, fmt.Errorf("field %d: %v", id, err)
		}
	}
	if sign == nil {
		return d.codec.Pack(msg)
	}
	if err := msg.BinaryField(64, make([]byte, cup.MACLen)); err != nil {
		return nil, err
	}
	b, err := d.codec.Pack(msg)
	if err != nil {
		return nil, err
	}
	data, err := cup.MACData(b)
	if err != nil {
		return nil, err
	}
	m, err := sign(data)
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("host: MAC: %w", err)
	}
	copy(b[len(b)-cup.MACLen:], m[:])
	return b, nil
}

// Decode unpacks a CUP message.
func (d CUP) Decode(b []byte) (*Decoded, error) {
	msg, tpdu, _, err := d.codec.Unpack(b)
	if err != nil {
		return nil, err
	}
	raw := fieldsOf(msg)
	f, err := d.fromWire(raw.MTI, raw.Fields)
	if err != nil {
		return nil, err
	}
	dec := &Decoded{MTI: raw.MTI, Fields: f, Route: tpdu[:], describe: func() string { return cup.Describe(msg) }}
	if v, ok := raw.Fields[64]; ok {
		dec.MAC = []byte(v)
		if dec.Signed, err = cup.MACData(b); err != nil {
			return nil, err
		}
	}
	return dec, nil
}

// Canon is f through toWire and back.
func (d CUP) Canon(mti string, f Fields) Fields {
	w, err := d.toWire(mti, f, false, false)
	if err != nil {
		return f
	}
	c, err := d.fromWire(mti, w)
	if err != nil {
		return f
	}
	return c
}

// MAC is the CUP ECB MAC.
func (CUP) MAC() (pinpad.MACAlgorithm, mac.Func) { return pinpad.MACCUPECB, mac.CUPECB }

// WorkingKeys reads field 62 of 0810 by the answer's sign-on code.
func (d CUP) WorkingKeys(answer Fields) (pinpad.WorkingKeys, error) {
	k, err := cup.ParseKeys62([]byte(answer[62]), answer[70])
	if err != nil {
		return pinpad.WorkingKeys{}, err
	}
	w := pinpad.WorkingKeys{PIK: k.PIK.Enc, PIKCheck: k.PIK.Check, MAK: k.MAK.Enc, MAKCheck: k.MAK.Check}
	if k.TDK.Enc != nil {
		w.TDK, w.TDKCheck = k.TDK.Enc, k.TDK.Check
	}
	return w, nil
}

// IssueKeys draws keys for the sign-on code: 001 single-length PIK and MAK; 003 a
// double-length PIK and a single-length MAK sent as E(MAK8) + 8 zero bytes (what many
// CUP hosts do); 004 the same and a double-length TDK.
func (CUP) IssueKeys(tmk []byte, rnd io.Reader, netCode string) (string, ClearKeys, error) {
	pikLen := 16
	if netCode == cup.NetSignOnSingle {
		pikLen = 8
	}
	k := ClearKeys{PIK: make([]byte, pikLen), MAK: make([]byte, 8)}
	if netCode == cup.NetSignOnTDK {
		k.TDK = make([]byte, 16)
	}
	var w cup.Keys62
	for _, x := range []struct {
		key  []byte
		into *cup.WorkingKey
	}{{k.PIK, &w.PIK}, {k.MAK, &w.MAK}, {k.TDK, &w.TDK}} {
		if x.key == nil {
			continue
		}
		if _, err := io.ReadFull(rnd, x.key); err != nil {
			return "", ClearKeys{}, err
		}
		var err error
		if *x.into, err = sealCUP(tmk, x.key, max(pikLen, len(x.key))); err != nil {
			return "", ClearKeys{}, err
		}
	}
	b, err := w.Bytes(netCode)
	if err != nil {
		return "", ClearKeys{}, err
	}
	return string(b), k, nil
}

// sealCUP encrypts key under tmk (TDES ECB) into an area of n bytes (E(key) and zero
// bytes after it) with its 4-byte check value.
func sealCUP(tmk, key []byte, n int) (cup.WorkingKey, error) {
	c, err := tdes(tmk)
	if err != nil {
		return cup.WorkingKey{}, err
	}
	enc := make([]byte, n)
	for i := 0; i < len(key); i += 8 {
		c.Encrypt(enc[i:i+8], key[i:i+8])
	}
	var kc interface{ Encrypt(dst, src []byte) }
	if len(key) == 8 {
		kc, err = des.NewCipher(key)
	} else {
		kc, err = tdes(key)
	}
	if err != nil {
		return cup.WorkingKey{}, err
	}
	var z [8]byte
	kc.Encrypt(z[:], z[:])
	return cup.WorkingKey{Enc: enc, Check: append([]byte(nil), z[:cup.CheckLen]...)}, nil
}

// IsSignOn: 60.3 = 001, 003 or 004.
func (CUP) IsSignOn(netCode string) bool {
	return netCode == cup.NetSignOnSingle || netCode == cup.NetSignOnDouble || netCode == cup.NetSignOnTDK
}

// Answering is the dialect with the request's TPDU swapped.
func (d CUP) Answering(req *Decoded) Dialect {
	if req != nil && len(req.Route) == cup.TPDULen {
		d.codec.TPDU = cup.TPDU(req.Route).Swapped()
	}
	return d
}

// AnswerRoute is the TPDU of an answer: this terminal's with destination and source
// swapped.
func (d CUP) AnswerRoute() []byte {
	t := d.codec.TPDU.Swapped()
	return t[:]
}

// SettlementCompares is what field 48 carries: the debit total as sales and the credit
// total as refunds. Net: standing sales and standing refunds. Gross: voided sales stay
// in debit and every void is counted in credit (the terminal's voids total counts
// voids of refunds too, which gross acquirers book as voids all the same).
func (d CUP) SettlementCompares(t TotalsView) TotalsView {
	if d.gross {
		t.SalesCount += t.VoidsCount
		t.SalesAmount += t.VoidsAmount
		t.RefundsCount += t.VoidsCount
		t.RefundsAmount += t.VoidsAmount
	}
	t.VoidsCount, t.VoidsAmount = 0, 0
	return t
}
