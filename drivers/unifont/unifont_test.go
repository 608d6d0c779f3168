package unifont

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func font(t *testing.T) Font {
	t.Helper()
	f, err := Load()
	if err != nil {
		t.Fatalf("loading the embedded font: %v", err)
	}
	return f
}

func TestFontHasReceiptCharacters(t *testing.T) {
	f := font(t)
	tests := []struct {
		chars string
		width int // of the glyphs; 0 for either
	}{
		{"消费商户名称持卡人签名金额：，。￥", 16}, // Unifont draws CJK full width
		{" SALE¥0123456789", 8},
		{"€—…·×\uFFFD", 0},
	}
	for _, tt := range tests {
		for _, r := range tt.chars {
			g := f[r]
			switch {
			case g == nil:
				t.Errorf("font has no glyph for %q (U+%04X)", r, r)
			case tt.width != 0 && g.Width != tt.width:
				t.Errorf("glyph of %q is %d px wide; want %d", r, g.Width, tt.width)
			}
		}
	}
}

// gz is s gzipped, as the embedded font is.
func gz(s string) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(s))
	z.Close()
	return b.Bytes()
}

func TestParseHex(t *testing.T) {
	half := "0041:0000000018242442427E424242420000\n"
	full := "6D88:0040224811481150804043F84A080A0813F81208E20823F82208220822280210\n"
	f, err := parseHex(gz(half + full))
	if err != nil {
		t.Fatalf("parseHex(A, 消) = %v", err)
	}
	if g := f['A']; g == nil || g.Width != 8 || g.Rows[4] != 0x1800 {
		t.Errorf("parseHex: glyph of A = %+v; want 8 wide, row 4 = 0x1800", g)
	}
	if g := f['消']; g == nil || g.Width != 16 || g.Rows[1] != 0x2248 {
		t.Errorf("parseHex: glyph of 消 = %+v; want 16 wide, row 1 = 0x2248", g)
	}

	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte(half), "font"},
		{"bad code point", gz("zz41:0000000018242442427E424242420000\n"), "code point"},
		{"short glyph", gz("0041:00000000182424\n"), "hex digits"},
		{"bad digit", gz("0041:0000000018242442427E4242424200XX\n"), "line 1"},
		{"no colon", gz("0041\n"), "hex digits"},
	}
	for _, tt := range bad {
		if _, err := parseHex(tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseHex(%s) = %v; want an error with %q", tt.name, err, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		r     rune
		ok    bool
		width int
	}{
		{'A', true, 8},
		{'消', true, 16},
		{'\U0001F600', false, 0}, // not in the subset
	} {
		g, ok := Lookup(tt.r)
		if ok != tt.ok || g.Width != tt.width {
			t.Errorf("Lookup(%q) = width %d, %v; want width %d, %v", tt.r, g.Width, ok, tt.width, tt.ok)
		}
	}
}

func TestJoins(t *testing.T) {
	for _, tt := range []struct {
		r    rune
		want bool
	}{
		{'─', true},
		{'█', true},
		{'A', false},
		{'.', false},
	} {
		g, ok := Lookup(tt.r)
		if !ok {
			t.Fatalf("Lookup(%q): no glyph", tt.r)
		}
		if got := g.Joins(); got != tt.want {
			t.Errorf("glyph of %q Joins() = %v; want %v", tt.r, got, tt.want)
		}
	}
}

// FuzzParseHex: any input is a font or an error, never a panic, and every glyph it
// gives is 8 or 16 wide with no ink outside its width.
func FuzzParseHex(f *testing.F) {
	f.Add([]byte("0041:0000000018242442427E424242420000\n"))
	f.Add([]byte("6D88:0040224811481150804043F84A080A0813F81208E20823F82208220822280210\n"))
	f.Add([]byte("zz41:00\n"))
	f.Fuzz(func(t *testing.T, hex []byte) {
		font, err := parseHex(gz(string(hex)))
		if err != nil {
			return
		}
		for r, g := range font {
			if g.Width != 8 && g.Width != 16 {
				t.Fatalf("glyph of U+%04X is %d wide; want 8 or 16", r, g.Width)
			}
			for _, row := range g.Rows {
				if row&(0xFFFF>>g.Width) != 0 {
					t.Fatalf("glyph of U+%04X has ink beyond its %d columns", r, g.Width)
				}
			}
		}
	})
}
