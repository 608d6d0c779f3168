package escpos

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// receipt builds a sale slip the way the firmware prints one.
func receipt(b *Builder) {
	b.Init().
		Align(Center).Size(2, 2).Bold(true).Line("消费 SALE").
		Size(1, 1).Bold(false).Line("签购单 CARDHOLDER COPY").
		Align(Left).
		Line("商户名称 Merchant: 好运来超市").
		Line("终端号 TID: 10000001").
		Line("卡号 CARD: 622202******1234").
		Text("金额 AMOUNT: ").Bold(true).Line("RMB 1,234.56").Bold(false).
		Line("参考号 RRN: 000000123456").
		Align(Center).QR("RRN:000000123456", 4, ECM).
		Code128("000000123456").
		Feed(2).Cut()
}

func TestRoundTrip(t *testing.T) {
	var bld Builder
	receipt(&bld)
	if err := bld.Err(); err != nil {
		t.Fatal(err)
	}
	p, err := Decode(bld.Bytes())
	if err != nil {
		t.Fatalf("Decode(receipt) error = %v", err)
	}
	want := []Line{
		text(Center, span("消费 SALE", Style{Bold: true, Width: 2, Height: 2})),
		text(Center, span("签购单 CARDHOLDER COPY", plain)),
		text(Left, span("商户名称 Merchant: 好运来超市", plain)),
		text(Left, span("终端号 TID: 10000001", plain)),
		text(Left, span("卡号 CARD: 622202******1234", plain)),
		text(Left, span("金额 AMOUNT: ", plain), span("RMB 1,234.56", bold)),
		text(Left, span("参考号 RRN: 000000123456", plain)),
		{Kind: KindQR, Align: Center, Data: "RRN:000000123456", Module: 4, ECC: ECM},
		{Kind: KindBarcode, Align: Center, Data: "000000123456", Symbology: "CODE128"},
		blank(Center),
		blank(Center),
		{Kind: KindCut, Partial: true},
	}
	if !reflect.DeepEqual(p.Lines, want) {
		t.Errorf("Decode(receipt) =\n%+v\nwant\n%+v", p.Lines, want)
	}

	wantText := `       消  费    S A L E
     签购单 CARDHOLDER COPY
商户名称 Merchant: 好运来超市
终端号 TID: 10000001
卡号 CARD: 622202******1234
金额 AMOUNT: RMB 1,234.56
参考号 RRN: 000000123456
     [QR: RRN:000000123456]
    [BARCODE: 000000123456]


- - - - - - - - - - - - - - - -
`
	if got := p.Text(Cols58mm); got != wantText {
		t.Errorf("Text(32) =\n%s\nwant\n%s", got, wantText)
	}
}

// TestRoundTripAllRunes sends every printable Unicode character through
// the encoder and the decoder: GB18030 covers them all.
func TestRoundTripAllRunes(t *testing.T) {
	var chunk []rune
	check := func() {
		var bld Builder
		bld.Text(string(chunk)).LF()
		p, err := Decode(bld.Bytes())
		if err != nil || len(p.Lines) != 1 || p.Lines[0].Text() != string(chunk) {
			for _, r := range chunk { // find the one that failed
				var one Builder
				one.Line(string(r))
				if p, _ := Decode(one.Bytes()); len(p.Lines) != 1 || p.Lines[0].Text() != string(r) {
					t.Errorf("%U sent as % X comes back as %+v", r, one.Bytes(), p.Lines)
				}
			}
		}
		chunk = chunk[:0]
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r == '\n' || !utf8.ValidRune(r) || unprintable(r, utf8.RuneLen(r)) {
			continue
		}
		if chunk = append(chunk, r); len(chunk) == 4096 {
			check()
		}
	}
	check()
}

// Example prints a receipt and reads it back as the simulator does.
func Example() {
	var b Builder
	b.Init().Align(Center).Bold(true).Line("消费 SALE").Bold(false).
		Align(Left).Line("金额 AMOUNT: RMB 12.34").
		Align(Center).QR("RRN:000000123456", 4, ECM).Cut()
	if b.Err() != nil {
		panic(b.Err())
	}
	paper, err := Decode(b.Bytes())
	if err != nil {
		panic(err)
	}
	fmt.Print(paper.Text(Cols58mm))
	// Output:
	//            消费 SALE
	// 金额 AMOUNT: RMB 12.34
	//      [QR: RRN:000000123456]
	// - - - - - - - - - - - - - - - -
}

// FuzzRoundTrip: any text, in any style, comes back as written, with
// control characters as '?' and each '\n' a new line.
func FuzzRoundTrip(f *testing.F) {
	f.Add("消费 SALE\n商户名称 Merchant", true, uint8(1), uint8(1), uint8(1))
	f.Add("RMB 1,234.56 ×·—€😀\x1b@\x00", false, uint8(0), uint8(7), uint8(2))
	f.Add("a\xffb\u0085\n\n", false, uint8(3), uint8(0), uint8(0))
	f.Add("\ue7a3\ufe10\u1e3f", false, uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, s string, boldOn bool, w, h, a uint8) {
		st := Style{Bold: boldOn, Width: 1 + int(w%8), Height: 1 + int(h%8)}
		align := Align(a % 3)
		var bld Builder
		bld.Init().Align(align).Size(st.Width, st.Height).Bold(boldOn).Line(s)
		if err := bld.Err(); err != nil {
			t.Fatalf("Builder: %v", err)
		}
		p, err := Decode(bld.Bytes())
		if err != nil {
			t.Fatalf("Decode(% X) error = %v", bld.Bytes(), err)
		}
		clean, _ := sanitize(s)
		rows := strings.Split(clean, "\n")
		if len(p.Lines) != len(rows) {
			t.Fatalf("Decode(Line(%q)) = %d lines; want %d", s, len(p.Lines), len(rows))
		}
		for i, l := range p.Lines {
			if l.Kind != KindText || l.Align != align || l.Text() != rows[i] {
				t.Errorf("line %d = %+v; want %q aligned %d", i, l, rows[i], align)
			}
			for _, sp := range l.Spans {
				if sp.Style != st {
					t.Errorf("line %d span %q style %+v; want %+v", i, sp.Text, sp.Style, st)
				}
			}
		}
	})
}

// FuzzDecode: any bytes at all decode without a panic, in bounded output,
// to the same paper whether they come whole or in pieces, and lay out
// within the roll's width.
func FuzzDecode(f *testing.F) {
	var bld Builder
	receipt(&bld)
	f.Add(bld.Bytes(), uint8(3))
	f.Add([]byte("\x1b@\x1c&\xcf\xfb\x81\x30\x81\x30\x1d!\x11\t\x1ba\x01x\n\x1bd\xff"), uint8(1))
	f.Add([]byte("\x1dv0\x00\x02\x00\x03\x00\n\x1b@\x1dV\x00x\n\x1b*\x21\x02\x00"), uint8(2))
	f.Add([]byte("\x1d(k\x08\x001P0abcde\x1d(k\x03\x001Q0\x1dkI\x04{Bab\x1dk\x04AB\x00"), uint8(5))
	f.Add([]byte("\x1bD\x04\x0a\x00\t\t\x1b&\x03AB\x01\n\n\n\x10\x04\x07\x01\x10\x14\x08"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		const maxLines = 500
		opt := Options{MaxLines: maxLines, Chinese: chunk&0x80 != 0}

		whole := NewDecoder(opt)
		whole.Write(data)
		wholeErr := whole.Close()
		p := whole.Paper()

		pieces := NewDecoder(opt)
		step := 1 + int(chunk%16)
		for i := 0; i < len(data); i += step {
			pieces.Write(data[i:min(i+step, len(data))])
		}
		piecesErr := pieces.Close()
		if !reflect.DeepEqual(pieces.Paper(), p) || fmt.Sprint(piecesErr) != fmt.Sprint(wholeErr) {
			t.Fatalf("in pieces of %d:\n%+v, %v\nwhole:\n%+v, %v", step, pieces.Paper(), piecesErr, p, wholeErr)
		}

		if len(p.Lines) > maxLines {
			t.Fatalf("%d lines kept; want at most %d", len(p.Lines), maxLines)
		}
		var text int
		for _, l := range p.Lines {
			for _, s := range l.Spans {
				text += len(s.Text)
			}
			text += len(l.Data)
		}
		// A byte decodes to at most one 3-byte UTF-8 character, a HT to
		// 255 spaces, and a QR print (8 bytes) repeats at most 7089
		// stored bytes.
		if limit := 255*len(data) + MaxQRData*len(data)/8; text > limit {
			t.Fatalf("%d bytes of text from %d bytes of input; want at most %d", text, len(data), limit)
		}

		for _, l := range p.Lines {
			if l.Kind != KindText {
				continue
			}
			out := (Paper{Lines: []Line{l}}).Text(Cols58mm)
			if !utf8.ValidString(out) || !strings.HasSuffix(out, "\n") {
				t.Fatalf("Text(%+v) = %q; want valid UTF-8 rows", l, out)
			}
			for _, row := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if w := Width(row); w > Cols58mm {
					t.Fatalf("row %q of %+v is %d columns wide; want at most %d", row, l, w, Cols58mm)
				}
			}
		}
	})
}

// FuzzStatus: any reply byte is read without a panic, the replies built
// from any state read back as that state, and re-encoding a reply gives it
// back but for undefined bits and half-set sensor pairs.
func FuzzStatus(f *testing.F) {
	f.Add(uint8(4), uint8(0x7E), uint16(0))
	f.Add(uint8(1), uint8(0x1A), uint16(0xFFFF))
	f.Add(uint8(2), uint8(0x41), uint16(0x1234))
	f.Fuzz(func(t *testing.T, kind, reply uint8, state uint16) {
		n := StatusKind(kind)
		var s Status
		err := s.Update(n, reply)
		valid := n >= PrinterStatus && n <= PaperSensor && reply&0x93 == 0x12
		if (err == nil) != valid {
			t.Fatalf("Update(%d, 0x%02X) = %v; want error %v", n, reply, err, !valid)
		}
		if valid {
			again, err := s.Byte(n)
			var s2 Status
			if err == nil {
				err = s2.Update(n, again)
			}
			if err != nil || s2 != s {
				t.Fatalf("Update(%d, Byte(%d) = 0x%02X) = %+v, %v; want %+v", n, n, again, s2, err, s)
			}
			defined := byte(0x12)
			for _, f := range statusBits {
				if f.kind == n && (reply&f.mask == f.mask || reply&f.mask == 0) {
					defined |= f.mask
				}
			}
			if again&defined != reply&defined {
				t.Fatalf("Byte(Update(%d, 0x%02X)) = 0x%02X; want the defined bits 0x%02X kept", n, reply, again, defined)
			}
		}

		// Every state survives a round of DLE EOT 1-4.
		var in Status
		for i, f := range statusBits {
			*f.field(&in) = state&(1<<i) != 0
		}
		var out Status
		for n := PrinterStatus; n <= PaperSensor; n++ {
			b, err := in.Byte(n)
			if err == nil {
				err = out.Update(n, b)
			}
			if err != nil {
				t.Fatalf("DLE EOT %d of %+v: %v", n, in, err)
			}
		}
		if out != in {
			t.Fatalf("replies of %+v read back as %+v", in, out)
		}
	})
}

// BenchmarkReceipt encodes a 40-line receipt and decodes it back to text,
// as the simulator does for each slip.
func BenchmarkReceipt(b *testing.B) {
	var bld Builder
	build := func() {
		bld.Reset()
		bld.Init().Align(Center).Size(2, 2).Bold(true).Line("消费 SALE").Size(1, 1).Bold(false).Align(Left)
		for i := range 36 {
			bld.Line(fmt.Sprintf("商品 ITEM %02d x1          RMB %3d.00", i, i))
		}
		bld.Align(Center).QR("RRN:000000123456", 4, ECM).Code128("000000123456").Cut()
	}
	build()
	b.SetBytes(int64(len(bld.Bytes())))
	b.ReportAllocs()
	for b.Loop() {
		build()
		p, err := Decode(bld.Bytes())
		if err != nil || len(p.Lines) != 40 {
			b.Fatalf("Decode = %d lines, %v; want 40", len(p.Lines), err)
		}
		if s := p.Text(Cols58mm); !bytes.Contains([]byte(s), []byte("[QR: ")) {
			b.Fatalf("Text() lacks the QR code")
		}
	}
}
