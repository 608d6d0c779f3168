// Package unifont is the terminal's one bitmap font: a subset of GNU Unifont (8×16
// half width, 16×16 full width) covering what a receipt prints and a screen shows —
// ASCII, Latin-1, GB 2312, the ESC t code tables (see internal/gen and
// unifont.LICENSE). The printer's paper picture (escpos/paperpng) and the framebuffer
// display (ui/framebuffer) both draw with it; it sits under drivers/ so that both
// layers may import it (DESIGN §1), and it imports nothing of posfw.
package unifont

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

// unifontHex is the subset in Unifont's hex format, gzipped.
//
//go:embed unifont.hex.gz
var unifontHex []byte

// Height is the height of every glyph, in pixels.
const Height = 16

// Glyph is a bitmap: Rows top to bottom, the leftmost pixel in the most significant
// bit; Width is 8 (half width) or 16 (full width), and an 8-pixel glyph uses the high
// byte.
type Glyph struct {
	Width int
	Rows  [Height]uint16
}

// Joins reports whether the glyph has ink in its first and last columns, so that it
// joins its neighbours (─, █, —) when stretched across a wider cell.
func (g *Glyph) Joins() bool {
	var all uint16
	for _, row := range g.Rows {
		all |= row
	}
	return all&0x8000 != 0 && all&(0x8000>>(g.Width-1)) != 0
}

// Font is the glyphs by character.
type Font map[rune]*Glyph

// Load returns the embedded font, parsed once on first use, so that a program that
// never draws text pays nothing.
var Load = sync.OnceValues(func() (Font, error) {
	return parseHex(unifontHex)
})

// Lookup is r's glyph; ok is false when the font has no glyph for r.
func Lookup(r rune) (g Glyph, ok bool) {
	font, err := Load()
	if err != nil { // the embedded font is checked by this package's tests
		return g, false
	}
	p, ok := font[r]
	if !ok {
		return g, false
	}
	return *p, true
}

// parseHex reads gzipped Unifont hex: "XXXX:" then 32 hex digits (8×16)
// or 64 (16×16) a line.
func parseHex(gz []byte) (Font, error) {
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("unifont: %v", err)
	}
	font := make(Font, 8300)
	sc := bufio.NewScanner(z)
	for n := 1; sc.Scan(); n++ {
		code, bits, _ := strings.Cut(sc.Text(), ":")
		r, err := strconv.ParseUint(code, 16, 21)
		if err != nil {
			return nil, fmt.Errorf("unifont line %d: code point %q", n, code)
		}
		if len(bits) != 32 && len(bits) != 64 {
			return nil, fmt.Errorf("unifont line %d: %d hex digits, want 32 or 64", n, len(bits))
		}
		g := &Glyph{Width: len(bits) / 4} // 4 bits a digit, 16 rows
		digits := g.Width / 4             // a row is 2 or 4 hex digits
		for y := range Height {
			v, err := strconv.ParseUint(bits[y*digits:(y+1)*digits], 16, 16)
			if err != nil {
				return nil, fmt.Errorf("unifont line %d: %v", n, err)
			}
			g.Rows[y] = uint16(v) << (16 - g.Width)
		}
		font[rune(r)] = g
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("unifont: %v", err)
	}
	return font, nil
}
