package emv

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
)

// Candidate is an application the card and the terminal both support.
type Candidate struct {
	AID      []byte
	Label    string // 9F12 when the card gives it (and its code table is ours), else 50
	Priority byte   // 87, low nibble: 1 highest, 0 none
	Confirm  bool   // 87 bit 8: the cardholder must confirm it
}

// PINStatus is what became of online PIN entry on the PIN pad.
type PINStatus int

// PIN entry results.
const (
	PINEntered   PINStatus = iota // the pad holds the enciphered PIN block for the host
	PINBypassed                   // the cardholder pressed ENTER without a PIN
	PINPadFailed                  // no pad, or it failed
)

// Hooks are what the kernel asks of the terminal while it runs. Nil hooks mean: the
// first candidate by priority; no PIN pad.
type Hooks struct {
	// Choose asks the cashier (with the cardholder) to pick one of several
	// applications and returns its index.
	Choose func(apps []Candidate) (int, error)
	// PIN has the PIN pad take the cardholder's PIN for online verification. The
	// kernel never sees the PIN or its block; the app keeps the block for the host.
	// It gets the card's data: a PIN block (ISO 9564 format 0) is bound to the PAN.
	PIN func(card CardData) PINStatus
}

// Txn is what the kernel needs of the sale.
type Txn struct {
	Amount int64     // 9F02, minor units
	Other  int64     // 9F03 (cashback)
	Type   byte      // 9C: 0x00 goods and services, 0x20 refund
	Time   time.Time // 9A, 9F21; zero: now
	Seq    uint32    // 9F41 transaction sequence counter (the STAN)
}

// Kernel runs transactions under one set of terminal parameters.
type Kernel struct {
	P     *Params
	Hooks Hooks
	// Trace, when set, gets each APDU as emvtag.TraceCommand/TraceResponse show it
	// (card data redacted).
	Trace func(line string)
	// Rand supplies unpredictable numbers and random selection; crypto/rand when nil.
	Rand io.Reader
	// Now is the clock for dates; time.Now when nil.
	Now func() time.Time
}

// Transaction is one card's transaction between the kernel's steps.
type Transaction struct {
	k         *Kernel
	card      apdu.Card
	txn       Txn
	aidp      *AIDParams
	data      map[tlv.Tag][]byte // the data store: card and terminal data by tag
	res       Result
	pdolVal   []byte
	cdol1V    []byte
	static    []byte // static data to be authenticated
	staticOK  bool
	iccKey    *iccKey
	cda       bool // CDA requested at the first GENERATE AC
	onlinePIN bool
	// signedTVR is, for a tap, the TVR the card's cryptogram covers (the PDOL's): field
	// 55 sends it so that the issuer can verify the ARQC; Result.TVR goes on to hold
	// the reader's later findings (fDDA, CVM).
	signedTVR []byte
}

// errTerminate ends a transaction with Refused and a reason.
type errTerminate struct{ reason string }

func (e errTerminate) Error() string { return e.reason }

func terminate(format string, a ...any) error { return errTerminate{fmt.Sprintf(format, a...)} }

// errChip ends a transaction with ChipError.
type errChip struct{ err error }

func (e errChip) Error() string { return "chip error: " + e.err.Error() }

var errCardGone = errors.New("card removed or not answering")

func (k *Kernel) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Kernel) random(n int) []byte {
	b := make([]byte, n)
	r := k.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		panic("emv: no random numbers: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return b
}

// exchange sends one command and traces it. A transport error is errCardGone.
func (t *Transaction) exchange(c apdu.Command) (apdu.Response, error) {
	raw := c.Bytes()
	if t.k.Trace != nil {
		t.k.Trace(emvtag.TraceCommand(raw))
	}
	r, err := apdu.Exchange(t.card, raw)
	if err != nil {
		if t.k.Trace != nil {
			t.k.Trace("R: " + err.Error())
		}
		return r, fmt.Errorf("%w: %v", errCardGone, err)
	}
	if t.k.Trace != nil {
		t.k.Trace(emvtag.TraceResponse(r.Bytes()))
	}
	return r, nil
}

func (t *Transaction) set(b Bit)    { t.res.TVR[b.Byte] |= b.Mask }
func (t *Transaction) setTSI(b Bit) { t.res.TSI[b.Byte] |= b.Mask }

// get is the data store as DOL building and the cryptography read it, with the TVR,
// TSI and CVM results current.
func (t *Transaction) get(tag tlv.Tag) ([]byte, bool) {
	switch tag {
	case 0x95:
		if t.signedTVR != nil {
			return t.signedTVR, true
		}
		return t.res.TVR[:], true
	case 0x9B:
		return t.res.TSI[:], true
	case 0x9F34:
		return t.res.CVMR[:], true
	}
	v, ok := t.data[tag]
	return v, ok
}

// dolGet is get for the data object lists the card has the terminal fill (PDOL, CDOL1,
// CDOL2, DDOL): the card's own sensitive data (PAN, track 2, cardholder name...) is
// never sent back in a command, where the APDU trace would show it. An honest card
// does not ask for it; a card that does gets zeros, as for data the terminal does not
// have (Book 3 §5.4).
func (t *Transaction) dolGet(tag tlv.Tag) ([]byte, bool) {
	if emvtag.Sensitive(tag) {
		return nil, false
	}
	return t.get(tag)
}

func bcdAmount(v int64) []byte {
	if v < 0 {
		v = 0
	}
	b, _ := hex.DecodeString(fmt.Sprintf("%012d", v%1000000000000))
	return b
}

func bcdDigits(s string) []byte {
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, _ := hex.DecodeString(s)
	return b
}

// check refuses to run without good parameters.
func (k *Kernel) check() error {
	if k.P == nil {
		return terminate("No EMV parameters")
	}
	if err := k.P.Check(); err != nil {
		return terminate("%v", err)
	}
	return nil
}

// newTransaction fills the terminal's data.
func (k *Kernel) newTransaction(card apdu.Card, txn Txn, iface string) *Transaction {
	if txn.Time.IsZero() {
		txn.Time = k.now()
	}
	p := k.P
	t := &Transaction{k: k, card: card, txn: txn, data: map[tlv.Tag][]byte{}}
	t.res.Interface = iface
	t.res.EntryMode = EntryChip
	if iface == "contactless" {
		t.res.EntryMode = EntryContactless
	}
	if p == nil {
		p = &Params{}
	}
	d := t.data
	d[0x9F02] = bcdAmount(txn.Amount)
	d[0x9F03] = bcdAmount(txn.Other)
	d[0x9F1A] = bytes.Clone(p.Country)
	d[0x5F2A] = bytes.Clone(p.Currency)
	d[0x5F36] = []byte{p.CurrencyExponent}
	d[0x9A] = bcdDigits(txn.Time.Format("060102"))
	d[0x9F21] = bcdDigits(txn.Time.Format("150405"))
	d[0x9C] = []byte{txn.Type}
	d[0x9F33] = bytes.Clone(p.Capabilities)
	d[0x9F40] = bytes.Clone(p.AddCapabilities)
	d[0x9F35] = []byte{p.TerminalType}
	d[0x9F1E] = []byte(p.IFDSerial)
	d[0x9F41] = bcdDigits(fmt.Sprintf("%08d", txn.Seq%100000000))
	d[0x9F37] = k.random(4)
	if len(p.MerchantCategory) == 2 {
		d[0x9F15] = bytes.Clone(p.MerchantCategory)
	}
	t.res.CVMR = [3]byte{0x3F, 0x00, 0x00}
	return t
}

// finish turns an error of a step into the result's outcome.
func (t *Transaction) fail(err error) Result {
	var term errTerminate
	var chip errChip
	switch {
	case errors.As(err, &chip):
		t.res.Outcome, t.res.Reason = ChipError, chip.Error()
	case errors.As(err, &term):
		t.res.Outcome, t.res.Reason = Refused, term.reason
	case errors.Is(err, errCardGone):
		t.res.Outcome, t.res.Reason = Refused, "Card removed"
	case errors.Is(err, ErrCardData):
		t.res.Outcome, t.res.Reason = Refused, "Card data error: "+err.Error()
	default:
		t.res.Outcome, t.res.Reason = Refused, err.Error()
	}
	return t.result()
}

func (t *Transaction) result() Result {
	r := t.res
	r.AID = bytes.Clone(r.AID)
	r.Field55 = t.field55()
	return r
}

// Result is the transaction's current result.
func (t *Transaction) Result() Result { return t.result() }

// Contact runs a contact transaction up to the first GENERATE AC: the result is
// Approved or Declined offline, Online (send Field55, then Complete), Refused or
// ChipError. The card is powered on here and off when the transaction ends.
func (k *Kernel) Contact(card apdu.Card, txn Txn) (*Transaction, Result) {
	t := k.newTransaction(card, txn, "contact")
	if err := k.check(); err != nil {
		return t, t.fail(err)
	}
	if _, err := card.PowerOn(); err != nil {
		return t, t.fail(errChip{err})
	}
	if err := t.contact(); err != nil {
		card.PowerOff()
		return t, t.fail(err)
	}
	if t.res.Outcome != Online {
		card.PowerOff()
	}
	return t, t.result()
}

func (t *Transaction) contact() error {
	if err := t.selectApplication(false); err != nil {
		return err
	}
	if err := t.initiate(); err != nil {
		return err
	}
	if err := t.readRecords(); err != nil {
		return err
	}
	if err := t.mandatory(0x5F24, 0x5A, 0x8C, 0x8D); err != nil {
		return err
	}
	if err := t.offlineDataAuthentication(); err != nil {
		return err
	}
	t.processingRestrictions()
	if err := t.cardholderVerification(); err != nil {
		return err
	}
	if err := t.terminalRiskManagement(); err != nil {
		return err
	}
	return t.firstGenerateAC(t.terminalActionAnalysis())
}

// selectApplication builds the candidate list (PSE/PPSE, else the terminal's AIDs),
// lets the cashier choose when several, and selects the application (Book 1 §12).
func (t *Transaction) selectApplication(contactless bool) error {
	cands, blocked, err := t.candidates(contactless)
	if err != nil {
		return err
	}
	for len(cands) > 0 {
		slices.SortStableFunc(cands, func(a, b Candidate) int { return prio(a.Priority) - prio(b.Priority) })
		i := 0
		// Several candidates, or one whose priority indicator asks for the
		// cardholder's confirmation (Book 1 §12.4): the cashier and cardholder choose.
		if (len(cands) > 1 || cands[0].Confirm) && t.k.Hooks.Choose != nil {
			if i, err = t.k.Hooks.Choose(slices.Clone(cands)); err != nil {
				return terminate("Application not chosen: %v", err)
			}
			if i < 0 || i >= len(cands) {
				return terminate("Application not chosen")
			}
		}
		c := cands[i]
		r, err := t.exchange(apdu.SelectByName(c.AID, false))
		if err != nil {
			return err
		}
		if r.SW == apdu.SWOK {
			return t.selected(c, r.Data)
		}
		// Not selectable (6283 blocked, or gone): the next candidate (Book 1 §12.4).
		if r.SW == apdu.SWWarningSelected {
			blocked = true
		}
		cands = slices.Delete(cands, i, i+1)
	}
	if blocked {
		return terminate("Card application blocked")
	}
	return terminate("No application of this card is accepted")
}

func prio(p byte) int {
	if p&0x0F == 0 {
		return 16
	}
	return int(p & 0x0F)
}

// candidates reads the PSE (contact) or PPSE (contactless) directory, or, for a
// contact card without a PSE, selects each of the terminal's AIDs.
func (t *Transaction) candidates(contactless bool) (cands []Candidate, blocked bool, err error) {
	dir := []byte("1PAY.SYS.DDF01")
	if contactless {
		dir = []byte("2PAY.SYS.DDF01")
	}
	r, err := t.exchange(apdu.SelectByName(dir, false))
	if err != nil {
		return nil, false, errChip{err}
	}
	switch {
	case r.SW == apdu.SWFuncNotSupported:
		return nil, false, terminate("Card blocked")
	case r.SW == apdu.SWOK:
		fci, err := tlv.Parse(r.Data)
		if err != nil {
			return nil, false, errChip{fmt.Errorf("directory FCI: %w", err)}
		}
		if contactless {
			// PPSE: the entries are in BF0C of the FCI.
			bf, _ := fci.Find(0xBF0C)
			return t.dirEntries(bf.Children), false, nil
		}
		sfi := fci.Value(0x88)
		if len(sfi) == 1 && sfi[0] >= 1 && sfi[0] <= 30 {
			for rec := byte(1); rec < 255; rec++ {
				rr, err := t.exchange(apdu.ReadRecord(sfi[0], rec))
				if err != nil {
					return nil, false, errChip{err}
				}
				if rr.SW != apdu.SWOK {
					break
				}
				l, err := tlv.Parse(rr.Data)
				if err != nil || len(l) != 1 || l[0].Tag != 0x70 {
					return nil, false, errChip{fmt.Errorf("PSE record %d is not a record template", rec)}
				}
				cands = append(cands, t.dirEntries(l[0].Children)...)
			}
			if len(cands) > 0 {
				return cands, false, nil
			}
		}
	case contactless:
		return nil, false, terminate("Card has no contactless directory")
	}
	if contactless {
		return nil, false, nil
	}
	// List of AIDs (Book 1 §12.3.3), with partial selection where allowed.
	for _, a := range t.k.P.AIDs {
		next := false
		for n := 0; n < 16; n++ {
			r, err := t.exchange(apdu.SelectByName(a.AID, next))
			if err != nil {
				return nil, false, errChip{err}
			}
			if r.SW != apdu.SWOK && r.SW != apdu.SWWarningSelected {
				break
			}
			fci, err := tlv.Parse(r.Data)
			if err != nil {
				break
			}
			df := fci.Value(0x84)
			if r.SW == apdu.SWWarningSelected {
				blocked = true
			} else if bytes.Equal(df, a.AID) || a.Partial && bytes.HasPrefix(df, a.AID) {
				cands = append(cands, candidateOf(df, fci))
			}
			if !a.Partial || bytes.Equal(df, a.AID) {
				break
			}
			next = true
		}
	}
	return cands, blocked, nil
}

func (t *Transaction) dirEntries(l tlv.List) []Candidate {
	var out []Candidate
	for _, o := range l {
		if o.Tag != 0x61 {
			continue
		}
		aid := o.Children.Value(0x4F)
		if len(aid) < 5 || len(aid) > 16 {
			continue
		}
		if _, ok := t.k.P.aid(aid); ok {
			out = append(out, candidateOf(aid, o.Children))
		}
	}
	return out
}

func candidateOf(aid []byte, l tlv.List) Candidate {
	c := Candidate{AID: bytes.Clone(aid), Label: string(printableOnly(l.Value(0x50)))}
	if pn := l.Value(0x9F12); len(pn) > 0 && printableOnly(pn) != nil {
		c.Label = string(pn)
	}
	if p := l.Value(0x87); len(p) == 1 {
		c.Priority, c.Confirm = p[0]&0x0F, p[0]&0x80 != 0
	}
	return c
}

func printableOnly(b []byte) []byte {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return nil
		}
	}
	return b
}

// selected takes the application's FCI into the data store.
func (t *Transaction) selected(c Candidate, fciRaw []byte) error {
	fci, err := tlv.Parse(fciRaw)
	if err != nil {
		return fmt.Errorf("%w: application FCI: %v", ErrCardData, err)
	}
	df := fci.Value(0x84)
	if len(df) == 0 {
		df = c.AID
	}
	aidp, ok := t.k.P.aid(df)
	if !ok {
		return terminate("Application %X not accepted", df)
	}
	t.aidp = aidp
	t.res.AID = bytes.Clone(df)
	t.res.Label = c.Label
	if t.res.Label == "" {
		t.res.Label = aidp.Label
	}
	t.data[0x84] = bytes.Clone(df)
	t.data[0x4F] = bytes.Clone(df)
	t.data[0x9F06] = bytes.Clone(aidp.AID)
	t.data[0x9F09] = bytes.Clone(aidp.Version)
	t.data[0x9F1B] = binary.BigEndian.AppendUint32(nil, uint32(min(aidp.FloorLimit, 0xFFFFFFFF)))
	if pdol := fci.Value(0x9F38); pdol != nil {
		t.data[0x9F38] = bytes.Clone(pdol)
	}
	return nil
}

// initiate is GET PROCESSING OPTIONS with the PDOL's value (Book 3 §10.1).
func (t *Transaction) initiate() error {
	var pdol tlv.DOL
	if raw, ok := t.data[0x9F38]; ok {
		var err error
		if pdol, err = ParseCDOL(raw); err != nil {
			return err
		}
	}
	t.pdolVal = emvtag.BuildDOL(pdol, t.dolGet)
	r, err := t.exchange(apdu.GetProcessingOptions(t.pdolVal))
	if err != nil {
		return err
	}
	switch r.SW {
	case apdu.SWOK:
	case apdu.SWConditionsNotSat:
		return terminate("Card application not usable (GPO %04X)", r.SW)
	default:
		return terminate("Card refused the transaction (GPO %04X)", r.SW)
	}
	l, err := tlv.Parse(r.Data)
	if err != nil || len(l) != 1 {
		return fmt.Errorf("%w: GPO answer", ErrCardData)
	}
	switch l[0].Tag {
	case 0x80:
		v := l[0].Value
		if len(v) < 2 {
			return fmt.Errorf("%w: GPO format 1 of %d bytes", ErrCardData, len(v))
		}
		t.data[0x82], t.data[0x94] = bytes.Clone(v[:2]), bytes.Clone(v[2:])
	case 0x77:
		if err := t.store(l[0].Children); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: GPO answer in template %s", ErrCardData, l[0].Tag)
	}
	aip := t.data[0x82]
	if len(aip) != 2 {
		return fmt.Errorf("%w: no AIP", ErrCardData)
	}
	t.res.AIP = bytes.Clone(aip)
	return nil
}

// store puts card objects into the data store: a primitive object the card sent
// twice is an error (Book 3 §10.2); lengths are checked against the tag table.
func (t *Transaction) store(l tlv.List) error {
	var err error
	l.Walk(func(o tlv.TLV) {
		if err != nil {
			return
		}
		if e := emvtag.CheckLength(o.Tag, o.Value); e != nil {
			err = fmt.Errorf("%w: %v", ErrCardData, e)
			return
		}
		// The same object twice with another value is an error (Book 3 §10.2); qPBOC
		// cards repeat some of the GPO answer's objects in their records.
		if old, dup := t.data[o.Tag]; dup && !bytes.Equal(old, o.Value) && o.Tag != 0x82 && o.Tag != 0x94 {
			if e, ok := emvtag.Lookup(o.Tag); ok && e.Source == emvtag.ICC {
				err = fmt.Errorf("%w: %s sent twice", ErrCardData, o.Tag)
				return
			}
		}
		t.data[o.Tag] = bytes.Clone(o.Value)
	})
	return err
}

// readRecords reads the AFL's records (Book 3 §10.2) and keeps the ODA records as the
// static data to be authenticated.
func (t *Transaction) readRecords() error {
	afl, err := ParseAFL(t.data[0x94])
	if err != nil {
		return err
	}
	t.staticOK = true
	for _, e := range afl {
		for rec := e.First; ; rec++ {
			r, err := t.exchange(apdu.ReadRecord(e.SFI, rec))
			if err != nil {
				return err
			}
			if r.SW != apdu.SWOK {
				return terminate("Card record %d/%d unreadable (%04X)", e.SFI, rec, r.SW)
			}
			l, err := tlv.Parse(r.Data)
			if err != nil || len(l) != 1 || (e.SFI <= 10 && l[0].Tag != 0x70) {
				return fmt.Errorf("%w: record %d of SFI %d", ErrCardData, rec, e.SFI)
			}
			if rec-e.First < e.ODA {
				if e.SFI <= 10 {
					t.static = append(t.static, l[0].Value...)
				} else {
					t.static = append(t.static, r.Data...)
				}
			}
			if err := t.store(l[0].Children); err != nil {
				return err
			}
			if rec == e.Last {
				break
			}
		}
	}
	if pan := t.data[0x5A]; len(pan) > 0 {
		t.res.Card.PAN = digits(pan, 0, len(pan)*2)
	}
	if psn := t.data[0x5F34]; len(psn) == 1 {
		t.res.Card.PSN = hex.EncodeToString(psn)
	}
	if exp := t.data[0x5F24]; len(exp) == 3 {
		t.res.Card.Expiry = hex.EncodeToString(exp)
	}
	if sc := t.data[0x5F30]; len(sc) == 2 {
		t.res.Card.ServiceCode = hex.EncodeToString(sc)[1:]
	}
	t.res.Card.Track2 = bytes.Clone(t.data[0x57])
	if t2 := t.res.Card.Track2; len(t.res.Card.PAN) == 0 && len(t2) > 0 {
		if i := nibbleIndex(t2, 0xD); i > 0 {
			t.res.Card.PAN = digits(t2, 0, i)
			if len(t2)*2 >= i+8 {
				sc := digits(t2, i+5, i+8)
				t.res.Card.ServiceCode = string(sc)
				if t.res.Card.Expiry == "" {
					exp := digits(t2, i+1, i+5)
					t.res.Card.Expiry = string(exp) + "31" // YYMM: not the card number
				}
			}
		}
	}
	return nil
}

// digits returns nibbles from..to of b (BCD) as upper-case hex characters, a padding F
// at the end dropped: a card number as bytes, never through a string that could not be
// wiped.
func digits(b []byte, from, to int) []byte {
	const hexDigits = "0123456789ABCDEF"
	out := make([]byte, 0, to-from)
	for i := from; i < to && i/2 < len(b); i++ {
		n := b[i/2] >> 4
		if i%2 == 1 {
			n = b[i/2] & 0x0F
		}
		out = append(out, hexDigits[n])
	}
	for len(out) > 0 && out[len(out)-1] == 'F' {
		out = out[:len(out)-1]
	}
	return out
}

// nibbleIndex is the index of the first nibble n of b, -1 when there is none.
func nibbleIndex(b []byte, n byte) int {
	for i := 0; i < len(b)*2; i++ {
		v := b[i/2] >> 4
		if i%2 == 1 {
			v = b[i/2] & 0x0F
		}
		if v == n {
			return i
		}
	}
	return -1
}

// Wipe zeroes the card data the transaction holds — the card's sensitive data elements
// as they came (PAN, track 2, cardholder name ...) and the result's card data — once the
// host has had the request. The transaction can still be completed or aborted: the
// card's second GENERATE AC needs none of it.
func (t *Transaction) Wipe() {
	for tag, v := range t.data {
		if emvtag.Sensitive(tag) {
			clear(v)
		}
	}
	t.res.Card.Wipe()
}

// mandatory checks the data every contact transaction needs (Book 3 §7.2).
func (t *Transaction) mandatory(tags ...tlv.Tag) error {
	for _, tag := range tags {
		if _, ok := t.data[tag]; !ok {
			t.set(tvrICCDataMissing)
			return terminate("Card data missing: %s", tag)
		}
	}
	return nil
}

// processingRestrictions compares versions, usage control and dates (Book 3 §10.4).
func (t *Transaction) processingRestrictions() {
	if v := t.data[0x9F08]; v != nil && !bytes.Equal(v, t.aidp.Version) {
		t.set(tvrVersionsDiffer)
	}
	if auc := t.data[0x9F07]; len(auc) == 2 {
		domestic := bytes.Equal(t.data[0x5F28], t.k.P.Country)
		var need byte
		switch t.txn.Type {
		case 0x01: // cash
			need = map[bool]byte{true: 0x80, false: 0x40}[domestic]
		case 0x09: // cashback
			need = 0
		default: // goods and services: either is enough
			need = map[bool]byte{true: 0x20 | 0x08, false: 0x10 | 0x04}[domestic]
		}
		if auc[0]&need == 0 || auc[0]&0x01 == 0 { // 0x01: valid at terminals other than ATMs
			t.set(tvrServiceNotAllow)
		}
	}
	today := t.txn.Time.Format("060102")
	if eff := t.data[0x5F25]; len(eff) == 3 && later(hex.EncodeToString(eff), today) {
		t.set(tvrNotEffective)
	}
	if exp := t.data[0x5F24]; len(exp) == 3 && later(today, hex.EncodeToString(exp)) {
		t.set(tvrExpired)
	}
}

// later reports whether YYMMDD a is after b, with YY 50–99 in the 1900s (Book 4 §6.7.3).
func later(a, b string) bool { return century(a) > century(b) }

func century(d string) string {
	if d >= "50" {
		return "19" + d
	}
	return "20" + d
}

// terminalRiskManagement: floor limit, random selection, velocity (Book 3 §10.6).
func (t *Transaction) terminalRiskManagement() error {
	a := t.aidp
	amt := t.txn.Amount
	if amt >= a.FloorLimit {
		t.set(tvrFloorLimit)
	} else if a.RandomTarget > 0 || a.RandomMax > 0 {
		n := int(binary.BigEndian.Uint16(t.k.random(2))%99) + 1 // 1..99
		pct := a.RandomTarget
		if amt >= a.RandomThreshold && a.FloorLimit > a.RandomThreshold {
			pct += int(int64(a.RandomMax-a.RandomTarget) * (amt - a.RandomThreshold) / (a.FloorLimit - a.RandomThreshold))
		}
		if n <= pct {
			t.set(tvrRandomOnline)
		}
	}
	lcol, ucol := t.data[0x9F14], t.data[0x9F23]
	if len(lcol) == 1 && len(ucol) == 1 {
		atc, errA := t.getData(0x9F36)
		last, errL := t.getData(0x9F13)
		if errors.Is(errA, errCardGone) || errors.Is(errL, errCardGone) {
			return errCardGone
		}
		if errA != nil || errL != nil || len(atc) != 2 || len(last) != 2 {
			t.set(tvrLowerOffline)
			t.set(tvrUpperOffline)
		} else {
			n := int(binary.BigEndian.Uint16(atc)) - int(binary.BigEndian.Uint16(last))
			if n > int(lcol[0]) {
				t.set(tvrLowerOffline)
			}
			if n > int(ucol[0]) {
				t.set(tvrUpperOffline)
			}
			if binary.BigEndian.Uint16(last) == 0 {
				t.set(tvrNewCard)
			}
		}
	}
	t.setTSI(tsiTermRisk)
	return nil
}

func (t *Transaction) getData(tag uint16) ([]byte, error) {
	r, err := t.exchange(apdu.GetData(tag))
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWOK {
		return nil, fmt.Errorf("GET DATA %04X: %04X", tag, r.SW)
	}
	o, _, err := tlv.ParseOne(r.Data)
	if err != nil || o.Tag != tlv.Tag(tag) {
		return nil, fmt.Errorf("GET DATA %04X: bad answer", tag)
	}
	return o.Value, nil
}

// actionCode is an IAC from the card or its Book 3 default when absent.
func (t *Transaction) actionCode(tag tlv.Tag, absent byte) []byte {
	if v := t.data[tag]; len(v) == 5 {
		return v
	}
	return bytes.Repeat([]byte{absent}, 5)
}

func (t *Transaction) matches(tac, iac []byte) bool {
	for i := range 5 {
		if t.res.TVR[i]&(tac[i]|iac[i]) != 0 {
			return true
		}
	}
	return false
}

// terminalActionAnalysis decides what to ask the card for (Book 3 §10.7): an online
// terminal (type x1/x2, x4/x5) goes online unless denial matches.
func (t *Transaction) terminalActionAnalysis() byte {
	a := t.aidp
	if t.matches(a.TACDenial, t.actionCode(0x9F0E, 0x00)) {
		return apdu.AAC
	}
	if !t.onlineCapable() {
		if t.matches(a.TACDefault, t.actionCode(0x9F0D, 0xFF)) {
			return apdu.AAC
		}
		return apdu.TC
	}
	if t.matches(a.TACOnline, t.actionCode(0x9F0F, 0xFF)) {
		return apdu.ARQC
	}
	return apdu.TC
}

func (t *Transaction) onlineCapable() bool {
	switch t.k.P.TerminalType & 0x0F {
	case 1, 2, 4, 5:
		return true
	}
	return false
}

// firstGenerateAC asks the card for want with CDOL1 (Book 3 §10.8) and reads its
// decision.
func (t *Transaction) firstGenerateAC(want byte) error {
	if err := t.mandatory(0x8C); err != nil {
		return err
	}
	cdol1, err := ParseCDOL(t.data[0x8C])
	if err != nil {
		return err
	}
	t.cdol1V = emvtag.BuildDOL(cdol1, t.dolGet)
	p1 := want
	// CDA is asked for only with the ICC key in hand (Book 3 §10.8): when its recovery
	// failed the TVR says so and the action codes have already decided.
	if t.res.ODA == "cda" && t.iccKey != nil && want != apdu.AAC {
		p1 |= apdu.CDA
		t.cda = true
	}
	r, err := t.exchange(apdu.GenerateAC(p1, t.cdol1V))
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		return terminate("Card refused GENERATE AC (%04X)", r.SW)
	}
	ac, err := t.takeAC(r.Data, t.cda, nil)
	if err != nil {
		return err
	}
	t.setTSI(tsiCardRisk)
	switch cid := ac.CID & 0xC0; {
	case cid == apdu.ARQC && want == apdu.ARQC:
		t.res.Outcome = Online
	case cid == apdu.TC && want == apdu.TC: // a card may answer less than asked, never more
		t.res.Outcome = Approved
		t.res.ARC = "Y1"
	case cid == apdu.AAC:
		t.res.Outcome = Declined
		t.res.ARC = "Z1"
	default:
		return terminate("Card answered a cryptogram it was not asked for (CID %02X)", ac.CID)
	}
	if t.res.Outcome != Online {
		t.data[0x8A] = []byte(t.res.ARC)
	}
	return nil
}

// takeAC reads a GENERATE AC answer into the result; with CDA it verifies the
// signature and takes the cryptogram from it (Book 2 §6.6.2). A CDA failure declines.
func (t *Transaction) takeAC(raw []byte, cda bool, cdol2V []byte) (ACResponse, error) {
	ac, err := ParseACResponse(raw)
	if err != nil {
		return ac, err
	}
	if cda && ac.CID&0xC0 != apdu.AAC {
		cryptogram, err := t.verifyCDA(ac, cdol2V)
		if err != nil {
			t.set(tvrCDAFailed)
			ac.CID &^= 0xC0 // the terminal treats it as an AAC
			t.res.Outcome = Declined
		} else {
			ac.AC = cryptogram
		}
	} else if len(ac.AC) != 8 {
		return ac, fmt.Errorf("%w: no cryptogram", ErrCardData)
	}
	t.res.CID, t.res.ATC, t.res.AC = ac.CID, bytes.Clone(ac.ATC), bytes.Clone(ac.AC)
	t.data[0x9F27] = []byte{ac.CID}
	t.data[0x9F36] = bytes.Clone(ac.ATC)
	if ac.AC != nil {
		t.data[0x9F26] = bytes.Clone(ac.AC)
	}
	if ac.IAD != nil {
		t.data[0x9F10] = bytes.Clone(ac.IAD)
	}
	return ac, nil
}
