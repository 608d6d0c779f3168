package framebuffer

import (
	"errors"
	"fmt"
	"image"
	"testing"

	"posfw/drivers/qrcode/qrtest"
	"posfw/ui"
)

// dynamicCode is shaped like the merchant-presented EMV payload the terminal shows.
const dynamicCode = "00020101021226330010A00000033301158983101481605685204581253031565406128.505802CN5915POSFW TEST SHOP6008SHANGHAI6230011420261205000123070812345678630465F0"

func TestShowQR(t *testing.T) {
	frame := []string{"", "", "", "", "", "", "请扫码 Scan to pay", "¥128.50  59s"}
	for _, g := range []Geometry{
		{320, 240, 16, 640},
		{480, 320, 32, 1920},
		{160, 128, 32, 640}, // the grid exactly: 6 rows of 16 pixels for the code
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", g.Width, g.Height, g.BitsPerPixel), func(t *testing.T) {
			fb, err := New(&sink{}, g, 20, 8)
			if err != nil {
				t.Fatal(err)
			}
			if err := fb.ShowQR(dynamicCode, frame); err != nil {
				t.Fatalf("ShowQR = %v", err)
			}
			pic := fb.Picture()
			if got := qrtest.Decode(t, pic); len(got) != 1 || got[0] != dynamicCode {
				t.Errorf("zbarimg read %q from the panel; want the payload", got)
			}
			// The caption is drawn as text in its rows, white on black.
			row := image.Rect(fb.x0, fb.y0+6*cellH*fb.scale, fb.x0+20*cellW*fb.scale, fb.y0+8*cellH*fb.scale)
			if n := lit(pic, row); n == 0 {
				t.Error("caption rows are dark; want the caption's text")
			}
			// The code stays above the caption.
			if n := lit(pic, image.Rect(0, row.Max.Y, g.Width, g.Height)); n != 0 {
				t.Errorf("%d pixels lit below the caption; want none", n)
			}
			// The next frame replaces the code.
			if err := fb.Show(frame); err != nil {
				t.Fatal(err)
			}
			if got := qrtest.Decode(t, fb.Picture()); len(got) != 0 {
				t.Errorf("after Show zbarimg still reads %q", got)
			}
		})
	}
}

func TestShowQRTooSmall(t *testing.T) {
	fb, err := New(&sink{}, Geometry{128, 64, 32, 512}, 16, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := fb.Show([]string{"BEFORE"}); err != nil {
		t.Fatal(err)
	}
	before := fb.Picture()
	// One row of 16 pixels cannot hold the 41 + 8 modules of this code.
	err = fb.ShowQR(dynamicCode, []string{"", "a", "b", "c"})
	if !errors.Is(err, ui.ErrNoQR) {
		t.Errorf("ShowQR in one row = %v; want %v", err, ui.ErrNoQR)
	}
	if after := fb.Picture(); string(after.Pix) != string(before.Pix) {
		t.Error("a refused ShowQR changed the panel")
	}
	if err := fb.ShowQR("", []string{"", "", "", "x"}); !errors.Is(err, ui.ErrNoQR) {
		t.Errorf("ShowQR of no data = %v; want %v", err, ui.ErrNoQR)
	}
}

// lit counts the pixels of r that are not black.
func lit(img *image.RGBA, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := img.RGBAAt(x, y); c.R|c.G|c.B != 0 {
				n++
			}
		}
	}
	return n
}
