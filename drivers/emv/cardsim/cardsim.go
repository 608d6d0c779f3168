// Package cardsim is a chip card simulator that answers real APDUs as an EMV/PBOC card
// does (EMV 4.4 Books 1–3, qPBOC for the contactless cards), personalised from a card
// profile (profiles/*.json): SELECT of the PSE (1PAY.SYS.DDF01), the PPSE
// (2PAY.SYS.DDF01) and the application, GET PROCESSING OPTIONS with its PDOL, READ
// RECORD, GET DATA, INTERNAL AUTHENTICATE (DDA), GENERATE AC (first and second, by the
// card's risk rules), EXTERNAL AUTHENTICATE and issuer script commands with secure
// messaging.
//
// Its cryptography is the scheme of DESIGN §7 through package emvcrypto, with the test
// PKI's keys (never real ones), so that the host simulator verifies its cryptograms and
// the kernel its signatures as it would a real card's. A card implements apdu.Card; a
// profile may ask for T=0 behaviour (61xx and 6Cxx) as real contact cards answer.
package cardsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
)

// Directory names.
var (
	PSE  = []byte("1PAY.SYS.DDF01")
	PPSE = []byte("2PAY.SYS.DDF01")
)

// ErrMute is the error of PowerOn for a card whose chip does not answer reset.
var ErrMute = errors.New("cardsim: the card does not answer reset")

// ATRs: a T=0 contact card's, and the PC/SC form of an ISO 14443-4 card's or T=1 one's.
var (
	atrT0 = []byte{0x3B, 0x02, 0x14, 0x50}
	atrT1 = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}
)

// The DOLs of every simulated card.
var (
	// PDOL of the contactless cards (qPBOC): TTQ, amounts, country, TVR, currency,
	// date, type, unpredictable number.
	contactlessPDOL = tlv.DOL{{Tag: 0x9F66, Len: 4}, {Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2},
		{Tag: 0x95, Len: 5}, {Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4}}
	// PDOL of the contact cards: the terminal country code (PBOC cards ask for little).
	contactPDOL = tlv.DOL{{Tag: 0x9F1A, Len: 2}}
	// CDOL1: the terminal data of the cryptogram (emvcrypto.ACTags), terminal type and
	// CVM results.
	cdol1 = tlv.DOL{{Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2}, {Tag: 0x95, Len: 5},
		{Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4},
		{Tag: 0x9F35, Len: 1}, {Tag: 0x9F34, Len: 3}}
	// CDOL2: the authorisation response code, then the same terminal data.
	cdol2 = tlv.DOL{{Tag: 0x8A, Len: 2}, {Tag: 0x9F02, Len: 6}, {Tag: 0x9F03, Len: 6}, {Tag: 0x9F1A, Len: 2},
		{Tag: 0x95, Len: 5}, {Tag: 0x5F2A, Len: 2}, {Tag: 0x9A, Len: 3}, {Tag: 0x9C, Len: 1}, {Tag: 0x9F37, Len: 4}}
	ddol = tlv.DOL{{Tag: 0x9F37, Len: 4}}
)

// CDOL1, CDOL2, DDOL and the PDOLs as the kernel reads them from the card, for tests.
func CDOL1() tlv.DOL { return append(tlv.DOL(nil), cdol1...) }

// CDOL2 is the card's second Card Risk Management Data Object List.
func CDOL2() tlv.DOL { return append(tlv.DOL(nil), cdol2...) }

// Cryptogram Information Data values (Book 3 Table 15).
const (
	cidAAC  = 0x00
	cidTC   = 0x40
	cidARQC = 0x80
)

// CVR byte 1 bits of the CVN 18-style Issuer Application Data.
const (
	cvr2ndNotRequested = 0x80
	cvr2ndTC           = 0x40
	cvr1stARQC         = 0x20
	cvr1stTC           = 0x10
	cvrIssuerAuthFail  = 0x08
)

type state int

const (
	idle           state = iota // powered, nothing selected
	pseSelected                 // a directory (PSE) is selected
	ppseSelected                //
	appSelected                 // the application is selected, GPO not yet done
	initiated                   // GPO done: records readable, GENERATE AC allowed
	awaitingIssuer              // first GENERATE AC answered ARQC
	done                        // the transaction's last cryptogram is given
)

// Card is one simulated card. It is safe for use by one reader at a time; the mutex
// only keeps a test's stray goroutine from corrupting it.
type Card struct {
	mu      sync.Mutex
	p       *Profile
	aid     []byte
	records map[[2]byte][]byte // (SFI, record) → record (template 70)
	dir     [][]byte           // PSE directory records
	afl     []byte
	aip     []byte
	mkAC    []byte
	mkSMI   []byte
	icc     *emvcrypto.PrivateKey
	issuer  emvcrypto.PublicKey

	powered    bool
	st         state
	pending    []byte // T=0: response data waiting for GET RESPONSE
	pendingSW  uint16
	atc        uint16
	lastOnline uint16
	blocked    bool
	pinTries   byte
	cvr        byte
	arqc       []byte // the last ARQC, for EXTERNAL AUTHENTICATE and scripts
	issuerAuth int    // 0 not performed, 1 passed, -1 failed
	firstData  map[tlv.Tag][]byte
	dynCounter uint64
	putData    map[tlv.Tag][]byte
	pdolValue  []byte // as GPO sent it, for CDA's transaction data hash
	cdol1Value []byte // as the first GENERATE AC sent it
}

// New personalises a card from a profile: records, certificates signed by the test CA
// and the issuer's test key, and the ICC keys derived from the issuer's master keys.
func New(p *Profile) (*Card, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	c := &Card{p: p, atc: p.ATC, lastOnline: p.ATC, blocked: p.Blocked, pinTries: 3, putData: map[tlv.Tag][]byte{}}
	c.aid, _ = hex.DecodeString(p.AID)
	var err error
	if c.mkAC, c.mkSMI, err = emvcrypto.TestIssuer(p.Issuer).CardKeys(p.PAN, p.PSN); err != nil {
		return nil, err
	}
	if err := c.personalise(); err != nil {
		return nil, fmt.Errorf("card %s: %w", p.Name, err)
	}
	return c, nil
}

// Open is New of the embedded test card name.
func Open(name string) (*Card, error) {
	p, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return New(p)
}

// Profile returns the card's profile.
func (c *Card) Profile() *Profile { return c.p }

// IssuerKey returns the issuer's test RSA key of an issuer name: the card's issuer
// certificate certifies it; tests and the host simulator may need it.
func IssuerKey(issuer string) *emvcrypto.PrivateKey {
	return emvcrypto.TestKey("posfw test issuer RSA - not a real key/"+issuer, emvcrypto.TestIssuerBits)
}

func bcd(digits string) []byte {
	if len(digits)%2 == 1 {
		digits += "F"
	}
	b, _ := hex.DecodeString(digits)
	return b
}

func (c *Card) personalise() error {
	p := c.p
	contactless := p.Interface == "contactless"
	aip0 := byte(0x10 | 0x08 | 0x04) // cardholder verification, terminal risk management, issuer authentication
	switch p.ODA {
	case "sda":
		aip0 |= 0x40
	case "dda", "fdda":
		aip0 |= 0x20
	case "cda":
		aip0 |= 0x20 | 0x01 // a CDA card does DDA too
	}
	c.aip = []byte{aip0, 0x00}
	if contactless {
		c.aip[1] = 0x80 // qPBOC: EMV mode
	}

	track2 := bcd(p.PAN + "D" + p.Expiry[:4] + p.ServiceCode + "0000000000")
	// The D separator is a nibble, which hex decoding takes as it is.
	pan := bcd(p.PAN)
	cvmList := make([]byte, 8) // amounts X and Y: zero
	for _, m := range p.CVM {
		cond := byte(0x03) // if the terminal supports the CVM
		if m == "no-cvm" {
			cond = 0x00 // always
		}
		cvmList = append(cvmList, cvmCodes[m], cond)
	}

	rec1 := tlv.Template(0x70,
		tlv.New(0x57, track2),
		tlv.New(0x5F20, []byte(p.Cardholder)),
	)
	odaRec := []tlv.TLV{
		tlv.New(0x5A, pan),
		tlv.New(0x5F24, bcd(p.Expiry)),
		tlv.New(0x5F25, bcd(p.Effective)),
		tlv.New(0x5F28, bcd(p.Country)),
		tlv.New(0x5F30, bcd("0"+p.ServiceCode)),
		tlv.New(0x5F34, bcd(p.PSN)),
		tlv.New(0x9F07, []byte{0xFF, 0x00}), // valid everywhere for goods, services, cash
		tlv.New(0x9F08, []byte{0x00, 0x30}),
		tlv.New(0x9F42, bcd(p.Currency)),
		tlv.New(0x8C, cdol1.Bytes()),
		tlv.New(0x8D, cdol2.Bytes()),
		tlv.New(0x8E, cvmList),
		// Issuer action codes: deny nothing outright; go online on ODA failure,
		// expiry, a new card; default (unable to go online) on the same.
		tlv.New(0x9F0D, []byte{0xDC, 0x40, 0x00, 0xA8, 0x00}),
		tlv.New(0x9F0E, []byte{0x00, 0x10, 0x00, 0x00, 0x00}),
		tlv.New(0x9F0F, []byte{0xDC, 0x40, 0x04, 0xF8, 0x00}),
	}
	if contactless {
		odaRec = append(odaRec, tlv.New(0x9F69, c.cardAuthData()))
	}
	if p.ODA != "none" {
		odaRec = append(odaRec, tlv.New(0x9F4A, []byte{0x82}))
	}
	rec2 := tlv.Template(0x70, odaRec...)
	static := append(append([]byte(nil), rec2.Value...), c.aip...)

	c.records = map[[2]byte][]byte{{1, 1}: rec1.Bytes(), {2, 1}: rec2.Bytes()}
	c.afl = []byte{1 << 3, 1, 1, 0, 2 << 3, 1, 1, 1}
	if contactless {
		c.afl = []byte{2 << 3, 1, 1, 1} // qPBOC: track 2 comes in the GPO answer
	}

	if p.ODA != "none" {
		ca := emvcrypto.TestCA()
		issuer := IssuerKey(p.Issuer)
		c.issuer = issuer.PublicKey
		iin := p.PAN[:6] + "FF"
		cert, rem, err := emvcrypto.SignIssuerCert(ca, emvcrypto.Cert{ID: bcd(iin), Expiry: bcd("1239"), Serial: []byte{0x00, 0x00, 0x01}, Key: issuer.PublicKey})
		if err != nil {
			return err
		}
		certRec := []tlv.TLV{tlv.New(0x8F, []byte{emvcrypto.TestCAPKIndex}), tlv.New(0x90, cert), tlv.New(0x9F32, issuer.E)}
		if len(rem) > 0 {
			certRec = append(certRec, tlv.New(0x92, rem))
		}
		var rec4 []tlv.TLV
		switch p.ODA {
		case "sda":
			ssad, err := emvcrypto.SignStaticData(issuer, []byte{0xDA, 0xC1}, static)
			if err != nil {
				return err
			}
			rec4 = append(rec4, tlv.New(0x93, ssad))
		default:
			c.icc = emvcrypto.TestKey("posfw test ICC RSA - not a real key/"+p.Name, emvcrypto.TestICCBits)
			iccID := p.PAN + "FFFFFFFFFFFFFFFFFFFF"[:20-len(p.PAN)]
			iccCert, iccRem, err := emvcrypto.SignICCCert(issuer, emvcrypto.Cert{ID: bcd(iccID), Expiry: bcd(p.Expiry[2:4] + p.Expiry[:2]), Serial: []byte{0x00, 0x00, 0x02}, Key: c.icc.PublicKey}, static)
			if err != nil {
				return err
			}
			rec4 = append(rec4, tlv.New(0x9F46, iccCert), tlv.New(0x9F47, c.icc.E))
			if len(iccRem) > 0 {
				rec4 = append(rec4, tlv.New(0x9F48, iccRem))
			}
			if p.ODA == "dda" || p.ODA == "cda" {
				rec4 = append(rec4, tlv.New(0x9F49, ddol.Bytes()))
			}
		}
		c.records[[2]byte{3, 1}] = tlv.Template(0x70, certRec...).Bytes()
		c.records[[2]byte{3, 2}] = tlv.Template(0x70, rec4...).Bytes()
		c.afl = append(c.afl, 3<<3, 1, 2, 0)
	}

	c.dir = [][]byte{tlv.Template(0x70, c.dirEntry()).Bytes()}
	return nil
}

// cardAuthData is 9F69 of a qPBOC card: version 01, the card's unpredictable number
// (fixed per card), and the CTQ.
func (c *Card) cardAuthData() []byte {
	h := sha256.Sum256([]byte("posfw card UN/" + c.p.Name))
	return append(append([]byte{0x01}, h[:4]...), c.ctq()...)
}

// ctq is the Card Transaction Qualifiers: online PIN required when the CVM list starts
// with it.
func (c *Card) ctq() []byte {
	if c.p.CVM[0] == "online-pin" {
		return []byte{0x80, 0x00}
	}
	return []byte{0x00, 0x00}
}

func (c *Card) dirEntry() tlv.TLV {
	e := []tlv.TLV{tlv.New(0x4F, c.aid), tlv.New(0x50, []byte(c.p.Label))}
	if c.p.PreferredName != "" {
		e = append(e, tlv.New(0x9F12, []byte(c.p.PreferredName)))
	}
	e = append(e, tlv.New(0x87, []byte{byte(c.p.Priority)}))
	return tlv.Template(0x61, e...)
}

// PowerOn resets the card: the selection and transaction state are lost, the counters
// kept (they live in the card's EEPROM).
func (c *Card) PowerOn() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p.Unreadable {
		return nil, ErrMute
	}
	c.powered, c.st, c.pending = true, idle, nil
	if c.p.T0 {
		return bytes.Clone(atrT0), nil
	}
	return bytes.Clone(atrT1), nil
}

// PowerOff deactivates the card.
func (c *Card) PowerOff() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powered, c.st, c.pending = false, idle, nil
	return nil
}

// ErrNotPowered is Transmit's error before PowerOn.
var ErrNotPowered = errors.New("cardsim: the card is not powered")

// Transmit answers one command APDU.
func (c *Card) Transmit(raw []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.powered {
		return nil, ErrNotPowered
	}
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.SWWrongLength), nil
	}
	if c.p.T0 {
		return c.t0(cmd).Bytes(), nil
	}
	return c.handle(cmd).Bytes(), nil
}

func sw(s uint16) []byte { return []byte{byte(s >> 8), byte(s)} }

func ok(data []byte) apdu.Response { return apdu.Response{Data: data, SW: apdu.SWOK} }

func fail(s uint16) apdu.Response { return apdu.Response{SW: s} }

// t0 wraps handle as a T=0 card answers (ISO/IEC 7816-3 §10.3.4, EMV Book 1 §9.3.1):
// data of a case 4 command waits for GET RESPONSE behind 61xx; a case 2 command whose
// Le is not the data's length gets 6Cxx, and GET RESPONSE with the wrong Le too.
func (c *Card) t0(cmd apdu.Command) apdu.Response {
	if cmd.CLA == 0x00 && cmd.INS == 0xC0 {
		if c.pending == nil {
			return fail(apdu.SWConditionsNotSat)
		}
		if cmd.Le != len(c.pending)%256 {
			return fail(0x6C00 | uint16(len(c.pending)&0xFF))
		}
		r := apdu.Response{Data: c.pending, SW: c.pendingSW}
		c.pending = nil
		return r
	}
	c.pending = nil
	r := c.handle(cmd)
	if len(r.Data) == 0 {
		return r
	}
	if len(cmd.Data) > 0 { // case 4
		c.pending, c.pendingSW = r.Data, r.SW
		return fail(0x6100 | uint16(len(r.Data)&0xFF))
	}
	if cmd.Le != len(r.Data)%256 { // case 2 with the wrong Le
		return fail(0x6C00 | uint16(len(r.Data)&0xFF))
	}
	return r
}

func (c *Card) handle(cmd apdu.Command) apdu.Response {
	switch {
	case cmd.CLA == 0x00 && cmd.INS == 0xA4:
		return c.selectFile(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xA8:
		return c.gpo(cmd)
	case cmd.CLA == 0x00 && cmd.INS == 0xB2:
		return c.readRecord(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xCA:
		return c.getData(cmd)
	case cmd.CLA == 0x00 && cmd.INS == 0x88:
		return c.internalAuthenticate(cmd)
	case cmd.CLA == 0x80 && cmd.INS == 0xAE:
		return c.generateAC(cmd)
	case cmd.CLA == 0x00 && cmd.INS == 0x82:
		return c.externalAuthenticate(cmd)
	case cmd.CLA == 0x84:
		return c.script(cmd)
	case cmd.CLA != 0x00 && cmd.CLA != 0x80:
		return fail(apdu.SWClassNotSupported)
	}
	return fail(apdu.SWInsNotSupported)
}

func (c *Card) selectFile(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0x04 {
		return fail(apdu.SWIncorrectP1P2)
	}
	c.st = idle
	if cmd.P2 == 0x02 { // next occurrence: the card has one application
		return fail(apdu.SWFileNotFound)
	}
	if cmd.P2 != 0x00 {
		return fail(apdu.SWIncorrectP1P2)
	}
	contactless := c.p.Interface == "contactless"
	switch {
	case bytes.Equal(cmd.Data, PSE) && !contactless:
		c.st = pseSelected
		return ok(tlv.Template(0x6F, tlv.New(0x84, PSE),
			tlv.Template(0xA5, tlv.New(0x88, []byte{1}), tlv.New(0x5F2D, []byte("zhen")))).Bytes())
	case bytes.Equal(cmd.Data, PPSE) && contactless:
		c.st = ppseSelected
		return ok(tlv.Template(0x6F, tlv.New(0x84, PPSE),
			tlv.Template(0xA5, tlv.Template(0xBF0C, c.dirEntry()))).Bytes())
	case len(cmd.Data) >= 5 && bytes.HasPrefix(c.aid, cmd.Data):
		// Selection by a partial AID finds the card's application (Book 1 §12.3.3).
		fci := c.appFCI()
		if c.blocked {
			return apdu.Response{Data: fci, SW: apdu.SWWarningSelected}
		}
		c.st = appSelected
		return ok(fci)
	}
	return fail(apdu.SWFileNotFound)
}

func (c *Card) appFCI() []byte {
	pdol := contactPDOL
	if c.p.Interface == "contactless" {
		pdol = contactlessPDOL
	}
	prop := []tlv.TLV{tlv.New(0x50, []byte(c.p.Label)), tlv.New(0x87, []byte{byte(c.p.Priority)}),
		tlv.New(0x9F38, pdol.Bytes()), tlv.New(0x5F2D, []byte("zhen"))}
	if c.p.PreferredName != "" {
		prop = append(prop, tlv.New(0x9F12, []byte(c.p.PreferredName)), tlv.New(0x9F11, []byte{0x01}))
	}
	prop = append(prop, tlv.Template(0xBF0C, tlv.New(0x9F4D, []byte{0x0B, 0x0A})))
	return tlv.Template(0x6F, tlv.New(0x84, c.aid), tlv.Template(0xA5, prop...)).Bytes()
}

func (c *Card) pdol() tlv.DOL {
	if c.p.Interface == "contactless" {
		return contactlessPDOL
	}
	return contactPDOL
}

func (c *Card) gpo(cmd apdu.Command) apdu.Response {
	if c.st != appSelected || c.blocked {
		return fail(apdu.SWConditionsNotSat)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return fail(apdu.SWIncorrectP1P2)
	}
	if len(cmd.Data) < 2 || cmd.Data[0] != 0x83 || int(cmd.Data[1]) != len(cmd.Data)-2 {
		return fail(apdu.SWWrongLength)
	}
	vals, err := c.pdol().Split(cmd.Data[2:])
	if err != nil {
		return fail(apdu.SWWrongLength)
	}
	if c.atc == 0xFFFF {
		return fail(apdu.SWConditionsNotSat) // the counter is exhausted: the card is dead
	}
	c.atc++
	c.cvr = cvr2ndNotRequested
	c.issuerAuth, c.arqc, c.firstData = 0, nil, nil
	c.pdolValue, c.cdol1Value = bytes.Clone(cmd.Data[2:]), nil
	c.st = initiated
	if c.p.Interface == "contactless" {
		return c.qpboc(vals)
	}
	return ok(tlv.Template(0x77, tlv.New(0x82, c.aip), tlv.New(0x94, c.afl)).Bytes())
}

// qpboc is the contactless card's GPO answer (qPBOC, JR/T 0025.12 §7): it decides online
// or offline at once and returns the cryptogram with the track 2 data; an offline
// decision carries the fDDA signature.
func (c *Card) qpboc(vals map[tlv.Tag][]byte) apdu.Response {
	amount := bcdValue(vals[0x9F02])
	ttq := vals[0x9F66]
	cid := byte(cidTC)
	switch {
	case c.p.FirstAC == "decline":
		cid = cidAAC
	case amount < 0 || amount > c.p.OfflineLimit:
		cid = cidARQC
	case len(ttq) == 4 && ttq[1]&0x80 != 0: // the reader asks for an online cryptogram
		cid = cidARQC
	}
	ac, err := c.cryptogram(vals, cid)
	if err != nil {
		return fail(apdu.SWWrongData)
	}
	c.st = done
	if cid == cidARQC {
		c.arqc = ac
		c.st = awaitingIssuer
	}
	var rec1 tlv.List
	rec1, _ = tlv.Parse(c.records[[2]byte{1, 1}])
	items := []tlv.TLV{
		tlv.New(0x82, c.aip), tlv.New(0x94, c.afl), tlv.New(0x9F36, c.atcBytes()),
		tlv.New(0x9F26, ac), tlv.New(0x9F27, []byte{cid}), tlv.New(0x9F10, c.iad()),
		tlv.New(0x57, rec1.Value(0x57)), tlv.New(0x5F34, bcd(c.p.PSN)), tlv.New(0x9F6C, c.ctq()),
	}
	if cid == cidTC && c.icc != nil {
		// fDDA: the terminal's dynamic data is 9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69.
		term := append(append(append(append([]byte(nil), vals[0x9F37]...), vals[0x9F02]...), vals[0x5F2A]...), c.cardAuthData()...)
		sdad, err := emvcrypto.SignDynamicData(c.icc, c.iccDynamicData(), term)
		if err != nil {
			return fail(apdu.SWWrongData)
		}
		items = append(items, tlv.New(0x9F4B, sdad))
	}
	return ok(tlv.Template(0x77, items...).Bytes())
}

// bcdValue reads an n-format amount; -1 when it is not BCD.
func bcdValue(b []byte) int64 {
	if len(b) == 0 {
		return -1
	}
	v, err := strconv.ParseInt(hex.EncodeToString(b), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

func (c *Card) atcBytes() []byte { return binary.BigEndian.AppendUint16(nil, c.atc) }

// iad is the Issuer Application Data, CVN 18 style: length 06, derivation key index 01,
// CVN 12 (18), CVR of 3 bytes preceded by its length.
func (c *Card) iad() []byte { return []byte{0x06, 0x01, 0x12, 0x03, c.cvr, 0x00, 0x00} }

// iccDynamicData is the length of the ICC dynamic number and the number: 8 bytes that
// change with every signature.
func (c *Card) iccDynamicData() []byte {
	c.dynCounter++
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("posfw ICC dynamic number/"+c.p.Name), c.dynCounter))
	return append([]byte{8}, h[:8]...)
}

func (c *Card) readRecord(cmd apdu.Command) apdu.Response {
	if cmd.P2&0x07 != 0x04 {
		return fail(apdu.SWIncorrectP1P2)
	}
	sfi, rec := cmd.P2>>3, cmd.P1
	switch c.st {
	case pseSelected:
		if sfi == 1 && rec >= 1 && int(rec) <= len(c.dir) {
			return ok(c.dir[rec-1])
		}
		return fail(apdu.SWRecordNotFound)
	case initiated, awaitingIssuer, done:
		if r, found := c.records[[2]byte{sfi, rec}]; found {
			return ok(r)
		}
		return fail(apdu.SWRecordNotFound)
	}
	return fail(apdu.SWConditionsNotSat)
}

func (c *Card) getData(cmd apdu.Command) apdu.Response {
	t := tlv.Tag(uint16(cmd.P1)<<8 | uint16(cmd.P2))
	var v []byte
	switch t {
	case 0x9F36:
		v = c.atcBytes()
	case 0x9F13:
		v = binary.BigEndian.AppendUint16(nil, c.lastOnline)
	case 0x9F17:
		v = []byte{c.pinTries}
	default:
		var found bool
		if v, found = c.putData[t]; !found {
			return fail(apdu.SWReferencedNotFound)
		}
	}
	return ok(tlv.New(t, v).Bytes())
}

func (c *Card) internalAuthenticate(cmd apdu.Command) apdu.Response {
	if c.st < initiated || c.icc == nil || (c.p.ODA != "dda" && c.p.ODA != "cda") {
		return fail(apdu.SWConditionsNotSat)
	}
	if len(cmd.Data) != ddol.Len() {
		return fail(apdu.SWWrongLength)
	}
	sdad, err := emvcrypto.SignDynamicData(c.icc, c.iccDynamicData(), cmd.Data)
	if err != nil {
		return fail(apdu.SWWrongData)
	}
	return ok(tlv.New(0x80, sdad).Bytes()) // format 1: the signature alone
}

// cryptogram computes the AC over the terminal's data in vals and the card's AIP, ATC
// and IAD (with the CVR of this cryptogram).
func (c *Card) cryptogram(vals map[tlv.Tag][]byte, cid byte) ([]byte, error) {
	switch {
	case c.st == awaitingIssuer: // second GENERATE AC
		if cid == cidTC {
			c.cvr = c.cvr&^0xC0 | cvr2ndTC
		} else {
			c.cvr &^= 0xC0
		}
	case cid == cidARQC:
		c.cvr |= cvr1stARQC
	case cid == cidTC:
		c.cvr |= cvr1stTC
	}
	sk, err := emvcrypto.ACSessionKey(c.mkAC, c.atcBytes())
	if err != nil {
		return nil, err
	}
	data, err := emvcrypto.ACData(func(t tlv.Tag) ([]byte, bool) {
		switch t {
		case 0x82:
			return c.aip, true
		case 0x9F36:
			return c.atcBytes(), true
		case 0x9F10:
			return c.iad(), true
		}
		v, ok := vals[t]
		return v, ok
	})
	if err != nil {
		return nil, err
	}
	return emvcrypto.Cryptogram(sk, data)
}

func (c *Card) generateAC(cmd apdu.Command) apdu.Response {
	want := cmd.P1 & 0xC0
	if cmd.P2 != 0 || want == 0xC0 {
		return fail(apdu.SWIncorrectP1P2)
	}
	var cid byte
	switch c.st {
	case initiated: // first GENERATE AC
		if c.p.Interface == "contactless" {
			return fail(apdu.SWConditionsNotSat) // qPBOC gave its cryptogram in the GPO answer
		}
		vals, err := cdol1.Split(cmd.Data)
		if err != nil {
			return fail(apdu.SWWrongLength)
		}
		cid = c.firstDecision(want)
		ac, err := c.cryptogram(vals, cid)
		if err != nil {
			return fail(apdu.SWWrongData)
		}
		c.firstData, c.cdol1Value = vals, bytes.Clone(cmd.Data)
		c.st = done
		if cid == cidARQC {
			c.arqc, c.st = ac, awaitingIssuer
		}
		return c.acResponse(cmd, cid, ac, nil)
	case awaitingIssuer: // second GENERATE AC
		if c.p.RefuseSecondAC || want == apdu.ARQC || c.p.Interface == "contactless" {
			c.st = done
			return fail(apdu.SWConditionsNotSat)
		}
		vals, err := cdol2.Split(cmd.Data)
		if err != nil {
			return fail(apdu.SWWrongLength)
		}
		cid = cidAAC
		arc := string(vals[0x8A])
		approved := arc == "00" || arc == "10" || arc == "11"
		if want == apdu.TC && approved && c.issuerAuth >= 0 {
			cid = cidTC
		}
		ac, err := c.cryptogram(vals, cid)
		if err != nil {
			return fail(apdu.SWWrongData)
		}
		if approved {
			c.lastOnline = c.atc
		}
		c.st = done
		return c.acResponse(cmd, cid, ac, cmd.Data)
	}
	return fail(apdu.SWConditionsNotSat)
}

// firstDecision is the card's risk management at the first GENERATE AC: it never
// answers more than the terminal asked (AAC < TC < ARQC), and by its profile goes
// online, approves offline or declines.
func (c *Card) firstDecision(want byte) byte {
	switch {
	case want == apdu.AAC || c.p.FirstAC == "decline":
		return cidAAC
	case c.p.FirstAC == "online":
		return cidARQC
	case want == apdu.ARQC:
		return cidARQC
	}
	return cidTC
}

// acResponse is the GENERATE AC answer: format 1 or 2 by profile, or, when the terminal
// asked for CDA of a CDA card and the cryptogram is not an AAC, format 2 with the
// cryptogram inside the signed dynamic data (Book 2 §6.6.1, Book 3 §6.5.5.4).
func (c *Card) acResponse(cmd apdu.Command, cid byte, ac, cdol2Value []byte) apdu.Response {
	if cmd.P1&apdu.CDA != 0 && c.p.ODA == "cda" && cid != cidAAC {
		items := tlv.List{tlv.New(0x9F27, []byte{cid}), tlv.New(0x9F36, c.atcBytes()), tlv.New(0x9F10, c.iad())}
		hash := emvcrypto.TransactionDataHash(c.pdolValue, c.cdol1Value, cdol2Value, items)
		var un []byte
		if c.firstData != nil {
			un = c.firstData[0x9F37]
		}
		if cdol2Value != nil {
			if v, err := cdol2.Split(cdol2Value); err == nil {
				un = v[0x9F37]
			}
		}
		dyn := c.iccDynamicData()
		sdad, err := emvcrypto.SignDynamicData(c.icc, emvcrypto.CDADynamicData(dyn[1:], cid, ac, hash), un)
		if err != nil {
			return fail(apdu.SWWrongData)
		}
		return ok(tlv.Template(0x77, append(items, tlv.New(0x9F4B, sdad))...).Bytes())
	}
	if c.p.GenACFormat1 {
		v := append(append(append([]byte{cid}, c.atcBytes()...), ac...), c.iad()...)
		return ok(tlv.New(0x80, v).Bytes())
	}
	return ok(tlv.Template(0x77, tlv.New(0x9F27, []byte{cid}), tlv.New(0x9F36, c.atcBytes()),
		tlv.New(0x9F26, ac), tlv.New(0x9F10, c.iad())).Bytes())
}

func (c *Card) externalAuthenticate(cmd apdu.Command) apdu.Response {
	if c.st != awaitingIssuer || c.issuerAuth != 0 {
		return fail(apdu.SWConditionsNotSat)
	}
	if len(cmd.Data) < 8 || len(cmd.Data) > 16 {
		return fail(apdu.SWWrongLength)
	}
	sk, err := emvcrypto.ACSessionKey(c.mkAC, c.atcBytes())
	if err != nil {
		return fail(apdu.SWWrongData)
	}
	if _, err := emvcrypto.VerifyIssuerAuthData(sk, c.arqc, cmd.Data); err != nil {
		c.issuerAuth = -1
		c.cvr |= cvrIssuerAuthFail
		return fail(apdu.SWVerifyFailed)
	}
	c.issuerAuth = 1
	return ok(nil)
}

// script runs an issuer script command with secure messaging (CLA 84): APPLICATION
// BLOCK (1E), APPLICATION UNBLOCK (18) and PUT DATA (DA). Its MAC is checked under the
// SMI session key of the transaction's ARQC.
func (c *Card) script(cmd apdu.Command) apdu.Response {
	if c.arqc == nil || (c.st != awaitingIssuer && c.st != done) {
		return fail(apdu.SWConditionsNotSat)
	}
	if len(cmd.Data) < 8 {
		return fail(apdu.SWWrongLength)
	}
	data, mac := cmd.Data[:len(cmd.Data)-8], cmd.Data[len(cmd.Data)-8:]
	sk, err := emvcrypto.SessionKey(c.mkSMI, c.arqc)
	if err != nil {
		return fail(apdu.SWWrongData)
	}
	want, err := emvcrypto.ScriptMAC(sk, []byte{cmd.CLA, cmd.INS, cmd.P1, cmd.P2}, c.atcBytes(), c.arqc, data)
	if err != nil || !bytes.Equal(want, mac) {
		return fail(0x6988) // incorrect secure messaging data objects
	}
	switch cmd.INS {
	case 0x1E:
		c.blocked = true
	case 0x18:
		c.blocked = false
	case 0xDA:
		t := tlv.Tag(uint16(cmd.P1)<<8 | uint16(cmd.P2))
		if t != 0x9F79 && t != 0x9F14 && t != 0x9F23 {
			return fail(apdu.SWReferencedNotFound)
		}
		c.putData[t] = bytes.Clone(data)
	default:
		return fail(apdu.SWInsNotSupported)
	}
	return ok(nil)
}

// Blocked reports whether the application is blocked (by profile or issuer script).
func (c *Card) Blocked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked
}

// ATC returns the application transaction counter.
func (c *Card) ATC() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}
