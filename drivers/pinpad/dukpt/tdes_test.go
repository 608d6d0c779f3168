package dukpt_test

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/iso9564"
)

// The ANSI X9.24-1:2009 Annex A test data: BDK, initial KSN and the IPEK they give.
const (
	testBDK  = "0123456789ABCDEFFEDCBA9876543210"
	testKSN  = "FFFF9876543210E00000"
	testIPEK = "6AC292FAA1315B4D858AB3A3D7D5933A"
	testPIN  = "1234"
	testPAN  = "4012345678909"
)

func key(t testing.TB, s string) dukpt.Key {
	t.Helper()
	k, err := dukpt.ParseKey(s)
	if err != nil {
		t.Fatalf("ParseKey(test key): %v", err)
	}
	return k
}

func ksn(t testing.TB, s string) dukpt.KSN {
	t.Helper()
	k, err := dukpt.ParseKSN(s)
	if err != nil {
		t.Fatalf("ParseKSN(%q): %v", s, err)
	}
	return k
}

func block(t testing.TB, s string) [8]byte {
	t.Helper()
	var b [8]byte
	if n, err := hex.Decode(b[:], []byte(s)); err != nil || n != 8 {
		t.Fatalf("bad test block %q", s)
	}
	return b
}

func hexKey(k dukpt.Key) string { return strings.ToUpper(hex.EncodeToString(k[:])) }

func TestDeriveIPEK(t *testing.T) {
	bdk := key(t, testBDK)
	// The counter is not part of the derivation: every KSN of the device gives the
	// same IPEK.
	for _, s := range []string{testKSN, "FFFF9876543210E00001", "FFFF9876543210EFFC00", "FFFF9876543210FFFFFF"} {
		if got := dukpt.DeriveIPEK(bdk, ksn(t, s)); hexKey(got) != testIPEK {
			t.Errorf("DeriveIPEK(test BDK, %s) = %s; want %s", s, hexKey(got), testIPEK)
		}
	}
	// Another device of the same BDK has another IPEK.
	if got := dukpt.DeriveIPEK(bdk, ksn(t, "FFFF9876543211E00000")); hexKey(got) == testIPEK {
		t.Errorf("DeriveIPEK gave the same IPEK to two devices")
	}
}

// Current transaction keys of the X9.24-1:2009 A.4.2 initial sequence, as
// published with moov-io/dukpt's tests.
var currentKeys = []struct{ ksn, key string }{
	{"FFFF9876543210E00001", "042666B49184CFA368DE9628D0397BC9"},
	{"FFFF9876543210E00002", "C46551CEF9FD24B0AA9AD834130D3BC7"},
	{"FFFF9876543210E00003", "0DF3D9422ACA56E547676D07AD6BADFA"},
	{"FFFF9876543210E00004", "279C0F6AEED0BE652B2C733E1383AE91"},
	{"FFFF9876543210E00005", "5F8DC6D2C845C125508DDC048093B83F"},
}

func TestDeriveTransactionKey(t *testing.T) {
	ipek := key(t, testIPEK)
	for _, v := range currentKeys {
		got, err := dukpt.DeriveTransactionKey(ipek, ksn(t, v.ksn))
		if err != nil || hexKey(got) != v.key {
			t.Errorf("DeriveTransactionKey(IPEK, %s) = %s, %v; want %s", v.ksn, hexKey(got), err, v.key)
		}
	}
}

// x924Vectors is the X9.24-1:2009 Annex A TDES test sequence for the test BDK, PIN
// 1234 and PAN 4012345678909: the PIN encryption key, the MAC (request) key and the
// encrypted PIN block for each KSN. Transcribed from the verify table of GVRlib's
// dukpt3.py; every encrypted block also appears in jPOS's DUKPTTest.
var x924Vectors = []struct{ ksn, pinKey, macKey, epb string }{
	{"FFFF9876543210E00001", "042666B49184CF5C68DE9628D0397B36", "042666B4918430A368DE9628D03984C9", "1B9C1845EB993A7A"},
	{"FFFF9876543210E00002", "C46551CEF9FD244FAA9AD834130D3B38", "C46551CEF9FDDBB0AA9AD834130DC4C7", "10A01C8D02C69107"},
	{"FFFF9876543210E00003", "0DF3D9422ACA561A47676D07AD6BAD05", "0DF3D9422ACAA9E547676D07AD6B52FA", "18DC07B94797B466"},
	{"FFFF9876543210E00004", "279C0F6AEED0BE9A2B2C733E1383AE6E", "279C0F6AEED041652B2C733E13835191", "0BC79509D5645DF7"},
	{"FFFF9876543210E00005", "5F8DC6D2C845C1DA508DDC048093B8C0", "5F8DC6D2C8453E25508DDC048093473F", "5BC0AF22AD87B327"},
	{"FFFF9876543210E00006", "5E415CB0BAF9F0C3D0C14B63FB62FFBC", "5E415CB0BAF90F3CD0C14B63FB620043", "A16DF70AE36158D8"},
	{"FFFF9876543210E00007", "0C8F780B7C8B492FAE84A9EB2A6CE69F", "0C8F780B7C8BB6D0AE84A9EB2A6C1960", "27711C16CB257F8E"},
	{"FFFF9876543210E00008", "27F66D5244FF621EAA6F6120EDEB427F", "27F66D5244FF9DE1AA6F6120EDEBBD80", "50E55547A5027551"},
	{"FFFF9876543210E00009", "27E31064FDC565968900E2057F658E81", "27E31064FDC59A698900E2057F65717E", "536CF7F678ACFC8D"},
	{"FFFF9876543210E0000A", "6CF2500A22507C83C776CEADC1E330EB", "6CF2500A2250837CC776CEADC1E3CF14", "EDABBA23221833FE"},
	{"FFFF9876543210E0000B", "3E8260BA04B2D6DFC01482B3819A1848", "3E8260BA04B22920C01482B3819AE7B7", "2328981C57B4BDBA"},
	{"FFFF9876543210E0000C", "B716E1E11CF53D7F726CAEE75C3A62B0", "B716E1E11CF5C280726CAEE75C3A9D4F", "038D03CC926CF286"},
	{"FFFF9876543210E0000D", "E072EDF9534053A0B6C581C58FBF25CC", "E072EDF95340AC5FB6C581C58FBFDA33", "6C8AA97088B62C68"},
	{"FFFF9876543210E0000E", "A80046087F5B8FDB5AAD95E1842908B0", "A80046087F5B70245AAD95E18429F74F", "F17C9E1D72CD4950"},
	{"FFFF9876543210E0000F", "93DD5B956C4878B82E453AAEFD32A555", "93DD5B956C4887472E453AAEFD325AAA", "B170F6E7F7F2F64A"},
	{"FFFF9876543210E00010", "59598DCBD9BD943F94165CE453585FA8", "59598DCBD9BD6BC094165CE45358A057", "D5D9638559EF53D6"},
	{"FFFF9876543210E00011", "2B5F01F4F0CC0515639D523231BF1B5D", "2B5F01F4F0CCFAEA639D523231BFE4A2", "D544F8CDD292C863"},
	{"FFFF9876543210E00012", "9CF640F279C2AE1915F725EEEAC2CB50", "9CF640F279C251E615F725EEEAC234AF", "7A21BD10F36DC41D"},
	{"FFFF9876543210E00013", "C3DF489FDF11534BF03DE97C27DC4CD0", "C3DF489FDF11ACB4F03DE97C27DCB32F", "78649BD17D0DFA60"},
	{"FFFF9876543210E00014", "658488507721B30E4737FA93F923CB2D", "6584885077214CF14737FA93F92334D2", "7E7E16EA0C31AD56"},
	{"FFFF9876543210E00015", "E161D1956A61F62DF37AFD7F9CC36965", "E161D1956A6109D2F37AFD7F9CC3969A", "72105C22EBC791E6"},
	{"FFFF9876543210E10000", "2F9A0C0B46ECCBA1F8287A7A071AF54B", "2F9A0C0B46EC345EF8287A7A071A0AB4", "19776D96D73AF1E2"},
	{"FFFF9876543210E20000", "DEFDE0EA1043B58D2FA013DE6C4B8F04", "DEFDE0EA10434A722FA013DE6C4B70FB", "83F14581B8946B2D"},
	{"FFFF9876543210E40000", "9F59E8536BDB056513C856FCCF9A0981", "9F59E8536BDBFA9A13C856FCCF9AF67E", "96B3ADCBF9F5219C"},
	{"FFFF9876543210E80000", "87B9983D9D23047A8D199F5CA0C3DEEC", "87B9983D9D23FB858D199F5CA0C32113", "1E0F453FD55FCE45"},
	{"FFFF9876543210EFF800", "F9CDFEBF4F5B1D61B3EC12454527E189", "F9CDFEBF4F5BE29EB3EC124545271E76", "33365F5CC6F23C35"},
	{"FFFF9876543210EFF801", "5BEE92627E9782A3911BF619DF72CAC4", "5BEE92627E977D5C911BF619DF72353B", "3A86BF003F835C9D"},
	{"FFFF9876543210EFF802", "64CA2F8AB93F614F1620B00BF77C73FE", "64CA2F8AB93F9EB01620B00BF77C8C01", "3DB977D05C36DF3F"},
	{"FFFF9876543210EFF804", "35A168695B3BA8CC07E871C42021DDC8", "35A168695B3B573307E871C420212237", "BA83243305712099"},
	{"FFFF9876543210EFF808", "12C380FCB72ED33D6FC6079AF63F4778", "12C380FCB72E2CC26FC6079AF63FB887", "B0DA04AC90A36D85"},
	{"FFFF9876543210EFF810", "D8007C833A1E3CB6C6889B97A68C5400", "D8007C833A1EC349C6889B97A68CABFF", "2CF02BD9C309EEDA"},
	{"FFFF9876543210EFF820", "A9C9FF9B735FDDB6591F296B0BF0FD8F", "A9C9FF9B735F2249591F296B0BF00270", "9D1E2F77AEEE81C6"},
	{"FFFF9876543210EFF840", "0E3E221062CB5EFCA384602783A00405", "0E3E221062CBA103A384602783A0FBFA", "40870B0F8BA2011C"},
	{"FFFF9876543210EFF880", "CA8225C587124D04B87F279C0BE297D8", "CA8225C58712B2FBB87F279C0BE26827", "22E340D6ABB40981"},
	{"FFFF9876543210EFF900", "906AAC1751D497E5144D52C76C6E1F68", "906AAC1751D4681A144D52C76C6EE097", "1A4C10AFBA03A430"},
	{"FFFF9876543210EFFA00", "2B9E2CE7C27503C8E10B54D2989EA650", "2B9E2CE7C275FC37E10B54D2989E59AF", "849763B43E5F9CFF"},
	{"FFFF9876543210EFFC00", "F9430DF97508246EC77BE4EF4FDB9111", "F9430DF97508DB91C77BE4EF4FDB6EEE", "DEFC6F09F8927B71"},
	{"FFFF9876543210F00000", "AA4D58DB653EC7B548C75F2F047DD24A", "AA4D58DB653E384A48C75F2F047D2DB5", "73EC88AD0AC5830E"},
}

// TestX924Sequence runs the whole chain the host performs for each vector — BDK to
// IPEK to transaction key to PIN key — and encrypts the ISO 9564 format 0 block of
// PIN 1234 / PAN 4012345678909 (041274EDCBA9876F) under it.
func TestX924Sequence(t *testing.T) {
	bdk := key(t, testBDK)
	clear, err := iso9564.Format0(testPIN, testPAN)
	if err != nil || clear != block(t, "041274EDCBA9876F") {
		t.Fatalf("Format0(%s, %s) = %X, %v; want 041274EDCBA9876F", testPIN, testPAN, clear, err)
	}
	for _, v := range x924Vectors {
		k := ksn(t, v.ksn)
		tk, err := dukpt.DeriveTransactionKey(dukpt.DeriveIPEK(bdk, k), k)
		if err != nil {
			t.Errorf("DeriveTransactionKey(%s): %v", v.ksn, err)
			continue
		}
		pinKey, err := dukpt.WorkingKey(tk, dukpt.PINEncryption)
		if err != nil || hexKey(pinKey) != v.pinKey {
			t.Errorf("WorkingKey(%s, PIN encryption) = %s, %v; want %s", v.ksn, hexKey(pinKey), err, v.pinKey)
		}
		macKey, err := dukpt.WorkingKey(tk, dukpt.MACRequest)
		if err != nil || hexKey(macKey) != v.macKey {
			t.Errorf("WorkingKey(%s, MAC request) = %s, %v; want %s", v.ksn, hexKey(macKey), err, v.macKey)
		}
		epb := dukpt.EncryptPINBlock(pinKey, clear)
		if want := block(t, v.epb); epb != want {
			t.Errorf("EncryptPINBlock(%s) = %X; want %s", v.ksn, epb, v.epb)
		}
		// The host side: decrypt and check the PIN.
		back := dukpt.DecryptPINBlock(pinKey, epb)
		if pin, err := iso9564.DecodeFormat0(back, testPAN); err != nil || pin != testPIN {
			t.Errorf("DecodeFormat0(DecryptPINBlock(%s)) = %q, %v; want %q", v.ksn, pin, err, testPIN)
		}
	}
}

// TestWorkingKeyVariants checks the variants not covered by the sequence table
// against the working keys a terminal vendor's SDK documents for KSN
// FFFF9876543210E00001 (MEK_RES and DEK; the DEK is the data request key after the
// one-way step of X9.24-1:2009 Figure A-2).
func TestWorkingKeyVariants(t *testing.T) {
	tk := key(t, "042666B49184CFA368DE9628D0397BC9")
	for _, tt := range []struct {
		usage dukpt.Usage
		want  string
	}{
		{dukpt.MACResponse, "042666B46E84CFA368DE96282F397BC9"},
		{dukpt.DataRequest, "448D3F076D8304036A55A3D7E0055A78"},
	} {
		got, err := dukpt.WorkingKey(tk, tt.usage)
		if err != nil || hexKey(got) != tt.want {
			t.Errorf("WorkingKey(E00001 key, %v) = %s, %v; want %s", tt.usage, hexKey(got), err, tt.want)
		}
	}
	if _, err := dukpt.WorkingKey(tk, dukpt.Usage(99)); err == nil {
		t.Errorf("WorkingKey(Usage(99)) succeeded; want an error")
	}
	if s := dukpt.Usage(99).String(); s != "Usage(99)" {
		t.Errorf("Usage(99).String() = %q; want %q", s, "Usage(99)")
	}
}

// The X9.24-1:2009 A.4.2 data and MAC results for "4012345678909D987" (ASCII, zero
// padded), as published with moov-io/dukpt's tests: TDES-CBC with a zero IV under the
// data keys, and the ISO 9797-1 algorithm 3 (retail) MAC under the MAC keys.
var messageVectors = []struct{ ksn, dataReq, dataRes, macReq, macRes string }{
	{"FFFF9876543210E00001", "FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F", "1FCC89AF66222F27B903898BB2BC8589CDBFDE5EC6AFCC25", "9CCC78173FC4FB64", "20364223C1FF00FA"},
	{"FFFF9876543210E00002", "A2B4E70F846E63D68775B7215EB4563DFD3037244C61CC13", "5B692A6B1FDD5E25B0DEFAFDE1672E402F8011360CFF3508", "F608A9BCA6FFC311", "D1FCA6BEF05D24D2"},
	{"FFFF9876543210E00003", "BD751E65F10E75B6C1D5B1D283496A36C2DE21D993C387A7", "345992D4163E4926C927BFD8ABD5D76F087A9CE81D5A27B8", "20B59A4FEAC937E3", "BAD4CC9CC2AE326C"},
	{"FFFF9876543210E00004", "1118F50947441BBDA3C8C70220021A12EC31CC473F7215F4", "418C7413576C0D1819E785D3807AF32334231FDEC23414DB", "C7BFA6CC44161828", "1EB08AEECE6FF0C2"},
	{"FFFF9876543210E00005", "9FD7BD1EC28845ACA93367A9DA9317BD555C6B33AE22D365", "7D4C109E49E83355A556AE949EED359F4404E7A2F0167C00", "0202B96339022058", "5CBE3E81D1D2A0FB"},
}

func TestMessageKeys(t *testing.T) {
	msg := make([]byte, 24)
	copy(msg, "4012345678909D987")
	ipek := key(t, testIPEK)
	for _, v := range messageVectors {
		tk, err := dukpt.DeriveTransactionKey(ipek, ksn(t, v.ksn))
		if err != nil {
			t.Fatalf("DeriveTransactionKey(%s): %v", v.ksn, err)
		}
		for _, c := range []struct {
			usage dukpt.Usage
			do    func(dukpt.Key, []byte) []byte
			want  string
		}{
			{dukpt.DataRequest, cbcEncrypt, v.dataReq},
			{dukpt.DataResponse, cbcEncrypt, v.dataRes},
			{dukpt.MACRequest, retailMAC, v.macReq},
			{dukpt.MACResponse, retailMAC, v.macRes},
		} {
			wk, err := dukpt.WorkingKey(tk, c.usage)
			if err != nil {
				t.Fatalf("WorkingKey(%v): %v", c.usage, err)
			}
			if got := strings.ToUpper(hex.EncodeToString(c.do(wk, msg))); got != c.want {
				t.Errorf("%s %v: got %s; want %s", v.ksn, c.usage, got, c.want)
			}
		}
	}
}

// cbcEncrypt is TDES-CBC with a zero IV, test-only: the firmware does not encrypt
// data under DUKPT, but the published data vectors prove the data-key derivation.
func cbcEncrypt(k dukpt.Key, msg []byte) []byte {
	k3 := append(append([]byte{}, k[:]...), k[:8]...)
	b, _ := des.NewTripleDESCipher(k3) // 24 bytes: cannot fail
	out := make([]byte, len(msg))
	cipher.NewCBCEncrypter(b, make([]byte, 8)).CryptBlocks(out, msg)
	return out
}

// retailMAC is ISO 9797-1 MAC algorithm 3 (ANSI X9.19): single-DES CBC under the
// left key, then decrypt with the right and encrypt with the left. Test-only, for
// the same reason as cbcEncrypt.
func retailMAC(k dukpt.Key, msg []byte) []byte {
	l, _ := des.NewCipher(k[:8])
	r, _ := des.NewCipher(k[8:])
	var h [8]byte
	for i := 0; i < len(msg); i += 8 {
		for j := range h {
			h[j] ^= msg[i+j]
		}
		l.Encrypt(h[:], h[:])
	}
	r.Decrypt(h[:], h[:])
	l.Encrypt(h[:], h[:])
	return h[:]
}

func TestDeriveTransactionKeyRefuses(t *testing.T) {
	ipek := key(t, testIPEK)
	for _, s := range []string{
		"FFFF9876543210E00000", // counter 0: the IPEK itself, never a transaction key
		"FFFF9876543210E007FF", // 11 one-bits: never produced by a device
		"FFFF9876543210FFFFFF", // 21 one-bits
	} {
		if k, err := dukpt.DeriveTransactionKey(ipek, ksn(t, s)); err == nil {
			t.Errorf("DeriveTransactionKey(%s) = %s, nil; want an error", s, hexKey(k))
		}
	}
}

func TestPINBlockRoundTrip(t *testing.T) {
	pinKey := key(t, "042666B49184CF5C68DE9628D0397B36")
	for _, s := range []string{"0000000000000000", "041274EDCBA9876F", "FFFFFFFFFFFFFFFF"} {
		clear := block(t, s)
		enc := dukpt.EncryptPINBlock(pinKey, clear)
		if enc == clear {
			t.Errorf("EncryptPINBlock(%s) left the block clear", s)
		}
		if got := dukpt.DecryptPINBlock(pinKey, enc); got != clear {
			t.Errorf("DecryptPINBlock(EncryptPINBlock(%s)) = %X", s, got)
		}
	}
}

func TestParseKey(t *testing.T) {
	if k, err := dukpt.ParseKey(strings.ToLower(testBDK)); err != nil || hexKey(k) != testBDK {
		t.Errorf("ParseKey(lower case BDK) = %s, %v; want %s", hexKey(k), err, testBDK)
	}
	for _, s := range []string{"", testBDK[:30], testBDK + "00", "0123456789ABCDEFFEDCBA987654321G", " 123456789ABCDEFFEDCBA9876543210"} {
		k, err := dukpt.ParseKey(s)
		if err == nil || k != (dukpt.Key{}) {
			t.Errorf("ParseKey(%q) = %s, %v; want zero key and an error", s, hexKey(k), err)
			continue
		}
		if len(s) > 8 && strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(s[:8])) {
			t.Errorf("ParseKey error %q repeats the key", err)
		}
	}
}

// TestKeyRedacted makes sure a key printed by mistake does not reach a log.
func TestKeyRedacted(t *testing.T) {
	k := key(t, testBDK)
	for _, verb := range []string{"%v", "%s", "%x", "%X", "%#v", "%q", "%+v"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(strings.ToUpper(out), "0123456789") || strings.Contains(out, "01 23") {
			t.Errorf("Sprintf(%q, key) = %q; shows key bytes", verb, out)
		}
	}
}

func TestWipe(t *testing.T) {
	k := key(t, testBDK)
	dukpt.Wipe(k[:])
	if k != (dukpt.Key{}) {
		t.Errorf("Wipe left %s", hexKey(k))
	}
	dukpt.Wipe(nil) // must not panic
}

func FuzzParseKey(f *testing.F) {
	f.Add(testBDK)
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := dukpt.ParseKey(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		if !strings.EqualFold(hexKey(k), s) {
			t.Fatalf("ParseKey(%q) = %s", s, hexKey(k))
		}
	})
}

func BenchmarkDeriveIPEK(b *testing.B) {
	bdk, k := key(b, testBDK), ksn(b, testKSN)
	for b.Loop() {
		dukpt.DeriveIPEK(bdk, k)
	}
}

// BenchmarkDeriveTransactionKey measures the worst case: a counter with 10 one-bits
// costs 10 rounds of the non-reversible process.
func BenchmarkDeriveTransactionKey(b *testing.B) {
	ipek, k := key(b, testIPEK), ksn(b, "FFFF9876543210EFFC00")
	for b.Loop() {
		if _, err := dukpt.DeriveTransactionKey(ipek, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptPINBlock(b *testing.B) {
	pinKey := key(b, "042666B49184CF5C68DE9628D0397B36")
	clear := block(b, "041274EDCBA9876F")
	for b.Loop() {
		dukpt.EncryptPINBlock(pinKey, clear)
	}
}

// BenchmarkHostPINCheck is the host simulator's whole path for one PIN: BDK to
// IPEK, transaction key, PIN key, decrypt, decode.
func BenchmarkHostPINCheck(b *testing.B) {
	bdk, k := key(b, testBDK), ksn(b, "FFFF9876543210EFFC00")
	epb := block(b, "DEFC6F09F8927B71")
	for b.Loop() {
		tk, err := dukpt.DeriveTransactionKey(dukpt.DeriveIPEK(bdk, k), k)
		if err != nil {
			b.Fatal(err)
		}
		pk, _ := dukpt.WorkingKey(tk, dukpt.PINEncryption)
		if pin, err := iso9564.DecodeFormat0(dukpt.DecryptPINBlock(pk, epb), testPAN); err != nil || pin != testPIN {
			b.Fatalf("got %q, %v", pin, err)
		}
	}
}
