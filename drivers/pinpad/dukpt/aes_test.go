package dukpt_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"posfw/drivers/pinpad/dukpt"
)

// ANSI X9.24-3:2017 Annex B / supplement test data for an AES-128 BDK.
const (
	aesBDK  = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
	aesIKID = "1234567890123456"
	aesIK   = "1273671EA26AC29AFA4D1084127652A1"
)

func aesKey(t testing.TB, s string) dukpt.AESKey {
	t.Helper()
	k, err := dukpt.ParseAESKey(s)
	if err != nil {
		t.Fatalf("ParseAESKey(test key): %v", err)
	}
	return k
}

func aesKSN(t testing.TB, counter string) dukpt.AESKSN {
	t.Helper()
	k, err := dukpt.ParseAESKSN(aesIKID + counter)
	if err != nil {
		t.Fatalf("ParseAESKSN(%s%s): %v", aesIKID, counter, err)
	}
	return k
}

func hexAES(k dukpt.AESKey) string { return strings.ToUpper(hex.EncodeToString(k[:])) }

func TestDeriveAESInitialKey(t *testing.T) {
	for _, c := range []string{"00000000", "00000001", "FFFF0000"} {
		if got := dukpt.DeriveAESInitialKey(aesKey(t, aesBDK), aesKSN(t, c)); hexAES(got) != aesIK {
			t.Errorf("DeriveAESInitialKey(test BDK, counter %s) = %s; want %s", c, hexAES(got), aesIK)
		}
	}
}

// Transaction (derivation) keys of the X9.24-3:2017 supplement for the AES-128 BDK:
// the first eight counters, the rollover around 0x1FFFF and the last four counters,
// as transcribed in openemv/dukpt's dukpt_aes128_test.c (the last four also appear in
// CEX's DUKPTTest).
var aesTransactionKeys = []struct{ counter, key string }{
	{"00000001", "4F21B565BAD9835E112B6465635EAE44"},
	{"00000002", "2F34D68DE10F68D38091A73B9E7C437C"},
	{"00000003", "031504E530365CF81264238540518318"},
	{"00000004", "0EEFC7ADA628BA68878DA9165A8A1887"},
	{"00000005", "C2A7AC328A5DA2D6002D62465BFC028B"},
	{"00000006", "D30F7D9351DA58448A2F5E92B4EE3B7D"},
	{"00000007", "A8253CEED9AC042C54F75D35C8352278"},
	{"00000008", "718EE6CF0B27E53D5F7AF99C4D8146A2"},
	{"0001FFFE", "E21E8C8D347F8561A2BE752DAA85A111"},
	{"00020000", "F7AE9025468A25D37B7249CFFED224C8"},
	{"00020001", "692C8EA4013645135B36497131DF9D2C"},
	{"FFFE2000", "48E585B694EB0B18D5C35443E163C0BA"},
	{"FFFE4000", "396C2C7CA1EA701C03B86B7D41F0C562"},
	{"FFFE8000", "0387625F189B58AE03EF0E8CCA41105E"},
	{"FFFF0000", "F6BA59389BD14A9855BE9727E7C52E3C"},
}

func TestDeriveAESTransactionKey(t *testing.T) {
	ik := aesKey(t, aesIK)
	for _, v := range aesTransactionKeys {
		got, err := dukpt.DeriveAESTransactionKey(ik, aesKSN(t, v.counter))
		if err != nil || hexAES(got) != v.key {
			t.Errorf("DeriveAESTransactionKey(IK, counter %s) = %s, %v; want %s", v.counter, hexAES(got), err, v.key)
		}
	}
	// Counter 0 is the initial key; 0x1FFFF (17 one-bits) is listed in the supplement
	// but no device uses it, and 0xFFFFFFFF neither.
	for _, c := range []string{"00000000", "0001FFFF", "FFFFFFFF"} {
		if k, err := dukpt.DeriveAESTransactionKey(ik, aesKSN(t, c)); err == nil {
			t.Errorf("DeriveAESTransactionKey(counter %s) = %s, nil; want an error", c, hexAES(k))
		}
	}
}

// AES-128 working keys (PIN encryption, MAC generation, data encryption) of the
// X9.24-3:2017 supplement, as transcribed in paysec-dukpt's tests; the PIN keys of
// counters 1-5 also appear in Forage's Android SDK fixtures.
var aesWorkingKeys = []struct{ counter, pin, macGen, dataEnc string }{
	{"00000001", "AF8CB133A78F8DC2D1359F18527593FB", "A2DC23DE6FDE0824A2BC321E08E4B8B7", "A35C412EFD41FDB98B69797C02DCD08F"},
	{"00000002", "D30BDC73EC9714B000BEC66BDB7B6D09", "484C3B06E8562704528CD5B46FB12FB6", "D639514AA33AC43AD9229E433D6D4E5B"},
	{"00000003", "7D69F01F3B45449F62C7816ECE723268", "A5DF7D9D800CA769766F0C77CA4E6E6C", "EF17F6AB45B4820C93A3DCB21BC491AD"},
	{"00000004", "91A0588318EC2673214271F70137896E", "E6E4679647D8A9057C1FC15537CB4C4E", "B3BD44C08BB6BA27C3BB4711D7D70387"},
	{"00000005", "35A43BC9EFEB09C756204B57E3FB7D4D", "0588185FE1FF8C7E22FAD78C1C61F065", "CA02DF6F30B39E14BD0B4A30E460920F"},
	{"0001FFFE", "DDF7E08A84B5478C498D007C743BF762", "6D7623AD652734B8FAE1B6E093EACE3D", "8E4E5D5E0F01C54F01F4ACA1C8F8EDCE"},
	{"00020000", "AB828BE7B58C7EC5D5ED0D5D320A0C9D", "0B59D3D7D93028D97135FB895CACE24E", "13361208975755318FE7AE28C9616014"},
}

// TestAESWorkingKeys runs the host's whole chain, BDK to working key, per vector.
func TestAESWorkingKeys(t *testing.T) {
	for _, v := range aesWorkingKeys {
		ksn := aesKSN(t, v.counter)
		tk, err := dukpt.DeriveAESTransactionKey(dukpt.DeriveAESInitialKey(aesKey(t, aesBDK), ksn), ksn)
		if err != nil {
			t.Fatalf("DeriveAESTransactionKey(counter %s): %v", v.counter, err)
		}
		for _, w := range []struct {
			usage dukpt.AESUsage
			want  string
		}{
			{dukpt.AESPINEncryption, v.pin},
			{dukpt.AESMACGeneration, v.macGen},
			{dukpt.AESDataEncryption, v.dataEnc},
		} {
			got, err := dukpt.AESWorkingKey(tk, ksn, w.usage)
			if err != nil || hexAES(got) != w.want {
				t.Errorf("AESWorkingKey(counter %s, %v) = %s, %v; want %s", v.counter, w.usage, hexAES(got), err, w.want)
			}
		}
	}
}

// PIN encryption keys of the supplement's last counters, from CEX's DUKPTTest.
var aesLastPINKeys = []struct{ counter, pin string }{
	{"FFFE4000", "6239A27F572DEDB17BCA1AC413EF9FE9"},
	{"FFFE8000", "F10C1404137A80718FCCE8BD90FF9F67"},
	{"FFFF0000", "27EFAC1D158632588F4AC69E45C247C4"},
}

func TestAESLastPINKeys(t *testing.T) {
	ik := aesKey(t, aesIK)
	for _, v := range aesLastPINKeys {
		ksn := aesKSN(t, v.counter)
		tk, err := dukpt.DeriveAESTransactionKey(ik, ksn)
		if err != nil {
			t.Fatalf("DeriveAESTransactionKey(counter %s): %v", v.counter, err)
		}
		if got, err := dukpt.AESWorkingKey(tk, ksn, dukpt.AESPINEncryption); err != nil || hexAES(got) != v.pin {
			t.Errorf("AESWorkingKey(counter %s, PIN) = %s, %v; want %s", v.counter, hexAES(got), err, v.pin)
		}
	}
}

// TestAESWorkingKeyUsages covers every usage at counter 1 (same source).
func TestAESWorkingKeyUsages(t *testing.T) {
	ksn := aesKSN(t, "00000001")
	tk := aesKey(t, "4F21B565BAD9835E112B6465635EAE44")
	for _, tt := range []struct {
		usage dukpt.AESUsage
		want  string
	}{
		{dukpt.AESKeyEncryption, "36A724B7BEFA5A25F5E7B5782A4554A2"},
		{dukpt.AESPINEncryption, "AF8CB133A78F8DC2D1359F18527593FB"},
		{dukpt.AESMACGeneration, "A2DC23DE6FDE0824A2BC321E08E4B8B7"},
		{dukpt.AESMACVerification, "DBB463945B286C07CD3AD82EE96FD9C9"},
		{dukpt.AESMACBoth, "85675439D18D7F1158BD8E3EAA3D502B"},
		{dukpt.AESDataEncryption, "A35C412EFD41FDB98B69797C02DCD08F"},
		{dukpt.AESDataDecryption, "16292C6EA8F64C5420A0584BFBC577BE"},
		{dukpt.AESDataBoth, "A308E080DD15A1B741F1721BF67DE11C"},
	} {
		got, err := dukpt.AESWorkingKey(tk, ksn, tt.usage)
		if err != nil || hexAES(got) != tt.want {
			t.Errorf("AESWorkingKey(counter 1, %v) = %s, %v; want %s", tt.usage, hexAES(got), err, tt.want)
		}
	}
	// Derivation usages are internal: a working key must not be an intermediate key.
	for _, u := range []dukpt.AESUsage{0x8000, 0x8001, 0x0000, 0x1001} {
		if _, err := dukpt.AESWorkingKey(tk, ksn, u); err == nil {
			t.Errorf("AESWorkingKey(%v) succeeded; want an error", u)
		}
	}
}

func TestAESKSNNext(t *testing.T) {
	for _, tt := range []struct{ from, want string }{
		{"00000000", "00000001"},
		{"00000007", "00000008"},
		{"0001FFFE", "00020000"}, // 0001FFFF has 17 one-bits
		{"FFFE2000", "FFFE4000"},
		{"FFFE4000", "FFFE8000"},
		{"FFFE8000", "FFFF0000"},
	} {
		got, err := aesKSN(t, tt.from).Next()
		if err != nil || got != aesKSN(t, tt.want) {
			t.Errorf("%s%s.Next() = %s, %v; want %s%s", aesIKID, tt.from, got, err, aesIKID, tt.want)
		}
	}
	for _, c := range []string{"FFFF0000", "FFFFFFFF"} {
		k := aesKSN(t, c)
		if got, err := k.Next(); !errors.Is(err, dukpt.ErrExhausted) || got != k {
			t.Errorf("%s.Next() = %s, %v; want the same KSN and ErrExhausted", k, got, err)
		}
	}
}

func TestParseAESKSN(t *testing.T) {
	k, err := dukpt.ParseAESKSN("123456789012345600020001")
	if err != nil || k.Counter() != 0x20001 || k.String() != "123456789012345600020001" || k.InitialKeyID() != [8]byte{0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56} {
		t.Errorf("ParseAESKSN = %s (counter %#x), %v", k, k.Counter(), err)
	}
	for _, tt := range []struct{ in, err string }{
		{"FFFF9876543210E00001", "must be 24 hex digits, got 20"},
		{"12345678901234560002000X", "position 24"},
	} {
		if _, err := dukpt.ParseAESKSN(tt.in); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAESKSN(%q) error %v; want one containing %q", tt.in, err, tt.err)
		}
	}
	if got := k.WithCounter(1).String(); got != "123456789012345600000001" {
		t.Errorf("WithCounter(1) = %s", got)
	}
}

func TestAESKeyRedacted(t *testing.T) {
	k := aesKey(t, aesBDK)
	for _, verb := range []string{"%v", "%s", "%x", "%#v"} {
		if out := fmt.Sprintf(verb, k); strings.Contains(strings.ToUpper(out), "FEDCBA") {
			t.Errorf("Sprintf(%q, AES key) = %q; shows key bytes", verb, out)
		}
	}
	if _, err := dukpt.ParseAESKey("FEDCBA9876543210F1F1F1F1F1F1F1FZ"); err == nil || strings.Contains(err.Error(), "FEDCBA") {
		t.Errorf("ParseAESKey(bad) error %v; want one that does not repeat the key", err)
	}
}

func FuzzParseAESKSN(f *testing.F) {
	f.Add(aesIKID + "00000001")
	f.Add(aesIKID + "FFFF0000")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := dukpt.ParseAESKSN(s)
		if err != nil {
			return
		}
		if k.String() != strings.ToUpper(s) {
			t.Fatalf("ParseAESKSN(%q).String() = %q", s, k)
		}
		next, err := k.Next()
		if err != nil {
			if !errors.Is(err, dukpt.ErrExhausted) || k.Counter() < 0xFFFF0000 {
				t.Fatalf("%s.Next() error %v before the last counter", k, err)
			}
			return
		}
		if next.Counter() <= k.Counter() || next.InitialKeyID() != k.InitialKeyID() {
			t.Fatalf("%s.Next() = %s; not a later counter of the same device", k, next)
		}
	})
}

func BenchmarkDeriveAESTransactionKey(b *testing.B) {
	ik, ksn := aesKey(b, aesIK), aesKSN(b, "FFFF0000") // 16 derivations: the worst case
	for b.Loop() {
		if _, err := dukpt.DeriveAESTransactionKey(ik, ksn); err != nil {
			b.Fatal(err)
		}
	}
}
