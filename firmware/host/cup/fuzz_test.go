package cup

import (
	"bytes"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to Unpack in both field 22 layouts. It must never
// panic, and a message it accepts must pack back to the same bytes and unpack again
// to the same message.
func FuzzUnpack(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.bytes(), g.f22 == Right22)
	}
	f.Add(append(make([]byte, PrefixLen), 0x02, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), false)
	f.Fuzz(func(t *testing.T, b []byte, right bool) {
		c := Codec{}
		if right {
			c.Field22 = Right22
		}
		m1, tpdu, hdr, err := c.Unpack(b)
		if err != nil {
			return
		}
		c.TPDU, c.Header = tpdu, hdr
		p1, err := c.Pack(m1)
		if err != nil {
			t.Fatalf("Pack(Unpack(%X)) = %v", b, err)
		}
		if !bytes.Equal(p1, b) {
			t.Fatalf("Pack(Unpack(%X)) = %X; want the input", b, p1)
		}
		m2, _, _, err := c.Unpack(p1)
		if err != nil {
			t.Fatalf("Unpack(Pack(Unpack(%X))) = %v", b, err)
		}
		if d1, d2 := Describe(m1), Describe(m2); d1 != d2 {
			t.Fatalf("unpack, pack, unpack changed the message:\n%s\nbecame\n%s", d1, d2)
		}
	})
}

// FuzzSubfields parses fields 48, 60, 61 and 62 from arbitrary text: never a panic,
// and what parses formats back to the same text.
func FuzzSubfields(f *testing.F) {
	f.Add("00000001003", "0000070001230412", "00000001234500200000000050000100000000000000000000000000000000", []byte("0123456789012345678901234"), "001")
	f.Fuzz(func(t *testing.T, s60, s61, s48 string, k62 []byte, net string) {
		if v, err := ParseField60(s60); err == nil && v.String() != s60 {
			t.Fatalf("field 60 %q became %q", s60, v.String())
		}
		if v, err := ParseField61(s61); err == nil && len(s61) == 16 && v.String() != s61 {
			t.Fatalf("field 61 %q became %q", s61, v.String())
		}
		if v, err := ParseField48(s48); err == nil {
			if got, err := v.String(); err != nil || got != s48 {
				t.Fatalf("field 48 %q became %q, %v", s48, got, err)
			}
		}
		if v, err := ParseKeys62(k62, net); err == nil {
			if got, err := v.Bytes(net); err != nil || !bytes.Equal(got, k62) {
				t.Fatalf("field 62 %X became %X, %v", k62, got, err)
			}
		}
	})
}
