package paperpng

import (
	"testing"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/unifont"
)

// TestFontCoversDecoder checks what the decoder makes of every GB 2312
// code and of every byte of every ESC t code table: all of it must have a
// glyph.
func TestFontCoversDecoder(t *testing.T) {
	f, err := unifont.Load()
	if err != nil {
		t.Fatalf("loading the font: %v", err)
	}
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
