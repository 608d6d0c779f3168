package escpos

import (
	"strings"
	"testing"
)

func TestPaperText(t *testing.T) {
	wide := Style{Width: 2, Height: 1}
	for _, tt := range []struct {
		name  string
		lines []Line
		cols  int
		want  string
	}{
		{"left", []Line{text(Left, span("TOTAL", plain))}, 32, "TOTAL\n"},
		{"centre 58 mm", []Line{text(Center, span("SALE", plain))}, 32, strings.Repeat(" ", 14) + "SALE\n"},
		{"centre 80 mm", []Line{text(Center, span("SALE", plain))}, 48, strings.Repeat(" ", 22) + "SALE\n"},
		{"right", []Line{text(Right, span("12.34", plain))}, 32, strings.Repeat(" ", 27) + "12.34\n"},
		{"CJK takes two columns", []Line{text(Right, span("消费 SALE", plain))}, 32, strings.Repeat(" ", 23) + "消费 SALE\n"},
		{"double width spreads the letters", []Line{text(Center, span("消费", big), span(" OK", wide))}, 32,
			strings.Repeat(" ", 9) + "消  费    O K\n"},
		{"styles do not change columns", []Line{text(Right, span("A", bold), span("B", Style{Width: 1, Height: 8}))}, 10,
			strings.Repeat(" ", 8) + "AB\n"},
		{"trailing spaces count but are trimmed", []Line{text(Center, span("ab  ", plain))}, 10, "   ab\n"},
		{"empty line", []Line{blank(Center)}, 32, "\n"},
		{"wraps at the width", []Line{text(Left, span("0123456789abc", plain))}, 10, "0123456789\nabc\n"},
		{"wrapped rows keep the alignment", []Line{text(Right, span("0123456789abc", plain))}, 10, "0123456789\n       abc\n"},
		{"a CJK character does not split at the edge", []Line{text(Left, span("123456789消", plain))}, 10, "123456789\n消\n"},
		{"a double-width letter does not split", []Line{text(Left, span("12345678", plain), span("AB", wide))}, 9, "12345678\nA B\n"},
		{"control characters show as ?", []Line{text(Left, span("a\x1bb\u0085", plain))}, 10, "a?b?\n"},
		{"QR", []Line{{Kind: KindQR, Align: Center, Data: "RRN 1"}}, 20, "    [QR: RRN 1]\n"},
		{"QR payload on one line", []Line{{Kind: KindQR, Data: "a\nb\xff"}}, 20, "[QR: a?b\uFFFD]\n"},
		{"long QR is not wrapped", []Line{{Kind: KindQR, Align: Right, Data: strings.Repeat("x", 20)}}, 10, "[QR: " + strings.Repeat("x", 20) + "]\n"},
		{"barcode", []Line{{Kind: KindBarcode, Align: Right, Data: "123", Symbology: "CODE128"}}, 20, "      [BARCODE: 123]\n"},
		{"image", []Line{{Kind: KindImage, Data: "NV 1"}}, 20, "[IMAGE: NV 1]\n"},
		{"cut, 58 mm", []Line{{Kind: KindCut, Partial: true}}, 32, strings.TrimSpace(strings.Repeat("- ", 16)) + "\n"},
		{"cut, odd width", []Line{{Kind: KindCut}}, 5, "- - -\n"},
		{"no columns", []Line{text(Center, span("ab", plain))}, 0, "a\nb\n"},
		{"no paper", nil, 32, ""},
	} {
		if got := (Paper{Lines: tt.lines}).Text(tt.cols); got != tt.want {
			t.Errorf("%s: Text(%d) =\n%q; want\n%q", tt.name, tt.cols, got, tt.want)
		}
	}
}

func TestWidth(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"SALE", 4},
		{"消费 SALE", 9},
		{"商户名称", 8},
		{"×·—“", 8}, // GB2312 symbols print from the 24×24 font
		{"¥12", 3},
		{"e\u0301", 1}, // a combining accent takes no column
		{"\x1b", 1},    // shown as '?'
	} {
		if got := Width(tt.in); got != tt.want {
			t.Errorf("Width(%q) = %d; want %d", tt.in, got, tt.want)
		}
	}
}

func TestLineText(t *testing.T) {
	l := text(Left, span("消费", big), span(" SALE", plain))
	if got := l.Text(); got != "消费 SALE" {
		t.Errorf("Line.Text() = %q; want %q", got, "消费 SALE")
	}
	if got := (Line{Kind: KindCut}).Text(); got != "" {
		t.Errorf("Line{Kind: KindCut}.Text() = %q; want empty", got)
	}
}
