package ui_test

import (
	"errors"
	"slices"
	"testing"

	"posfw/ui"
	"posfw/ui/headless"
)

// textOnly is a Display that cannot draw a QR code.
type textOnly struct{ shown [][]string }

func (d *textOnly) Show(lines []string) error { d.shown = append(d.shown, lines); return nil }

func TestShowQR(t *testing.T) {
	disp := headless.New(nil, 24)
	u := ui.New(disp, 24, 10, ui.English)
	if err := u.ShowQR("PAY-1", "Scan to pay", "¥128.50   that is a long line cut to 24"); err != nil {
		t.Fatalf("ShowQR = %v", err)
	}
	want := []string{"", "", "", "", "", "", "", "", "Scan to pay", "¥128.50   that is a long"}
	if got := u.Frame(); !slices.Equal(got, want) {
		t.Errorf("Frame() = %q; want %q", got, want)
	}
	if got := disp.Lines(); !slices.Equal(got, want) {
		t.Errorf("display lines = %q; want %q", got, want)
	}
	if qr, _ := disp.QR(); qr != "PAY-1" {
		t.Errorf("display QR = %q; want PAY-1", qr)
	}
	if ui.QRBlankRows(want) != 8 {
		t.Errorf("QRBlankRows = %d; want 8", ui.QRBlankRows(want))
	}

	for _, tt := range []struct {
		name    string
		disp    ui.Display
		caption []string
	}{
		{"text-only display", &textOnly{}, []string{"Scan"}},
		{"no room for the code", headless.New(nil, 24), make([]string, 10)},
	} {
		u := ui.New(tt.disp, 24, 10, ui.English)
		u.Show("BEFORE")
		if err := u.ShowQR("PAY-1", tt.caption...); !errors.Is(err, ui.ErrNoQR) {
			t.Errorf("%s: ShowQR = %v; want %v", tt.name, err, ui.ErrNoQR)
		}
		if got := u.Frame(); got[0] != "BEFORE" {
			t.Errorf("%s: after a refused ShowQR the frame is %q; want it unchanged", tt.name, got)
		}
	}
}
