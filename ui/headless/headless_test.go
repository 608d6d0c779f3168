package headless

import (
	"bytes"
	"errors"
	"image/png"
	"slices"
	"strings"
	"testing"

	"posfw/drivers/qrcode/qrtest"
	"posfw/ui"
)

const payload = "00020101021226330010A00000033301158983101481605685204581253031565406128.505802CN5915POSFW TEST SHOP6008SHANGHAI6230011420261205000123070812345678"

// TestScreenshot: what the customer sees comes out as a PNG a real QR reader reads.
func TestScreenshot(t *testing.T) {
	d := New(nil, 24)
	frame := []string{"", "", "", "", "", "", "", "", "Scan to pay 请扫码", "¥128.50      59s"}
	changed := d.Changed()
	if err := d.ShowQR(payload, frame); err != nil {
		t.Fatalf("ShowQR = %v", err)
	}
	select {
	case <-changed:
	default:
		t.Error("ShowQR did not wake the waiters")
	}
	if got := d.Lines(); !slices.Equal(got, frame) {
		t.Errorf("Lines() = %q; want the frame %q", got, frame)
	}
	if qr, ok := d.QR(); !ok || qr != payload {
		t.Errorf("QR() = %q, %v; want the payload", qr, ok)
	}
	var buf bytes.Buffer
	if err := d.Screenshot(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 24*8*3 || b.Dy() != 10*16*3 {
		t.Errorf("screenshot is %v; want 576×480, the 24×10 grid at 3 pixels a font pixel", b)
	}
	if got := qrtest.Decode(t, img); len(got) != 1 || got[0] != payload {
		t.Errorf("zbarimg read %q from the screenshot; want the payload", got)
	}

	// The same frame without the code is a change, and the code is gone.
	changed = d.Changed()
	if err := d.Show(frame); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Error("Show of the same text without the code did not wake the waiters")
	}
	if _, ok := d.QR(); ok {
		t.Error("QR() still set after Show")
	}
	buf.Reset()
	if err := d.Screenshot(&buf); err != nil {
		t.Fatal(err)
	}
	img, _ = png.Decode(&buf)
	if got := qrtest.Decode(t, img); len(got) != 0 {
		t.Errorf("zbarimg read %q after the code went; want nothing", got)
	}
}

func TestShowQRDoesNotFit(t *testing.T) {
	d := New(nil, 16)
	d.Show([]string{"BEFORE", "", "", ""})
	// 300 bytes take version 10 at level L: 57 + 8 modules in a row of 48 pixels.
	err := d.ShowQR(strings.Repeat("x", 300), []string{"", "x", "y", "z"})
	if !errors.Is(err, ui.ErrNoQR) {
		t.Errorf("ShowQR in one row = %v; want %v", err, ui.ErrNoQR)
	}
	if got := d.Lines(); got[0] != "BEFORE" {
		t.Errorf("after a refused ShowQR the screen is %q; want it unchanged", got)
	}
	if _, ok := d.QR(); ok {
		t.Error("a refused code is on screen")
	}
}
