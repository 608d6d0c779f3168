package cardsim

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
	"posfw/drivers/testkit"
)

// term is a minimal terminal written for the tests from EMV Book 3: it sends
// hand-built APDUs through apdu.Exchange and keeps the data it learns.
type term struct {
	t    *testing.T
	card *Card
	data map[tlv.Tag][]byte // terminal data and everything the card said
	st   []byte             // static data to be authenticated
	pdol []byte             // the PDOL's value as sent in GPO
	last apdu.Response      // the last answer
}

func newTerm(t *testing.T, name string) *term {
	t.Helper()
	c, err := Open(name)
	if err != nil {
		t.Fatalf("Open(%s) = %v", name, err)
	}
	return &term{t: t, card: c, data: map[tlv.Tag][]byte{
		0x9F02: testkit.MustUnhex("000000001000"), 0x9F03: testkit.MustUnhex("000000000000"),
		0x9F1A: testkit.MustUnhex("0156"), 0x95: make([]byte, 5), 0x5F2A: testkit.MustUnhex("0156"),
		0x9A: testkit.MustUnhex("261205"), 0x9C: {0x00}, 0x9F37: testkit.MustUnhex("7FBC4049"),
		0x9F35: {0x22}, 0x9F34: testkit.MustUnhex("1F0002"), 0x9F66: testkit.MustUnhex("26000080"),
	}}
}

func (m *term) get(t tlv.Tag) ([]byte, bool) { v, ok := m.data[t]; return v, ok }

// send exchanges one command and parses the answer's data into m.data.
func (m *term) send(c apdu.Command) apdu.Response {
	m.t.Helper()
	r, err := apdu.Exchange(m.card, c.Bytes())
	if err != nil {
		m.t.Fatalf("Exchange(% X) = %v", c.Bytes(), err)
	}
	if len(r.Data) > 0 {
		l, err := tlv.Parse(r.Data)
		if err != nil {
			m.t.Fatalf("answer to % X does not parse: %v", c.Bytes(), err)
		}
		l.Walk(func(o tlv.TLV) { m.data[o.Tag] = o.Value })
	}
	return r
}

func (m *term) must(c apdu.Command) apdu.Response {
	m.t.Helper()
	r := m.send(c)
	if !r.OK() {
		m.t.Fatalf("% X answered %04X; want 9000", c.Bytes(), r.SW)
	}
	return r
}

// start powers the card, selects the application through the PSE or PPSE, runs GPO
// and reads the records the AFL names, keeping the static data to authenticate.
func (m *term) start() {
	m.t.Helper()
	if _, err := m.card.PowerOn(); err != nil {
		m.t.Fatalf("PowerOn = %v", err)
	}
	if m.card.p.Interface == "contactless" {
		m.must(apdu.SelectByName(PPSE, false))
	} else {
		m.must(apdu.SelectByName(PSE, false))
		m.must(apdu.ReadRecord(1, 1))
	}
	aid := m.data[0x4F]
	m.must(apdu.SelectByName(aid, false))
	pdol, err := tlv.ParseDOL(m.data[0x9F38])
	if err != nil {
		m.t.Fatalf("PDOL: %v", err)
	}
	m.pdol = emvtag.BuildDOL(pdol, m.get)
	r := m.must(apdu.GetProcessingOptions(m.pdol))
	if r.Data[0] == 0x80 { // format 1
		m.data[0x82], m.data[0x94] = r.Data[2:4], r.Data[4:]
	}
	afl := m.data[0x94]
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi := afl[i] >> 3
		for rec := afl[i+1]; rec <= afl[i+2]; rec++ {
			r := m.must(apdu.ReadRecord(sfi, rec))
			if rec < afl[i+1]+afl[i+3] {
				o, _, _ := tlv.ParseOne(r.Data)
				m.st = append(m.st, o.Value...)
			}
		}
	}
	m.st = append(m.st, m.data[0x82]...) // 9F4A lists 82
}

// issuerKey recovers the issuer's key from the card's certificate under the test CAPK.
func (m *term) issuerKey() emvcrypto.PublicKey {
	m.t.Helper()
	if m.data[0x8F][0] != emvcrypto.TestCAPKIndex {
		m.t.Fatalf("CA key index %X; want %X", m.data[0x8F], emvcrypto.TestCAPKIndex)
	}
	c, err := emvcrypto.RecoverIssuerCert(emvcrypto.TestCAPK(), m.data[0x90], m.data[0x92], m.data[0x9F32], m.data[0x5A])
	if err != nil {
		m.t.Fatalf("RecoverIssuerCert = %v", err)
	}
	return c.Key
}

func (m *term) iccKey() emvcrypto.PublicKey {
	m.t.Helper()
	c, err := emvcrypto.RecoverICCCert(m.issuerKey(), m.data[0x9F46], m.data[0x9F48], m.data[0x9F47], m.data[0x5A], m.st)
	if err != nil {
		m.t.Fatalf("RecoverICCCert = %v", err)
	}
	return c.Key
}

// genAC sends GENERATE AC with the DOL's value and returns CID and cryptogram, from
// either response format.
func (m *term) genAC(p1 byte, dol tlv.DOL) (byte, []byte, uint16) {
	m.t.Helper()
	r := m.send(apdu.GenerateAC(p1, emvtag.BuildDOL(dol, m.get)))
	m.last = r
	if !r.OK() {
		return 0, nil, r.SW
	}
	if r.Data[0] == 0x80 {
		v := r.Data[2:]
		m.data[0x9F27], m.data[0x9F36], m.data[0x9F26], m.data[0x9F10] = v[:1], v[1:3], v[3:11], v[11:]
	}
	return m.data[0x9F27][0], m.data[0x9F26], r.SW
}

// verifyAC is the issuer's check of the cryptogram: the host simulator's code.
func (m *term) verifyAC() error {
	p := m.card.p
	return emvcrypto.TestIssuer(p.Issuer).VerifyCryptogram(p.PAN, p.PSN, m.get, m.data[0x9F26])
}

func TestCatalogue(t *testing.T) {
	want := []string{"chip", "chip-aac", "chip-blocked", "chip-cda", "chip-expired", "chip-pin", "chip-refuse2", "chip-sig", "fallback", "tap", "tap-offline"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
	for _, name := range Names() {
		p, err := Lookup(name)
		if err != nil {
			t.Errorf("Lookup(%s) = %v", name, err)
			continue
		}
		if !luhn(p.PAN) {
			t.Errorf("%s: PAN fails the Luhn check", name)
		}
		if _, err := New(p); err != nil {
			t.Errorf("New(%s) = %v", name, err)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Errorf("Lookup(nope) = nil error; want one")
	}
}

func luhn(pan string) bool {
	sum := 0
	for i := range len(pan) {
		d := int(pan[len(pan)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// TestContactOnline runs a whole contact transaction on each card that goes online:
// ODA, first GENERATE AC (ARQC verified by the issuer's code), EXTERNAL AUTHENTICATE
// with the issuer's ARPC, second GENERATE AC (TC verified too).
func TestContactOnline(t *testing.T) {
	for _, name := range []string{"chip", "chip-pin", "chip-sig", "chip-expired"} {
		t.Run(name, func(t *testing.T) {
			m := newTerm(t, name)
			m.start()
			switch m.card.p.ODA {
			case "dda":
				key := m.iccKey()
				r := m.must(apdu.InternalAuthenticate(m.data[0x9F37]))
				o, _, err := tlv.ParseOne(r.Data) // format 1: 80 and the signature
				if err != nil || o.Tag != 0x80 {
					t.Fatalf("INTERNAL AUTHENTICATE answer % X: %v", r.Data, err)
				}
				if _, err := emvcrypto.VerifyDynamicData(key, o.Value, m.data[0x9F37]); err != nil {
					t.Fatalf("DDA signature = %v", err)
				}
			case "sda":
				if _, err := emvcrypto.VerifyStaticData(m.issuerKey(), m.data[0x93], m.st); err != nil {
					t.Fatalf("SDA = %v", err)
				}
			}
			if got, want := m.data[0x5F24], bcd(m.card.p.Expiry); !bytes.Equal(got, want) {
				t.Errorf("5F24 = %X; want %X", got, want)
			}
			cid, arqc, sw := m.genAC(apdu.ARQC, cdol1)
			if sw != apdu.SWOK || cid != cidARQC {
				t.Fatalf("first GENERATE AC = CID %02X SW %04X; want ARQC (80), 9000", cid, sw)
			}
			if err := m.verifyAC(); err != nil {
				t.Fatalf("issuer's check of the ARQC = %v", err)
			}
			p := m.card.p
			iad, err := emvcrypto.TestIssuer(p.Issuer).IssuerAuthData(p.PAN, p.PSN, m.data[0x9F36], arqc, []byte("00"))
			if err != nil {
				t.Fatal(err)
			}
			m.must(apdu.ExternalAuthenticate(iad))
			m.data[0x8A] = []byte("00")
			cid, _, sw = m.genAC(apdu.TC, cdol2)
			if sw != apdu.SWOK || cid != cidTC {
				t.Fatalf("second GENERATE AC = CID %02X SW %04X; want TC (40), 9000", cid, sw)
			}
			if err := m.verifyAC(); err != nil {
				t.Errorf("issuer's check of the TC = %v", err)
			}
			if _, _, sw := m.genAC(apdu.TC, cdol2); sw != apdu.SWConditionsNotSat {
				t.Errorf("a third GENERATE AC answered %04X; want 6985", sw)
			}
		})
	}
}

// TestSecondACRules: what the card answers to the second GENERATE AC after each host
// outcome.
func TestSecondACRules(t *testing.T) {
	for _, tt := range []struct {
		name    string
		card    string
		arc     string
		badARPC bool
		noARPC  bool
		ask     byte
		wantCID byte
		wantSW  uint16
	}{
		{"approved", "chip", "00", false, false, apdu.TC, cidTC, apdu.SWOK},
		{"approved, no issuer authentication", "chip", "00", false, true, apdu.TC, cidTC, apdu.SWOK},
		{"declined by the host", "chip", "05", false, false, apdu.AAC, cidAAC, apdu.SWOK},
		{"host approved but the terminal asks TC with a bad ARC", "chip", "51", false, false, apdu.TC, cidAAC, apdu.SWOK},
		{"ARPC fails", "chip", "00", true, false, apdu.TC, cidAAC, apdu.SWOK},
		{"unable to go online", "chip", "Z3", false, true, apdu.TC, cidAAC, apdu.SWOK},
		{"card refuses the second GENERATE AC", "chip-refuse2", "00", false, false, apdu.TC, 0, apdu.SWConditionsNotSat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newTerm(t, tt.card)
			m.start()
			_, arqc, _ := m.genAC(apdu.ARQC, cdol1)
			p := m.card.p
			iad, _ := emvcrypto.TestIssuer(p.Issuer).IssuerAuthData(p.PAN, p.PSN, m.data[0x9F36], arqc, []byte(tt.arc))
			if tt.badARPC {
				iad[0] ^= 0xFF
			}
			if !tt.noARPC {
				want := uint16(apdu.SWOK)
				if tt.badARPC {
					want = apdu.SWVerifyFailed
				}
				if r := m.send(apdu.ExternalAuthenticate(iad)); r.SW != want {
					t.Fatalf("EXTERNAL AUTHENTICATE = %04X; want %04X", r.SW, want)
				}
			}
			m.data[0x8A] = []byte(tt.arc)
			cid, _, sw := m.genAC(tt.ask, cdol2)
			if sw != tt.wantSW || (sw == apdu.SWOK && cid != tt.wantCID) {
				t.Fatalf("second GENERATE AC = CID %02X SW %04X; want %02X %04X", cid, sw, tt.wantCID, tt.wantSW)
			}
			if sw == apdu.SWOK {
				if err := m.verifyAC(); err != nil {
					t.Errorf("issuer's check of the second cryptogram = %v", err)
				}
			}
		})
	}
}

func TestCardDeclinesOffline(t *testing.T) {
	m := newTerm(t, "chip-aac")
	for _, ask := range []byte{apdu.ARQC, apdu.TC} {
		m.start() // a new transaction each time
		cid, _, sw := m.genAC(ask, cdol1)
		if sw != apdu.SWOK || cid != cidAAC {
			t.Errorf("first GENERATE AC asking %02X = CID %02X SW %04X; want AAC, 9000", ask, cid, sw)
		}
		if err := m.verifyAC(); err != nil {
			t.Errorf("issuer's check of the AAC = %v", err)
		}
		if r := m.send(apdu.ExternalAuthenticate(make([]byte, 10))); r.SW != apdu.SWConditionsNotSat {
			t.Errorf("EXTERNAL AUTHENTICATE after an AAC = %04X; want 6985", r.SW)
		}
	}
}

func TestBlockedAndMute(t *testing.T) {
	m := newTerm(t, "chip-blocked")
	if _, err := m.card.PowerOn(); err != nil {
		t.Fatal(err)
	}
	aid := testkit.MustUnhex("A000000333010101")
	if r := m.send(apdu.SelectByName(aid, false)); r.SW != apdu.SWWarningSelected {
		t.Errorf("SELECT of a blocked application = %04X; want 6283", r.SW)
	}
	if r := m.send(apdu.GetProcessingOptions([]byte{0x01, 0x56})); r.SW != apdu.SWConditionsNotSat {
		t.Errorf("GPO of a blocked application = %04X; want 6985", r.SW)
	}

	f, err := Open("fallback")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.PowerOn(); !errors.Is(err, ErrMute) {
		t.Errorf("PowerOn(fallback) = %v; want ErrMute", err)
	}
	if _, err := f.Transmit(apdu.SelectByName(PSE, false).Bytes()); !errors.Is(err, ErrNotPowered) {
		t.Errorf("Transmit to a mute card = %v; want ErrNotPowered", err)
	}
	if got := f.Profile().ServiceCode; got[0] != '2' {
		t.Errorf("fallback service code %s; want 2xx (chip present)", got)
	}
}

// TestT0 checks the raw T=0 answers of chip-sig: 61xx for a case 4 command and 6Cxx
// for a wrong Le, which apdu.Exchange then resolves.
func TestT0(t *testing.T) {
	c, _ := Open("chip-sig")
	atr, _ := c.PowerOn()
	if !bytes.Equal(atr, atrT0) {
		t.Errorf("ATR = % X; want % X", atr, atrT0)
	}
	raw, _ := c.Transmit(apdu.SelectByName(PSE, false).Bytes())
	if len(raw) != 2 || raw[0] != 0x61 {
		t.Fatalf("SELECT on T=0 = % X; want 61xx", raw)
	}
	fci, _ := c.Transmit(apdu.Command{CLA: 0, INS: 0xC0, Le: int(raw[1])}.Bytes())
	if l, err := tlv.Parse(fci[:len(fci)-2]); err != nil || !bytes.Equal(l.Value(0x84), PSE) {
		t.Errorf("GET RESPONSE = % X; want the PSE's FCI", fci)
	}
	raw, _ = c.Transmit(apdu.ReadRecord(1, 1).Bytes()) // Le 00
	if len(raw) != 2 || raw[0] != 0x6C {
		t.Fatalf("READ RECORD with Le 00 on T=0 = % X; want 6Cxx", raw)
	}
	rec, _ := c.Transmit(apdu.Command{CLA: 0, INS: 0xB2, P1: 1, P2: 0x0C, Le: int(raw[1])}.Bytes())
	if l, err := tlv.Parse(rec[:len(rec)-2]); err != nil || l.Value(0x4F) == nil {
		t.Errorf("READ RECORD with Le %02X = % X; want the directory record", raw[1], rec)
	}
}

func TestContactless(t *testing.T) {
	for _, tt := range []struct {
		name    string
		card    string
		amount  string
		wantCID byte
		fdda    bool
	}{
		{"tap: online", "tap", "000000001000", cidARQC, false},
		{"tap-offline under its limit: TC with fDDA", "tap-offline", "000000010000", cidTC, true},
		{"tap-offline over its limit: online", "tap-offline", "000000010001", cidARQC, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newTerm(t, tt.card)
			m.data[0x9F02] = testkit.MustUnhex(tt.amount)
			m.start()
			if got := m.data[0x9F27]; len(got) != 1 || got[0] != tt.wantCID {
				t.Fatalf("GPO cryptogram type %X; want %02X", got, tt.wantCID)
			}
			if m.data[0x57] == nil {
				t.Errorf("GPO answer lacks track 2 equivalent data")
			}
			if err := m.verifyAC(); err != nil {
				t.Errorf("issuer's check of the cryptogram = %v", err)
			}
			_, hasSig := m.data[0x9F4B]
			if hasSig != tt.fdda {
				t.Fatalf("fDDA signature present %v; want %v", hasSig, tt.fdda)
			}
			if tt.fdda {
				term := slices.Concat(m.data[0x9F37], m.data[0x9F02], m.data[0x5F2A], m.data[0x9F69])
				if _, err := emvcrypto.VerifyDynamicData(m.iccKey(), m.data[0x9F4B], term); err != nil {
					t.Errorf("fDDA = %v", err)
				}
				term[0] ^= 1
				if _, err := emvcrypto.VerifyDynamicData(m.iccKey(), m.data[0x9F4B], term); err == nil {
					t.Errorf("fDDA verifies over another unpredictable number")
				}
			}
			if r := m.send(apdu.SelectByName(PSE, false)); r.SW != apdu.SWFileNotFound {
				t.Errorf("SELECT PSE on a contactless card = %04X; want 6A82 (only the PPSE)", r.SW)
			}
		})
	}
}

// TestIssuerScript: an APPLICATION BLOCK with the issuer's MAC blocks the application;
// a damaged MAC does nothing.
func TestIssuerScript(t *testing.T) {
	for _, damaged := range []bool{true, false} {
		m := newTerm(t, "chip")
		m.start()
		_, arqc, _ := m.genAC(apdu.ARQC, cdol1)
		p := m.card.p
		cmd, err := emvcrypto.TestIssuer(p.Issuer).ScriptCommand(p.PAN, p.PSN, m.data[0x9F36], arqc, []byte{0x84, 0x1E, 0x00, 0x00}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := uint16(apdu.SWOK)
		if damaged {
			cmd[len(cmd)-1] ^= 1
			want = 0x6988
		}
		r, err := apdu.Exchange(m.card, cmd)
		if err != nil || r.SW != want {
			t.Fatalf("script (damaged %v) = %04X, %v; want %04X", damaged, r.SW, err, want)
		}
		if got := m.card.Blocked(); got == damaged {
			t.Errorf("after the script (damaged %v) Blocked() = %v", damaged, got)
		}
	}
}

func TestGetData(t *testing.T) {
	m := newTerm(t, "chip")
	m.start() // GPO counts a transaction
	if got := m.must(apdu.GetData(0x9F36)); !bytes.Equal(got.Data, testkit.MustUnhex("9F36 02 0002")) {
		t.Errorf("GET DATA ATC = % X; want 9F36 02 0002", got.Data)
	}
	if got := m.must(apdu.GetData(0x9F17)); !bytes.Equal(got.Data, testkit.MustUnhex("9F17 01 03")) {
		t.Errorf("GET DATA PIN try counter = % X; want 9F17 01 03", got.Data)
	}
	if r := m.send(apdu.GetData(0x9F4F)); r.SW != apdu.SWReferencedNotFound {
		t.Errorf("GET DATA 9F4F = %04X; want 6A88", r.SW)
	}
}

func TestNoCardDataInDescribe(t *testing.T) {
	m := newTerm(t, "chip")
	m.start()
	r := m.must(apdu.ReadRecord(1, 1))
	l, _ := tlv.Parse(r.Data)
	if d := emvtag.Describe(l); bytes.Contains([]byte(d), []byte("6212260000000019")) {
		t.Errorf("Describe of a card record shows the PAN:\n%s", d)
	}
}

// FuzzTransmit: any sequence of APDUs to any card gets an answer, never a panic.
func FuzzTransmit(f *testing.F) {
	f.Add(uint8(0), apdu.SelectByName(PSE, false).Bytes(), apdu.ReadRecord(1, 1).Bytes(), []byte{0x80, 0xAE, 0x80, 0x00, 0x01, 0x00})
	f.Add(uint8(7), apdu.SelectByName(testkit.MustUnhex("A000000333010101"), false).Bytes(), apdu.GetProcessingOptions(nil).Bytes(), []byte{0x84, 0x1E, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	cards := map[string]*Card{}
	for _, n := range Names() {
		c, err := Open(n)
		if err != nil {
			f.Fatal(err)
		}
		cards[n] = c
	}
	names := Names()
	f.Fuzz(func(t *testing.T, which uint8, a, b, c []byte) {
		card := cards[names[int(which)%len(names)]]
		if _, err := card.PowerOn(); err != nil {
			return
		}
		for _, cmd := range [][]byte{a, b, c} {
			r, err := card.Transmit(cmd)
			if err != nil || len(r) < 2 {
				t.Fatalf("Transmit(% X) = % X, %v; want an answer with a status word", cmd, r, err)
			}
		}
	})
}

// FuzzParseProfile: any bytes parse or fail; what parses personalises a card.
func FuzzParseProfile(f *testing.F) {
	data, _ := profileFS.ReadFile("profiles/chip.json")
	f.Add(data)
	f.Add([]byte(`{"name":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile(b)
		if err != nil {
			return
		}
		if _, err := New(p); err != nil {
			t.Fatalf("a profile that parses does not personalise: %v", err)
		}
	})
}

// TestPulledOut: a card taken out after its ARQC and put back has lost the transaction
// (nothing but a new one can follow) and kept its counter.
func TestPulledOut(t *testing.T) {
	m := newTerm(t, "chip")
	m.start()
	if cid, _, _ := m.genAC(apdu.ARQC, cdol1); cid != cidARQC {
		t.Fatalf("first GENERATE AC CID %02X; want ARQC", cid)
	}
	atc := m.card.ATC()
	if err := m.card.PowerOff(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.card.Transmit(apdu.GenerateAC(apdu.TC, make([]byte, cdol2.Len())).Bytes()); !errors.Is(err, ErrNotPowered) {
		t.Errorf("Transmit after PowerOff = %v; want ErrNotPowered", err)
	}
	if _, err := m.card.PowerOn(); err != nil {
		t.Fatal(err)
	}
	m.data[0x8A] = []byte("00")
	if _, _, sw := m.genAC(apdu.TC, cdol2); sw != apdu.SWConditionsNotSat {
		t.Errorf("second GENERATE AC after a power cycle = %04X; want 6985", sw)
	}
	if got := m.card.ATC(); got != atc {
		t.Errorf("ATC after a power cycle = %d; want %d", got, atc)
	}
	m.start()
	if got := m.card.ATC(); got != atc+1 {
		t.Errorf("ATC of the next transaction = %d; want %d", got, atc+1)
	}
}

// TestCDA: asked for CDA, the card signs its cryptogram with the transaction data hash;
// the terminal's side (written here from Book 2 §6.6.2) recovers both and the issuer
// verifies the cryptogram found inside.
func TestCDA(t *testing.T) {
	m := newTerm(t, "chip-cda")
	m.start()
	if aip := m.data[0x82]; aip[0]&0x01 == 0 {
		t.Fatalf("AIP %X does not offer CDA", aip)
	}
	key := m.iccKey()
	check := func(stage string, cdol1Value, cdol2Value []byte, wantCID byte) []byte {
		t.Helper()
		if _, clear := m.data[0x9F26]; clear {
			t.Fatalf("%s: the cryptogram is in clear (9F26) in a CDA answer", stage)
		}
		dyn, err := emvcrypto.VerifyDynamicData(key, m.data[0x9F4B], m.data[0x9F37])
		if err != nil {
			t.Fatalf("%s: CDA signature = %v", stage, err)
		}
		d, err := emvcrypto.ParseCDADynamicData(dyn)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if d.CID != wantCID || m.data[0x9F27][0] != wantCID {
			t.Errorf("%s: CID signed %02X, answered %X; want %02X", stage, d.CID, m.data[0x9F27], wantCID)
		}
		answer, _ := tlv.Parse(m.last.Data)
		if want := emvcrypto.TransactionDataHash(m.pdol, cdol1Value, cdol2Value, answer); !bytes.Equal(d.TxnHash, want) {
			t.Errorf("%s: transaction data hash %X; want %X", stage, d.TxnHash, want)
		}
		m.data[0x9F26] = d.AC
		if err := m.verifyAC(); err != nil {
			t.Errorf("%s: issuer's check of the signed cryptogram = %v", stage, err)
		}
		delete(m.data, 0x9F26)
		delete(m.data, 0x9F4B)
		return d.AC
	}
	cdol1Value := emvtag.BuildDOL(cdol1, m.get)
	if _, _, sw := m.genAC(apdu.ARQC|apdu.CDA, cdol1); sw != apdu.SWOK {
		t.Fatalf("first GENERATE AC with CDA = %04X", sw)
	}
	arqc := check("first GENERATE AC", cdol1Value, nil, cidARQC)

	p := m.card.p
	iad, _ := emvcrypto.TestIssuer(p.Issuer).IssuerAuthData(p.PAN, p.PSN, m.data[0x9F36], arqc, []byte("00"))
	m.must(apdu.ExternalAuthenticate(iad))
	m.data[0x8A] = []byte("00")
	cdol2Value := emvtag.BuildDOL(cdol2, m.get)
	if _, _, sw := m.genAC(apdu.TC|apdu.CDA, cdol2); sw != apdu.SWOK {
		t.Fatalf("second GENERATE AC with CDA = %04X", sw)
	}
	check("second GENERATE AC", cdol1Value, cdol2Value, cidTC)

	// Without the CDA bit, or for an AAC, the cryptogram comes in clear and unsigned.
	for _, p1 := range []byte{apdu.ARQC, apdu.AAC | apdu.CDA} {
		m.start()
		cid, ac, sw := m.genAC(p1, cdol1)
		if _, signed := m.data[0x9F4B]; sw != apdu.SWOK || ac == nil || signed {
			t.Errorf("GENERATE AC P1 %02X = CID %02X AC %X SW %04X signed %v; want the cryptogram in clear", p1, cid, ac, sw, signed)
		}
		delete(m.data, 0x9F26)
	}
}
