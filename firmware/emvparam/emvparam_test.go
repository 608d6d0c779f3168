package emvparam

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/emv"
)

// unionPay08 is UnionPay's CA public key index 08 as acquirers' hosts send it in field
// 62 of the 0810 answering 60.3 = 370 (published in many terminals' key lists): its
// checksum DF03 is SHA-1 over RID, index, modulus and exponent, which makes it a
// checksum vector computed by someone else.
const unionPay08 = "9F0605A0000003339F220108DF05083230323431323331DF060101DF070101DF028190" +
	"B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1" +
	"CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C54" +
	"5A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D5" +
	"39E5064360EA4850FED2D1BF" + "DF040103DF0314EE23B616C95C02652AD18860E48787C079E8E85A"

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey() CAPK {
	return NewCAPK(emvcrypto.TestRID, emvcrypto.TestCAPKIndex, "20301231", emvcrypto.TestCAPK())
}

// TestPublishedKey: a key as a real host sends it is read, its checksum matches the
// published one, and it encodes back to the same bytes.
func TestPublishedKey(t *testing.T) {
	b := unhex(t, unionPay08)
	k, err := ParseCAPK(b)
	if err != nil {
		t.Fatalf("ParseCAPK(UnionPay 08) = %v; want the key", err)
	}
	if got, want := hex.EncodeToString(Checksum(k.RID, k.Index, k.Modulus, k.Exponent)), "ee23b616c95c02652ad18860e48787c079e8e85a"; got != want {
		t.Errorf("checksum = %s; want %s", got, want)
	}
	if k.Name() != "A000000333/08" || k.Expiry != "20241231" || len(k.Modulus) != 144 {
		t.Errorf("key = %s expiry %s modulus %d bytes; want A000000333/08, 20241231, 144", k.Name(), k.Expiry, len(k.Modulus))
	}
	if got := k.TLV(); !bytes.Equal(got, b) {
		t.Errorf("TLV() = %X; want the bytes it came from", got)
	}
	if !k.Expired(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || k.Expired(time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("Expired: want good through 2024-12-31 and expired on 2025-01-01")
	}
}

// TestKeyRefused: a key whose checksum does not match (modulus or checksum damaged), or
// that is not an EMV RSA key, is refused with one line naming it.
func TestKeyRefused(t *testing.T) {
	good := testKey()
	for _, tc := range []struct {
		name   string
		change func(*CAPK)
		want   string
	}{
		{"modulus damaged", func(k *CAPK) { k.Modulus[10] ^= 1 }, "checksum does not match"},
		{"checksum damaged", func(k *CAPK) { k.Checksum[19] ^= 0x80 }, "checksum does not match"},
		{"other index", func(k *CAPK) { k.Index = 0xF2 }, "A000000333/F2: checksum does not match"},
		{"exponent", func(k *CAPK) { k.Exponent = []byte{5} }, "exponent 05"},
		{"hash algorithm", func(k *CAPK) { k.HashAlg = 2 }, "hash algorithm 02"},
		{"key algorithm", func(k *CAPK) { k.PKAlg = 0 }, "key algorithm 00"},
		{"expiry", func(k *CAPK) { k.Expiry = "20301331" }, "expiry"},
		{"short modulus", func(k *CAPK) { k.Modulus = k.Modulus[:40] }, "modulus of 40 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := good.clone()
			tc.change(&k)
			_, err := ParseCAPK(k.TLV())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseCAPK = %v; want one line with %q", err, tc.want)
			}
			if strings.Contains(tc.want, "checksum") && !errors.Is(err, ErrChecksum) {
				t.Errorf("error %v; want ErrChecksum", err)
			}
		})
	}
	if _, err := ParseCAPK(good.TLV()); err != nil {
		t.Errorf("ParseCAPK(good key) = %v", err)
	}
	// A key without its index is one line too.
	b := tlv.List{tlv.New(TagAID, good.RID), tlv.New(TagHashAlg, []byte{1}), tlv.New(TagPKAlg, []byte{1})}.Bytes()
	if _, err := ParseCAPK(b); err == nil || !strings.Contains(err.Error(), "9F22") {
		t.Errorf("ParseCAPK without 9F22 = %v; want it named", err)
	}
}

func unionPayAID(last byte) AID {
	d := emv.DefaultParams().AIDs[0]
	return AID{AID: append(bytes.Clone(emv.TestAID), last), Partial: true, Version: []byte{0, 0x30},
		TACDefault: d.TACDefault, TACOnline: d.TACOnline, TACDenial: d.TACDenial,
		FloorLimit: 0, RandomThreshold: 0, RandomMax: 0, RandomTarget: 0, DDOL: []byte{0x9F, 0x37, 0x04}, OnlinePIN: true,
		CLFloorLimit: 50000, CLTransactionLimit: 100000, CLCVMLimit: 30000, ECLimit: 100000}
}

// TestAIDRoundTrip: an AID's parameters encode and read back the same; what a host
// leaves out takes the kernel's default, and 9F08 stands for 9F09.
func TestAIDRoundTrip(t *testing.T) {
	def := emv.DefaultParams().AIDs[0]
	a := unionPayAID(0x01)
	a.FloorLimit, a.RandomThreshold, a.RandomMax, a.RandomTarget = 20000, 10000, 50, 20
	got, err := ParseAID(a.TLV(), def)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("ParseAID(TLV) = %+v; want %+v", got, a)
	}
	// Only the AID, the ASI and a version in 9F08.
	min := tlv.List{tlv.New(TagAID, a.AID), tlv.New(TagASI, []byte{ASIExact}), tlv.New(TagCardVersion, []byte{0, 0x20})}.Bytes()
	got, err = ParseAID(min, def)
	if err != nil {
		t.Fatal(err)
	}
	if got.Partial || !bytes.Equal(got.Version, []byte{0, 0x20}) || !bytes.Equal(got.TACOnline, def.TACOnline) || got.CLCVMLimit != def.CLCVMLimit {
		t.Errorf("ParseAID(minimal) = %+v; want exact match, version 0020, the rest from the defaults", got)
	}
	for _, tc := range []struct {
		name string
		tag  tlv.Tag
		val  string
		want string
	}{
		{"TAC length", TagTACOnline, "0000", "DF12 is not 5 bytes"},
		{"percentage", TagTarget, "1A", "DF17 is not a percentage"},
		{"BCD", TagCLCVMLimit, "00000000001A", "not BCD"},
		{"ASI", TagASI, "02", "DF01 is not 00 or 01"},
		{"floor limit", TagFloorLimit, "0000", "9F1B is not 4 bytes"},
		{"DDOL", TagDDOL, "9F", "DF14 is not a data object list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append(tlv.New(TagAID, a.AID).Bytes(), tlv.New(tc.tag, unhex(t, tc.val)).Bytes()...)
			if _, err := ParseAID(b, def); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseAID = %v; want %q", err, tc.want)
			}
		})
	}
	// Random selection the kernel could not run: the target above the maximum.
	bad := a
	bad.RandomMax, bad.RandomTarget = 10, 20
	if _, err := ParseAID(bad.TLV(), def); err == nil || !strings.Contains(err.Error(), "random selection") {
		t.Errorf("ParseAID(target > max) = %v; want refused", err)
	}
}

// TestLists: the query answers and download requests read back what was written, and
// malformed ones are refused.
func TestLists(t *testing.T) {
	refs := []Ref{{RID: emvcrypto.TestRID, Index: 0xF1, Expiry: "20301231"}, {RID: emvcrypto.TestRID, Index: 0x08, Expiry: "20241231"}}
	st, got, err := ParseRefList(RefList(StatusMore, refs))
	if err != nil || st != StatusMore || !reflect.DeepEqual(got, refs) {
		t.Errorf("ParseRefList = %c %+v %v; want 2 and %+v", st, got, err, refs)
	}
	aids := [][]byte{unionPayAID(1).AID, unionPayAID(2).AID}
	st, gotA, err := ParseAIDList(AIDList(StatusLast, aids))
	if err != nil || st != StatusLast || !reflect.DeepEqual(gotA, aids) {
		t.Errorf("ParseAIDList = %c %X %v; want 1 and %X", st, gotA, err, aids)
	}
	if st, l, err := ParseAIDList([]byte("0")); err != nil || st != StatusNone || len(l) != 0 {
		t.Errorf("ParseAIDList(0) = %c %X %v; want an empty list", st, l, err)
	}
	for _, q := range []int{0, 7, 99} {
		b, err := Query(q)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := ParseQuery(b); err != nil || n != q {
			t.Errorf("ParseQuery(%q) = %d, %v; want %d", b, n, err, q)
		}
	}
	if _, err := Query(100); err == nil {
		t.Error("Query(100) = nil error; want refused")
	}
	if r, err := ParseKeyRequest(KeyRequest(refs[0])); err != nil || r.Name() != "A000000333/F1" {
		t.Errorf("ParseKeyRequest = %+v, %v; want A000000333/F1", r, err)
	}
	if a, err := ParseAIDRequest(AIDRequest(aids[1])); err != nil || !bytes.Equal(a, aids[1]) {
		t.Errorf("ParseAIDRequest = %X, %v; want %X", a, err, aids[1])
	}
	for _, b := range []string{"", "3", "1" + "9F0605A000000333", "1" + "9F220101", "2" + "9F0604A0000003"} {
		if _, _, err := ParseRefList([]byte(b)); err == nil {
			t.Errorf("ParseRefList(%q) = nil error; want refused", b)
		}
	}
}

// TestApply: the set's AIDs and keys replace the kernel's; the kernel's parameters
// still pass Check, keep the label of its own payment system, and find the key.
func TestApply(t *testing.T) {
	s := Set{AIDs: []AID{unionPayAID(1), unionPayAID(2)}, CAPKs: []CAPK{testKey(), mustKey(t, unionPay08)}}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	p := emv.DefaultParams()
	s.Usable(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)).Apply(p)
	if err := p.Check(); err != nil {
		t.Fatalf("Check after Apply = %v", err)
	}
	if len(p.AIDs) != 2 || !bytes.Equal(p.AIDs[1].AID, s.AIDs[1].AID) || p.AIDs[1].Label != "UnionPay" || p.AIDs[0].CLCVMLimit != 30000 {
		t.Errorf("AIDs after Apply = %+v; want the set's two, labelled UnionPay", p.AIDs)
	}
	// The expired published key (2024-12-31) is left out; the test key is in.
	if len(p.CAPK) != 1 || p.CAPK[0].Index != 0xF1 || !bytes.Equal(p.CAPK[0].Key.N, emvcrypto.TestCAPK().N) {
		t.Errorf("keys after Apply = %d; want only the test key F1", len(p.CAPK))
	}
	if s.Digest() == (Set{AIDs: s.AIDs}).Digest() || len(s.Digest()) != 64 {
		t.Errorf("Digest does not depend on the keys")
	}
	dup := Set{CAPKs: []CAPK{testKey(), testKey()}}
	if err := dup.Check(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Check(key twice) = %v; want refused", err)
	}
	if err := (Set{}).Check(); err == nil {
		t.Error("Check(empty set) = nil; want refused")
	}
}

func mustKey(t *testing.T, h string) CAPK {
	k, err := ParseCAPK(unhex(t, h))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unionPayAIDHost is the IC parameters of UnionPay's debit AID as acquirers' hosts send
// them in field 62 of the 0810 answering 60.3 = 380 (published in many terminals'
// default lists): 9F08 for the version, DF16 and DF17 as BCD 99, the contactless
// limits n12.
const unionPayAIDHost = "9F0608A000000333010101DF0101009F08020020DF1105D84000A800DF1205D84004F800" +
	"DF130500100000009F1B0400000000DF150400000000DF160199DF170199DF14039F3704DF1801019F7B06000000100000" +
	"DF1906000000100000DF2006000000100000DF2106000000100000"

// TestHostAID: the parameters as a real host sends them are read as such.
func TestHostAID(t *testing.T) {
	a, err := ParseAID(unhex(t, unionPayAIDHost), emv.AIDParams{})
	if err != nil {
		t.Fatal(err)
	}
	want := AID{AID: unhex(t, "A000000333010101"), Partial: true, Version: []byte{0x00, 0x20},
		TACDefault: unhex(t, "D84000A800"), TACOnline: unhex(t, "D84004F800"), TACDenial: unhex(t, "0010000000"),
		RandomMax: 99, RandomTarget: 99, DDOL: []byte{0x9F, 0x37, 0x04}, OnlinePIN: true,
		CLFloorLimit: 100000, CLTransactionLimit: 100000, CLCVMLimit: 100000, ECLimit: 100000}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("ParseAID(host's) = %+v; want %+v", a, want)
	}
	if got, err := ParseAID(a.TLV(), emv.AIDParams{}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %+v, %v", got, err)
	}
}
