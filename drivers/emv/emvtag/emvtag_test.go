package emvtag

import (
	"bytes"
	"strings"
	"testing"

	"posfw/drivers/emv/tlv"
	"posfw/drivers/testkit"
)

// kernelTags are the elements the contact and contactless kernels, field 55 and the
// card simulator use; each must be in the dictionary.
var kernelTags = []tlv.Tag{
	0x4F, 0x50, 0x57, 0x5A, 0x5F20, 0x5F24, 0x5F25, 0x5F28, 0x5F2A, 0x5F2D, 0x5F30, 0x5F34,
	0x61, 0x6F, 0x70, 0x71, 0x72, 0x77, 0x80, 0x82, 0x84, 0x86, 0x87, 0x88, 0x89, 0x8A,
	0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x9A, 0x9B, 0x9C,
	0x9F02, 0x9F03, 0x9F06, 0x9F07, 0x9F08, 0x9F09, 0x9F0D, 0x9F0E, 0x9F0F, 0x9F10, 0x9F12,
	0x9F13, 0x9F17, 0x9F1A, 0x9F1B, 0x9F1C, 0x9F1E, 0x9F1F, 0x9F20, 0x9F21, 0x9F26, 0x9F27,
	0x9F32, 0x9F33, 0x9F34, 0x9F35, 0x9F36, 0x9F37, 0x9F38, 0x9F39, 0x9F41, 0x9F46, 0x9F47,
	0x9F48, 0x9F49, 0x9F4A, 0x9F4B, 0x9F4C, 0x9F51, 0x9F5D, 0x9F63, 0x9F66, 0x9F69, 0x9F6C,
	0x9F74, 0x9F79, 0xA5, 0xBF0C, 0xDF61,
}

func TestDictionaryHoldsKernelTags(t *testing.T) {
	for _, tag := range kernelTags {
		if _, ok := Lookup(tag); !ok {
			t.Errorf("Lookup(%s) = not found; want it in the dictionary", tag)
		}
	}
}

func TestDictionaryIsConsistent(t *testing.T) {
	seen := map[tlv.Tag]bool{}
	for _, e := range All() {
		if seen[e.Tag] {
			t.Errorf("%s is in the table twice", e.Tag)
		}
		seen[e.Tag] = true
		if e.Name == "" || e.Min < 0 || e.Min > e.Max {
			t.Errorf("%s: name %q, length %d..%d; want a name and Min <= Max", e.Tag, e.Name, e.Min, e.Max)
		}
		if e.Tag.Constructed() && e.Format != B {
			t.Errorf("%s is a template with format %s; want b", e.Tag, e.Format)
		}
		// The tag's own encoding must parse back to itself: a typo such as 0x9F8 would not.
		if got, n, err := tlv.ParseTag(e.Tag.Bytes()); err != nil || got != e.Tag || n != len(e.Tag.Bytes()) {
			t.Errorf("%s does not parse back: %s, %d, %v", e.Tag, got, n, err)
		}
	}
}

func TestSensitive(t *testing.T) {
	for _, tt := range []struct {
		tag  tlv.Tag
		want bool
	}{
		{0x56, true}, {0x57, true}, {0x5A, true}, {0x5F20, true}, {0x5F24, true},
		{0x9F0B, true}, {0x9F1F, true}, {0x9F20, true}, {0x9F46, true}, {0x9F61, true}, {0x99, true},
		{0xDF7F, true}, // unknown: not known to be safe
		{0x9F26, false}, {0x9F02, false}, {0x95, false}, {0x5F34, false}, {0x82, false}, {0x4F, false},
	} {
		if got := Sensitive(tt.tag); got != tt.want {
			t.Errorf("Sensitive(%s) = %v; want %v", tt.tag, got, tt.want)
		}
	}
}

func TestDescribeRedacts(t *testing.T) {
	pan := "6212345678901234"
	rec := testkit.MustUnhex(`70 3F 57 11 6212345678901234D2512201000000000F
		5A 08 6212345678901234 5F20 0A 5A48414E472F53414E20 5F24 03 251231 5F34 01 01 9F26 08 1122334455667788`)
	l, err := tlv.Parse(rec)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	got := Describe(l)
	for _, leak := range []string{pan, "ZHANG", "251231", "D2512"} {
		if strings.Contains(got, leak) {
			t.Errorf("Describe output contains %q:\n%s", leak, got)
		}
	}
	for _, want := range []string{
		"70 READ RECORD Response Message Template\n",
		"  5A Application Primary Account Number (PAN): <redacted, 8 bytes>\n",
		"  5F34 Application PAN Sequence Number: 01\n",
		"  9F26 Application Cryptogram: 1122334455667788\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe output lacks %q:\n%s", want, got)
		}
	}
	label := Describe(tlv.List{tlv.New(0x50, []byte("UnionPay"))})
	if want := "50 Application Label: \"UnionPay\"\n"; label != want {
		t.Errorf("Describe(label) = %q; want %q", label, want)
	}
}

func TestCheckLength(t *testing.T) {
	if err := CheckLength(0x9F02, make([]byte, 6)); err != nil {
		t.Errorf("CheckLength(9F02, 6 bytes) = %v; want nil", err)
	}
	if err := CheckLength(0x9F02, make([]byte, 7)); err == nil {
		t.Errorf("CheckLength(9F02, 7 bytes) = nil; want an error")
	}
}

func TestBuildDOL(t *testing.T) {
	src := map[tlv.Tag][]byte{
		0x9F02: testkit.MustUnhex("000000001000"), // n 6
		0x9F37: testkit.MustUnhex("11223344"),     // b 4
		0x5A:   testkit.MustUnhex("6212345678"),   // cn
		0x9F1C: []byte("TERM0001"),                // an 8
		0x70:   testkit.MustUnhex("5A01FF"),       // a template
	}
	get := func(t tlv.Tag) ([]byte, bool) { v, ok := src[t]; return v, ok }
	for _, tt := range []struct {
		name string
		dol  string
		want string
	}{
		{"exact lengths", "9F02 06 9F37 04", "000000001000 11223344"},
		{"numeric shorter: leading zeros", "9F02 08", "0000000000001000"},
		{"numeric longer: leftmost bytes go", "9F02 04", "00001000"},
		{"binary longer: rightmost bytes go", "9F37 02", "1122"},
		{"binary shorter: trailing zeros", "9F37 06", "112233440000"},
		{"compressed numeric shorter: trailing FF", "5A 08", "6212345678FFFFFF"},
		{"alphanumeric shorter: trailing zeros", "9F1C 0A", "5445524D303030310000"},
		{"absent: zeros", "9F66 04 9F37 04", "00000000 11223344"},
		{"template: zeros", "70 03", "000000"},
		{"empty DOL", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tlv.ParseDOL(testkit.MustUnhex(tt.dol))
			if err != nil {
				t.Fatalf("ParseDOL = %v", err)
			}
			got := BuildDOL(d, get)
			if want := testkit.MustUnhex(tt.want); !bytes.Equal(got, want) {
				t.Errorf("BuildDOL(%s) = % X; want % X", tt.dol, got, want)
			}
			if len(got) != d.Len() {
				t.Errorf("BuildDOL length %d; want %d", len(got), d.Len())
			}
		})
	}
}

// FuzzBuildDOL: any DOL and any source values give a value of exactly the DOL's length.
func FuzzBuildDOL(f *testing.F) {
	f.Add(testkit.MustUnhex("9F02 06 9F37 04 5A 08"), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, dol, v []byte) {
		d, err := tlv.ParseDOL(dol)
		if err != nil {
			return
		}
		got := BuildDOL(d, func(tlv.Tag) ([]byte, bool) { return v, len(v) > 0 })
		if len(got) != d.Len() {
			t.Fatalf("BuildDOL gives %d bytes; the DOL asks for %d", len(got), d.Len())
		}
	})
}
