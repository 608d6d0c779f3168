package escpos

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// b is shorthand for the expected byte streams below.
func b(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			out = append(out, byte(p))
		case rune:
			out = append(out, byte(p))
		case string:
			out = append(out, p...)
		case []byte:
			out = append(out, p...)
		}
	}
	return out
}

// TestBuilder checks each command byte for byte against the Epson ESC/POS
// Command Reference.
func TestBuilder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		build func(*Builder)
		want  []byte
	}{
		{"ESC @", func(b *Builder) { b.Init() }, b(0x1B, 0x40)},
		{"ESC E 1", func(b *Builder) { b.Bold(true) }, b(0x1B, 0x45, 0x01)},
		{"ESC E 0", func(b *Builder) { b.Bold(false) }, b(0x1B, 0x45, 0x00)},
		{"GS ! double", func(b *Builder) { b.Size(2, 2) }, b(0x1D, 0x21, 0x11)},
		{"GS ! normal", func(b *Builder) { b.Size(1, 1) }, b(0x1D, 0x21, 0x00)},
		{"GS ! double width", func(b *Builder) { b.Size(2, 1) }, b(0x1D, 0x21, 0x10)},
		{"GS ! double height", func(b *Builder) { b.Size(1, 2) }, b(0x1D, 0x21, 0x01)},
		{"GS ! 8x8", func(b *Builder) { b.Size(8, 8) }, b(0x1D, 0x21, 0x77)},
		{"ESC a 0", func(b *Builder) { b.Align(Left) }, b(0x1B, 0x61, 0x00)},
		{"ESC a 1", func(b *Builder) { b.Align(Center) }, b(0x1B, 0x61, 0x01)},
		{"ESC a 2", func(b *Builder) { b.Align(Right) }, b(0x1B, 0x61, 0x02)},
		{"LF", func(b *Builder) { b.LF() }, b(0x0A)},
		{"ESC d 3", func(b *Builder) { b.Feed(3) }, b(0x1B, 0x64, 0x03)},
		{"ESC d 255", func(b *Builder) { b.Feed(255) }, b(0x1B, 0x64, 0xFF)},
		{"GS V 66 0", func(b *Builder) { b.Cut() }, b(0x1D, 0x56, 0x42, 0x00)},
		{"GS V 65 0", func(b *Builder) { b.FullCut() }, b(0x1D, 0x56, 0x41, 0x00)},
		{"ASCII line", func(b *Builder) { b.Line("TOTAL 12.34") }, b("TOTAL 12.34", 0x0A)},
		{"newline in text", func(b *Builder) { b.Text("a\nb") }, b("a", 0x0A, "b")},
		{"FS & then GB18030", func(b *Builder) { b.Line("消费 SALE") },
			b(0x1C, 0x26, 0xCF, 0xFB, 0xB7, 0xD1, " SALE", 0x0A)},
		{"FS & only once", func(b *Builder) { b.Text("消费").Text("商户名称") },
			b(0x1C, 0x26, 0xCF, 0xFB, 0xB7, 0xD1, 0xC9, 0xCC, 0xBB, 0xA7, 0xC3, 0xFB, 0xB3, 0xC6)},
		{"FS & again after ESC @", func(b *Builder) { b.Text("金").Init().Text("额") },
			b(0x1C, 0x26, 0xBD, 0xF0, 0x1B, 0x40, 0x1C, 0x26, 0xB6, 0xEE)},
		{"GB18030 two-byte symbols", func(b *Builder) { b.Text("€×é") },
			b(0x1C, 0x26, 0xA2, 0xE3, 0xA1, 0xC1, 0xA8, 0xA6)},
		{"GB18030 four-byte", func(b *Builder) { b.Text("😀") }, b(0x1C, 0x26, 0x94, 0x39, 0xFC, 0x36)},
		{"control characters cannot inject commands", func(b *Builder) { b.Text("a\x1dV\x00b\tc\r") },
			b("a?V?b?c?")},
		{"C1 control in Chinese text", func(b *Builder) { b.Text("金\u0085") }, b(0x1C, 0x26, 0xBD, 0xF0, "?")},
		{"invalid UTF-8", func(b *Builder) { b.Text("a\xffb") }, b("a?b")},
		{"private use", func(b *Builder) { b.Text("\ue7a3\U000F0000") }, b("??")},
		{"align ends an unfinished line", func(b *Builder) { b.Text("x").Align(Right) },
			b("x", 0x0A, 0x1B, 0x61, 0x02)},
		{"cut ends an unfinished line", func(b *Builder) { b.Text("x").Cut() },
			b("x", 0x0A, 0x1D, 0x56, 0x42, 0x00)},
		{"no extra LF after a line", func(b *Builder) { b.Line("x").Cut() },
			b("x", 0x0A, 0x1D, 0x56, 0x42, 0x00)},
		{"QR code", func(b *Builder) { b.QR("RRN123", 4, ECL) }, b(
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, // fn 165: model 2
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x04, // fn 167: module 4 dots
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x30, // fn 169: level L
			0x1D, 0x28, 0x6B, 0x09, 0x00, 0x31, 0x50, 0x30, "RRN123", // fn 180: store, k+3 = 9
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30)}, // fn 181: print
		{"QR code level H, 300 bytes", func(b *Builder) { b.QR(strings.Repeat("9", 300), 16, ECH) }, b(
			0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x10,
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x33,
			0x1D, 0x28, 0x6B, 0x2F, 0x01, 0x31, 0x50, 0x30, strings.Repeat("9", 300), // 303 = 0x012F
			0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30)},
		{"CODE128 code set C", func(b *Builder) { b.Code128("123456789012") },
			b(0x1D, 0x48, 0x02, 0x1D, 0x6B, 0x49, 0x08, 0x7B, 0x43, 12, 34, 56, 78, 90, 12)},
		{"CODE128 code set B", func(b *Builder) { b.Code128("No.12") },
			b(0x1D, 0x48, 0x02, 0x1D, 0x6B, 0x49, 0x07, 0x7B, 0x42, "No.12")},
		{"CODE128 odd digits in B", func(b *Builder) { b.Code128("123") },
			b(0x1D, 0x48, 0x02, 0x1D, 0x6B, 0x49, 0x05, 0x7B, 0x42, "123")},
		{"CODE128 brace escaped", func(b *Builder) { b.Code128("a{b") },
			b(0x1D, 0x48, 0x02, 0x1D, 0x6B, 0x49, 0x06, 0x7B, 0x42, "a{{b")},
	} {
		var bld Builder
		tt.build(&bld)
		if err := bld.Err(); err != nil {
			t.Errorf("%s: Err() = %v", tt.name, err)
		}
		if got := bld.Bytes(); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: Bytes() = % X; want % X", tt.name, got, tt.want)
		}
	}
}

func TestStatusRequest(t *testing.T) {
	for n, want := range map[StatusKind][]byte{
		PrinterStatus: {0x10, 0x04, 0x01},
		OfflineCause:  {0x10, 0x04, 0x02},
		ErrorCause:    {0x10, 0x04, 0x03},
		PaperSensor:   {0x10, 0x04, 0x04},
	} {
		if got := StatusRequest(n); !bytes.Equal(got, want) {
			t.Errorf("StatusRequest(%d) = % X; want % X", n, got, want)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		build func(*Builder)
		want  string
	}{
		{"size 0", func(b *Builder) { b.Size(0, 1) }, "character size 0×1 is outside 1-8"},
		{"size 9", func(b *Builder) { b.Size(1, 9) }, "character size 1×9 is outside 1-8"},
		{"feed -1", func(b *Builder) { b.Feed(-1) }, "feed of -1 lines is outside 0-255"},
		{"feed 256", func(b *Builder) { b.Feed(256) }, "feed of 256 lines is outside 0-255"},
		{"align", func(b *Builder) { b.Align(3) }, "alignment 3 is not Left, Center or Right"},
		{"empty QR", func(b *Builder) { b.QR("", 4, ECL) }, "QR code with no data"},
		{"QR too long", func(b *Builder) { b.QR(strings.Repeat("1", MaxQRData+1), 4, ECL) }, "QR code data of 7090 bytes exceeds 7089"},
		{"QR module 0", func(b *Builder) { b.QR("x", 0, ECL) }, "QR module size 0 is outside 1-16"},
		{"QR module 17", func(b *Builder) { b.QR("x", 17, ECL) }, "QR module size 17 is outside 1-16"},
		{"QR level", func(b *Builder) { b.QR("x", 4, 4) }, "QR error correction level 4 is not L, M, Q or H"},
		{"empty CODE128", func(b *Builder) { b.Code128("") }, "CODE128 barcode with no data"},
		{"CODE128 non-ASCII", func(b *Builder) { b.Code128("12é") }, "CODE128 data byte 2 is not printable ASCII"},
		{"CODE128 too long", func(b *Builder) { b.Code128(strings.Repeat("A", 254)) }, "CODE128 data of 254 bytes is too long for one barcode"},
	} {
		var bld Builder
		bld.Line("before")
		tt.build(&bld)
		// The first error sticks: nothing more is written.
		bld.Line("after").QR("after", 4, ECL).Code128("after").Cut()
		err := bld.Err()
		if err == nil || err.Error() != "escpos: "+tt.want {
			t.Errorf("%s: Err() = %v; want escpos: %s", tt.name, err, tt.want)
		}
		if got := string(bld.Bytes()); got != "before\n" {
			t.Errorf("%s: Bytes() = %q; want only what came before the error", tt.name, got)
		}
		var w bytes.Buffer
		if _, err := bld.WriteTo(&w); err == nil || w.Len() != 0 {
			t.Errorf("%s: WriteTo wrote %d bytes, err %v; want nothing and the error", tt.name, w.Len(), err)
		}
	}
}

func TestBuilderLongestCode128(t *testing.T) {
	// 253 characters in code set B: n = 255, the most GS k 73 takes.
	var bld Builder
	bld.Code128(strings.Repeat("A", 253))
	if err := bld.Err(); err != nil {
		t.Fatalf("Code128 of 253 characters: %v", err)
	}
	if got := bld.Bytes()[6]; got != 255 {
		t.Errorf("n = %d; want 255", got)
	}
}

func TestBuilderWriteToAndReset(t *testing.T) {
	var bld Builder
	bld.Init().Line("消费")
	var w bytes.Buffer
	n, err := bld.WriteTo(&w)
	if err != nil || n != int64(len(bld.Bytes())) || !bytes.Equal(w.Bytes(), bld.Bytes()) {
		t.Errorf("WriteTo = %d, %v; wrote % X, want % X", n, err, w.Bytes(), bld.Bytes())
	}
	bld.Size(0, 0)
	bld.Reset()
	if bld.Err() != nil || len(bld.Bytes()) != 0 {
		t.Errorf("after Reset: Err() = %v, %d bytes; want a fresh Builder", bld.Err(), len(bld.Bytes()))
	}
	// After Reset the printer state is unknown again: FS & is sent anew.
	if got, want := bld.Text("费").Bytes(), []byte{0x1C, 0x26, 0xB7, 0xD1}; !bytes.Equal(got, want) {
		t.Errorf("after Reset: Text(费) = % X; want % X", got, want)
	}
}

func TestWriteToError(t *testing.T) {
	var bld Builder
	bld.Line("x")
	want := errors.New("port closed")
	if _, err := bld.WriteTo(failWriter{want}); !errors.Is(err, want) {
		t.Errorf("WriteTo(failing writer) = %v; want %v", err, want)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
