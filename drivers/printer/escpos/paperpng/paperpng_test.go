package paperpng

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/qrcode/qrtest"
)

var sampleOut = flag.String("sample", "", "also write the sample receipt's PNG to this file")

// sampleReceipt is a bilingual sale slip as the terminal prints it.
func sampleReceipt() []byte {
	var b escpos.Builder
	b.Init().Align(escpos.Center).Bold(true).Size(2, 2).Line("签购单").
		Size(1, 1).Line("POS SALES SLIP").Bold(false).
		Align(escpos.Left).Line("商户名称 MERCHANT: 好运来便利店").
		Line("商户编号 MID: 898310048161234").
		Line("终端编号 TID: 10012345").
		Line("卡号 CARD: 622848******1234").
		Line("交易类型 TYPE:").Bold(true).Size(2, 1).Line("消费 SALE").Size(1, 1).Bold(false).
		Line("批次号 BATCH: 000012  凭证号: 000345").
		Line("日期 DATE: 2026/11/21 23:30:05").
		Line("--------------------------------").
		Bold(true).Line("金额 AMOUNT:").Align(escpos.Right).Size(2, 2).Line("¥ 128.50").
		Size(1, 1).Bold(false).Align(escpos.Left).
		Line("--------------------------------").
		Line("持卡人签名 CARDHOLDER SIGNATURE").Feed(3).
		Line("本人确认以上交易，同意将其记入本卡账户").
		Line("I ACKNOWLEDGE SATISFACTORY RECEIPT").
		Align(escpos.Center).QR("https://pay.example.com/r/000345", 4, escpos.ECM).
		Code128("000012000345").
		Line("商户存根 MERCHANT COPY").Feed(2).Cut()
	if err := b.Err(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func decode(t testing.TB, stream []byte) escpos.Paper {
	t.Helper()
	p, err := escpos.Decode(stream)
	if err != nil {
		t.Fatalf("escpos.Decode: %v", err)
	}
	return p
}

func render(t testing.TB, p escpos.Paper, cols int) *image.Gray {
	t.Helper()
	img, err := Render(p, cols)
	if err != nil {
		t.Fatalf("Render(%d lines, %d) = %v", len(p.Lines), cols, err)
	}
	return img.(*image.Gray)
}

// text is a paper of lines at one style and alignment.
func text(a escpos.Align, st escpos.Style, lines ...string) escpos.Paper {
	var p escpos.Paper
	for _, l := range lines {
		var spans []escpos.Span
		if l != "" {
			spans = []escpos.Span{{Text: l, Style: st}}
		}
		p.Lines = append(p.Lines, escpos.Line{Kind: escpos.KindText, Align: a, Spans: spans})
	}
	return p
}

// ink returns the bounds of the black pixels within r, and how many.
func ink(img *image.Gray, r image.Rectangle) (image.Rectangle, int) {
	var box image.Rectangle
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.GrayAt(x, y).Y == black {
				box = box.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return box, n
}

// rowRect is the print area of text row i of a picture of normal rows.
func rowRect(img *image.Gray, i int) image.Rectangle {
	top := margin + i*(glyphHeight+lineGap)
	return image.Rect(0, top, img.Rect.Dx(), top+glyphHeight)
}

func TestRenderSize(t *testing.T) {
	qr := escpos.Line{Kind: escpos.KindQR, Data: "https://example.com/r/1"}
	tests := []struct {
		name       string
		p          escpos.Paper
		cols       int
		wantHeight int
	}{
		{"empty", escpos.Paper{}, 32, 2 * margin},
		{"one line", text(escpos.Left, normalSize, "SALE"), 32, 2*margin + 20},
		{"40 lines", text(escpos.Left, normalSize, make([]string, 40)...), 48, 2*margin + 40*20},
		{"double height", text(escpos.Left, escpos.Style{Width: 1, Height: 2}, "SALE", "TOTAL"), 32, 2*margin + 2*36},
		{"wraps at cols", text(escpos.Left, normalSize, strings.Repeat("x", 33)), 32, 2*margin + 2*20},
		{"CJK wraps at cols", text(escpos.Left, normalSize, strings.Repeat("消", 17)), 32, 2*margin + 2*20},
		{"cut", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindCut}}}, 32, 2*margin + 20},
		// 23 bytes: version 2 at level L, 25 modules and 4 of quiet zone each side,
		// the printer's 3-dot modules 2 pixels.
		{"QR code", escpos.Paper{Lines: []escpos.Line{qr}}, 32, 2*margin + (25+8)*2 + lineGap},
		{"QR code, 6-dot modules", escpos.Paper{Lines: []escpos.Line{withModule(qr, 6)}}, 32, 2*margin + (25+8)*4 + lineGap},
		// 16 dots would be 11 pixels, 363 in all: more than the paper's 256.
		{"QR code shrunk to the paper", escpos.Paper{Lines: []escpos.Line{withModule(qr, 16)}}, 32, 2*margin + (25+8)*7 + lineGap},
		// Version 40 (177 modules) is wider than 16 columns (128 pixels) at 1 pixel a
		// module: a labelled box and the payload, 2900 characters in 182 rows.
		{"QR code wider than the paper", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindQR, Data: strings.Repeat("x", 2900)}}}, 16, 2*margin + qrSide + lineGap + 182*20},
		{"barcode box and data", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindBarcode, Data: "0012", Symbology: "CODE128"}}}, 32, 2*margin + barHeight + lineGap + 20},
		// 12 printer dots a column of 8 pixels: 120 dots are 80 pixels.
		{"raster image", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindImage, Data: "384x120"}}}, 32, 2*margin + 80 + lineGap},
	}
	for _, tt := range tests {
		img := render(t, tt.p, tt.cols)
		want := image.Rect(0, 0, tt.cols*8+2*margin, tt.wantHeight)
		if img.Rect != want {
			t.Errorf("%s: Render(%d cols) bounds = %v; want %v", tt.name, tt.cols, img.Rect, want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	long := text(escpos.Left, escpos.Style{Width: 1, Height: 8}, make([]string, 20000)...)
	tests := []struct {
		name string
		p    escpos.Paper
		cols int
		want string
	}{
		{"no columns", escpos.Paper{}, 0, "0 columns"},
		{"too wide", escpos.Paper{}, MaxCols + 1, "256 columns"},
		{"too long", long, 255, "longer than"},
	}
	for _, tt := range tests {
		_, err := Render(tt.p, tt.cols)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Render(%d lines, %d) = %v; want an error with %q", tt.name, len(tt.p.Lines), tt.cols, err, tt.want)
		}
	}
}

func TestFullBlockAndBlankLine(t *testing.T) {
	// █ is a character of ambiguous width: 2 columns on a Chinese
	// printer, and its half-width glyph is stretched to fill them.
	img := render(t, text(escpos.Left, normalSize, "████", ""), 8)
	full := image.Rect(margin, margin, margin+64, margin+glyphHeight)
	if box, n := ink(img, rowRect(img, 0)); box != full || n != 64*16 {
		t.Errorf("ink of \"████\" = %v, %d pixels; want all of %v", box, n, full)
	}
	if box, n := ink(img, rowRect(img, 1)); n != 0 {
		t.Errorf("ink of a blank line = %v, %d pixels; want none", box, n)
	}
	if _, n := ink(img, image.Rect(0, margin+glyphHeight, img.Rect.Dx(), margin+glyphHeight+lineGap)); n != 0 {
		t.Errorf("%d pixels inked in the line spacing; want none", n)
	}
}

func TestCharacterWidths(t *testing.T) {
	tests := []struct {
		text   string
		col    int // of the character measured
		cell   int // its width in pixels
		minInk int // its ink is wider than this
		x0, x1 int // and within these pixels of the cell
	}{
		{"消", 0, 16, 8, 0, 16},
		{"消费", 2, 16, 8, 0, 16}, // the second one starts 16 px in
		{"W", 0, 8, 4, 0, 8},
		{"SALE", 3, 8, 4, 0, 8},
		{"¥", 0, 8, 4, 0, 8},
		{"×", 0, 16, 4, 4, 12}, // ambiguous: 2 columns, glyph centred
	}
	for _, tt := range tests {
		img := render(t, text(escpos.Left, normalSize, tt.text), 32)
		x := margin + tt.col*colWidth
		r := rowRect(img, 0)
		r.Min.X, r.Max.X = x, x+tt.cell
		if box, _ := ink(img, r); box.Min.X < x+tt.x0 || box.Max.X > x+tt.x1 || box.Dx() <= tt.minInk {
			t.Errorf("ink of %q in its cell at x=%d = %v; want %d < width, within x %d-%d",
				tt.text, x, box, tt.minInk, x+tt.x0, x+tt.x1)
		}
		end := margin + escpos.Width(tt.text)*colWidth
		if box, _ := ink(img, rowRect(img, 0)); box.Min.X < margin || box.Max.X > end {
			t.Errorf("ink of %q = %v; want within x %d-%d", tt.text, box, margin, end)
		}
	}
}

func TestAlignment(t *testing.T) {
	const cols = 32
	right := margin + cols*colWidth
	tests := []struct {
		a          escpos.Align
		minX, maxX int // where the ink of "SALE" must be
	}{
		{escpos.Left, margin, margin + 4*colWidth},
		{escpos.Center, margin + 14*colWidth, margin + 18*colWidth},
		// E's bars reach the right of its cell: the ink ends at the edge.
		{escpos.Right, right - 4*colWidth, right},
	}
	for _, tt := range tests {
		img := render(t, text(tt.a, normalSize, "SALE"), cols)
		box, _ := ink(img, rowRect(img, 0))
		if box.Min.X < tt.minX || box.Min.X > tt.minX+colWidth/2 || box.Max.X > tt.maxX || box.Max.X < tt.maxX-colWidth/2 {
			t.Errorf("align %d: ink of \"SALE\" = %v; want x %d-%d, to within half a column inside", tt.a, box, tt.minX, tt.maxX)
		}
	}
}

func TestMagnificationAndBold(t *testing.T) {
	measure := func(st escpos.Style) (image.Rectangle, int) {
		img := render(t, text(escpos.Left, st, "W"), 32)
		return ink(img, image.Rect(0, 0, img.Rect.Dx(), img.Rect.Dy()))
	}
	one, n1 := measure(normalSize)
	tests := []struct {
		st         escpos.Style
		dx, dy, dn int // of the ink, from the normal size
	}{
		{escpos.Style{Width: 2, Height: 1}, 2 * one.Dx(), one.Dy(), 2 * n1},
		{escpos.Style{Width: 1, Height: 2}, one.Dx(), 2 * one.Dy(), 2 * n1},
		{escpos.Style{Width: 3, Height: 3}, 3 * one.Dx(), 3 * one.Dy(), 9 * n1},
		{escpos.Style{Width: 1, Height: 1, Bold: true}, one.Dx() + 1, one.Dy(), -1},
	}
	for _, tt := range tests {
		box, n := measure(tt.st)
		if box.Dx() != tt.dx || box.Dy() != tt.dy || (tt.dn >= 0 && n != tt.dn) || (tt.dn < 0 && n <= n1) {
			t.Errorf("ink of \"W\" at %+v = %dx%d, %d pixels; want %dx%d, %d (normal %v, %d)",
				tt.st, box.Dx(), box.Dy(), n, tt.dx, tt.dy, tt.dn, one, n1)
		}
	}
	// Taller characters share the row's baseline with the others.
	p := escpos.Paper{Lines: []escpos.Line{{Spans: []escpos.Span{
		{Text: "A", Style: normalSize}, {Text: "A", Style: escpos.Style{Width: 1, Height: 2}}}}}}
	img := render(t, p, 32)
	small, _ := ink(img, image.Rect(margin, 0, margin+8, img.Rect.Dy()))
	tall, _ := ink(img, image.Rect(margin+8, 0, margin+16, img.Rect.Dy()))
	// The glyph's blank rows under the letter are magnified too.
	bottom := margin + 2*glyphHeight
	if tall.Dy() != 2*small.Dy() || bottom-tall.Max.Y != 2*(bottom-small.Max.Y) {
		t.Errorf("ink of A and a double-height A = %v, %v; want both standing on y=%d", small, tall, bottom)
	}
}

func TestUnknownGlyphIsHollowBox(t *testing.T) {
	img := render(t, text(escpos.Left, normalSize, "\U0001F600"), 32) // 2 columns, not in the font
	cell := image.Rect(margin, margin, margin+16, margin+glyphHeight).Inset(1)
	box, n := ink(img, rowRect(img, 0))
	if box != cell || n != 2*(cell.Dx()+cell.Dy())-4 {
		t.Errorf("ink of an unknown character = %v, %d pixels; want the outline of %v", box, n, cell)
	}
}

func withModule(l escpos.Line, dots int) escpos.Line {
	l.Module = dots
	return l
}

func TestSymbolsAndCut(t *testing.T) {
	p := escpos.Paper{Lines: []escpos.Line{
		{Kind: escpos.KindQR, Align: escpos.Center, Data: "PAY-1", Module: 3},
		{Kind: escpos.KindCut},
	}}
	img := render(t, p, 32)
	w := img.Rect.Dx()
	// The QR code: version 1 (21 modules) of 2 pixels in a quiet zone of 4 modules,
	// centred; its finder patterns' outer corners are the corners of its ink.
	side := (21 + 8) * 2
	x0 := margin + (32*colWidth-side)/2 + 8
	box, _ := ink(img, image.Rect(0, margin, w, margin+side))
	if want := image.Rect(x0, margin+8, x0+42, margin+8+42); box != want {
		t.Errorf("QR code's ink = %v; want %v", box, want)
	}
	if got := qrtest.Decode(t, img); len(got) != 1 || got[0] != "PAY-1" {
		t.Errorf("zbarimg read %q from the paper; want [PAY-1]", got)
	}
	// The cut: dashes from edge to edge of the paper, past the margins.
	y := margin + side + lineGap + cutHeight/2
	if box, n := ink(img, image.Rect(0, y, w, y+1)); box.Min.X != 0 || box.Max.X < w-gap || n >= w {
		t.Errorf("cut line = %v, %d pixels; want dashes across %d", box, n, w)
	}
}

func TestCutAndTornEdge(t *testing.T) {
	tests := []struct {
		name      string
		p         escpos.Paper
		wantMid   bool // the cut line crosses the middle of the paper
		wantTorn  bool // ink in the top margin
		wantEdges bool // ink at both edges of the cut's row
	}{
		{"full cut", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindCut}}}, true, false, true},
		{"partial cut", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindCut, Partial: true}}}, false, false, true},
		{"torn", escpos.Paper{Lines: []escpos.Line{{Kind: escpos.KindCut}}, Torn: 3}, true, true, true},
	}
	for _, tt := range tests {
		img := render(t, tt.p, 32)
		w := img.Rect.Dx()
		y := margin + cutHeight/2
		_, mid := ink(img, image.Rect(w/2-colWidth, y, w/2+colWidth, y+1))
		_, left := ink(img, image.Rect(0, y, margin, y+1))
		_, right := ink(img, image.Rect(w-margin, y, w, y+1))
		_, top := ink(img, image.Rect(0, 0, w, margin))
		if (mid > 0) != tt.wantMid || (top > 0) != tt.wantTorn || (left > 0 && right > 0) != tt.wantEdges {
			t.Errorf("%s: ink in the middle %d, at the edges %d %d, at the top %d; want middle %v, edges %v, top %v",
				tt.name, mid, left, right, top, tt.wantMid, tt.wantEdges, tt.wantTorn)
		}
	}
}

func TestRenderSampleReceipt(t *testing.T) {
	p := decode(t, sampleReceipt())
	img := render(t, p, escpos.Cols58mm)
	if w := img.Rect.Dx(); w != escpos.Cols58mm*8+2*margin {
		t.Errorf("width = %d; want %d", w, escpos.Cols58mm*8+2*margin)
	}
	// Drawing is deterministic, and the PNG holds exactly the picture.
	var buf bytes.Buffer
	if err := Encode(&buf, p, escpos.Cols58mm); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var again bytes.Buffer
	if err := Encode(&again, p, escpos.Cols58mm); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("Encode twice gave different PNGs (err %v)", err)
	}
	file := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatalf("png.Decode(%s): %v", file, err)
	}
	if back.Bounds() != img.Rect {
		t.Fatalf("decoded PNG is %v; want %v", back.Bounds(), img.Rect)
	}
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			if g, ok := back.At(x, y).(interface{ RGBA() (r, g, b, a uint32) }); ok {
				r, _, _, _ := g.RGBA()
				if uint8(r>>8) != img.GrayAt(x, y).Y {
					t.Fatalf("PNG pixel (%d,%d) = %d; want %d", x, y, r>>8, img.GrayAt(x, y).Y)
				}
			}
		}
	}
	if *sampleOut != "" {
		if err := os.WriteFile(*sampleOut, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add(sampleReceipt())
	f.Add([]byte("\x1b!\x38BIG\n\x1ca\x1d!\x77\xcf\xfb\n\x1bE\x01bold\x1bd\x05\x1dV\x42\x00"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		p, _ := escpos.Decode(stream)
		img, err := Render(p, escpos.Cols58mm)
		if err != nil {
			if !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("Render: %v", err)
			}
			return // a stream can feed more paper than is drawn
		}
		b := img.Bounds()
		if b.Dx() != escpos.Cols58mm*8+2*margin || b.Dy() < 2*margin+len(p.Lines)*(glyphHeight+lineGap) {
			t.Fatalf("Render of %d lines = %v; want %d wide, a row a line", len(p.Lines), b, escpos.Cols58mm*8+2*margin)
		}
		again, _ := Render(p, escpos.Cols58mm)
		if !bytes.Equal(img.(*image.Gray).Pix, again.(*image.Gray).Pix) {
			t.Fatal("Render twice gave different pictures")
		}
	})
}

func BenchmarkRender(b *testing.B) {
	var bld escpos.Builder
	bld.Init()
	for i := range 40 {
		switch i % 4 {
		case 0:
			bld.Line("商户名称 MERCHANT: 好运来便利店")
		case 1:
			bld.Line("CARD 622848******1234   SALE")
		case 2:
			bld.Bold(true).Size(2, 2).Line("¥ 128.50").Size(1, 1).Bold(false)
		default:
			bld.Align(escpos.Right).Line("持卡人签名").Align(escpos.Left)
		}
	}
	p := decode(b, bld.Bytes())
	if len(p.Lines) != 40 {
		b.Fatalf("receipt has %d lines; want 40", len(p.Lines))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(p, escpos.Cols58mm); err != nil {
			b.Fatal(err)
		}
	}
}

// annexB is EMV QRCPS MPM's example payload (Chinese included): a merchant's
// code as a slip would carry it.
const annexB = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"

// TestQRScans: the QR codes on a rendered slip are read back by a real QR reader,
// whatever their module size, level and justification, on 58 and 80 mm paper.
func TestQRScans(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cols    int
		payload string
		module  int
		ecc     escpos.ECLevel
		align   escpos.Align
	}{
		{"order number, 58 mm", escpos.Cols58mm, "20261205000123", 4, escpos.ECM, escpos.Center},
		{"EMV payload, 58 mm, level L", escpos.Cols58mm, annexB, 3, escpos.ECL, escpos.Left},
		{"EMV payload, 80 mm, level H, 6 dots", escpos.Cols80mm, annexB, 6, escpos.ECH, escpos.Right},
		{"URL, shrunk to 58 mm", escpos.Cols58mm, "https://pay.example.com/r/000345", 16, escpos.ECQ, escpos.Center},
	} {
		var b escpos.Builder
		b.Init().Line("ORDER").Align(tt.align).QR(tt.payload, tt.module, tt.ecc).Line("THANK YOU").Cut()
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		img := render(t, decode(t, b.Bytes()), tt.cols)
		if got := qrtest.Decode(t, img); len(got) != 1 || got[0] != tt.payload {
			t.Errorf("%s: zbarimg read %q; want %.30q...", tt.name, got, tt.payload)
		}
	}
	// The sample slip's QR code scans too.
	if got := qrtest.Decode(t, render(t, decode(t, sampleReceipt()), escpos.Cols58mm)); len(got) != 1 || got[0] != "https://pay.example.com/r/000345" {
		t.Errorf("zbarimg read %q from the sample slip; want its URL", got)
	}
}
