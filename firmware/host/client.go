package host

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"posfw/drivers/emv/tlv"
	"posfw/drivers/pinpad"
	"posfw/firmware/emv"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// Config configures a Client.
type Config struct {
	// Address is host:port of the acquirer.
	Address string
	// ConnectTimeout bounds the TCP connect and the TLS handshake (default 5 s).
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the wait for the answer once the request is
	// written (default 30 s).
	ResponseTimeout time.Duration
	// TerminalID (field 41, up to 8 characters) and MerchantID (field 42, up to
	// 15 characters) as the acquirer assigned them.
	TerminalID, MerchantID string
	// Currency is the ISO 4217 numeric code (field 49) of requests that do not
	// name one (default "156", CNY).
	Currency string
	// TLS, when set, runs the link over TLS with this configuration (see
	// PinnedTLS).
	TLS *tls.Config
	// Dialect is the acquirer's dialect (default ISO87).
	Dialect Dialect
	// Keys is the PIN pad, which holds the terminal master key and the working keys
	// and computes the MACs: the client never holds a clear key. It may be given
	// later (UseKeys), once the pad is open.
	Keys Keys
	// Logger receives one record per discarded answer and, at debug level, each
	// message as iso87.Describe renders it (card data redacted). Default: none.
	Logger *slog.Logger
	// Now is the clock (default time.Now) and Location the time zone of the
	// local time and date fields 12 and 13 (default time.Local).
	Now      func() time.Time
	Location *time.Location
}

// Client carries the terminal's requests to the acquirer; it implements
// txn.Host. It is safe for concurrent use: each request has its own
// connection, and only the working keys are shared.
type Client struct {
	cfg Config
	log *slog.Logger
	err error // a configuration error: every request fails with it

	mu       sync.Mutex
	keys     Keys
	signedOn bool // the pad holds the working keys of a sign-on this client made
	tdk      bool // and a track data key among them: track data goes encrypted
	closed   bool
}

// Keys is what the host link needs of the PIN pad (pinpad.KeyPad has it): loading the
// working keys of a sign-on, and MACs under them.
type Keys interface {
	// LoadWorkingKeys hands the pad the keys of a sign-on, each encrypted under the
	// TMK; pinpad.ErrBadCheck when one does not match its check value.
	LoadWorkingKeys(ctx context.Context, k pinpad.WorkingKeys) error
	// MAC computes a MAC under the MAK.
	MAC(ctx context.Context, alg pinpad.MACAlgorithm, data []byte) ([8]byte, error)
	// EncryptTrack encrypts a track data block under the TDK.
	EncryptTrack(ctx context.Context, block []byte) ([]byte, error)
}

var _ txn.Host = (*Client)(nil)

// New returns a Client for cfg. A configuration error is reported by every
// request, as txn.ErrNotSent.
func New(cfg Config) *Client {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 30 * time.Second
	}
	if cfg.Currency == "" {
		cfg.Currency = "156"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Dialect == nil {
		cfg.Dialect = ISO87{}
	}
	c := &Client{cfg: cfg, log: cfg.Logger, keys: cfg.Keys}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.err = cfg.check()
	return c
}

func (cfg *Config) check() error {
	switch {
	case cfg.Address == "":
		return errors.New("host: no host address configured")
	case cfg.TerminalID == "" || len(cfg.TerminalID) > 8:
		return errors.New("host: terminal id must be 1 to 8 characters")
	case cfg.MerchantID == "" || len(cfg.MerchantID) > 15:
		return errors.New("host: merchant id must be 1 to 15 characters")
	}
	return nil
}

// RefusedError is a valid answer to a sign-on, echo, settlement or batch
// upload whose response code refuses it. It wraps none of the txn errors:
// the request was carried and answered.
type RefusedError struct {
	What string // "sign-on", "settlement", ...
	Code string // field 39
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("host refused the %s: %s (%s)", e.What, e.Code, txn.LookupCode(e.Code).EN)
}

// ErrNoMasterKey: the PIN pad holds no terminal master key to open the working keys
// with. A technician injects it (posfw provision tmk).
var ErrNoMasterKey = errors.New("host: the PIN pad holds no master key: inject it with `posfw provision tmk`")

// UseKeys gives the client the PIN pad that holds its keys (when it was not in
// Config); the client must sign on again.
func (c *Client) UseKeys(k Keys) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys, c.signedOn = k, false
}

// SignOn exchanges 0800/0810 (70=001; CUP 60.3 by its setting) and hands the
// working keys of the answer to the PIN pad, which checks each against its check
// value: a key that does not match refuses them all, and the client is no longer
// signed on.
func (c *Client) SignOn(ctx context.Context, stan int64) error {
	c.mu.Lock()
	keys := c.keys
	c.signedOn, c.tdk = false, false
	c.mu.Unlock()
	if keys == nil {
		return fmt.Errorf("sign-on: %w: no PIN pad holds the terminal's keys", txn.ErrNotSent)
	}
	resp, err := c.network(ctx, stan, NetSignOn)
	if err != nil {
		return fmt.Errorf("sign-on: %w", err)
	}
	if code := resp.Get(39); code != CodeApproved {
		return &RefusedError{"sign-on", code}
	}
	wk, err := c.cfg.Dialect.WorkingKeys(resp.Fields)
	if err != nil {
		return fmt.Errorf("sign-on: %w: %v", txn.ErrNoResponse, err)
	}
	if err := keys.LoadWorkingKeys(ctx, wk); err != nil {
		switch {
		case errors.Is(err, pinpad.ErrBadCheck):
			err = ErrKeyCheck
		case errors.Is(err, pinpad.ErrNoKey):
			err = ErrNoMasterKey
		}
		return fmt.Errorf("sign-on: %w: %w", txn.ErrNoResponse, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("sign-on: %w: client closed", txn.ErrNotSent)
	}
	if c.keys == keys {
		c.signedOn, c.tdk = true, len(wk.TDK) > 0
	}
	return nil
}

// Echo exchanges 0800/0810 (70=301), a test of the link.
func (c *Client) Echo(ctx context.Context, stan int64) error {
	resp, err := c.network(ctx, stan, NetEcho)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if code := resp.Get(39); code != CodeApproved {
		return &RefusedError{"echo test", code}
	}
	return nil
}

func (c *Client) network(ctx context.Context, stan int64, code string) (*Decoded, error) {
	s, err := FormatSTAN(stan)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", txn.ErrNotSent, err)
	}
	return c.exchange(ctx, "0800", Fields{
		7: dateTime(c.cfg.Now(), time.UTC), 11: s, 41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 70: code,
	}, nil)
}

// SignedOn reports whether the PIN pad holds working keys of this client's
// sign-on.
func (c *Client) SignedOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signedOn
}

// Close ends the client: requests made afterwards fail with txn.ErrNotSent. The
// keys stay in the PIN pad.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.signedOn, c.closed = false, true
	return nil
}

// Send carries a sale, void or refund and returns the host's answer.
func (c *Client) Send(ctx context.Context, req txn.Request) (txn.Response, error) {
	mti, f, card, err := c.financial(req)
	if err != nil {
		return txn.Response{}, fmt.Errorf("%s: %w: %v", req.Type, txn.ErrNotSent, err)
	}
	resp, err := c.exchange(ctx, mti, f, card)
	if err != nil {
		return txn.Response{}, fmt.Errorf("%s: %w", req.Type, err)
	}
	return c.response(resp), nil
}

// financial builds the fields of a sale, void or refund; the card's are apart, as
// the caller's bytes (CardFields).
func (c *Client) financial(req txn.Request) (string, Fields, CardFields, error) {
	fin, ok := FinancialOf(req.Type)
	if !ok {
		return "", nil, nil, fmt.Errorf("a %q record is not sent to the host", req.Type)
	}
	stan, err := FormatSTAN(req.STAN)
	if err != nil {
		return "", nil, nil, err
	}
	batch, err := FormatBatch(req.Batch)
	if err != nil {
		return "", nil, nil, err
	}
	if req.Amount <= 0 || req.Amount > maxAmount {
		return "", nil, nil, fmt.Errorf("amount %d is out of range", req.Amount)
	}
	at := req.At
	if at.IsZero() {
		at = c.cfg.Now()
	}
	local := at.In(c.cfg.Location)
	f := Fields{
		3: fin.Proc, 4: strconv.FormatInt(req.Amount, 10), 7: dateTime(at, time.UTC), 11: stan,
		12: local.Format("150405"), 13: local.Format("0102"), 25: "00",
		41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 49: c.currency(req.Currency), 60: batch,
	}
	card, err := f.card(req.Card)
	if err != nil {
		return "", nil, nil, err
	}
	switch req.Type {
	case txn.Void, txn.Refund:
		if req.OrigRRN == "" {
			return "", nil, nil, fmt.Errorf("a %s needs the original's RRN", req.Type)
		}
		f[37] = req.OrigRRN
		if req.Type == txn.Void && req.OrigAuthCode != "" {
			f[38] = req.OrigAuthCode
		}
		dt := zeroDateTime
		if req.OrigDate != "" {
			dt = req.OrigDate + "000000"
		}
		f[90] = OriginalData{MTI: "0200", STAN: req.OrigSTAN, DateTime: dt}.String()
	}
	return fin.MTI, f, card, nil
}

// CardFields are the card data of a request by field number (2 PAN, 35 track 2,
// 52 PIN block): the card's own bytes, never copied into a Go string, which
// could not be wiped. The card's owner wipes them (txn.Card.Wipe) after the
// request.
type CardFields map[int][]byte

// card adds the fields that describe the card (14, 22, and the KSN in 62 when a
// DUKPT PIN block was entered; a block under the session PIK has none) and returns its
// data fields apart.
func (f Fields) card(card *txn.Card) (CardFields, error) {
	if card == nil || (len(card.PAN) == 0 && len(card.Track2) == 0) {
		return nil, nil
	}
	pin := len(card.PINBlock) > 0
	mode, ok := EntryModeCode(card.EntryMode, pin)
	if !ok {
		return nil, fmt.Errorf("entry mode %q cannot be sent", card.EntryMode)
	}
	f[22] = mode
	if len(card.ICC) > 0 {
		// The kernel's field 55 holds no PAN, track or PIN (txn.Card.ICC), so it may
		// travel as an ordinary field. The card's data may hold more than the host is
		// sent (the slip's TSI and label): only emv.Field55Tags go.
		l, err := tlv.Parse(card.ICC)
		if err != nil {
			return nil, fmt.Errorf("chip data: %w", err)
		}
		f[55] = string(selectTags(l, emv.Field55Tags))
	}
	if card.PSN != "" {
		psn, err := FormatPSN(card.PSN)
		if err != nil {
			return nil, err
		}
		f[23] = psn
	}
	cf := CardFields{}
	if len(card.PAN) > 0 {
		cf[2] = card.PAN
	}
	if len(card.Track2) > 0 {
		cf[35] = card.Track2
	}
	if card.Expiry != "" {
		f[14] = card.Expiry
	}
	if pin {
		if len(card.PINBlock) != 8 || (len(card.KSN) != 0 && len(card.KSN) != 10) {
			return nil, errors.New("the PIN block must be 8 bytes, with a 10-byte KSN or none")
		}
		cf[52] = card.PINBlock
		if len(card.KSN) > 0 {
			f[62] = strings.ToUpper(hex.EncodeToString(card.KSN))
		}
	}
	return cf, nil
}

// currency is the numeric code for field 49. Journal records keep the alphabetic code
// ("CNY") and are always in the terminal's currency, so anything but a numeric code
// means the configured one.
func (c *Client) currency(code string) string {
	if len(code) == 3 && strings.Trim(code, "0123456789") == "" {
		return code
	}
	return c.cfg.Currency
}

// Reverse carries a reversal (0400, or 0401 when rev.Repeat) of rev.Orig.
// The original's STAN goes in field 11 and, with its MTI and local time, in
// field 90.
func (c *Client) Reverse(ctx context.Context, rev txn.Reversal) (txn.Response, error) {
	o := rev.Orig
	mti := "0400"
	if rev.Repeat {
		mti = "0401"
	}
	f, err := c.reversal(o, rev.Reason)
	if err != nil {
		return txn.Response{}, fmt.Errorf("reversal of %s %d: %w: %v", o.Type, o.STAN, txn.ErrNotSent, err)
	}
	resp, err := c.exchange(ctx, mti, f, nil)
	if err != nil {
		return txn.Response{}, fmt.Errorf("reversal of %s %d: %w", o.Type, o.STAN, err)
	}
	return c.response(resp), nil
}

func (c *Client) reversal(o txn.Record, reason string) (Fields, error) {
	fin, ok := FinancialOf(o.Type)
	if !ok {
		return nil, fmt.Errorf("a %q record is never sent, so never reversed", o.Type)
	}
	stan, err := FormatSTAN(o.STAN)
	if err != nil {
		return nil, err
	}
	batch, err := FormatBatch(o.Batch)
	if err != nil {
		return nil, err
	}
	if len(reason) != 2 {
		reason = "06"
	}
	f := Fields{
		3: fin.Proc, 4: strconv.FormatInt(o.Amount, 10), 7: dateTime(c.cfg.Now(), time.UTC), 11: stan,
		25: "00", 39: reason, 41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 49: c.currency(o.Currency),
		60: batch, 90: OriginalData{fin.MTI, o.STAN, dateTime(o.CreatedAt, c.cfg.Location)}.String(),
	}
	if o.RRN != "" {
		f[37] = o.RRN
	}
	entryMode(f, o)
	c.chipData(f, o, ReversalTags)
	return f, nil
}

// entryMode sets field 22 of a reversal or upload to the original request's: how the
// card was read and whether a PIN went with it (CUP wants it repeated). A record of no
// card (a manual refund, never sent) has none.
func entryMode(f Fields, r txn.Record) {
	if code, ok := EntryModeCode(r.EntryMode, r.PIN); ok {
		f[22] = code
	}
}

// ReversalTags are the chip data a reversal of a chip record carries in field 55, in
// this order (UnionPay's reversal list): the TVR and IFD serial number say what the
// terminal saw, the IAD and ATC identify the card's transaction to the issuer (which
// may then undo its counters), and the issuer script results (DF31 in UnionPay's
// spelling, 9F5B in EMV's: the record keeps whichever the kernel wrote) tell a script
// that ran. The cryptogram and terminal data are left out: a reversal asks the issuer to
// undo, not to authorise, and the less card data travels the better.
var ReversalTags = []tlv.Tag{0x95, 0x9F1E, 0x9F10, 0x9F36, 0xDF31, 0x9F5B}

// chipData sets fields 55 and 23 of a reversal or upload from a chip record: of its
// chip data the tags given (all of them when tags is nil), and its PSN. Chip data the
// record keeps in a form that does not parse is left out, with a warning: the reversal
// or upload must go all the same.
func (c *Client) chipData(f Fields, r txn.Record, tags []tlv.Tag) {
	if r.PSN != "" {
		if psn, err := FormatPSN(r.PSN); err == nil {
			f[23] = psn
		} else {
			c.log.Warn("host: record's card sequence number left out", "stan", r.STAN, "error", err)
		}
	}
	if r.ICC == "" {
		return
	}
	icc, err := SelectICC(r.ICC, tags)
	if err != nil {
		c.log.Warn("host: record's chip data left out", "stan", r.STAN, "error", err)
		return
	}
	if len(icc) > 0 {
		f[55] = string(icc)
	}
}

// SelectICC decodes a record's chip data (upper-case hex BER-TLV, txn.Record.ICC) and
// returns the objects of tags among it, in the order of tags; all of it when tags is
// nil.
func SelectICC(hexICC string, tags []tlv.Tag) ([]byte, error) {
	b, err := hex.DecodeString(hexICC)
	if err != nil {
		return nil, errors.New("chip data is not hex")
	}
	l, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("chip data: %w", err)
	}
	if tags == nil {
		return l.Bytes(), nil
	}
	return selectTags(l, tags), nil
}

// selectTags returns the objects of tags among l, in the order of tags.
func selectTags(l tlv.List, tags []tlv.Tag) []byte {
	var out tlv.List
	for _, t := range tags {
		if o, ok := l.Find(t); ok {
			out = append(out, o)
		}
	}
	return out.Bytes()
}

// FormatPSN returns field 23 for a card sequence number of two digits (EMV 5F34):
// three digits, a leading zero.
func FormatPSN(psn string) (string, error) {
	if len(psn) != 2 || !allDigits(psn) {
		return "", fmt.Errorf("card sequence number %q is not two digits", psn)
	}
	return "0" + psn, nil
}

// Settle sends the batch totals (0500, processing code 920000; 960000 for the
// trailer after a batch upload): balanced is true for 00, false for 95;
// another code is a *RefusedError.
func (c *Client) Settle(ctx context.Context, t txn.Totals, stan int64, trailer bool) (balanced bool, err error) {
	s, err1 := FormatSTAN(stan)
	batch, err2 := FormatBatch(t.Batch)
	totals, err3 := EncodeTotals(t)
	if err := errors.Join(err1, err2, err3); err != nil {
		return false, fmt.Errorf("settlement: %w: %v", txn.ErrNotSent, err)
	}
	proc := ProcSettle
	if trailer {
		proc = ProcSettleTrailer
	}
	f := Fields{
		3: proc, 7: dateTime(c.cfg.Now(), time.UTC), 11: s, 41: c.cfg.TerminalID,
		42: c.cfg.MerchantID, 49: c.cfg.Currency, 60: batch, 63: totals,
	}
	if t.Head != "" {
		// The journal's sealed head: the acquirer keeps it with the batch, so that a
		// journal rewritten afterwards can be proven rewritten (DESIGN §5).
		f[62] = t.Head
	}
	resp, err := c.exchange(ctx, "0500", f, nil)
	if err != nil {
		return false, fmt.Errorf("settlement: %w", err)
	}
	switch code := resp.Get(39); code {
	case CodeApproved:
		return true, nil
	case CodeUnbalanced:
		return false, nil
	default:
		return false, &RefusedError{"settlement", code}
	}
}

// WantsTCUpload implements txn.TCUploader: a CUP acquirer takes the TC of every chip
// record after a balanced settlement (the IC card TC upload: 0320 with field 55, 60.3
// the chip upload's code); an iso87 one gets them only in a batch upload it asked for.
func (c *Client) WantsTCUpload() bool { return c.cfg.Dialect != nil && c.cfg.Dialect.Name() == "cup" }

// Upload sends one record of the batch (0320 batch upload) under a STAN of
// its own; the record's STAN travels in field 90.
func (c *Client) Upload(ctx context.Context, r txn.Record, stan int64) error {
	f, err := c.upload(r, stan)
	if err != nil {
		return fmt.Errorf("batch upload: %w: %v", txn.ErrNotSent, err)
	}
	resp, err := c.exchange(ctx, "0320", f, nil)
	if err != nil {
		return fmt.Errorf("batch upload: %w", err)
	}
	if code := resp.Get(39); code != CodeApproved {
		return &RefusedError{"batch upload", code}
	}
	return nil
}

func (c *Client) upload(r txn.Record, stan int64) (Fields, error) {
	fin, ok := FinancialOf(r.Type)
	if !ok {
		return nil, fmt.Errorf("a %q record is not uploaded", r.Type)
	}
	s, err := FormatSTAN(stan)
	if err != nil {
		return nil, err
	}
	batch, err := FormatBatch(r.Batch)
	if err != nil {
		return nil, err
	}
	f := Fields{
		3: fin.Proc, 4: strconv.FormatInt(r.Amount, 10), 7: dateTime(c.cfg.Now(), time.UTC), 11: s,
		41: c.cfg.TerminalID, 42: c.cfg.MerchantID, 49: c.currency(r.Currency), 60: batch,
		90: OriginalData{fin.MTI, r.STAN, dateTime(r.CreatedAt, c.cfg.Location)}.String(),
	}
	if r.RRN != "" {
		f[37] = r.RRN
	}
	if r.AuthCode != "" {
		f[38] = r.AuthCode
	}
	// A chip record goes with its chip data as the card left it: its TC (or AAC), the
	// proof the acquirer settles on.
	entryMode(f, r)
	c.chipData(f, r, emv.Field55Tags) // the TC and the rest of what a sale sent
	return f, nil
}

// response reads the answer's fields 37, 38, 39 and the host's local time.
func (c *Client) response(msg *Decoded) txn.Response {
	return txn.Response{
		Code:     msg.Get(39),
		RRN:      msg.Get(37),
		AuthCode: msg.Get(38),
		HostTime: c.hostTime(msg.Get(13), msg.Get(12)),
		ICC:      msg.Get(55),
	}
}

// hostTime reads fields 13 (MMDD) and 12 (hhmmss), which carry no year: the
// year is the one that puts the time nearest to now.
func (c *Client) hostTime(mmdd, hhmmss string) time.Time {
	now := c.cfg.Now().In(c.cfg.Location)
	t, err := time.ParseInLocation("2006"+"0102150405", fmt.Sprintf("%04d", now.Year())+mmdd+hhmmss, c.cfg.Location)
	if err != nil {
		return time.Time{}
	}
	const half = 183 * 24 * time.Hour
	switch {
	case t.Sub(now) > half:
		t = t.AddDate(-1, 0, 0)
	case now.Sub(t) > half:
		t = t.AddDate(1, 0, 0)
	}
	return t
}

// Fields are the values of a message's fields by number; binary fields
// hold their raw bytes.
type Fields map[int]string

// str returns a field of msg as a string, "" when absent.
func str(msg *iso8583.Message, id int) string {
	if _, ok := msg.GetFields()[id]; !ok {
		return ""
	}
	s, err := msg.GetString(id)
	if err != nil {
		return ""
	}
	return s
}

// Build returns a message of the iso87 spec with the given fields. The host
// simulator builds its answers with it.
func Build(mti string, f Fields) (*iso8583.Message, error) {
	msg := iso8583.NewMessage(iso87.Spec)
	msg.MTI(mti)
	for id, v := range f {
		if err := msg.BinaryField(id, []byte(v)); err != nil {
			return nil, fmt.Errorf("field %d: %v", id, err)
		}
	}
	return msg, nil
}
