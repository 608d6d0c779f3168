// Package paperpng draws the paper that came out of an ESC/POS printer, as
// escpos.Decoder reads it, as a picture: `posfw escpos render FILE --png
// OUT`.
//
// The picture follows the Epson "ESC/POS Command Reference" where it says
// how a printer prints: characters magnified by whole multiples (GS !, ESC
// !, FS !), emphasis as a second strike one dot to the right (ESC E), lines
// justified (ESC a), characters of different heights standing on one
// baseline. The glyphs are package unifont's (8×16 half width, 16×16 full
// width), the font of the terminal's display too. One column of
// escpos.Paper.Text is 8 pixels, and lines wrap as there, so the picture
// and the text agree character for character.
//
// A QR code is drawn module for module as the printer prints it (package
// drivers/qrcode encodes it at the error correction level the stream set), its
// module size in printer dots scaled like the rest of the picture but never
// under 2 pixels, with its quiet zone: a phone scans the picture, or a photo of
// the slip. Barcodes and images are drawn as labelled boxes, a barcode's data
// written under its box: the picture shows what was printed where, but a
// barcode on it does not scan.
package paperpng

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math/bits"
	"unicode"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/qrcode"
	"posfw/drivers/unifont"
)

// MaxCols is the widest paper Render draws, in columns.
const MaxCols = 255

// Geometry of the picture, in pixels.
const (
	glyphHeight = unifont.Height
	colWidth    = 8  // one column: a half-width glyph
	margin      = 16 // white paper around the print area
	// lineGap is left under every row: a printer's default line spacing
	// (30 dots) is a quarter more than its 24-dot font.
	lineGap = glyphHeight / 4
	// dotsPerCol converts printer dots (images) to pixels: font A is 12
	// dots a column.
	dotsPerCol = 12
	border     = 2 // of the boxes drawn for symbols and images
	qrSide     = 12 * colWidth
	barHeight  = 3 * glyphHeight
	maxImage   = 30 * glyphHeight
	cutHeight  = glyphHeight
	dash, gap  = 6, 4 // of a cut line
	maxPixels  = 64 << 20
)

const (
	black = 0x00
	white = 0xFF
)

// normalSize is the style of what the printer writes itself: a symbol's
// data under it.
var normalSize = escpos.Style{Width: 1, Height: 1}

// Encode writes the picture of p, cols columns wide, as PNG.
func Encode(w io.Writer, p escpos.Paper, cols int) error {
	img, err := Render(p, cols)
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// Render draws p on a white strip of paper cols columns wide (escpos.Cols58mm,
// escpos.Cols80mm): cols*8 pixels plus a 16-pixel margin each side. Each
// row of text is 16 pixels (times the tallest character's magnification)
// and 4 more of line spacing. Characters without a glyph are hollow boxes,
// a cut is a dashed line across the paper, and a zigzag top edge says that
// lines were torn off (p.Torn). The same paper gives the same picture.
// A picture of more than 64 Mpixels (some 11,000 rows of 58 mm paper) is
// refused, not drawn: tear the paper off (Decoder.Clear) more often.
func Render(p escpos.Paper, cols int) (image.Image, error) {
	if cols < 1 || cols > MaxCols {
		return nil, fmt.Errorf("paperpng: %d columns; want 1 to %d", cols, MaxCols)
	}
	font, err := unifont.Load()
	if err != nil {
		return nil, err
	}
	r := &renderer{font: font, cols: cols, width: cols*colWidth + 2*margin}
	maxHeight := maxPixels / r.width
	for _, l := range p.Lines {
		r.add(l)
		if r.height > maxHeight {
			return nil, fmt.Errorf("paperpng: paper of %d lines is longer than %d pixels", len(p.Lines), maxHeight)
		}
	}
	img := image.NewGray(image.Rect(0, 0, r.width, r.height+2*margin))
	paint(img.Pix, white)
	if p.Torn > 0 {
		r.tornEdge(img)
	}
	top := margin
	for _, b := range r.bands {
		b.draw(img, top)
		top += b.height + lineGap
	}
	return img, nil
}

// renderer lays out a paper as bands, then draws them once the paper's
// length is known.
type renderer struct {
	font   unifont.Font
	cols   int
	width  int // of the picture
	height int // of the bands and their gaps
	bands  []band
}

// band is a strip of the paper: a row of text, a box, a cut.
type band struct {
	height int
	draw   func(dst *image.Gray, top int)
}

func (r *renderer) addBand(height int, draw func(*image.Gray, int)) {
	r.bands = append(r.bands, band{height, draw})
	r.height += height + lineGap
}

// add lays out one line of the paper.
func (r *renderer) add(l escpos.Line) {
	switch l.Kind {
	case escpos.KindText:
		r.addText(l.Spans, l.Align)
	case escpos.KindQR:
		r.addQR(l)
	case escpos.KindBarcode:
		r.addBox(r.cols*colWidth*3/4, barHeight, l.Align, l.Symbology)
		r.addText([]escpos.Span{{Text: l.Data, Style: normalSize}}, l.Align)
	case escpos.KindImage:
		w, h := 16*colWidth, 4*glyphHeight // a stored logo: size unknown
		var dw, dh int
		if _, err := fmt.Sscanf(l.Data, "%dx%d", &dw, &dh); err == nil {
			w, h = dw*colWidth/dotsPerCol, dh*colWidth/dotsPerCol
		}
		r.addBox(w, min(h, maxImage), l.Align, "IMAGE "+l.Data)
	case escpos.KindCut:
		r.addBand(cutHeight, func(dst *image.Gray, top int) { r.cut(dst, top+cutHeight/2, l.Partial) })
	}
}

// cell is a character placed in a row of text.
type cell struct {
	r     rune
	col   int // from the start of the row
	cols  int // its width at normal size: 1 or 2
	style escpos.Style
}

// wrap breaks spans into rows of at most cols columns, as the printer and
// escpos.Paper.Text do; used holds each row's width in columns. There is
// always a row, empty for a line feed.
func wrap(spans []escpos.Span, cols int) (rows [][]cell, used []int) {
	var row []cell
	n := 0
	for _, s := range spans {
		st := s.Style
		st.Width, st.Height = clamp(st.Width), clamp(st.Height)
		for _, ch := range s.Text {
			if unicode.IsControl(ch) {
				ch = '?'
			}
			base := escpos.Width(string(ch))
			if base == 0 {
				continue // combining marks and the like: not drawn
			}
			w := base * st.Width
			if n > 0 && n+w > cols {
				rows, used = append(rows, row), append(used, n)
				row, n = nil, 0
			}
			row = append(row, cell{ch, n, base, st})
			n += w
		}
	}
	return append(rows, row), append(used, n)
}

// clamp keeps a magnification within what a printer does, 1 to 8.
func clamp(m int) int { return min(max(m, 1), 8) }

// indent returns where justification puts something used wide in total.
func indent(a escpos.Align, used, total int) int {
	switch a {
	case escpos.Center:
		return max(total-used, 0) / 2
	case escpos.Right:
		return max(total-used, 0)
	}
	return 0
}

func (r *renderer) addText(spans []escpos.Span, a escpos.Align) {
	rows, used := wrap(spans, r.cols)
	for i, row := range rows {
		pad := indent(a, used[i], r.cols)
		mag := 1
		for _, c := range row {
			mag = max(mag, c.style.Height)
		}
		height := mag * glyphHeight
		r.addBand(height, func(dst *image.Gray, top int) {
			base := top + height // the row's baseline: its bottom
			for _, c := range row {
				x := margin + (pad+c.col)*colWidth
				at := image.Rect(x, base-c.style.Height*glyphHeight, x+c.cols*c.style.Width*colWidth, base)
				r.drawChar(dst, c.r, c.cols, at, c.style.Bold)
			}
		})
	}
}

// drawChar draws r in the rectangle at, which is cols columns at normal
// size. A half-width glyph in a full-width column pair (a character that
// Unicode calls ambiguous, printed from the CJK font) is centred, unless
// it reaches both of its edges to join its neighbours (─, █, —): then it
// is stretched across.
func (r *renderer) drawChar(dst *image.Gray, ch rune, cols int, at image.Rectangle, bold bool) {
	g := r.font[ch]
	if g == nil {
		outline(dst, at.Inset(1), 1)
		return
	}
	if g.Width == colWidth && cols == 2 && !g.Joins() {
		q := at.Dx() / 4
		at.Min.X, at.Max.X = at.Min.X+q, at.Max.X-q
	}
	drawGlyph(dst, g, at)
	if bold {
		drawGlyph(dst, g, at.Add(image.Pt(1, 0)))
	}
}

// drawGlyph scales g to fill at, each pixel to a whole block of pixels
// (at least one), as a printer magnifies its font.
func drawGlyph(dst *image.Gray, g *unifont.Glyph, at image.Rectangle) {
	w, h := at.Dx(), at.Dy()
	for y, row := range g.Rows {
		y0 := at.Min.Y + y*h/glyphHeight
		y1 := max(at.Min.Y+(y+1)*h/glyphHeight, y0+1)
		for row != 0 {
			x := bits.LeadingZeros16(row)
			row &^= 0x8000 >> x
			x0 := at.Min.X + x*w/g.Width
			x1 := max(at.Min.X+(x+1)*w/g.Width, x0+1)
			fill(dst, image.Rect(x0, y0, x1, y1))
		}
	}
}

// fill blackens rect, clipped to the picture.
func fill(dst *image.Gray, rect image.Rectangle) {
	rect = rect.Intersect(dst.Rect)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		i := dst.PixOffset(rect.Min.X, y)
		paint(dst.Pix[i:i+rect.Dx()], black)
	}
}

// paint sets every byte of pix to v.
func paint(pix []byte, v byte) {
	if len(pix) == 0 {
		return
	}
	pix[0] = v
	for n := 1; n < len(pix); n *= 2 {
		copy(pix[n:], pix[:n])
	}
}

// outline draws the edges of rect, t pixels thick, inside it.
func outline(dst *image.Gray, rect image.Rectangle, t int) {
	if rect.Empty() {
		return
	}
	m := rect.Min
	fill(dst, image.Rect(m.X, m.Y, rect.Max.X, m.Y+t))
	fill(dst, image.Rect(m.X, rect.Max.Y-t, rect.Max.X, rect.Max.Y))
	fill(dst, image.Rect(m.X, m.Y, m.X+t, rect.Max.Y))
	fill(dst, image.Rect(rect.Max.X-t, m.Y, rect.Max.X, rect.Max.Y))
}

// addBox lays out a bordered box w×h pixels (no wider than the print
// area), justified, with label in its middle: what stands for a symbol or
// an image.
func (r *renderer) addBox(w, h int, a escpos.Align, label string) {
	area := r.cols * colWidth
	w, h = min(max(w, 2*colWidth), area), max(h, glyphHeight)
	x := margin + indent(a, w, area)
	r.addBand(h, func(dst *image.Gray, top int) {
		box := image.Rect(x, top, x+w, top+h)
		outline(dst, box, border)
		r.drawLabel(dst, label, box.Inset(border+1))
	})
}

// drawLabel writes s at normal size in the middle of box, cut short to fit.
func (r *renderer) drawLabel(dst *image.Gray, s string, box image.Rectangle) {
	if box.Dx() < colWidth || box.Dy() < glyphHeight {
		return
	}
	rows, used := wrap([]escpos.Span{{Text: s, Style: normalSize}}, box.Dx()/colWidth)
	x := box.Min.X + (box.Dx()-used[0]*colWidth)/2
	y := box.Min.Y + (box.Dy()-glyphHeight)/2
	for _, c := range rows[0] {
		at := image.Rect(x+c.col*colWidth, y, x+(c.col+c.cols)*colWidth, y+glyphHeight)
		r.drawChar(dst, c.r, c.cols, at, false)
	}
}

// cut draws a dashed line across the paper at y; a partial cut leaves the
// middle uncut.
func (r *renderer) cut(dst *image.Gray, y int, partial bool) {
	mid := r.width / 2
	for x := 0; x < r.width; x += dash + gap {
		if partial && x+dash > mid-2*colWidth && x < mid+2*colWidth {
			continue
		}
		fill(dst, image.Rect(x, y, x+dash, y+1))
	}
}

// tornEdge draws a zigzag along the top: the paper above was torn off.
func (r *renderer) tornEdge(dst *image.Gray) {
	const tooth = margin / 2
	for x := range r.width {
		d := x % tooth
		fill(dst, image.Rect(x, min(d, tooth-d), x+1, min(d, tooth-d)+1))
	}
}

// addQR lays out a QR code's modules, quiet zone included, justified. A
// payload no QR code holds, or a symbol wider than the paper, is a labelled
// box with the payload under it, as a printer prints nothing there.
func (r *renderer) addQR(l escpos.Line) {
	m, err := qrcode.Encode(l.Data, qrcode.Level(l.ECC))
	area := r.cols * colWidth
	modules := 0
	if err == nil {
		modules = m.Size + 2*qrcode.QuietZone
	}
	dots := l.Module
	if dots <= 0 {
		dots = escpos.DefaultQRModule
	}
	// A module of n dots is n*8/12 pixels, rounded; 2 at least, so that it scans.
	px := max((dots*colWidth+dotsPerCol/2)/dotsPerCol, 2)
	if modules > 0 && modules*px > area {
		px = area / modules
	}
	if err != nil || px < 1 {
		label := "QR code too wide"
		if err != nil {
			label = "QR code: no symbol holds this"
		}
		r.addBox(qrSide, qrSide, l.Align, label)
		r.addText([]escpos.Span{{Text: l.Data, Style: normalSize}}, l.Align)
		return
	}
	side := modules * px
	x := margin + indent(l.Align, side, area)
	r.addBand(side, func(dst *image.Gray, top int) {
		q := qrcode.QuietZone * px
		for y := range m.Size {
			for mx := range m.Size {
				if m.Dark(mx, y) {
					x0, y0 := x+q+mx*px, top+q+y*px
					fill(dst, image.Rect(x0, y0, x0+px, y0+px))
				}
			}
		}
	})
}
