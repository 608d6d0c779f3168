package tlv

import (
	"bytes"
	"errors"
	"testing"

	"posfw/drivers/testkit"
)

// Card responses (status word removed) from openemv/emv-utils' tests, which recorded
// them from cards: tests/emv_build_candidate_list_test.c (the PSE's FCI, an AID's FCI)
// and tests/emv_initiate_application_processing_test.c (GPO formats 1 and 2).
var (
	pseFCI = testkit.MustUnhex(`6F 20 84 0E 315041592E5359532E4444463031
		A5 0E 88 01 01 5F2D 04 6E6C656E 9F11 01 01`)
	aidFCI = testkit.MustUnhex(`6F 2F 84 07 A0000000032020
		A5 24 50 05 5620504159 87 01 01 5F2D 04 6E6C656E
		BF0C 10 9F4D 02 0B05 9F0A 08 0001050100000000`)
	gpoFormat1 = testkit.MustUnhex(`80 0E 7800 08020200 10010400 18010201`)
	gpoFormat2 = testkit.MustUnhex(`77 0E 82 02 3900 94 08 18010201 20020400`)
	// A PPSE answer laid out as EMV Book B (contactless) §3.3 gives it, with an
	// application template per AID inside the FCI discretionary data (BF0C).
	ppseFCI = testkit.MustUnhex(`6F 2C 84 0E 325041592E5359532E4444463031
		A5 1A BF0C 17 61 15 4F 08 A000000333010102 50 06 5550494341 20 87 01 01`)
)

func TestParseRealResponses(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		tag  Tag
		want []byte
	}{
		{"PSE FCI: DF name", pseFCI, 0x84, []byte("1PAY.SYS.DDF01")},
		{"PSE FCI: SFI of the directory", pseFCI, 0x88, []byte{1}},
		{"PSE FCI: issuer code table index", pseFCI, 0x9F11, []byte{1}},
		{"AID FCI: label", aidFCI, 0x50, []byte("V PAY")},
		{"AID FCI: priority", aidFCI, 0x87, []byte{1}},
		{"AID FCI: log entry inside BF0C", aidFCI, 0x9F4D, []byte{0x0B, 0x05}},
		{"AID FCI: application version", aidFCI, 0x9F0A, testkit.MustUnhex("0001050100000000")},
		{"GPO format 1 is one primitive object", gpoFormat1, 0x80, testkit.MustUnhex("7800 08020200 10010400 18010201")},
		{"GPO format 2: AIP", gpoFormat2, 0x82, []byte{0x39, 0x00}},
		{"GPO format 2: AFL", gpoFormat2, 0x94, testkit.MustUnhex("18010201 20020400")},
		{"PPSE: AID in the directory entry", ppseFCI, 0x4F, testkit.MustUnhex("A000000333010102")},
		{"PPSE: label", ppseFCI, 0x50, []byte("UPICA ")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(% X) = %v; want no error", tt.in, err)
			}
			if got := l.Value(tt.tag); !bytes.Equal(got, tt.want) {
				t.Errorf("value of %s = % X; want % X", tt.tag, got, tt.want)
			}
			if got := l.Bytes(); !bytes.Equal(got, tt.in) {
				t.Errorf("re-encoded = % X; want % X", got, tt.in)
			}
		})
	}
}

func TestParsePaddingAndLengths(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		tags []Tag // the primitive objects Walk visits, in order
	}{
		{"00 and FF between objects", testkit.MustUnhex("00 5A 02 1234 FF FF 00 5F34 01 01 00"), []Tag{0x5A, 0x5F34}},
		{"padding inside a template", testkit.MustUnhex("70 09 00 5A 02 1234 FF 9F36 00"), []Tag{0x5A, 0x9F36}},
		{"long form 81", append(testkit.MustUnhex("90 81 80"), make([]byte, 128)...), []Tag{0x90}},
		{"long form 82", append(testkit.MustUnhex("90 82 0100"), make([]byte, 256)...), []Tag{0x90}},
		{"three-byte tag", testkit.MustUnhex("DF8101 01 07"), []Tag{0xDF8101}},
		{"empty value", testkit.MustUnhex("9F36 00"), []Tag{0x9F36}},
		{"nothing", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(% X) = %v; want no error", tt.in, err)
			}
			var got []Tag
			l.Walk(func(o TLV) { got = append(got, o.Tag) })
			if len(got) != len(tt.tags) {
				t.Fatalf("tags = %v; want %v", got, tt.tags)
			}
			for i := range got {
				if got[i] != tt.tags[i] {
					t.Errorf("tag %d = %s; want %s", i, got[i], tt.tags[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	deep := []byte{0x01}
	for range MaxDepth + 2 {
		deep = append([]byte{0x70, byte(len(deep))}, deep...)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"value cut short", testkit.MustUnhex("5A 08 1234"), ErrTruncated},
		{"tag cut short", testkit.MustUnhex("9F"), ErrTruncated},
		{"length missing", testkit.MustUnhex("9F36"), ErrTruncated},
		{"long length cut short", testkit.MustUnhex("90 82 01"), ErrTruncated},
		{"four-byte tag", testkit.MustUnhex("DF 81 81 01 01 00"), ErrTag},
		{"indefinite length", testkit.MustUnhex("70 80 00 00"), ErrLength},
		{"length form 83", testkit.MustUnhex("70 83 000001 00"), ErrLength},
		{"child runs past its template", testkit.MustUnhex("70 03 5A 05 12 34 56 78 90"), ErrTruncated},
		{"too deep", deep, ErrDepth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Parse(% X) = %v; want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    TLV
		want []byte
	}{
		{"primitive", New(0x9F36, []byte{0x00, 0x01}), testkit.MustUnhex("9F36 02 0001")},
		{"template", Template(0x77, New(0x82, []byte{0x39, 0x00}), New(0x94, testkit.MustUnhex("18010201"))),
			testkit.MustUnhex("77 0A 82 02 3900 94 04 18010201")},
		{"long value", New(0x90, make([]byte, 0x90)), append(testkit.MustUnhex("90 81 90"), make([]byte, 0x90)...)},
		{"very long value", New(0x90, make([]byte, 0x100)), append(testkit.MustUnhex("90 82 0100"), make([]byte, 0x100)...)},
		{"three-byte tag", New(0xDF8101, []byte{7}), testkit.MustUnhex("DF8101 01 07")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.Bytes(); !bytes.Equal(got, tt.want) {
				t.Errorf("Bytes() = % X; want % X", got, tt.want)
			}
		})
	}
}

func TestTag(t *testing.T) {
	for _, tt := range []struct {
		tag         Tag
		str         string
		constructed bool
	}{
		{0x5A, "5A", false}, {0x9F02, "9F02", false}, {0x70, "70", true}, {0x77, "77", true},
		{0xBF0C, "BF0C", true}, {0xA5, "A5", true}, {0xDF8101, "DF8101", false},
	} {
		if got := tt.tag.String(); got != tt.str {
			t.Errorf("Tag(%#x).String() = %q; want %q", uint32(tt.tag), got, tt.str)
		}
		if got := tt.tag.Constructed(); got != tt.constructed {
			t.Errorf("%s.Constructed() = %v; want %v", tt.str, got, tt.constructed)
		}
	}
}

func TestDOL(t *testing.T) {
	// A PDOL of a qPBOC card: TTQ, amount, other amount, country, TVR, currency, date,
	// type, unpredictable number.
	pdol := testkit.MustUnhex("9F66 04 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04")
	d, err := ParseDOL(pdol)
	if err != nil {
		t.Fatalf("ParseDOL = %v", err)
	}
	want := DOL{{0x9F66, 4}, {0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2}, {0x9A, 3}, {0x9C, 1}, {0x9F37, 4}}
	if len(d) != len(want) {
		t.Fatalf("ParseDOL = %v; want %v", d, want)
	}
	for i := range d {
		if d[i] != want[i] {
			t.Errorf("entry %d = %v; want %v", i, d[i], want[i])
		}
	}
	if got := d.Len(); got != 33 {
		t.Errorf("Len() = %d; want 33", got)
	}
	if got := d.Bytes(); !bytes.Equal(got, pdol) {
		t.Errorf("Bytes() = % X; want % X", got, pdol)
	}
	v := testkit.MustUnhex("36000000 000000001000 000000000000 0156 0000000000 0156 261205 00 11223344")
	m, err := d.Split(v)
	if err != nil {
		t.Fatalf("Split = %v", err)
	}
	if got := m[0x9F37]; !bytes.Equal(got, testkit.MustUnhex("11223344")) {
		t.Errorf("Split: 9F37 = % X; want 11 22 33 44", got)
	}
	if _, err := d.Split(v[1:]); err == nil {
		t.Errorf("Split of a short value = nil error; want one")
	}
	for _, bad := range [][]byte{testkit.MustUnhex("9F"), testkit.MustUnhex("9F02"), testkit.MustUnhex("9F02 83")} {
		if _, err := ParseDOL(bad); err == nil {
			t.Errorf("ParseDOL(% X) = nil error; want one", bad)
		}
	}
}

// FuzzParse: any input parses or fails, without panic; what parses re-encodes to bytes
// that parse to the same objects.
func FuzzParse(f *testing.F) {
	for _, s := range [][]byte{pseFCI, aidFCI, gpoFormat1, gpoFormat2, ppseFCI, {0x70, 0x81}, {0x9F}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		again, err := Parse(l.Bytes())
		if err != nil {
			t.Fatalf("re-encoding of % X does not parse: %v", b, err)
		}
		if !bytes.Equal(again.Bytes(), l.Bytes()) {
			t.Fatalf("re-encoding is not stable for % X", b)
		}
		if _, _, err := ParseOne(b); err != nil && len(l) > 0 && b[0] != 0 && b[0] != 0xFF {
			t.Fatalf("Parse accepted % X but ParseOne failed: %v", b, err)
		}
	})
}

// FuzzParseDOL: any input parses or fails; what parses re-encodes and parses the same.
func FuzzParseDOL(f *testing.F) {
	f.Add(testkit.MustUnhex("9F66 04 9F02 06 9F37 04"))
	f.Add([]byte{0x9F})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDOL(b)
		if err != nil {
			return
		}
		again, err := ParseDOL(d.Bytes())
		if err != nil || len(again) != len(d) {
			t.Fatalf("re-encoded DOL of % X: %v, %d entries; want %d", b, err, len(again), len(d))
		}
		if _, err := d.Split(make([]byte, d.Len())); err != nil {
			t.Fatalf("Split of a value of the right length: %v", err)
		}
	})
}
