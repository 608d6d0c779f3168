package cup

import (
	"crypto/des"
	"encoding/hex"
	"strings"
	"testing"
)

// TestField60: the sub-fields of 60 in and out, and the lengths refused.
func TestField60(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Field60
		ok   bool
	}{
		{"00000001003", Field60{Type: "00", Batch: "000001", NetCode: "003"}, true},
		{"22000007", Field60{Type: "22", Batch: "000007"}, true},
		{"22000007000601", Field60{Type: "22", Batch: "000007", NetCode: "000", Rest: "601"}, true},
		{"2200000", Field60{}, false},
		{"220000070", Field60{}, false},
		{"2200000A", Field60{}, false},
	} {
		got, err := ParseField60(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseField60(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("ParseField60(%q).String() = %q", tc.in, got.String())
		}
	}
}

// TestKeys62: the three sign-on layouts of field 62 by 60.3.
func TestKeys62(t *testing.T) {
	for _, tc := range []struct {
		net  string
		size int
		tdk  bool
	}{{NetSignOnSingle, 24, false}, {NetSignOnDouble, 40, false}, {NetSignOnTDK, 60, true}} {
		b := make([]byte, tc.size)
		for i := range b {
			b[i] = byte(i)
		}
		k, err := ParseKeys62(b, tc.net)
		if err != nil {
			t.Errorf("%s: ParseKeys62(%d bytes) = %v", tc.net, tc.size, err)
			continue
		}
		if (k.TDK.Enc != nil) != tc.tdk {
			t.Errorf("%s: TDK present = %v; want %v", tc.net, k.TDK.Enc != nil, tc.tdk)
		}
		if _, err := ParseKeys62(b[:tc.size-1], tc.net); err == nil {
			t.Errorf("%s: ParseKeys62 took %d bytes", tc.net, tc.size-1)
		}
	}
	if _, err := ParseKeys62(make([]byte, 24), "201"); err == nil {
		t.Errorf("ParseKeys62 with 60.3 = 201 succeeded; want an error")
	}
}

// TestSecurity53: PIN format, algorithm and track flag of field 53.
func TestSecurity53(t *testing.T) {
	if got := Security53(true, false); got != "2600000000000000" {
		t.Errorf("Security53(double, clear track) = %q; want 2600000000000000", got)
	}
	if got := Security53(false, true); got != "2010000000000000" {
		t.Errorf("Security53(single, encrypted track) = %q; want 2010000000000000", got)
	}
}

// TestEncryptTrack: the track data block is the 8 packed bytes before the last, and
// only those change; decrypting gives the track back; a short track stays clear.
func TestEncryptTrack(t *testing.T) {
	key := []byte{0x13, 0x57, 0x9B, 0xDF, 0x24, 0x68, 0xAC, 0xE0}
	c, _ := des.NewCipher(key)
	enc := func(b []byte) ([]byte, error) { o := make([]byte, 8); c.Encrypt(o, b); return o, nil }
	dec := func(b []byte) ([]byte, error) { o := make([]byte, 8); c.Decrypt(o, b); return o, nil }
	track := []byte(testTrack2) // packs to 47 61 73 90 01 01 01 19 | D2 91 22 01 11 43 80 00 | 00
	tdb, _ := hex.DecodeString("D291220111438000")
	e, _ := enc(tdb)
	want := "4761739001010119" + strings.ToUpper(hex.EncodeToString(e)) + "00"
	got, encrypted, err := EncryptTrack(track, enc)
	if err != nil || !encrypted || string(got) != want {
		t.Fatalf("EncryptTrack = %q, %v, %v; want %q", got, encrypted, err, want)
	}
	// The field packs it: the ciphertext's nibbles survive a round trip through the codec.
	if p, err := track2BCD.Encode(got); err != nil || len(p) != 17 {
		t.Fatalf("packing the encrypted track = %X, %v", p, err)
	}
	back, err := DecryptTrack(got, dec)
	if err != nil || string(back) != testTrack2 {
		t.Errorf("DecryptTrack = %q, %v; want the track", back, err)
	}
	if _, err := DecryptTrack(got, enc); err == nil {
		t.Errorf("DecryptTrack with the wrong operation succeeded")
	}
	short := []byte("1234567890123=45")
	if got, encrypted, err := EncryptTrack(short, enc); err != nil || encrypted || string(got) != string(short) {
		t.Errorf("EncryptTrack(short track) = %q, %v, %v; want it clear", got, encrypted, err)
	}
}
