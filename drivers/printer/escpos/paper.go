package escpos

import (
	"strings"
	"unicode"

	"github.com/mattn/go-runewidth"
)

// Columns of font A (12×24 dots) across the print area of the usual rolls.
const (
	Cols58mm = 32
	Cols80mm = 48
)

// Paper is what came out of the printer, top to bottom.
type Paper struct {
	Lines []Line
	// Torn counts the lines dropped from the top because the paper grew
	// longer than the decoder's MaxLines.
	Torn int
}

// Kind tells what a Line is.
type Kind byte

// Kinds of line.
const (
	KindText    Kind = iota // a line of text, possibly empty (a feed)
	KindQR                  // a QR code
	KindBarcode             // a one-dimensional barcode
	KindImage               // a raster or NV bit image (not decoded)
	KindCut                 // the paper was cut here
)

// Line is one printed line, or one symbol, image or cut.
type Line struct {
	Kind  Kind
	Align Align
	// Spans holds a text line's characters, in runs of one Style.
	Spans []Span
	// Data is a QR code's payload, a barcode's data as its human-readable
	// text, or an image's size ("384x120" dots, or "NV 1" for a stored
	// logo).
	Data string
	// Symbology names a barcode's symbology ("CODE128", "EAN13", ...).
	Symbology string
	// Partial is set on a cut that leaves one point uncut.
	Partial bool
	// Module is a QR code's module size in printer dots (GS ( k, function 167),
	// and ECC its error correction level (function 169), as the printer drew it.
	Module int
	ECC    ECLevel
}

// Span is a run of text printed in one Style.
type Span struct {
	Text string
	Style
}

// Style is how characters are printed.
type Style struct {
	Bold bool
	// Width and Height are the magnification, 1 (normal) to 8.
	Width, Height int
}

// Text returns the characters of a text line.
func (l Line) Text() string {
	if len(l.Spans) == 1 {
		return l.Spans[0].Text
	}
	var sb strings.Builder
	for _, s := range l.Spans {
		sb.WriteString(s.Text)
	}
	return sb.String()
}

// cells measures characters as a Chinese printer prints them: ASCII in one
// column (12 dots), CJK in two (24 dots), and so are the characters that
// Unicode calls ambiguous (× · — “ é): they are GB2312 characters, printed
// from the 24×24 font. Fixed here rather than taken from the locale, so that
// a rendering does not depend on who runs it.
var cells = &runewidth.Condition{EastAsianWidth: true, StrictEmojiNeutral: true}

// Width returns the columns s takes on the paper at normal size, for
// laying out receipt columns.
func Width(s string) int {
	w := 0
	for _, r := range s {
		w += cells.RuneWidth(visible(r))
	}
	return w
}

// visible replaces what cannot be shown on a line of text.
func visible(r rune) rune {
	if unicode.IsControl(r) {
		return '?'
	}
	return r
}

// Text lays the paper out as a person reads it off the roll, cols columns
// wide (Cols58mm, Cols80mm), one line of text per line of paper:
//
//   - text is justified as printed and wraps at cols as the printer wraps
//     it; a character w times as wide takes w times the columns (it is
//     followed by spaces); trailing spaces are trimmed;
//   - a QR code reads "[QR: payload]", a barcode "[BARCODE: data]", an
//     image "[IMAGE: size]", justified but not wrapped;
//   - a cut is a line of "- - -".
func (p Paper) Text(cols int) string {
	cols = max(cols, 1)
	var sb strings.Builder
	for _, l := range p.Lines {
		switch l.Kind {
		case KindText:
			layoutText(&sb, l, cols)
		case KindQR:
			writeRow(&sb, "[QR: "+clean(l.Data)+"]", -1, l.Align, cols)
		case KindBarcode:
			writeRow(&sb, "[BARCODE: "+clean(l.Data)+"]", -1, l.Align, cols)
		case KindImage:
			writeRow(&sb, "[IMAGE: "+clean(l.Data)+"]", -1, l.Align, cols)
		case KindCut:
			writeRow(&sb, strings.Repeat("- ", (cols+1)/2), -1, Left, cols)
		}
	}
	return sb.String()
}

// layoutText writes a text line in rows of at most cols columns.
func layoutText(sb *strings.Builder, l Line, cols int) {
	var row strings.Builder
	used := 0
	for _, s := range l.Spans {
		mag := max(s.Width, 1)
		for _, r := range s.Text {
			r = visible(r)
			base := cells.RuneWidth(r)
			w := base * mag
			if w > 0 && used > 0 && used+w > cols {
				writeRow(sb, row.String(), used, l.Align, cols)
				row.Reset()
				used = 0
			}
			row.WriteRune(r)
			// A magnified character is drawn across w columns.
			row.WriteString(strings.Repeat(" ", base*(mag-1)))
			used += w
		}
	}
	writeRow(sb, row.String(), used, l.Align, cols)
}

// writeRow writes one row justified in cols columns; w is its width, or -1
// to measure it.
func writeRow(sb *strings.Builder, row string, w int, a Align, cols int) {
	if w < 0 {
		w = Width(row)
	}
	pad := 0
	switch a {
	case Center:
		pad = (cols - w) / 2
	case Right:
		pad = cols - w
	}
	row = strings.TrimRight(row, " ")
	if row != "" && pad > 0 {
		sb.WriteString(strings.Repeat(" ", pad))
	}
	sb.WriteString(row)
	sb.WriteByte('\n')
}

// clean makes a payload fit for one line of text.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(visible, s)
}
