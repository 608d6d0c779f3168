package emvcrypto

import (
	"bytes"
	"errors"
	"testing"

	"posfw/drivers/emv/tlv"
	"posfw/drivers/testkit"
)

// The vectors below are knovichikhin/pyemv's published doctest examples (v1.5.0):
// pyemv/kd.py, pyemv/ac.py and pyemv/cvn.py; the comment on each names the function.

func TestICCMasterKey(t *testing.T) {
	imk := testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	for _, tt := range []struct {
		name     string
		derive   func([]byte, string, string) ([]byte, error)
		pan, psn string
		want     string
	}{
		// pyemv kd.py module doc, derive_icc_mk_a.
		{"option A, 17-digit PAN", ICCMasterKeyA, "99012345678901234", "45", "67F8292358083E5EA7AB7FDA58D53B6B"},
		// pyemv kd.py, derive_icc_mk_a docstring.
		{"option A, PSN 01", ICCMasterKeyA, "12345678901234567", "01", "73AD54688CEF2934B0979857E3C719F1"},
		// pyemv kd.py, derive_icc_mk_b docstring.
		{"option B", ICCMasterKeyB, "12345678901234567", "01", "AD406D7F6D7570916D75E5DCAB8CF737"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.derive(imk, tt.pan, tt.psn)
			if err != nil {
				t.Fatalf("derive = %v", err)
			}
			if want := testkit.MustUnhex(tt.want); !bytes.Equal(got, want) {
				t.Errorf("ICC MK = %X; want %X", got, want)
			}
		})
	}
	for _, bad := range []struct{ pan, psn string }{{"", "00"}, {"6212x", "00"}, {"6212345678901234", "0a"}} {
		if _, err := ICCMasterKeyA(imk, bad.pan, bad.psn); err == nil {
			t.Errorf("ICCMasterKeyA(PAN %q, PSN %q) = nil error; want one", bad.pan, bad.psn)
		}
	}
	if _, err := ICCMasterKeyA(imk[:8], "6212345678901234", "00"); !errors.Is(err, ErrKeyLength) {
		t.Errorf("ICCMasterKeyA with an 8-byte key = %v; want ErrKeyLength", err)
	}
}

func TestSessionKey(t *testing.T) {
	// pyemv kd.py, derive_common_sk docstring: R = ATC 001C ‖ 00…
	mk := testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	got, err := ACSessionKey(mk, []byte{0x00, 0x1C})
	if err != nil {
		t.Fatal(err)
	}
	if want := testkit.MustUnhex("E9FB384AF807B940FEDCEA613461B0C4"); !bytes.Equal(got, want) {
		t.Errorf("ACSessionKey(ATC 001C) = %X; want %X", got, want)
	}
	if _, err := SessionKey(mk, []byte{1, 2, 3}); err == nil {
		t.Errorf("SessionKey with a 3-byte r = nil error; want one")
	}
}

func TestCryptogram(t *testing.T) {
	for _, tt := range []struct {
		name, sk, data, want string
	}{
		// pyemv ac.py module doc: generate_ac.
		{"module example", "29B33180E567CE38EA4CBC9D753B0E61", "0123456789ABCDEF0123456789ABCDEF", "FA624250B008B59A"},
		// pyemv ac.py, generate_ac docstring: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36.
		{"data list", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
			"000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001", "3B76CF10FECD8789"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Cryptogram(testkit.MustUnhex(tt.sk), testkit.MustUnhex(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if want := testkit.MustUnhex(tt.want); !bytes.Equal(got, want) {
				t.Errorf("Cryptogram = %X; want %X", got, want)
			}
		})
	}
}

// TestCVN18 runs the whole card-side chain on pyemv's cvn.py module example (Visa CVN
// 18): master key (Option B for its 18-digit PAN ‖ PSN), common session key from the
// ATC, and the cryptogram over ACTags in ACData's order, including 9F10.
func TestCVN18(t *testing.T) {
	imk := testkit.MustUnhex("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	mk, err := ICCMasterKeyB(imk, "1234567890123456", "00")
	if err != nil {
		t.Fatal(err)
	}
	atc := []byte{0x0F, 0xFF}
	sk, err := ACSessionKey(mk, atc)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[tlv.Tag]string{
		0x9F02: "000000009999", 0x9F03: "000000000000", 0x9F1A: "0840", 0x95: "8000048000", 0x5F2A: "0840",
		0x9A: "991231", 0x9C: "01", 0x9F37: "52BF4585", 0x82: "1800", 0x9F36: "0FFF", 0x9F10: "06011203A0B800",
	}
	data, err := ACData(func(t tlv.Tag) ([]byte, bool) { v, ok := vals[t]; return testkit.MustUnhex(v), ok })
	if err != nil {
		t.Fatal(err)
	}
	got, err := Cryptogram(sk, data)
	if err != nil {
		t.Fatal(err)
	}
	if want := testkit.MustUnhex("769577B5ABE9FE62"); !bytes.Equal(got, want) {
		t.Errorf("CVN 18 ARQC = %X; want %X", got, want)
	}
	delete(vals, 0x9F37)
	if _, err := ACData(func(t tlv.Tag) ([]byte, bool) { v, ok := vals[t]; return testkit.MustUnhex(v), ok }); err == nil {
		t.Errorf("ACData without 9F37 = nil error; want one")
	}
}

func TestARPC1(t *testing.T) {
	for _, tt := range []struct {
		name, sk, arqc, arc, want string
	}{
		// pyemv ac.py module doc: generate_arpc_1 of the module's ARQC.
		{"module example", "29B33180E567CE38EA4CBC9D753B0E61", "FA624250B008B59A", "0000", "45D4255EEF10C920"},
		// pyemv ac.py, generate_arpc_1 docstring.
		{"docstring", "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "1234567890ABCDEF", "0000", "F5E6F44147E2F1B0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sk, arqc, arc := testkit.MustUnhex(tt.sk), testkit.MustUnhex(tt.arqc), testkit.MustUnhex(tt.arc)
			got, err := ARPC1(sk, arqc, arc)
			if err != nil {
				t.Fatal(err)
			}
			if want := testkit.MustUnhex(tt.want); !bytes.Equal(got, want) {
				t.Errorf("ARPC1 = %X; want %X", got, want)
			}
			iad, _ := IssuerAuthData(sk, arqc, arc)
			if gotARC, err := VerifyIssuerAuthData(sk, arqc, iad); err != nil || !bytes.Equal(gotARC, arc) {
				t.Errorf("VerifyIssuerAuthData(own 91) = %X, %v; want %X, nil", gotARC, err, arc)
			}
			iad[3] ^= 1
			if _, err := VerifyIssuerAuthData(sk, arqc, iad); !errors.Is(err, ErrARPC) {
				t.Errorf("VerifyIssuerAuthData(damaged 91) = %v; want ErrARPC", err)
			}
		})
	}
}

func TestScriptCommand(t *testing.T) {
	sk := testkit.MustUnhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	header := testkit.MustUnhex("841E0000") // APPLICATION BLOCK
	atc, arqc := []byte{0, 1}, testkit.MustUnhex("1122334455667788")
	cmd, err := ScriptCommand(sk, header, atc, arqc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := MACAlg3(sk, testkit.MustUnhex("841E0000 08 0001 1122334455667788"))
	if !bytes.Equal(cmd, append(testkit.MustUnhex("841E0000 08"), want...)) {
		t.Errorf("ScriptCommand = % X; want header, Lc 08 and the MAC % X", cmd, want)
	}
}

func TestMACAlg3Padding(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"", "8000000000000000"},
		{"01", "0180000000000000"},
		{"0102030405060708", "0102030405060708 8000000000000000"},
	} {
		if got := PadMethod2(testkit.MustUnhex(tt.in)); !bytes.Equal(got, testkit.MustUnhex(tt.want)) {
			t.Errorf("PadMethod2(%s) = %X; want %s", tt.in, got, tt.want)
		}
	}
}

// TestRecoverPublished recovers openemv/emv-utils' recorded Visa test card
// certificates under the Visa test CA key 94.
func TestRecoverPublished(t *testing.T) {
	iss, err := RecoverIssuerCert(visaTestCAPK94, visaIssuerCert, nil, []byte{3}, visaPAN)
	if err != nil {
		t.Fatalf("RecoverIssuerCert = %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"issuer identifier", iss.ID, testkit.MustUnhex("476173FF")},
		{"expiry", iss.Expiry, testkit.MustUnhex("1231")},
		{"serial", iss.Serial, testkit.MustUnhex("03DA0A")},
		{"issuer key", iss.Key.N, visaIssuerKey},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("issuer certificate %s = %X; want %X", c.name, c.got, c.want)
		}
	}

	// Signed static data: its static data is not published, so the test checks the
	// recovery, the code and the hash the signer put in.
	r, err := Recover(iss.Key, visaSSAD, FormatSSAD)
	if err != nil {
		t.Fatalf("Recover(SSAD) = %v", err)
	}
	if got, want := r.Body[2:4], testkit.MustUnhex("DAC0"); !bytes.Equal(got, want) {
		t.Errorf("data authentication code = %X; want %X", got, want)
	}
	if want := testkit.MustUnhex("4E2821974D704E338E7218F887763F7BDCE2B814"); !bytes.Equal(r.Hash, want) {
		t.Errorf("SSAD hash = %X; want %X", r.Hash, want)
	}

	// ICC certificate: recovery, fields and key with its remainder (9F48); the hash
	// covers unpublished static data.
	r, err = Recover(iss.Key, visaICCCert, FormatICCCert)
	if err != nil {
		t.Fatalf("Recover(ICC cert) = %v", err)
	}
	icc, err := ParseCert(r, visaICCRemainder, ICCIDLen)
	if err != nil {
		t.Fatalf("ParseCert(ICC) = %v", err)
	}
	if want := testkit.MustUnhex("4761739001010119FFFF"); !bytes.Equal(icc.ID, want) {
		t.Errorf("ICC certificate PAN = %X; want %X", icc.ID, want)
	}
	if !bytes.Equal(icc.Key.N, visaICCKey) {
		t.Errorf("ICC key = %X; want %X", icc.Key.N, visaICCKey)
	}
	if want := testkit.MustUnhex("B8D9B5F7A12DC0D77FC0B2F7BBACA514939CAD60"); !bytes.Equal(r.Hash, want) {
		t.Errorf("ICC certificate hash = %X; want %X", r.Hash, want)
	}

	// Signed dynamic data, fully checked with the terminal's unpredictable number.
	dyn, err := VerifyDynamicData(PublicKey{N: visaICCKey, E: []byte{3}}, visaSDAD, visaUN)
	if err != nil {
		t.Fatalf("VerifyDynamicData = %v", err)
	}
	if want := testkit.MustUnhex("02 00AE"); !bytes.Equal(dyn, want) {
		t.Errorf("ICC dynamic data = %X; want %X (number of 2 bytes, 00AE)", dyn, want)
	}

	// Each damaged input fails, as emv-utils' invalid vectors (last byte changed) do.
	for _, tt := range []struct {
		name string
		err  error
		f    func() error
	}{
		{"issuer cert, last byte", ErrRecover, func() error {
			_, err := RecoverIssuerCert(visaTestCAPK94, flipLast(visaIssuerCert), nil, []byte{3}, visaPAN)
			return err
		}},
		{"issuer cert, wrong exponent", ErrFormat, func() error {
			_, err := RecoverIssuerCert(visaTestCAPK94, visaIssuerCert, nil, []byte{1, 0, 1}, visaPAN)
			return err
		}},
		{"issuer cert, other PAN", ErrFormat, func() error {
			_, err := RecoverIssuerCert(visaTestCAPK94, visaIssuerCert, nil, []byte{3}, testkit.MustUnhex("6212345678901234"))
			return err
		}},
		{"SDAD, other unpredictable number", ErrHash, func() error {
			_, err := VerifyDynamicData(PublicKey{N: visaICCKey, E: []byte{3}}, visaSDAD, testkit.MustUnhex("7FBC404A"))
			return err
		}},
		{"SDAD, last byte", ErrRecover, func() error {
			_, err := VerifyDynamicData(PublicKey{N: visaICCKey, E: []byte{3}}, flipLast(visaSDAD), visaUN)
			return err
		}},
		{"SDAD, short", ErrRecover, func() error {
			_, err := VerifyDynamicData(PublicKey{N: visaICCKey, E: []byte{3}}, visaSDAD[1:], visaUN)
			return err
		}},
	} {
		if err := tt.f(); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.err)
		}
	}
}

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}

// TestTestPKI signs a whole chain with the test keys and recovers it, in both layouts
// (issuer key with and without a remainder).
func TestTestPKI(t *testing.T) {
	ca := TestCA()
	if got := len(ca.N); got != TestCABits/8 {
		t.Fatalf("test CA modulus is %d bytes; want %d", got, TestCABits/8)
	}
	if again := deriveKey("posfw test CA F1 - not a real key", TestCABits); !bytes.Equal(again.N, ca.N) {
		t.Fatalf("the test CA key is not deterministic")
	}
	pan := testkit.MustUnhex("6212345678901234")
	static := testkit.MustUnhex("5A 08 6212345678901234 5F24 03 301231 82 02 7C00")
	for _, issuerBits := range []int{TestIssuerBits, 768} { // 768: the key fits, no remainder
		issuer := TestKey("posfw test issuer - not a real key", issuerBits)
		cert, rem, err := SignIssuerCert(ca, Cert{ID: testkit.MustUnhex("621234FF"), Expiry: testkit.MustUnhex("1230"), Serial: []byte{0, 0, 1}, Key: issuer.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		if wantRem := issuerBits/8 > len(ca.N)-issuerCertFixed; (len(rem) > 0) != wantRem {
			t.Errorf("issuer key of %d bits: remainder of %d bytes; want one: %v", issuerBits, len(rem), wantRem)
		}
		got, err := RecoverIssuerCert(ca.PublicKey, cert, rem, issuer.E, pan)
		if err != nil {
			t.Fatalf("RecoverIssuerCert(own, %d bits) = %v", issuerBits, err)
		}
		if !bytes.Equal(got.Key.N, issuer.N) {
			t.Errorf("recovered issuer key differs")
		}
		if len(rem) > 0 {
			if _, err := RecoverIssuerCert(ca.PublicKey, cert, flipLast(rem), issuer.E, pan); !errors.Is(err, ErrHash) {
				t.Errorf("RecoverIssuerCert with a damaged remainder = %v; want ErrHash", err)
			}
		}

		ssad, err := SignStaticData(issuer, []byte{0xDA, 0xC1}, static)
		if err != nil {
			t.Fatal(err)
		}
		if dac, err := VerifyStaticData(got.Key, ssad, static); err != nil || !bytes.Equal(dac, []byte{0xDA, 0xC1}) {
			t.Errorf("VerifyStaticData = %X, %v; want DAC1, nil", dac, err)
		}
		if _, err := VerifyStaticData(got.Key, ssad, flipLast(static)); !errors.Is(err, ErrHash) {
			t.Errorf("VerifyStaticData over other data = %v; want ErrHash", err)
		}

		icc := TestKey("posfw test ICC - not a real key", TestICCBits)
		if issuerBits < TestICCBits {
			continue
		}
		iccCert, iccRem, err := SignICCCert(issuer, Cert{ID: testkit.MustUnhex("6212345678901234FFFF"), Expiry: testkit.MustUnhex("1230"), Serial: []byte{0, 0, 2}, Key: icc.PublicKey}, static)
		if err != nil {
			t.Fatal(err)
		}
		gotICC, err := RecoverICCCert(got.Key, iccCert, iccRem, icc.E, pan, static)
		if err != nil {
			t.Fatalf("RecoverICCCert = %v", err)
		}
		if _, err := RecoverICCCert(got.Key, iccCert, iccRem, icc.E, testkit.MustUnhex("6212345678901235"), static); !errors.Is(err, ErrFormat) {
			t.Errorf("RecoverICCCert for another PAN = %v; want ErrFormat", err)
		}
		if _, err := RecoverICCCert(got.Key, iccCert, iccRem, icc.E, pan, flipLast(static)); !errors.Is(err, ErrHash) {
			t.Errorf("RecoverICCCert over other static data = %v; want ErrHash", err)
		}
		sdad, err := SignDynamicData(icc, testkit.MustUnhex("02 1234"), visaUN)
		if err != nil {
			t.Fatal(err)
		}
		if dyn, err := VerifyDynamicData(gotICC.Key, sdad, visaUN); err != nil || !bytes.Equal(dyn, testkit.MustUnhex("021234")) {
			t.Errorf("VerifyDynamicData = %X, %v; want 021234, nil", dyn, err)
		}
	}
}

// FuzzRecover: any bytes under any key recover or fail, never panic.
func FuzzRecover(f *testing.F) {
	f.Add(visaSDAD, []byte{3}, byte(FormatSDAD))
	f.Add([]byte{0x6A}, []byte{}, byte(2))
	f.Fuzz(func(t *testing.T, sig, e []byte, format byte) {
		pub := PublicKey{N: visaICCKey, E: e}
		if len(e) > 4 {
			return // big exponents only make the fuzzer slow
		}
		if r, err := Recover(pub, sig, format); err == nil {
			_ = r.Check(sig)
			_, _ = ParseCert(r, sig, ICCIDLen)
			_, _ = ParseCert(r, nil, IssuerIDLen)
		}
		_, _ = VerifyDynamicData(pub, sig, nil)
		_, _ = RecoverICCCert(pub, sig, sig, e, sig, nil)
	})
}

// TestIssuerSide: the issuer's VerifyCryptogram accepts the card side's cryptogram and
// refuses one over other data or for another card.
func TestIssuerSide(t *testing.T) {
	is := TestIssuer("posfw test issuer 1")
	pan, psn := "6212260000000019", "01"
	mk, _, err := is.CardKeys(pan, psn)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[tlv.Tag][]byte{
		0x9F02: testkit.MustUnhex("000000001000"), 0x9F03: make([]byte, 6), 0x9F1A: testkit.MustUnhex("0156"),
		0x95: make([]byte, 5), 0x5F2A: testkit.MustUnhex("0156"), 0x9A: testkit.MustUnhex("261205"), 0x9C: {0},
		0x9F37: testkit.MustUnhex("11223344"), 0x82: testkit.MustUnhex("3C00"), 0x9F36: testkit.MustUnhex("0002"),
		0x9F10: testkit.MustUnhex("06011203A00000"),
	}
	get := func(t tlv.Tag) ([]byte, bool) { v, ok := vals[t]; return v, ok }
	sk, _ := ACSessionKey(mk, vals[0x9F36])
	data, _ := ACData(get)
	arqc, _ := Cryptogram(sk, data)
	if err := is.VerifyCryptogram(pan, psn, get, arqc); err != nil {
		t.Errorf("VerifyCryptogram(card's ARQC) = %v; want nil", err)
	}
	if err := is.VerifyCryptogram("6212260000000027", psn, get, arqc); !errors.Is(err, ErrCryptogram) {
		t.Errorf("VerifyCryptogram for another PAN = %v; want ErrCryptogram", err)
	}
	vals[0x9F02] = testkit.MustUnhex("000000009999")
	if err := is.VerifyCryptogram(pan, psn, get, arqc); !errors.Is(err, ErrCryptogram) {
		t.Errorf("VerifyCryptogram over another amount = %v; want ErrCryptogram", err)
	}
	if bytes.Equal(TestIssuerMasterKey("a", "AC"), TestIssuerMasterKey("b", "AC")) {
		t.Errorf("two test issuers share a master key")
	}
}

func TestCDADynamicData(t *testing.T) {
	num, ac, hash := testkit.MustUnhex("0102030405060708"), testkit.MustUnhex("1122334455667788"), bytes.Repeat([]byte{0xAB}, 20)
	d := CDADynamicData(num, 0x80, ac, hash)
	got, err := ParseCDADynamicData(d)
	if err != nil {
		t.Fatalf("ParseCDADynamicData = %v", err)
	}
	if !bytes.Equal(got.Number, num) || got.CID != 0x80 || !bytes.Equal(got.AC, ac) || !bytes.Equal(got.TxnHash, hash) {
		t.Errorf("ParseCDADynamicData = %+v; want the parts back", got)
	}
	for _, bad := range [][]byte{nil, d[:len(d)-1], append(bytes.Clone(d), 0), append([]byte{9}, d[1:]...)} {
		if _, err := ParseCDADynamicData(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseCDADynamicData(% X) = %v; want ErrFormat", bad, err)
		}
	}
}

// TestTestCAPK: the test CA's public key written out is the one derived from its seed.
func TestTestCAPK(t *testing.T) {
	got, want := TestCAPK(), TestCA().PublicKey
	if !bytes.Equal(got.N, want.N) || !bytes.Equal(got.E, want.E) {
		t.Errorf("TestCAPK() = N %X E %X; want TestCA's N %X E %X", got.N, got.E, want.N, want.E)
	}
}
