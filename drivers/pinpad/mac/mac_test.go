package mac

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"posfw/drivers/testkit"
)

// Known answers, each from a published source (no vector here was
// produced by this code).
var x919Tests = []struct {
	source string
	key    string // hex, K1 K2
	data   string
	want   string // hex; compared on its length
}{
	{
		// Bouncy Castle, crypto/test/ISO9797Alg3MacTest.java: two full
		// blocks, so no padding.
		source: "Bouncy Castle ISO9797Alg3MacTest",
		key:    "7CA110454A1A6E57 0131D9619DC1376E",
		data:   "Hello World !!!!",
		want:   "F09B856213BAB83B",
	},
	{
		// pyemv tests/test_mac.py, mac_iso9797_3(K1, K2, b"hello world",
		// padding 1): 11 bytes, zero-padded to 16.
		source: "pyemv test_mac_iso9797_3",
		key:    "AAAAAAAAAAAAAAAA BBBBBBBBBBBBBBBB",
		data:   "hello world",
		want:   "78DA3D3DEB48FD4D",
	},
	{
		// psec tests/test_mac.py, generate_retail_mac(b"AAAAAAAAAAAAAAAA",
		// b"BBBBBBBBBBBBBBBB", b"hello world", 1): its keys are the ASCII
		// letters, i.e. K1 = 41..41 and K2 = 42..42.
		source: "psec test_generate_retail_mac",
		key:    "4141414141414141 4242424242424242",
		data:   "hello world",
		want:   "3DDE5C5511661CBF",
	},
	{
		// FIPS PUB 113 (ANSI X9.9) example as in Bouncy Castle's
		// MacTest: with K1 = K2 the final decrypt/encrypt cancels and the
		// retail MAC is the plain DES CBC-MAC, of which FIPS 113 publishes
		// the leftmost 32 bits.
		source: "FIPS 113 DAA example",
		key:    "0123456789ABCDEF 0123456789ABCDEF",
		data:   "7654321 Now is the time for ",
		want:   "F1D30F68",
	},
}

func TestX919(t *testing.T) {
	for _, tt := range x919Tests {
		got, err := X919(testkit.MustUnhex(tt.key), []byte(tt.data))
		if err != nil {
			t.Errorf("%s: X919(%s, %q) = %v", tt.source, tt.key, tt.data, err)
			continue
		}
		want := testkit.MustUnhex(tt.want)
		if string(got[:len(want)]) != string(want) {
			t.Errorf("%s: X919(%s, %q) = %X; want %s", tt.source, tt.key, tt.data, got, tt.want)
		}
	}
}

// TestX919Padding checks padding method 1 by its definition: zero bytes
// up to the block boundary change nothing, anything else does.
func TestX919Padding(t *testing.T) {
	key := testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	mac := func(s string) [Size]byte {
		m, err := X919(key, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if mac("hello") != mac("hello\x00\x00\x00") {
		t.Errorf("X919 of 5 bytes differs from X919 of the same bytes zero-padded to 8")
	}
	if mac("") != mac("\x00\x00\x00\x00\x00\x00\x00\x00") {
		t.Errorf("X919 of no data differs from X919 of one zero block")
	}
	if mac("hello\x00\x00\x00") == mac("hello\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") {
		t.Errorf("X919 of one block equals X919 of that block and a zero block")
	}
	if mac("0200") == mac("0210") {
		t.Errorf("X919 of different data is equal")
	}
}

func TestCUPECB(t *testing.T) {
	for _, tt := range []struct {
		source string
		key    string
		data   string // hex
		want   string // ASCII
	}{
		{
			// solo123/pgate test/integration/pos_mac_test.rb, a worked
			// example of the 银联 POS MAC: XOR = B9F9B96AA4FDB57F,
			// E(“B9F9B96A”) = 9FDE90A34CF73B2E, XOR “A4FDB57F” =
			// DEEAD6E70EC20C68, E() = E267B6E21913D339.
			source: "pgate POS MAC example",
			key:    "2222222222222222",
			data:   "1234567890ABCDEF ABCDEF1234567890",
			want:   "E267B6E2",
		},
		{
			// The same with the single key written as a double-length
			// one (K1 = K2): triple DES then equals single DES.
			source: "pgate POS MAC example, double-length key",
			key:    "2222222222222222 2222222222222222",
			data:   "1234567890ABCDEF ABCDEF1234567890",
			want:   "E267B6E2",
		},
		{
			// A real terminal's 0200 and the MAC its acquirer accepted,
			// posted in q.cnblogs.com/q/128930 ("POS机MAC算法验证不过"):
			// the MAC block runs from the MTI to the end of field 63
			// (TPDU and CUP header excluded); the frame ends in the
			// ASCII MAC "B3A092AE".
			source: "cnblogs 128930 terminal message",
			key:    "0723C80DB5F4CD3D 0723C80DB5F4CD3D",
			data: "02003020048000C0801500000000000000123400000203009930303030303030" +
				"3139353237313831383232313738373531353600192600000100060000000000" +
				"435F01123238343431323334353637383930313233345F03063136303033365F" +
				"04063230303832365C023031",
			want: "B3A092AE",
		},
	} {
		got, err := CUPECB(testkit.MustUnhex(tt.key), testkit.MustUnhex(tt.data))
		if err != nil {
			t.Errorf("%s: CUPECB() = %v", tt.source, err)
			continue
		}
		if string(got[:]) != tt.want {
			t.Errorf("%s: CUPECB(%s, %s) = %q; want %q", tt.source, tt.key, tt.data, got, tt.want)
		}
	}
}

func TestKeyLengthErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    func(key []byte) error
		lens []int
	}{
		{"X919", func(k []byte) error { _, err := X919(k, []byte("x")); return err }, []int{0, 8, 15, 17, 24}},
		{"CUPECB", func(k []byte) error { _, err := CUPECB(k, []byte("x")); return err }, []int{0, 7, 9, 24}},
		{"KCV", func(k []byte) error { _, err := KCV(k); return err }, []int{0, 7, 9, 32}},
	} {
		for _, n := range tt.lens {
			if err := tt.f(make([]byte, n)); err == nil {
				t.Errorf("%s(%d-byte key) = nil error; want an error", tt.name, n)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	key := testkit.MustUnhex("7CA110454A1A6E570131D9619DC1376E")
	data := []byte("Hello World !!!!")
	good := testkit.MustUnhex("F09B856213BAB83B")
	if err := Verify(X919, key, data, good); err != nil {
		t.Errorf("Verify(good MAC) = %v; want nil", err)
	}
	for _, tt := range []struct {
		name string
		mac  []byte
	}{
		{"last bit flipped", testkit.MustUnhex("F09B856213BAB83A")},
		{"first byte wrong", testkit.MustUnhex("009B856213BAB83B")},
		{"truncated to 4 bytes", good[:4]},
		{"empty", nil},
		{"too long", append(append([]byte{}, good...), 0)},
	} {
		if err := Verify(X919, key, data, tt.mac); !errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%s) = %v; want ErrMismatch", tt.name, err)
		}
	}
	if err := Verify(X919, key, []byte("Hello World !!!?"), good); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(altered data) = %v; want ErrMismatch", err)
	}
	if err := Verify(X919, key[:8], data, good); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(8-byte key) = %v; want a key error", err)
	}
	if err := Verify(CUPECB, testkit.MustUnhex("2222222222222222"), testkit.MustUnhex("1234567890ABCDEFABCDEF1234567890"), []byte("E267B6E2")); err != nil {
		t.Errorf("Verify(CUPECB, good MAC) = %v; want nil", err)
	}
}

func TestKCV(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		// Encryption of a zero block under these keys is the classic
		// DES / TDES known answer: D5D44FF720683D0D and 08D7B4FB629D0885.
		{"0123456789ABCDEF", "D5D44F"},
		{"0123456789ABCDEF FEDCBA9876543210", "08D7B4"},
		{"0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", "08D7B4"},
	} {
		got, err := KCV(testkit.MustUnhex(tt.key))
		if err != nil || hex.EncodeToString(got[:]) != strings.ToLower(tt.want) {
			t.Errorf("KCV(%s) = %X, %v; want %s", tt.key, got, err, tt.want)
		}
	}
}

// X919 and CUPECB run on every message; a 0200 is about 150 bytes.
var benchData = []byte(strings.Repeat("0200723C048020C0900116476173900101011900000000", 3) + "0000")

func BenchmarkX919(b *testing.B) {
	key := testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	b.SetBytes(int64(len(benchData)))
	for b.Loop() {
		if _, err := X919(key, benchData); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCUPECB(b *testing.B) {
	key := testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	b.SetBytes(int64(len(benchData)))
	for b.Loop() {
		if _, err := CUPECB(key, benchData); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzMAC checks, for any key and data, that nothing panics, that a key
// of the wrong length is an error and not a MAC, that zero padding to the
// block boundary does not change a MAC (padding method 1), and that
// Verify accepts what was computed.
func FuzzMAC(f *testing.F) {
	f.Add(testkit.MustUnhex("7CA110454A1A6E570131D9619DC1376E"), []byte("Hello World !!!!"))
	f.Add(testkit.MustUnhex("2222222222222222"), []byte("abc"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, data []byte) {
		for _, alg := range []struct {
			name string
			f    Func
			ok   func(n int) bool
		}{
			{"X919", X919, func(n int) bool { return n == 16 }},
			{"CUPECB", CUPECB, func(n int) bool { return n == 8 || n == 16 }},
		} {
			m, err := alg.f(key, data)
			if (err == nil) != alg.ok(len(key)) {
				t.Fatalf("%s(%d-byte key) error = %v", alg.name, len(key), err)
			}
			if err != nil {
				continue
			}
			zeros := make([]byte, (8-len(data)%8)%8)
			if m2, _ := alg.f(key, append(append([]byte{}, data...), zeros...)); m2 != m {
				t.Fatalf("%s: zero padding to a block boundary changed the MAC", alg.name)
			}
			if err := Verify(alg.f, key, data, m[:]); err != nil {
				t.Fatalf("%s: Verify(own MAC) = %v", alg.name, err)
			}
		}
	})
}
