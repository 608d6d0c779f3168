package paperpng

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"posfw/drivers/printer/escpos"
)

func font(t *testing.T) map[rune]*glyph {
	t.Helper()
	f, err := loadFont()
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
			case tt.width != 0 && g.width != tt.width:
				t.Errorf("glyph of %q is %d px wide; want %d", r, g.width, tt.width)
			}
		}
	}
}

// TestFontCoversDecoder checks what the decoder makes of every GB 2312
// code and of every byte of every ESC t code table: all of it must have a
// glyph.
func TestFontCoversDecoder(t *testing.T) {
	f := font(t)
	stream := []byte{0x1C, '&'} // FS &: Chinese mode
	for hi := 0xA1; hi <= 0xF7; hi++ {
		for lo := 0xA1; lo <= 0xFE; lo++ {
			stream = append(stream, byte(hi), byte(lo))
		}
		stream = append(stream, '\n')
	}
	stream = append(stream, 0x1C, '.') // FS .: code tables
	for n := range 256 {
		stream = append(stream, 0x1B, 't', byte(n))
		for b := 0x80; b <= 0xFF; b++ {
			stream = append(stream, byte(b))
		}
		stream = append(stream, '\n')
	}
	p, err := escpos.Decode(stream)
	if err != nil {
		t.Fatalf("escpos.Decode: %v", err)
	}
	seen := map[rune]bool{}
	for _, l := range p.Lines {
		for _, r := range l.Text() {
			if f[r] == nil && !seen[r] {
				t.Errorf("font has no glyph for %q (U+%04X), which the decoder prints", r, r)
			}
			seen[r] = true
		}
	}
	// GB 2312 has 7445 characters (and GB 18030 puts 35 more in its
	// rows); the code tables add Latin, Greek, Cyrillic, box drawing.
	if len(seen) < 7445+35+150 {
		t.Errorf("the decoder printed %d different characters; want at least %d", len(seen), 7445+35+150)
	}
}

func TestParseHex(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write([]byte(s))
		z.Close()
		return b.Bytes()
	}
	half := "0041:0000000018242442427E424242420000\n"
	full := "6D88:0040224811481150804043F84A080A0813F81208E20823F82208220822280210\n"
	f, err := parseHex(gz(half + full))
	if err != nil {
		t.Fatalf("parseHex(A, 消) = %v", err)
	}
	if g := f['A']; g == nil || g.width != 8 || g.rows[4] != 0x1800 {
		t.Errorf("parseHex: glyph of A = %+v; want 8 wide, row 4 = 0x1800", g)
	}
	if g := f['消']; g == nil || g.width != 16 || g.rows[1] != 0x2248 {
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
