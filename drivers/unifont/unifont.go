package paperpng

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

//go:generate go run ./internal/gen -hex /usr/share/unifont/unifont.hex -o unifont.hex.gz

// unifontHex is a subset of GNU Unifont in its hex format, gzipped; see
// unifont.LICENSE and internal/gen.
//
//go:embed unifont.hex.gz
var unifontHex []byte

// glyphHeight is the height of every Unifont glyph, in pixels.
const glyphHeight = 16

// glyph is a Unifont bitmap: rows top to bottom, the leftmost pixel in the
// most significant bit; an 8-pixel glyph uses the high byte.
type glyph struct {
	width int // 8 or 16
	rows  [glyphHeight]uint16
}

// loadFont parses the embedded font once, on first use, so that a program
// that never renders pays nothing.
var loadFont = sync.OnceValues(func() (map[rune]*glyph, error) {
	return parseHex(unifontHex)
})

// parseHex reads gzipped Unifont hex: "XXXX:" then 32 hex digits (8×16)
// or 64 (16×16) a line.
func parseHex(gz []byte) (map[rune]*glyph, error) {
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("paperpng: font: %v", err)
	}
	font := make(map[rune]*glyph, 8300)
	sc := bufio.NewScanner(z)
	for n := 1; sc.Scan(); n++ {
		code, bits, _ := strings.Cut(sc.Text(), ":")
		r, err := strconv.ParseUint(code, 16, 21)
		if err != nil {
			return nil, fmt.Errorf("paperpng: font line %d: code point %q", n, code)
		}
		if len(bits) != 32 && len(bits) != 64 {
			return nil, fmt.Errorf("paperpng: font line %d: %d hex digits, want 32 or 64", n, len(bits))
		}
		g := &glyph{width: len(bits) / 4} // 4 bits a digit, 16 rows
		digits := g.width / 4             // a row is 2 or 4 hex digits
		for y := range glyphHeight {
			v, err := strconv.ParseUint(bits[y*digits:(y+1)*digits], 16, 16)
			if err != nil {
				return nil, fmt.Errorf("paperpng: font line %d: %v", n, err)
			}
			g.rows[y] = uint16(v) << (16 - g.width)
		}
		font[rune(r)] = g
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("paperpng: font: %v", err)
	}
	return font, nil
}
