package iso9564

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustBlock(t testing.TB, s string) [BlockSize]byte {
	t.Helper()
	var b [BlockSize]byte
	if n, err := hex.Decode(b[:], []byte(s)); err != nil || n != BlockSize {
		t.Fatalf("bad test block %q: %v", s, err)
	}
	return b
}

// xorBlock builds a block from a clear PIN field and a PAN field written in hex, so
// malformed blocks can be written down nibble by nibble.
func xorBlock(t testing.TB, pinField, panField string) [BlockSize]byte {
	t.Helper()
	a, b := mustBlock(t, pinField), mustBlock(t, panField)
	for i := range a {
		a[i] ^= b[i]
	}
	return a
}

// Known format 0 blocks, each from a published source.
var format0Vectors = []struct {
	pin, pan, block, source string
}{
	{"1234", "4012345678909", "041274EDCBA9876F", "ANSI X9.24-1:2009 A.4 test data"},
	{"1234", "43219876543210987", "0412AC89ABCDEF67", "EFTlab PIN block list / Wikipedia ISO 9564"},
	{"1234", "5432101234567891", "041215FEDCBA9876", "published ISO-0 encoder test"},
	{"92389", "4000001234562", "0592789FFFEDCBA9", "Format 01 (ANSI X9.8) worked example"},
	{"123456", "5413339000001513", "0612076FFFFFFEAE", "published ISO-0 decoder test"},
}

func TestFormat0(t *testing.T) {
	for _, v := range format0Vectors {
		got, err := Format0(v.pin, v.pan)
		if err != nil {
			t.Errorf("Format0(%q, %q) error %v; want %s (%s)", v.pin, v.pan, err, v.block, v.source)
			continue
		}
		if want := mustBlock(t, v.block); got != want {
			t.Errorf("Format0(%q, %q) = %X; want %s (%s)", v.pin, v.pan, got, v.block, v.source)
		}
	}
}

func TestDecodeFormat0(t *testing.T) {
	for _, v := range format0Vectors {
		got, err := DecodeFormat0(mustBlock(t, v.block), v.pan)
		if err != nil || got != v.pin {
			t.Errorf("DecodeFormat0(%s, %q) = %q, %v; want %q (%s)", v.block, v.pan, got, err, v.pin, v.source)
		}
	}
}

func TestFormat3(t *testing.T) {
	// IBM's ISO-3 example: PIN 123456, intermediate block 36123456AFBECDDC, PAN
	// field 0000222333444555, PIN block 361216759CFA8889. The example states the PAN
	// field; 2223334445550 is a PAN whose field it is (trailing check digit dropped).
	// Random bytes 0,5,1,4,2,3,3,2 map to the example's fill A F B E C D D C.
	const pin, pan, want = "123456", "2223334445550", "361216759CFA8889"
	rnd := bytes.NewReader([]byte{0, 5, 1, 4, 2, 3, 3, 2})
	got, err := Format3(pin, pan, rnd)
	if err != nil || got != mustBlock(t, want) {
		t.Errorf("Format3(%q, %q) = %X, %v; want %s", pin, pan, got, err, want)
	}
	if p, err := DecodeFormat3(mustBlock(t, want), pan); err != nil || p != pin {
		t.Errorf("DecodeFormat3(%s, %q) = %q, %v; want %q", want, pan, p, err, pin)
	}
	// A format 3 block is not a format 0 block, and the other way round.
	if _, err := DecodeFormat0(mustBlock(t, want), pan); !errors.Is(err, ErrInvalidBlock) {
		t.Errorf("DecodeFormat0(format 3 block) error %v; want ErrInvalidBlock", err)
	}
	if _, err := DecodeFormat3(mustBlock(t, "041274EDCBA9876F"), "4012345678909"); !errors.Is(err, ErrInvalidBlock) {
		t.Errorf("DecodeFormat3(format 0 block) error %v; want ErrInvalidBlock", err)
	}
}

func TestFormat3Random(t *testing.T) {
	// Bytes of 252 and above are skipped so the six fill values stay uniform.
	rnd := bytes.NewReader([]byte{252, 255, 6, 11, 253, 4, 3, 2, 1, 0})
	got, err := Format3("12345678", "4012345678909", rnd)
	if err != nil {
		t.Fatalf("Format3 error %v", err)
	}
	want := xorBlock(t, "3812345678AFEDCB", "0000401234567890") // fills 6%6=A, 11%6=F, then E D C B
	if got != want {
		t.Errorf("Format3 with rejected bytes = %X; want %X", got, want)
	}
	if _, err := Format3("1234", "4012345678909", bytes.NewReader([]byte{1, 2})); err == nil {
		t.Errorf("Format3 with a short random source succeeded; want an error")
	}
	// With crypto/rand the fill still decodes, and two blocks almost surely differ.
	a, errA := Format3("1234", "4012345678909", nil)
	b, errB := Format3("1234", "4012345678909", nil)
	if errA != nil || errB != nil || a == b {
		t.Errorf("Format3(nil reader) twice = %X, %v and %X, %v; want two different blocks", a, errA, b, errB)
	}
	if p, err := DecodeFormat3(a, "4012345678909"); err != nil || p != "1234" {
		t.Errorf("DecodeFormat3(random block) = %q, %v; want 1234", p, err)
	}
}

func TestBadInput(t *testing.T) {
	for _, tt := range []struct {
		pin, pan string
		want     error
	}{
		{"123", "4012345678909", ErrPIN},
		{"1234567890123", "4012345678909", ErrPIN},
		{"12a4", "4012345678909", ErrPIN},
		{"", "4012345678909", ErrPIN},
		{"12 34", "4012345678909", ErrPIN},
		{"1234", "4012345", ErrPAN},
		{"1234", "40123456789012345678", ErrPAN},
		{"1234", "4012 3456 7890 9", ErrPAN},
		{"1234", "", ErrPAN},
	} {
		for name, build := range map[string]func() error{
			"Format0": func() error { _, err := Format0(tt.pin, tt.pan); return err },
			"Format3": func() error { _, err := Format3(tt.pin, tt.pan, nil); return err },
		} {
			err := build()
			if !errors.Is(err, tt.want) {
				t.Errorf("%s(%q, %q) error %v; want %v", name, tt.pin, tt.pan, err, tt.want)
			}
			if err != nil && (len(tt.pin) > 0 && strings.Contains(err.Error(), tt.pin) || len(tt.pan) > 0 && strings.Contains(err.Error(), tt.pan)) {
				t.Errorf("%s error %q repeats card data", name, err)
			}
		}
	}
}

func TestDecodeBadBlocks(t *testing.T) {
	const pan, panField = "4012345678909", "0000401234567890"
	for _, tt := range []struct {
		name, pinField string
	}{
		{"control 1", "141234FFFFFFFFFF"},
		{"length 3", "03123FFFFFFFFFFF"},
		{"length 13", "0D1234567890123F"},
		{"length 0", "00FFFFFFFFFFFFFF"},
		{"non-decimal PIN digit", "04123AFFFFFFFFFF"},
		{"fill not F", "041234FFFFFFFFFE"},
		{"PIN digit where fill belongs", "0412345FFFFFFFFF"},
	} {
		block := xorBlock(t, tt.pinField, panField)
		pin, err := DecodeFormat0(block, pan)
		if !errors.Is(err, ErrInvalidBlock) || pin != "" {
			t.Errorf("DecodeFormat0(%s) = %q, %v; want ErrInvalidBlock", tt.name, pin, err)
		}
	}
	// The right block with the wrong PAN does not decode to the PIN.
	block := mustBlock(t, "041274EDCBA9876F")
	if pin, err := DecodeFormat0(block, "4012345678917"); err == nil && pin == "1234" {
		t.Errorf("DecodeFormat0 with another PAN gave the PIN back")
	}
	if _, err := DecodeFormat0(block, "40123"); !errors.Is(err, ErrPAN) {
		t.Errorf("DecodeFormat0 with a short PAN error %v; want ErrPAN", err)
	}
	// Format 3 fill is A-F: a decimal digit there is refused.
	b3 := xorBlock(t, "341234ABCDEF0AFF", panField)
	if _, err := DecodeFormat3(b3, pan); !errors.Is(err, ErrInvalidBlock) {
		t.Errorf("DecodeFormat3(decimal fill) error %v; want ErrInvalidBlock", err)
	}
}

// TestShortPAN checks the left zero padding of a PAN with fewer than 12 digits
// before its check digit.
func TestShortPAN(t *testing.T) {
	got, err := Format0("1234", "123456789") // body 12345678 → field 0000000012345678
	want := xorBlock(t, "041234FFFFFFFFFF", "0000000012345678")
	if err != nil || got != want {
		t.Errorf("Format0(1234, 9-digit PAN) = %X, %v; want %X", got, err, want)
	}
}

func FuzzFormat0(f *testing.F) {
	for _, v := range format0Vectors {
		f.Add(v.pin, v.pan)
	}
	f.Add("123456789012", "4012345678909")
	f.Add("0000", "00000000")
	f.Fuzz(func(t *testing.T, pin, pan string) {
		block, err := Format0(pin, pan)
		if err != nil {
			if !errors.Is(err, ErrPIN) && !errors.Is(err, ErrPAN) {
				t.Fatalf("Format0 error %v is neither ErrPIN nor ErrPAN", err)
			}
			return
		}
		got, err := DecodeFormat0(block, pan)
		if err != nil || got != pin {
			t.Fatalf("DecodeFormat0(Format0(%q, %q)) = %q, %v", pin, pan, got, err)
		}
	})
}

func FuzzDecodeFormat0(f *testing.F) {
	for _, v := range format0Vectors {
		b := mustBlock(f, v.block)
		f.Add(b[:], v.pan)
	}
	f.Fuzz(func(t *testing.T, raw []byte, pan string) {
		if len(raw) != BlockSize {
			return
		}
		block := [BlockSize]byte(raw)
		pin, err := DecodeFormat0(block, pan)
		if err != nil {
			if len(pan) >= MinPANLength && strings.Contains(err.Error(), pan) {
				t.Fatalf("error %q repeats the PAN", err)
			}
			return
		}
		// Format 0 is deterministic: an accepted block is exactly the one its PIN
		// and PAN build.
		again, err := Format0(pin, pan)
		if err != nil || again != block {
			t.Fatalf("Format0(DecodeFormat0(%X)) = %X, %v", block, again, err)
		}
	})
}

func FuzzDecodeFormat3(f *testing.F) {
	seed := mustBlock(f, "361216759CFA8889")
	f.Add(seed[:], "2223334445550")
	f.Fuzz(func(t *testing.T, raw []byte, pan string) {
		if len(raw) != BlockSize {
			return
		}
		block := [BlockSize]byte(raw)
		pin, err := DecodeFormat3(block, pan)
		if err != nil {
			return
		}
		// Recover the fill from the block (format 0 differs from it only in the
		// control nibble and where format 3 has random fill instead of F) and
		// rebuild: the same PIN, PAN and fill must give the same block.
		f0, err := Format0(pin, pan)
		if err != nil {
			t.Fatalf("decoded PIN/PAN rejected by Format0: %v", err)
		}
		var fill []byte
		for i := 2 + len(pin); i < 2*BlockSize; i++ {
			d := nibble(f0, i) ^ nibble(block, i)
			fill = append(fill, 0xF^d-0xA)
		}
		again, err := Format3(pin, pan, bytes.NewReader(fill))
		if err != nil || again != block {
			t.Fatalf("Format3 rebuild of %X = %X, %v", block, again, err)
		}
	})
}

func nibble(b [BlockSize]byte, i int) byte {
	if i%2 == 0 {
		return b[i/2] >> 4
	}
	return b[i/2] & 0xF
}

func BenchmarkFormat0(b *testing.B) {
	for b.Loop() {
		if _, err := Format0("1234", "4012345678909"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFormat0(b *testing.B) {
	block := mustBlock(b, "041274EDCBA9876F")
	for b.Loop() {
		if _, err := DecodeFormat0(block, "4012345678909"); err != nil {
			b.Fatal(err)
		}
	}
}
