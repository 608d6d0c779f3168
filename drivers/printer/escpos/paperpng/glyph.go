package paperpng

// Glyph is r's GNU Unifont bitmap, for other renderers of the same font (the
// framebuffer display): 16 rows top to bottom, the leftmost pixel in the most
// significant bit; width is 8 (half width) or 16 (full width) pixels, and an
// 8-pixel glyph uses the high byte. ok is false when the font has no glyph
// for r.
func Glyph(r rune) (rows [16]uint16, width int, ok bool) {
	font, err := loadFont()
	if err != nil { // the embedded font is checked by this package's tests
		return rows, 0, false
	}
	g, ok := font[r]
	if !ok {
		return rows, 0, false
	}
	return g.rows, g.width, true
}
