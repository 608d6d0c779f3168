package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"posfw/firmware/txn"
)

// QR messages (issue 17). Neither dialect has a standard message for a wallet order,
// so they are laid out as acquirers' 8583 specs do: the financial MTIs, a processing
// code of the private range 93 (iso87) that CUP carries as a transaction type code in
// 60.1, and the order in a private field, 63, as tagged values (QRData). See the
// package doc, "QR orders".

// QRMessage is one row of the table of QR messages.
type QRMessage struct {
	Op   txn.QROp
	MTI  string
	Proc string // field 3
	Type string // CUP 60.1
}

// QRMessages are the QR messages of both dialects.
var QRMessages = []QRMessage{
	{txn.QRPay, "0200", "930000", "91"},
	{txn.QRQuery, "0200", "931000", "92"},
	{txn.QRCancel, "0200", "932000", "93"},
	{txn.QRRefund, "0220", "933000", "94"},
	{txn.QRVoid, "0200", "934000", "95"},
	{txn.QRPrecreate, "0200", "935000", "96"},
}

// QRMessageOf returns the row of a QR operation.
func QRMessageOf(op txn.QROp) (QRMessage, bool) {
	for _, m := range QRMessages {
		if m.Op == op {
			return m, true
		}
	}
	return QRMessage{}, false
}

// QRMessageByProc returns the row of a processing code (iso87) — ok is false for any
// code that is not a QR message's.
func QRMessageByProc(proc string) (QRMessage, bool) {
	for _, m := range QRMessages {
		if m.Proc == proc {
			return m, true
		}
	}
	return QRMessage{}, false
}

// qrMessageByType returns the row of a CUP 60.1 transaction type.
func qrMessageByType(typ string) (QRMessage, bool) {
	for _, m := range QRMessages {
		if m.Type == typ {
			return m, true
		}
	}
	return QRMessage{}, false
}

// Tags of field 63 in QR messages.
const (
	TagOrder     = "ON" // the terminal's order number (request and answer)
	TagCode      = "PC" // the customer's payment code (pay request only)
	TagOrig      = "OO" // the original order of a refund or void
	TagState     = "ST" // the order's state (answer): P paid, U paying, F failed, C cancelled, N none
	TagWallet    = "WL" // the wallet (answer)
	TagPayer     = "PY" // the payer's id, masked (answer)
	TagWalletTxn = "WT" // the wallet's transaction id (answer)
)

// MaxQRData is the longest field 63 of a QR message: what CUP's field 63 holds.
const MaxQRData = 163

// QRData is field 63 of a QR message: tag (2 upper-case letters), length (3 digits)
// and value (printable ASCII), repeated, each tag at most once.
type QRData map[string]string

// String encodes the values in tag order.
func (d QRData) String() string {
	tags := make([]string, 0, len(d))
	for t := range d {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	var b strings.Builder
	for _, t := range tags {
		fmt.Fprintf(&b, "%s%03d%s", t, len(d[t]), d[t])
	}
	return b.String()
}

// ErrQRData is the error of a field 63 that is not QR data.
var ErrQRData = errors.New("host: malformed QR data (field 63)")

// ParseQRData reads field 63 of a QR message. Its errors never hold the field (a
// request's holds a payment code).
func ParseQRData(s string) (QRData, error) {
	if len(s) > MaxQRData {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrQRData, len(s), MaxQRData)
	}
	d := QRData{}
	for len(s) > 0 {
		if len(s) < 5 {
			return nil, fmt.Errorf("%w: truncated tag", ErrQRData)
		}
		tag := s[:2]
		if tag[0] < 'A' || tag[0] > 'Z' || tag[1] < 'A' || tag[1] > 'Z' {
			return nil, fmt.Errorf("%w: bad tag", ErrQRData)
		}
		if !allDigits(s[2:5]) {
			return nil, fmt.Errorf("%w: bad length of %s", ErrQRData, tag)
		}
		n, _ := strconv.Atoi(s[2:5])
		if len(s) < 5+n {
			return nil, fmt.Errorf("%w: %s longer than the field", ErrQRData, tag)
		}
		v := s[5 : 5+n]
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return nil, fmt.Errorf("%w: %s not printable", ErrQRData, tag)
			}
		}
		if _, dup := d[tag]; dup {
			return nil, fmt.Errorf("%w: %s twice", ErrQRData, tag)
		}
		d[tag] = v
		s = s[5+n:]
	}
	return d, nil
}

// ParseQRState checks an answer's order state.
func ParseQRState(s string) (txn.QRState, error) {
	switch st := txn.QRState(s); st {
	case txn.QRStatePaid, txn.QRStatePaying, txn.QRStateFailed, txn.QRStateCancelled, txn.QRStateNone, "":
		return st, nil
	}
	return "", fmt.Errorf("%w: order state %q", ErrQRData, s)
}

var _ txn.QRHost = (*Client)(nil)

// QR carries a QR message and reads its answer. The payment code goes in field 63 of
// the pay request and nowhere else; an answer about another order counts as none
// (txn.ErrBadAnswer).
func (c *Client) QR(ctx context.Context, req txn.QRRequest) (txn.QRAnswer, error) {
	mti, f, err := c.qrFields(req)
	if err != nil {
		return txn.QRAnswer{}, fmt.Errorf("QR %s: %w: %v", req.Op, txn.ErrNotSent, err)
	}
	msg, err := c.exchange(ctx, mti, f, nil)
	if err != nil {
		return txn.QRAnswer{}, fmt.Errorf("QR %s: %w", req.Op, err)
	}
	return qrAnswer(msg, req.OrderNo)
}

// qrAnswer reads an answer's code and field 63.
func qrAnswer(msg *Decoded, order string) (txn.QRAnswer, error) {
	a := txn.QRAnswer{Code: msg.Get(39)}
	raw, ok := msg.Fields[63]
	if !ok {
		if a.Code == CodeApproved {
			return txn.QRAnswer{}, fmt.Errorf("QR: %w: an approval without the order (field 63)", txn.ErrBadAnswer)
		}
		return a, nil
	}
	d, err := ParseQRData(raw)
	if err != nil {
		return txn.QRAnswer{}, fmt.Errorf("QR: %w: %v", txn.ErrBadAnswer, err)
	}
	if d[TagOrder] != order {
		return txn.QRAnswer{}, fmt.Errorf("QR: %w: the answer is about another order", txn.ErrBadAnswer)
	}
	if a.State, err = ParseQRState(d[TagState]); err != nil {
		return txn.QRAnswer{}, fmt.Errorf("QR: %w: %v", txn.ErrBadAnswer, err)
	}
	a.Wallet, a.Payer, a.WalletTxn = d[TagWallet], d[TagPayer], d[TagWalletTxn]
	return a, nil
}

// qrFields builds a QR message.
func (c *Client) qrFields(req txn.QRRequest) (string, Fields, error) {
	m, ok := QRMessageOf(req.Op)
	if !ok {
		return "", nil, fmt.Errorf("QR operation %q unknown", req.Op)
	}
	stan, err := FormatSTAN(req.STAN)
	if err != nil {
		return "", nil, err
	}
	batch, err := FormatBatch(req.Batch)
	if err != nil {
		return "", nil, err
	}
	if req.Amount <= 0 || req.Amount > maxAmount {
		return "", nil, fmt.Errorf("amount %d is out of range", req.Amount)
	}
	if req.OrderNo == "" || (req.Op == txn.QRPay) != (req.Code != "") {
		return "", nil, errors.New("a QR message names its order, and only a pay request carries a code")
	}
	d := QRData{TagOrder: req.OrderNo}
	if req.Code != "" {
		d[TagCode] = req.Code
	}
	if req.OrigNo != "" {
		d[TagOrig] = req.OrigNo
	}
	data := d.String()
	if _, err := ParseQRData(data); err != nil {
		return "", nil, err
	}
	at := req.At
	if at.IsZero() {
		at = c.cfg.Now()
	}
	local := at.In(c.cfg.Location)
	f := Fields{
		3: m.Proc, 4: strconv.FormatInt(req.Amount, 10), 7: dateTime(at, time.UTC), 11: stan,
		12: local.Format("150405"), 13: local.Format("0102"), 25: "00",
		41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 49: c.currency(req.Currency), 60: batch, 63: data,
	}
	return m.MTI, f, nil
}
