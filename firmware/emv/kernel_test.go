package emv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
)

// testDay is the date of the tests' transactions: the test cards are valid then,
// chip-expired is not.
var testDay = time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)

func kernel(p *Params, h Hooks) *Kernel {
	if p == nil {
		p = DefaultParams()
	}
	return &Kernel{P: p, Hooks: h, Now: func() time.Time { return testDay }}
}

func open(t *testing.T, name string) *cardsim.Card {
	t.Helper()
	c, err := cardsim.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issuer plays the host: it verifies the ARQC from field 55 (so field 55 carries all
// the cryptogram's data) and answers with the ARC, the ARPC and, when asked, a script
// putting the electronic cash balance (9F79).
type issuer struct {
	arc       string
	noAnswer  bool
	badARPC   bool
	script71  bool
	script72  bool
	verified  bool
	scriptCmd []byte
}

var testScriptID = []byte{0x00, 0x00, 0x00, 0x07}

func (is *issuer) answer(t *testing.T, card *cardsim.Card, r Result) HostResult {
	t.Helper()
	if r.Outcome != Online {
		t.Fatalf("host asked for a result that is %s", r.Outcome)
	}
	if is.noAnswer {
		return HostResult{}
	}
	p := card.Profile()
	l, err := tlv.Parse(r.Field55)
	if err != nil {
		t.Fatalf("field 55: %v", err)
	}
	get := func(tag tlv.Tag) ([]byte, bool) { o, ok := l.Find(tag); return o.Value, ok }
	ac, _ := get(0x9F26)
	iss := emvcrypto.TestIssuer(p.Issuer)
	if err := iss.VerifyCryptogram(string(r.Card.PAN), r.Card.PSN, get, ac); err != nil {
		t.Fatalf("issuer: ARQC of field 55: %v", err)
	}
	is.verified = true
	atc, _ := get(0x9F36)
	iad, err := iss.IssuerAuthData(string(r.Card.PAN), r.Card.PSN, atc, ac, []byte(is.arc))
	if err != nil {
		t.Fatal(err)
	}
	if is.badARPC {
		iad[0] ^= 1
	}
	h := HostICC{ARC: is.arc, IssuerAuth: iad}
	if is.script71 || is.script72 {
		cmd, err := iss.ScriptCommand(string(r.Card.PAN), r.Card.PSN, atc, ac, []byte{0x84, 0xDA, 0x9F, 0x79}, []byte{0x00, 0x00, 0x00, 0x01, 0x00, 0x00})
		if err != nil {
			t.Fatal(err)
		}
		is.scriptCmd = cmd
		s := Script{ID: testScriptID, Commands: [][]byte{cmd}}
		if is.script71 {
			h.Scripts71 = []Script{s}
		} else {
			h.Scripts72 = []Script{s}
		}
	}
	// The host's field 55 goes over the wire and is read back as the app will.
	back, err := ParseHostICC(h.Bytes())
	if err != nil {
		t.Fatalf("ParseHostICC of the host's own field 55: %v", err)
	}
	return HostResult{Answered: true, ResponseCode: is.arc, ICC: back}
}

func pinHook(calls *int, st PINStatus) func(CardData) PINStatus {
	return func(c CardData) PINStatus {
		if len(c.PAN) == 0 {
			panic("PIN hook without the card's PAN")
		}
		*calls++
		return st
	}
}

// TestContactCards drives every contact test card through the kernel and an issuer.
func TestContactCards(t *testing.T) {
	expiredDenied := DefaultParams()
	expiredDenied.AIDs[0].TACDenial = []byte{0x00, 0x50, 0x00, 0x00, 0x00} // deny expired cards offline
	for _, tc := range []struct {
		name      string
		card      string
		amount    int64
		params    *Params
		pin       PINStatus
		host      *issuer // nil: the first GENERATE AC decides
		first     Outcome
		final     Outcome
		cvm       CVM
		oda       string
		tvrSet    []Bit
		tvrClear  []Bit
		pinCalls  int
		scripts   string // 9F5B in hex
		finalCID  byte
		reasonHas string
	}{
		{name: "chip approved online", card: "chip", amount: 10000, host: &issuer{arc: "00"},
			first: Online, final: Approved, cvm: NoCVM, oda: "dda", tvrSet: []Bit{TVRFloorLimit}, tvrClear: []Bit{TVRDDAFailed, TVRODANotPerformed, TVRExpired}, finalCID: apdu.TC},
		{name: "chip declined 51 by host", card: "chip", amount: 10051, host: &issuer{arc: "51"},
			first: Online, final: Declined, cvm: NoCVM, oda: "dda", finalCID: apdu.AAC},
		{name: "chip host silent: default TAC declines", card: "chip", amount: 10098, host: &issuer{noAnswer: true},
			first: Online, final: Declined, cvm: NoCVM, oda: "dda", finalCID: apdu.AAC},
		{name: "chip ARPC wrong: card declines, reverse", card: "chip", amount: 10000, host: &issuer{arc: "00", badARPC: true},
			first: Online, final: ReverseApproved, oda: "dda", tvrSet: []Bit{TVRIssuerAuthFailed}, finalCID: apdu.AAC},
		{name: "chip issuer script before second AC", card: "chip", amount: 10000, host: &issuer{arc: "00", script71: true},
			first: Online, final: Approved, oda: "dda", scripts: "2000000007", finalCID: apdu.TC},
		{name: "chip issuer script after second AC", card: "chip", amount: 10000, host: &issuer{arc: "00", script72: true},
			first: Online, final: Approved, oda: "dda", scripts: "2000000007", finalCID: apdu.TC},
		{name: "chip-pin online PIN", card: "chip-pin", amount: 20000, pin: PINEntered, host: &issuer{arc: "00"},
			first: Online, final: Approved, cvm: OnlinePIN, oda: "dda", pinCalls: 1, tvrSet: []Bit{TVROnlinePIN}, finalCID: apdu.TC},
		{name: "chip-pin PIN bypassed: signature next", card: "chip-pin", amount: 20000, pin: PINBypassed, host: &issuer{arc: "00"},
			first: Online, final: Approved, cvm: Signature, oda: "dda", pinCalls: 1, tvrClear: []Bit{TVROnlinePIN, TVRCVMFailed}, finalCID: apdu.TC},
		{name: "chip-sig T=0 SDA format 1", card: "chip-sig", amount: 3000, host: &issuer{arc: "00"},
			first: Online, final: Approved, cvm: Signature, oda: "sda", tvrClear: []Bit{TVRSDAFailed}, finalCID: apdu.TC},
		{name: "chip-cda CDA both cryptograms", card: "chip-cda", amount: 5000, pin: PINEntered, host: &issuer{arc: "00"},
			first: Online, final: Approved, cvm: OnlinePIN, oda: "cda", pinCalls: 1, tvrClear: []Bit{TVRCDAFailed}, finalCID: apdu.TC},
		{name: "chip-aac declines offline", card: "chip-aac", amount: 10000,
			first: Declined, final: Declined, oda: "dda"},
		{name: "chip-expired: online TAC sends it online", card: "chip-expired", amount: 10000, host: &issuer{arc: "00"},
			first: Online, final: Approved, oda: "dda", tvrSet: []Bit{TVRExpired}, finalCID: apdu.TC},
		{name: "chip-expired: denial TAC declines offline", card: "chip-expired", amount: 10000, params: expiredDenied,
			first: Declined, final: Declined, oda: "dda", tvrSet: []Bit{TVRExpired}},
		{name: "chip-blocked refused", card: "chip-blocked", amount: 10000,
			first: Refused, final: Refused, reasonHas: "blocked"},
		{name: "chip-refuse2: host approves, card refuses, reverse", card: "chip-refuse2", amount: 10000, host: &issuer{arc: "00"},
			first: Online, final: ReverseApproved, oda: "dda", reasonHas: "6985", finalCID: apdu.AAC},
		{name: "fallback card: chip error", card: "fallback", amount: 10000,
			first: ChipError, final: ChipError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := open(t, tc.card)
			calls := 0
			k := kernel(tc.params, Hooks{PIN: pinHook(&calls, tc.pin)})
			var trace []string
			k.Trace = func(s string) { trace = append(trace, s) }
			tx, r := k.Contact(card, Txn{Amount: tc.amount, Seq: 12})
			if r.Outcome != tc.first {
				t.Fatalf("%s: first result %s (%s); want %s\n%s", tc.card, r.Outcome, r.Reason, tc.first, strings.Join(trace, "\n"))
			}
			if tc.host != nil {
				r = tx.Complete(tc.host.answer(t, card, r))
			}
			if r.Outcome != tc.final {
				t.Fatalf("%s: result %s (%s); want %s\n%s", tc.card, r.Outcome, r.Reason, tc.final, strings.Join(trace, "\n"))
			}
			if tc.final == Refused || tc.final == ChipError {
				if !strings.Contains(r.Reason, tc.reasonHas) {
					t.Errorf("reason %q; want it to contain %q", r.Reason, tc.reasonHas)
				}
				return
			}
			if tc.reasonHas != "" && !strings.Contains(r.Reason, tc.reasonHas) {
				t.Errorf("reason %q; want it to contain %q", r.Reason, tc.reasonHas)
			}
			if r.CVM != tc.cvm {
				t.Errorf("CVM %s; want %s", r.CVM, tc.cvm)
			}
			if r.ODA != tc.oda {
				t.Errorf("ODA %q; want %q", r.ODA, tc.oda)
			}
			if calls != tc.pinCalls {
				t.Errorf("PIN asked %d times; want %d", calls, tc.pinCalls)
			}
			for _, b := range tc.tvrSet {
				if !r.Has(b) {
					t.Errorf("TVR %X lacks bit %v", r.TVR, b)
				}
			}
			for _, b := range tc.tvrClear {
				if r.Has(b) {
					t.Errorf("TVR %X has bit %v", r.TVR, b)
				}
			}
			if got := hex.EncodeToString(r.Scripts); got != tc.scripts {
				t.Errorf("script results %s; want %q", got, tc.scripts)
			}
			if tc.host != nil && r.CID&0xC0 != tc.finalCID {
				t.Errorf("final CID %02X; want %02X", r.CID, tc.finalCID)
			}
			if len(r.AC) != 8 || len(r.ATC) != 2 || len(r.AIP) != 2 {
				t.Errorf("AC %X ATC %X AIP %X; want 8, 2 and 2 bytes", r.AC, r.ATC, r.AIP)
			}
			if r.TSI[0]&0x20 == 0 || r.TSI[0]&0x08 == 0 {
				t.Errorf("TSI %X; want card and terminal risk management performed", r.TSI)
			}
			if string(r.Card.PAN) != card.Profile().PAN || r.Card.PSN != card.Profile().PSN {
				t.Errorf("card data: PAN %s PSN %q; want the card's", r.Card.Masked(), r.Card.PSN)
			}
			if r.EntryMode != EntryChip {
				t.Errorf("entry mode %q; want %q", r.EntryMode, EntryChip)
			}
		})
	}
}

// TestCardRemovedBeforeSecondAC: the host approved, the card is gone: reverse.
func TestCardRemovedBeforeSecondAC(t *testing.T) {
	card := open(t, "chip")
	tx, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 100})
	if r.Outcome != Online {
		t.Fatalf("first result %s; want online", r.Outcome)
	}
	h := (&issuer{arc: "00"}).answer(t, card, r)
	card.PowerOff() // pulled out
	if r = tx.Complete(h); r.Outcome != ReverseApproved {
		t.Fatalf("result %s; want %s", r.Outcome, ReverseApproved)
	}
}

// TestNoCardDataInResult: the result's fmt forms and field 55 hold no PAN or track.
func TestNoCardDataInResult(t *testing.T) {
	card := open(t, "chip")
	_, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 100})
	pan := card.Profile().PAN
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%v", r.Card), fmt.Sprintf("%x", r.Card), hex.EncodeToString(r.Field55)} {
		if strings.Contains(strings.ToUpper(s), pan) || strings.Contains(strings.ToUpper(s), hex.EncodeToString(r.Card.Track2)) {
			t.Errorf("card data in %q", s)
		}
	}
	if string(r.Card.PAN) != pan {
		t.Errorf("Card.PAN is not the card's")
	}
}

// TestField55 checks the tags sent to the host.
func TestField55(t *testing.T) {
	card := open(t, "chip")
	_, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 12345, Seq: 42})
	l, err := tlv.Parse(r.Field55)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41} {
		if _, ok := l.Find(tag); !ok {
			t.Errorf("field 55 lacks %s", tag)
		}
	}
	for _, tag := range []tlv.Tag{0x57, 0x5A, 0x5F24, 0x5F20, 0x9F46} {
		if _, ok := l.Find(tag); ok {
			t.Errorf("field 55 has card data %s", tag)
		}
	}
	if got := hex.EncodeToString(l.Value(0x9F02)); got != "000000012345" {
		t.Errorf("9F02 %s; want 000000012345", got)
	}
	if got := hex.EncodeToString(l.Value(0x9A)); got != "261205" {
		t.Errorf("9A %s; want 261205", got)
	}
	if got := hex.EncodeToString(l.Value(0x9F41)); got != "00000042" {
		t.Errorf("9F41 %s; want 00000042", got)
	}
}

// TestTerminalRiskManagement: floor limit, random selection and velocity.
func TestTerminalRiskManagement(t *testing.T) {
	for _, tc := range []struct {
		name   string
		floor  int64
		target int
		rand   byte // second byte of the random draw: n = rand%99+1
		lcol   byte // 0: no velocity data
		tvr    []Bit
		notTVR []Bit
	}{
		{name: "over floor", floor: 5000, tvr: []Bit{TVRFloorLimit}},
		{name: "under floor, not drawn", floor: 50000, target: 10, rand: 50, notTVR: []Bit{TVRFloorLimit, TVRRandomOnline}},
		{name: "under floor, drawn", floor: 50000, target: 10, rand: 4, tvr: []Bit{TVRRandomOnline}, notTVR: []Bit{TVRFloorLimit}},
		{name: "velocity: lower limit exceeded", floor: 50000, lcol: 1, tvr: []Bit{TVRLowerOffline}, notTVR: []Bit{TVRUpperOffline}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.AIDs[0].FloorLimit, p.AIDs[0].RandomTarget, p.AIDs[0].RandomMax = tc.floor, tc.target, tc.target
			p.AIDs[0].RandomThreshold = tc.floor / 2
			k := kernel(p, Hooks{})
			k.Rand = &fixedRand{draw: tc.rand}
			var card apdu.Card = open(t, "chip")
			if tc.lcol > 0 {
				cs := card.(*cardsim.Card)
				// Two sales offline-unapproved raise the ATC over the last online ATC.
				card = &velocityCard{Card: cs, lcol: tc.lcol, ucol: 9}
				for range 2 {
					kernel(nil, Hooks{}).Contact(cs, Txn{Amount: 100})
				}
			}
			_, r := k.Contact(card, Txn{Amount: 10000})
			for _, b := range tc.tvr {
				if !r.Has(b) {
					t.Errorf("TVR %X lacks %v", r.TVR, b)
				}
			}
			for _, b := range tc.notTVR {
				if r.Has(b) {
					t.Errorf("TVR %X has %v", r.TVR, b)
				}
			}
		})
	}
}

// fixedRand gives the unpredictable numbers' bytes and then draw for random selection.
type fixedRand struct{ draw byte }

func (f *fixedRand) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 0
	}
	if len(b) == 2 {
		b[1] = f.draw
	}
	return len(b), nil
}

// velocityCard adds the consecutive offline limits to the card's first record (not an
// ODA record, so the signatures stay good).
type velocityCard struct {
	*cardsim.Card
	lcol, ucol byte
}

func (v *velocityCard) Transmit(raw []byte) ([]byte, error) {
	resp, err := v.Card.Transmit(raw)
	if err != nil || !bytes.Equal(raw[:4], []byte{0x00, 0xB2, 0x01, 0x0C}) {
		return resp, err
	}
	r, _ := apdu.ParseResponse(resp)
	l, err := tlv.Parse(r.Data)
	if err != nil {
		return resp, nil
	}
	kids := append(l[0].Children, tlv.New(0x9F14, []byte{v.lcol}), tlv.New(0x9F23, []byte{v.ucol}))
	return apdu.Response{Data: tlv.Template(0x70, kids...).Bytes(), SW: r.SW}.Bytes(), nil
}

// TestChooseApplication: a PSE listing two applications asks the cashier.
func TestChooseApplication(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pick   int // index in the offered list of the application to take
		want   Outcome
		offers int
	}{
		{name: "cashier picks the card's application", pick: 1, want: Online, offers: 1},
		{name: "cashier picks one the card cannot select, then the other is taken", pick: 0, want: Online, offers: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var offered [][]Candidate
			k := kernel(nil, Hooks{Choose: func(c []Candidate) (int, error) {
				offered = append(offered, c)
				for i, x := range c {
					if (tc.pick == 1) == bytes.Equal(x.AID, []byte{0xA0, 0, 0, 3, 0x33, 1, 1, 1}) {
						return i, nil
					}
				}
				return 0, nil
			}})
			_, r := k.Contact(&twoAppCard{Card: open(t, "chip")}, Txn{Amount: 100})
			if r.Outcome != tc.want {
				t.Fatalf("result %s (%s); want %s", r.Outcome, r.Reason, tc.want)
			}
			if len(offered) != tc.offers || len(offered[0]) != 2 {
				t.Fatalf("offered %v; want %d offer(s) of 2", offered, tc.offers)
			}
			if offered[0][0].Label != "PBOC DEBIT" || offered[0][1].Label != "UnionPay Credit" {
				t.Errorf("offered labels %q, %q; want by priority PBOC DEBIT, UnionPay Credit", offered[0][0].Label, offered[0][1].Label)
			}
		})
	}
}

// twoAppCard's PSE lists a second application (a credit AID, priority 2) that the card
// cannot select.
type twoAppCard struct {
	*cardsim.Card
	inPSE bool
}

func (c *twoAppCard) Transmit(raw []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(raw)
	if err != nil {
		return resp, err
	}
	if raw[1] == 0xA4 {
		c.inPSE = bytes.Contains(raw, []byte("1PAY"))
	}
	if c.inPSE && bytes.Equal(raw[:4], []byte{0x00, 0xB2, 0x01, 0x0C}) {
		r, _ := apdu.ParseResponse(resp)
		l, _ := tlv.Parse(r.Data)
		credit := tlv.Template(0x61, tlv.New(0x4F, []byte{0xA0, 0, 0, 3, 0x33, 1, 1, 2}), tlv.New(0x50, []byte("UnionPay Credit")), tlv.New(0x87, []byte{2}))
		return apdu.Response{Data: tlv.Template(0x70, append(l[0].Children, credit)...).Bytes(), SW: r.SW}.Bytes(), nil
	}
	return resp, nil
}

// TestContactless drives the contactless test cards.
func TestContactless(t *testing.T) {
	for _, tc := range []struct {
		name     string
		card     string
		amount   int64
		pin      PINStatus
		host     *issuer
		first    Outcome
		final    Outcome
		cvm      CVM
		oda      string
		pinCalls int
	}{
		{name: "tap online approved", card: "tap", amount: 5000, host: &issuer{arc: "00"}, first: Online, final: Approved, cvm: NoCVM},
		{name: "tap online declined", card: "tap", amount: 5051, host: &issuer{arc: "51"}, first: Online, final: Declined, cvm: NoCVM},
		{name: "tap over the CVM limit: online PIN", card: "tap", amount: 40000, pin: PINEntered, host: &issuer{arc: "00"}, first: Online, final: Approved, cvm: OnlinePIN, pinCalls: 1},
		{name: "tap over the transaction limit: insert", card: "tap", amount: 200000, first: InsertCard, final: InsertCard},
		{name: "tap-offline approved offline with fDDA", card: "tap-offline", amount: 5000, first: Approved, final: Approved, cvm: NoCVM, oda: "fdda"},
		{name: "tap-offline over its offline limit: online", card: "tap-offline", amount: 20000, host: &issuer{arc: "00"}, first: Online, final: Approved, cvm: NoCVM},
		{name: "tap-offline over the CVM limit, offline card: signature", card: "tap-offline", amount: 40000, host: &issuer{arc: "00"}, first: Online, final: Approved, cvm: Signature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := open(t, tc.card)
			calls := 0
			k := kernel(nil, Hooks{PIN: pinHook(&calls, tc.pin)})
			tx, r := k.Contactless(card, Txn{Amount: tc.amount})
			if r.Outcome != tc.first {
				t.Fatalf("first result %s (%s); want %s", r.Outcome, r.Reason, tc.first)
			}
			if tc.host != nil {
				card.PowerOff() // the card has left the field: the host's answer decides
				r = tx.Complete(tc.host.answer(t, card, r))
			}
			if r.Outcome != tc.final {
				t.Fatalf("result %s (%s); want %s", r.Outcome, r.Reason, tc.final)
			}
			if tc.final == InsertCard {
				return
			}
			if r.CVM != tc.cvm || calls != tc.pinCalls {
				t.Errorf("CVM %s after %d PIN entries; want %s after %d", r.CVM, calls, tc.cvm, tc.pinCalls)
			}
			if r.ODA != tc.oda || r.Has(TVRDDAFailed) {
				t.Errorf("ODA %q TVR %X; want %q and no DDA failure", r.ODA, r.TVR, tc.oda)
			}
			if r.EntryMode != EntryContactless || string(r.Card.PAN) != card.Profile().PAN {
				t.Errorf("entry mode %q, PAN %s; want %q and the card's", r.EntryMode, r.Card.Masked(), EntryContactless)
			}
			if len(r.Field55) == 0 {
				t.Errorf("no field 55")
			}
		})
	}
}

// TestFDDAForged: an offline tap whose signature does not verify is declined.
func TestFDDAForged(t *testing.T) {
	_, r := kernel(nil, Hooks{}).Contactless(&forgeCard{Card: open(t, "tap-offline")}, Txn{Amount: 5000})
	if r.Outcome != Declined || !r.Has(TVRDDAFailed) {
		t.Fatalf("result %s TVR %X; want declined with the DDA failed bit", r.Outcome, r.TVR)
	}
}

// forgeCard flips a bit of the fDDA signature in the GPO answer.
type forgeCard struct{ *cardsim.Card }

func (c *forgeCard) Transmit(raw []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(raw)
	if err == nil && raw[1] == 0xA8 {
		resp = bytes.Clone(resp)
		resp[len(resp)-10] ^= 0x01 // inside 9F4B, the last object
	}
	return resp, err
}

func TestSwipe(t *testing.T) {
	p := DefaultParams()
	for _, tc := range []struct {
		sc       string
		failures int
		reader   bool
		want     SwipeDecision
		entry    string
		fallback bool
	}{
		{"101", 0, true, SwipeAccept, EntrySwipe, false},
		{"201", 0, true, SwipeUseChip, "", false},
		{"201", 2, true, SwipeUseChip, "", false},
		{"201", 3, true, SwipeFallback, EntryFallback, true},
		{"620", 5, true, SwipeFallback, EntryFallback, true},
		{"201", 0, false, SwipeAccept, EntrySwipe, false},
		{"", 0, true, SwipeAccept, EntrySwipe, false},
	} {
		got := p.Swipe(SwipeCheck{ServiceCode: tc.sc, ChipFailures: tc.failures, HasChipReader: tc.reader})
		if got.Decision != tc.want || got.EntryMode != tc.entry || got.Fallback != tc.fallback {
			t.Errorf("Swipe(%q, %d failures, reader %v) = %+v; want %v %q fallback %v", tc.sc, tc.failures, tc.reader, got, tc.want, tc.entry, tc.fallback)
		}
	}
}

// TestFallbackCard: the fallback card's chip fails as often as asked, then its swipe
// is a fallback.
func TestFallbackCard(t *testing.T) {
	p := DefaultParams()
	k := kernel(p, Hooks{})
	card := open(t, "fallback")
	failures := 0
	for {
		d := p.Swipe(SwipeCheck{ServiceCode: card.Profile().ServiceCode, ChipFailures: failures, HasChipReader: true})
		if d.Decision == SwipeFallback {
			break
		}
		if d.Decision != SwipeUseChip {
			t.Fatalf("decision %v; want use chip", d.Decision)
		}
		_, r := k.Contact(card, Txn{Amount: 100})
		if r.Outcome != ChipError {
			t.Fatalf("chip result %s; want chip error", r.Outcome)
		}
		failures++
	}
	if failures != p.ChipFailuresBeforeFallback {
		t.Errorf("fallback after %d chip failures; want %d", failures, p.ChipFailuresBeforeFallback)
	}
}

func TestParamsCheck(t *testing.T) {
	if err := DefaultParams().Check(); err != nil {
		t.Fatalf("DefaultParams: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*Params)
	}{
		{"no AID", func(p *Params) { p.AIDs = nil }},
		{"short TAC", func(p *Params) { p.AIDs[0].TACOnline = []byte{1} }},
		{"country", func(p *Params) { p.Country = nil }},
		{"random", func(p *Params) { p.AIDs[0].RandomTarget = 120 }},
		{"IFD serial", func(p *Params) { p.IFDSerial = "x" }},
	} {
		p := DefaultParams()
		tc.break_(p)
		if err := p.Check(); err == nil {
			t.Errorf("%s: Check = nil; want an error", tc.name)
		}
		_, r := kernel(p, Hooks{}).Contact(open(t, "chip"), Txn{Amount: 1})
		if r.Outcome != Refused {
			t.Errorf("%s: Contact = %s; want refused", tc.name, r.Outcome)
		}
	}
}

var _ = errors.New

// TestCDAForged: a CDA signature that does not verify turns the ARQC into a decline.
func TestCDAForged(t *testing.T) {
	calls := 0
	_, r := kernel(nil, Hooks{PIN: pinHook(&calls, PINEntered)}).Contact(&forgeGenAC{Card: open(t, "chip-cda")}, Txn{Amount: 5000})
	if r.Outcome != Declined || !r.Has(TVRCDAFailed) {
		t.Fatalf("result %s TVR %X; want declined with the CDA failed bit", r.Outcome, r.TVR)
	}
}

// forgeGenAC flips a bit of the signed dynamic data in GENERATE AC answers.
type forgeGenAC struct{ *cardsim.Card }

func (c *forgeGenAC) Transmit(raw []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(raw)
	if err == nil && raw[1] == 0xAE && len(resp) > 20 {
		resp = bytes.Clone(resp)
		resp[len(resp)-10] ^= 0x01 // inside 9F4B, the last object
	}
	return resp, err
}

// TestCDAOtherData: a card that signed other transaction data than the terminal sent
// (the amount changed on the way) fails CDA's transaction data hash.
func TestCDAOtherData(t *testing.T) {
	calls := 0
	_, r := kernel(nil, Hooks{PIN: pinHook(&calls, PINEntered)}).Contact(&changeAmount{Card: open(t, "chip-cda")}, Txn{Amount: 5000})
	if r.Outcome != Declined || !r.Has(TVRCDAFailed) {
		t.Fatalf("result %s TVR %X; want declined with the CDA failed bit", r.Outcome, r.TVR)
	}
}

// changeAmount raises the amount of GENERATE AC commands before the card sees them.
type changeAmount struct{ *cardsim.Card }

func (c *changeAmount) Transmit(raw []byte) ([]byte, error) {
	if raw[1] == 0xAE && len(raw) > 10 {
		raw = bytes.Clone(raw)
		raw[9]++ // 9F02's fifth byte: CDOL1 starts with the amount
	}
	return c.Card.Transmit(raw)
}

// TestAbort: a sale given up while online asks the card for an AAC and declines.
func TestAbort(t *testing.T) {
	var trace []string
	k := kernel(nil, Hooks{})
	k.Trace = func(s string) { trace = append(trace, s) }
	tx, r := k.Contact(open(t, "chip"), Txn{Amount: 100})
	if r.Outcome != Online {
		t.Fatalf("first result %s; want online", r.Outcome)
	}
	if r = tx.Abort(); r.Outcome != Declined || r.CID&0xC0 != apdu.AAC || r.ARC != "Z3" {
		t.Fatalf("Abort = %s ARC %q; want declined with an AAC and Z3", r, r.ARC)
	}
	if !strings.Contains(strings.Join(trace, "\n"), "GENERATE AC 80AE0000") {
		t.Errorf("no GENERATE AC for an AAC in the trace")
	}
	if r2 := tx.Complete(HostResult{Answered: true, ResponseCode: "00"}); r2.Outcome != Declined {
		t.Errorf("Complete after Abort = %s; want it to stay declined", r2.Outcome)
	}
}

// TestNoParams: a kernel without parameters refuses, it does not panic.
func TestNoParams(t *testing.T) {
	k := &Kernel{}
	if _, r := k.Contact(open(t, "chip"), Txn{Amount: 1}); r.Outcome != Refused {
		t.Errorf("Contact without parameters = %s; want refused", r.Outcome)
	}
	if _, r := k.Contactless(open(t, "tap"), Txn{Amount: 1}); r.Outcome != Refused {
		t.Errorf("Contactless without parameters = %s; want refused", r.Outcome)
	}
}

// TestMandatoryData: a card whose records lack a mandatory object is refused.
func TestMandatoryData(t *testing.T) {
	for _, tag := range []tlv.Tag{0x5F24, 0x5A, 0x8C, 0x8D} {
		_, r := kernel(nil, Hooks{}).Contact(&stripTag{Card: open(t, "chip"), tag: tag}, Txn{Amount: 100})
		if r.Outcome != Refused || !strings.Contains(r.Reason, tag.String()) {
			t.Errorf("without %s: %s (%s); want refused naming it", tag, r.Outcome, r.Reason)
		}
	}
}

// stripTag removes one object from the records it is in.
type stripTag struct {
	*cardsim.Card
	tag tlv.Tag
}

func (c *stripTag) Transmit(raw []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(raw)
	if err != nil || raw[1] != 0xB2 {
		return resp, err
	}
	r, _ := apdu.ParseResponse(resp)
	l, perr := tlv.Parse(r.Data)
	if perr != nil || len(l) != 1 || l[0].Tag != 0x70 {
		return resp, nil
	}
	var kids []tlv.TLV
	for _, o := range l[0].Children {
		if o.Tag != c.tag {
			kids = append(kids, o)
		}
	}
	return apdu.Response{Data: tlv.Template(0x70, kids...).Bytes(), SW: r.SW}.Bytes(), nil
}

// TestCDAKeyUnrecoverable: without the CA key the ICC key cannot be recovered: CDA
// failed in the TVR, the online action code sends the sale online without asking the
// card for CDA.
func TestCDAKeyUnrecoverable(t *testing.T) {
	p := DefaultParams()
	p.CAPK = nil
	var trace []string
	k := kernel(p, Hooks{PIN: func(CardData) PINStatus { return PINEntered }})
	k.Trace = func(s string) { trace = append(trace, s) }
	_, r := k.Contact(open(t, "chip-cda"), Txn{Amount: 100})
	if r.Outcome != Online || !r.Has(TVRCDAFailed) {
		t.Fatalf("result %s TVR %X; want online with CDA failed", r.Outcome, r.TVR)
	}
	if !strings.Contains(strings.Join(trace, "\n"), "GENERATE AC 80AE8000") {
		t.Errorf("the GENERATE AC asked for CDA (or no ARQC):\n%s", strings.Join(trace, "\n"))
	}
}

// TestIssuerAuthInCDOL2: a card whose CDOL2 asks for 91 gets the issuer authentication
// data with the second GENERATE AC, and no EXTERNAL AUTHENTICATE.
func TestIssuerAuthInCDOL2(t *testing.T) {
	card := open(t, "chip")
	c := &cdol2With91{Card: card}
	var trace []string
	k := kernel(nil, Hooks{})
	k.Trace = func(s string) { trace = append(trace, s) }
	tx, r := k.Contact(c, Txn{Amount: 100})
	if r.Outcome != Online {
		t.Fatalf("first result %s (%s); want online", r.Outcome, r.Reason)
	}
	h := (&issuer{arc: "00"}).answer(t, card, r)
	if r = tx.Complete(h); r.Outcome != Approved {
		t.Fatalf("result %s (%s); want approved", r.Outcome, r.Reason)
	}
	if !bytes.Equal(c.got91, h.ICC.IssuerAuth) {
		t.Errorf("91 in the second GENERATE AC %X; want %X", c.got91, h.ICC.IssuerAuth)
	}
	if strings.Contains(strings.Join(trace, "\n"), "EXTERNAL AUTHENTICATE") {
		t.Errorf("EXTERNAL AUTHENTICATE sent though CDOL2 takes 91")
	}
}

// cdol2With91 shows the kernel a CDOL2 of 8A, 91 and the card's own list, and takes 91
// out of the second GENERATE AC before the card sees it.
type cdol2With91 struct {
	*cardsim.Card
	firstDone bool
	got91     []byte
}

func (c *cdol2With91) Transmit(raw []byte) ([]byte, error) {
	if raw[1] == 0xAE {
		if c.firstDone && len(raw) > 5+12 {
			c.got91 = bytes.Clone(raw[7:17])
			cmd, _ := apdu.ParseCommand(raw)
			cmd.Data = append(bytes.Clone(cmd.Data[:2]), cmd.Data[12:]...)
			raw = cmd.Bytes()
		}
		c.firstDone = true
	}
	resp, err := c.Card.Transmit(raw)
	if err != nil || !bytes.Equal(raw[:4], []byte{0x00, 0xB2, 0x01, 0x14}) {
		return resp, err
	}
	r, _ := apdu.ParseResponse(resp)
	l, _ := tlv.Parse(r.Data)
	var kids []tlv.TLV
	for _, o := range l[0].Children {
		if o.Tag == 0x8D {
			o = tlv.New(0x8D, append([]byte{0x8A, 0x02, 0x91, 0x0A}, o.Value[3:]...))
		}
		kids = append(kids, o)
	}
	return apdu.Response{Data: tlv.Template(0x70, kids...).Bytes(), SW: r.SW}.Bytes(), nil
}
