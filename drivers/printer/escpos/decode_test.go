package escpos

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Styles and lines for the expectations below.
var (
	plain = Style{Width: 1, Height: 1}
	bold  = Style{Bold: true, Width: 1, Height: 1}
	big   = Style{Width: 2, Height: 2}
)

func text(a Align, spans ...Span) Line { return Line{Kind: KindText, Align: a, Spans: spans} }
func span(s string, st Style) Span     { return Span{Text: s, Style: st} }
func blank(a Align) Line               { return Line{Kind: KindText, Align: a} }

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want []Line
	}{
		{"ASCII lines", b("ab", 0x0A, "c", 0x0A), []Line{text(Left, span("ab", plain)), text(Left, span("c", plain))}},
		{"empty line", b(0x0A), []Line{blank(Left)}},
		{"CR and NUL are ignored", b("a", 0x0D, 0x00, "b", 0x0A), []Line{text(Left, span("ab", plain))}},
		{"ESC @ resets modes and drops the unprinted line",
			b(0x1B, 0x45, 0x01, 0x1B, 0x61, 0x01, "lost", 0x1B, 0x40, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"bold spans", b("a", 0x1B, 0x45, 0x01, "b", 0x1B, 0x45, 0x00, "c", 0x0A),
			[]Line{text(Left, span("a", plain), span("b", bold), span("c", plain))}},
		{"style change without text makes no span", b(0x1B, 0x45, 0x01, 0x1B, 0x45, 0x00, "a", 0x0A),
			[]Line{text(Left, span("a", plain))}},
		{"GS ! sizes", b(0x1D, 0x21, 0x11, "W", 0x1D, 0x21, 0x70, "x", 0x0A),
			[]Line{text(Left, span("W", big), span("x", Style{Width: 8, Height: 1}))}},
		{"GS ! out of range is ignored", b(0x1D, 0x21, 0x11, 0x1D, 0x21, 0x88, "W", 0x0A),
			[]Line{text(Left, span("W", big))}},
		{"ESC ! bold, double height and width", b(0x1B, 0x21, 0x38, "T", 0x1B, 0x21, 0x00, "t", 0x0A),
			[]Line{text(Left, span("T", Style{Bold: true, Width: 2, Height: 2}), span("t", plain))}},
		{"ESC a at line start", b(0x1B, 0x61, 0x02, "r", 0x0A, 0x1B, 0x61, '1', "c", 0x0A),
			[]Line{text(Right, span("r", plain)), text(Center, span("c", plain))}},
		{"ESC a mid-line is ignored", b("x", 0x1B, 0x61, 0x01, "y", 0x0A, "z", 0x0A),
			[]Line{text(Left, span("xy", plain)), text(Left, span("z", plain))}},
		{"ESC d 3 prints the line and two blank ones", b("a", 0x1B, 0x64, 0x03),
			[]Line{text(Left, span("a", plain)), blank(Left), blank(Left)}},
		{"ESC d 2 on an empty line", b(0x1B, 0x64, 0x02), []Line{blank(Left), blank(Left)}},
		{"ESC d 0 prints without feeding", b("a", 0x1B, 0x64, 0x00, 0x1B, 0x64, 0x00),
			[]Line{text(Left, span("a", plain))}},
		{"ESC J prints the line", b("a", 0x1B, 0x4A, 0x30, 0x1B, 0x4A, 0x30), []Line{text(Left, span("a", plain))}},
		{"HT to the default stops", b("ab", 0x09, "c", 0x09, 0x09, "d", 0x0A),
			[]Line{text(Left, span("ab      c               d", plain))}},
		{"ESC D sets stops", b(0x1B, 0x44, 4, 10, 0x00, "a", 0x09, "b", 0x09, "c", 0x09, "d", 0x0A),
			[]Line{text(Left, span("a   b     cd", plain))}},
		{"ESC D NUL clears them", b(0x1B, 0x44, 0x00, "a", 0x09, "b", 0x0A), []Line{text(Left, span("ab", plain))}},
		{"ESC D ends at a non-ascending value", b(0x1B, 0x44, 0x30, '!', 0x0A), []Line{text(Left, span("!", plain))}},
		{"HT under double width counts columns", b(0x1D, 0x21, 0x10, "ab", 0x09, "c", 0x0A),
			[]Line{text(Left, span("ab", Style{Width: 2, Height: 1}), span("    ", Style{Width: 1, Height: 1}), span("c", Style{Width: 2, Height: 1}))}},
		{"GB18030 needs FS &", b(0xCF, 0xFB, 0x0A), []Line{text(Left, span("╧√", plain))}},
		{"FS & Chinese, FS . back", b(0x1C, 0x26, 0xCF, 0xFB, 0xB7, 0xD1, " SALE", 0x1C, 0x2E, 0xCF, 0x0A),
			[]Line{text(Left, span("消费 SALE╧", plain))}},
		{"GB18030 four-byte", b(0x1C, 0x26, 0x94, 0x39, 0xFC, 0x36, 0x81, 0x30, 0x81, 0x30, 0x0A),
			[]Line{text(Left, span("😀\u0080", plain))}},
		{"bad GB18030 trail byte: substitute, then the command", b(0x1C, 0x26, 0x81, 0x0A, "x", 0x0A),
			[]Line{text(Left, span("\uFFFD", plain)), text(Left, span("x", plain))}},
		{"bad GB18030 four-byte", b(0x1C, 0x26, 0x81, 0x30, 0x20, 0x0A),
			[]Line{text(Left, span("\uFFFD0 ", plain))}},
		{"0x80 and 0xFF are not GB18030", b(0x1C, 0x26, 0x80, 0xFF, 0x0A), []Line{text(Left, span("\uFFFD\uFFFD", plain))}},
		{"FS ! sizes Chinese characters only", b(0x1C, 0x26, 0x1C, 0x21, 0x0C, "A", 0xBD, 0xF0, 0x0A),
			[]Line{text(Left, span("A", plain), span("金", big))}},
		{"FS W quadruple", b(0x1C, 0x26, 0x1C, 0x57, 0x01, 0xBD, 0xF0, 0x0A), []Line{text(Left, span("金", big))}},
		{"GS ! sizes Chinese characters too", b(0x1C, 0x26, 0x1D, 0x21, 0x11, "A", 0xBD, 0xF0, 0x0A),
			[]Line{text(Left, span("A金", big))}},
		{"ESC t code table", b(0x1B, 0x74, 16, 0x80, 0x1B, 0x74, 0, 0x80, 0x1B, 0x74, 99, 0x80, 0x0A),
			[]Line{text(Left, span("€Ç\uFFFD", plain))}},
		{"GS V 66 0 partial cut prints the line first", b("a", 0x1D, 0x56, 66, 0),
			[]Line{text(Left, span("a", plain)), {Kind: KindCut, Partial: true}}},
		{"GS V cuts", b(0x1D, 0x56, 0, 0x1D, 0x56, 49, 0x1D, 0x56, 65, 5, 0x1D, 0x56, 104, 0),
			[]Line{{Kind: KindCut}, {Kind: KindCut, Partial: true}, {Kind: KindCut}, {Kind: KindCut, Partial: true}}},
		{"GS V with a bad mode is ignored", b(0x1D, 0x56, 7, "x", 0x0A), []Line{text(Left, span("x", plain))}},
		{"ESC i and ESC m cut", b(0x1B, 0x69, 0x1B, 0x6D),
			[]Line{{Kind: KindCut, Partial: true}, {Kind: KindCut, Partial: true}}},
		{"QR code", b(0x1B, 0x61, 1,
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x04,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31,
			0x1D, 0x28, 0x6B, 0x08, 0x00, 0x31, 0x50, 0x30, "a\nb\x1b@",
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30),
			[]Line{{Kind: KindQR, Align: Center, Data: "a\nb\x1b@", Module: 4, ECC: ECM}, {Kind: KindQR, Align: Center, Data: "a\nb\x1b@", Module: 4, ECC: ECM}}},
		{"QR code at the printer's defaults; bad sizes and levels ignored", b(
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x11,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x00,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x34,
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x50, 0x30, "Q",
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x33,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x10,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30),
			[]Line{{Kind: KindQR, Data: "Q", Module: DefaultQRModule, ECC: ECL}, {Kind: KindQR, Data: "Q", Module: 16, ECC: ECH}}},
		{"QR print with nothing stored", b(0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30), nil},
		{"other 2D symbols are stepped over", b(0x1D, 0x28, 0x6B, 0x05, 0x00, 0x30, 0x50, 0x30, "\n\n", "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"CODE128", b(0x1D, 0x6B, 73, 8, '{', 'C', 12, 34, 56, 78, 90, 12),
			[]Line{{Kind: KindBarcode, Data: "123456789012", Symbology: "CODE128"}}},
		{"CODE39, NUL-terminated", b(0x1D, 0x6B, 4, "AB-1", 0x00, "x", 0x0A),
			[]Line{{Kind: KindBarcode, Data: "AB-1", Symbology: "CODE39"}, text(Left, span("x", plain))}},
		{"EAN13 with a length", b(0x1D, 0x6B, 67, 12, "690123456789"),
			[]Line{{Kind: KindBarcode, Data: "690123456789", Symbology: "EAN13"}}},
		{"raster image data is never read as commands", b(0x1D, 0x76, 0x30, 0, 2, 0, 3, 0, 0x0A, 0x1B, 0x40, 0x1D, 0x56, 0x00, "x", 0x0A),
			[]Line{{Kind: KindImage, Data: "16x3"}, text(Left, span("x", plain))}},
		{"NV logo", b(0x1B, 0x61, 1, 0x1C, 0x70, 1, 0), []Line{{Kind: KindImage, Align: Center, Data: "NV 1"}}},
		{"ESC * bit image is stepped over", b("a", 0x1B, 0x2A, 33, 2, 0, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, "b", 0x0A),
			[]Line{text(Left, span("ab", plain))}},
		{"GS ( L graphics are stepped over", b(0x1D, 0x28, 0x4C, 3, 0, 0x30, 0x32, 0x0A, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"GS 8 L graphics are stepped over", b(0x1D, 0x38, 0x4C, 2, 0, 0, 0, 0x0A, 0x0A, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"ESC & user characters are stepped over", b(0x1B, 0x26, 3, 'A', 'B', 1, 0x0A, 0x0A, 0x0A, 2, 1, 2, 3, 4, 5, 6, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"DLE DC4 clear buffers is stepped over", b(0x10, 0x14, 8, 1, 3, 20, 1, 6, 2, 8, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"DLE EOT is not text", b(0x10, 0x04, 0x04, 0x10, 0x04, 0x07, 0x01, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
		{"settings that change nothing read", b(0x1B, 0x33, 0x0A, 0x1D, 0x4C, 0x0A, 0x0A, 0x1D, 0x68, 0x0A, 0x1B, 0x70, 0, 0x0A, 0x0A, "x", 0x0A),
			[]Line{text(Left, span("x", plain))}},
	} {
		p, err := Decode(tt.in)
		if err != nil {
			t.Errorf("%s: Decode(% X) error = %v", tt.name, tt.in, err)
		}
		if !reflect.DeepEqual(p.Lines, tt.want) {
			t.Errorf("%s: Decode(% X) = %+v; want %+v", tt.name, tt.in, p.Lines, tt.want)
		}
	}
}

func TestDecodeChineseByDefault(t *testing.T) {
	d := NewDecoder(Options{Chinese: true})
	d.Write(b(0xCF, 0xFB, 0x0A, 0x1B, 0x40, 0xB7, 0xD1, 0x0A, 0x1C, 0x2E, 0xCF, 0x0A))
	if err := d.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	var got []string
	for _, l := range d.Paper().Lines {
		got = append(got, l.Text())
	}
	// ESC @ returns to the power-on mode, Chinese here; FS . leaves it.
	if want := []string{"消", "费", "╧"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q; want %q", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    []byte
		want  string // the error
		is    error
		paper string // what was decoded anyway, as Text(32)
	}{
		{"unknown command", b("a", 0x1B, 'Z', "b", 0x0A), "escpos: ESC Z at offset 1: unknown command", ErrUnknown, "ab\n"},
		{"lone prefix", b(0x1D, 0x0A, "b", 0x0A), "escpos: GS 0x0A at offset 0: unknown command", ErrUnknown, "\nb\n"},
		{"first error is kept", b(0x1B, 'Z', 0x1C, 'Z', 0x0A), "escpos: ESC Z at offset 0: unknown command", ErrUnknown, "\n"},
		{"truncated GS ( k", b("abc", 0x0A, "de", 0x1D, 0x28, 0x6B, 0x05), "escpos: GS ( k at offset 6: stream ends inside the command", ErrTruncated, "abc\nde\n"},
		{"truncated prefix", b("x", 0x1B), "escpos: ESC at offset 1: stream ends inside the command", ErrTruncated, "x\n"},
		{"truncated GB18030", b(0x1C, 0x26, "x", 0xCF), "escpos: GB18030 character at offset 3: stream ends inside the command", ErrTruncated, "x\n"},
		{"truncated image", b(0x1D, 0x76, 0x30, 0, 10, 0, 10, 0, 1, 2, 3), "escpos: image data at offset 11: stream ends inside the command", ErrTruncated, "[IMAGE: 80x10]\n"},
		{"QR data too long", b(0x1D, 0x28, 0x6B, 0xB7, 0x1B, 0x31, 0x50, 0x30, strings.Repeat("1", 7092), 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30),
			"escpos: GS ( k at offset 0: QR code data of 7092 bytes exceeds 7089", nil, ""},
		{"unknown barcode", b(0x1D, 0x6B, 20, "x", 0x0A), "escpos: GS k at offset 0: unknown barcode system 20", nil, "x\n"},
		{"barcode without NUL", b(0x1D, 0x6B, 4, strings.Repeat("A", 40)+"\n"+strings.Repeat("A", 260)),
			"escpos: GS k at offset 0: barcode data has no NUL within 255 bytes", nil,
			strings.Repeat("A", 32) + "\n" + strings.Repeat("A", 8) + "\n" + strings.Repeat(strings.Repeat("A", 32)+"\n", 8) + "AAAA\n"},
		{"bad CODE128", b(0x1D, 0x6B, 73, 3, "ABC", 0x0A), "escpos: GS k at offset 0: CODE128 data does not start with a code set ({A, {B or {C)", nil, "[BARCODE: ABC]\n\n"},
	} {
		p, err := Decode(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: Decode(% .20X) error = %v; want %s", tt.name, tt.in, err, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.is)
		}
		if got := p.Text(Cols58mm); got != tt.paper {
			t.Errorf("%s: paper = %q; want %q", tt.name, got, tt.paper)
		}
	}
}

func TestCode128Text(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		err  bool
	}{
		{"{BHello", "Hello", false},
		{"{C\x0c\x22", "1234", false},
		{"{AAB\x01", "AB\x01", false},
		{"{B{{x", "{x", false},
		{"{BNo{C\x0c", "No12", false},
		{"{C\x0c{B.5", "12.5", false},
		{"{Bab{S\x01c", "ab\x01c", false}, // shift into A for one character
		{"{Aa", "", true},                 // lower case is not in code set A
		{"{B{1ab", "ab", false},           // FNC1 has no text
		{"{A\x00\x5f", "\x00\x5f", false},
		{"Hello", "", true},  // no code set
		{"{D12", "", true},   // no such code set
		{"{C\x64", "", true}, // 100 is not a code set C value
		{"{A\x60", "", true}, // 0x60 is not in code set A
		{"{B\x1f", "", true}, // nor 0x1F in code set B
		{"{Bab{", "", true},  // dangling brace
		{"{Bab{x", "", true}, // undefined special character
	} {
		got, err := code128Text([]byte(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("code128Text(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestDecoderStreaming feeds a stream one byte at a time: a command split
// across writes must come out as if written whole.
func TestDecoderStreaming(t *testing.T) {
	var bld Builder
	bld.Init().Align(Center).Size(2, 2).Line("消费 SALE").Size(1, 1).Align(Left).
		Line("商户名称 Merchant").QR("RRN:000000123456", 4, ECM).Code128("000000123456").Cut()
	// An image whose data looks like commands comes first.
	stream := b(0x1D, 0x76, 0x30, 0, 1, 0, 4, 0, 0x1B, 0x40, 0x0A, 0x1D, bld.Bytes())

	whole, wholeErr := Decode(stream)
	d := NewDecoder(Options{})
	for i := range stream {
		if n, err := d.Write(stream[i : i+1]); n != 1 || err != nil {
			t.Fatalf("Write(byte %d) = %d, %v; want 1, nil", i, n, err)
		}
	}
	err := d.Close()
	if !reflect.DeepEqual(d.Paper(), whole) || err != wholeErr {
		t.Errorf("byte by byte = %+v, %v;\nwhole = %+v, %v", d.Paper(), err, whole, wholeErr)
	}
	if len(whole.Lines) != 6 || whole.Lines[0].Kind != KindImage || whole.Lines[5].Kind != KindCut {
		t.Errorf("Decode = %+v; want image, 2 lines, QR, barcode, cut", whole.Lines)
	}
}

func TestDecoderOnStatus(t *testing.T) {
	var got []StatusKind
	d := NewDecoder(Options{})
	d.OnStatus = func(n StatusKind) {
		got = append(got, n)
		// The reply goes out before the printer reads further: the lines
		// after the request are not decoded yet.
		if len(d.Paper().Lines) != len(got)-1 {
			t.Errorf("OnStatus(%d) called with %d lines decoded; want %d", n, len(d.Paper().Lines), len(got)-1)
		}
	}
	d.Write(b(0x10, 0x04, 0x04, "a", 0x0A, 0x10))
	d.Write(b(0x04, 0x01, "b", 0x0A))
	if want := []StatusKind{PaperSensor, PrinterStatus}; !reflect.DeepEqual(got, want) {
		t.Errorf("OnStatus calls = %v; want %v", got, want)
	}
}

func TestDecoderMaxLines(t *testing.T) {
	d := NewDecoder(Options{MaxLines: 3})
	for _, s := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		d.Write(b(s, 0x0A))
		if n := len(d.Paper().Lines); n > 3 {
			t.Fatalf("after line %s: %d lines kept; want at most 3", s, n)
		}
	}
	p := d.Paper()
	var got []string
	for _, l := range p.Lines {
		got = append(got, l.Text())
	}
	if want := []string{"5", "6", "7"}; !reflect.DeepEqual(got, want) || p.Torn != 4 {
		t.Errorf("Paper() = %q, torn %d; want %q, torn 4", got, p.Torn, want)
	}
	d.Clear()
	d.Write(b(0x1B, 0x61, 2, "8", 0x0A))
	if p := d.Paper(); len(p.Lines) != 1 || p.Torn != 0 || p.Lines[0].Align != Right {
		t.Errorf("after Clear: %+v; want the one new line, right-aligned", p)
	}
}

func TestDecoderPaperExcludesUnprintedLine(t *testing.T) {
	d := NewDecoder(Options{})
	d.Write(b("a", 0x0A, "pending"))
	if n := len(d.Paper().Lines); n != 1 {
		t.Errorf("Paper() has %d lines; want 1: text without LF is not printed yet", n)
	}
	if err := d.Close(); err != nil || len(d.Paper().Lines) != 2 {
		t.Errorf("Close() = %v, %d lines; want nil, 2: the end of the stream prints it", err, len(d.Paper().Lines))
	}
}
