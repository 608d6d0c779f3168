package tui

import (
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"posfw/drivers/qrcode/qrtest"
)

// TestQRPane: a QR code on the terminal's screen appears over the TUI in half-block
// characters that a QR reader reads (the cells photographed, as it were), with the
// caption under it; the next plain frame takes it away.
func TestQRPane(t *testing.T) {
	const payload = "00020101021226330010A00000033301158983101481605685204581253031565406128.505802CN5915POSFW TEST SHOP6008SHANGHAI62300114202612050001230708123456786304ABCD"
	f := newFake()
	r := start(t, f)
	frame := []string{"", "", "", "", "", "", "", "", "Scan to pay", "128.50  59s"}
	if err := f.disp.ShowQR(payload, frame); err != nil {
		t.Fatal(err)
	}
	var pic image.Image
	var caption string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pic, caption = r.qrPicture()
		if pic != nil || time.Now().After(deadline) {
			break
		}
	}
	if pic == nil {
		t.Fatal("no QR code on the TUI after ShowQR")
	}
	if got := qrtest.Decode(t, pic); len(got) != 1 || got[0] != payload {
		t.Errorf("zbarimg read %q off the TUI's cells; want the payload", got)
	}
	if !strings.Contains(caption, "Scan to pay") || !strings.Contains(caption, "128.50  59s") {
		t.Errorf("caption under the code = %q; want the frame's last rows", caption)
	}

	f.disp.Show([]string{"Approved"})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pic, _ := r.qrPicture(); pic == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the QR code stayed on the TUI after a plain frame")
		}
	}
}

// qrPicture reads the QR pane off the simulation screen: each half-block cell two
// modules, drawn 4 pixels a module; and the pane's text rows under the code. It is
// nil while no pane is shown.
func (r *running) qrPicture() (image.Image, string) {
	var img *image.Gray
	var caption strings.Builder
	r.u.app.QueueUpdate(func() {
		if !r.u.pages.HasPage("qr") || r.u.qr.m == nil {
			return
		}
		x0, y0, w, h := r.u.qr.GetInnerRect()
		cells, sw, _ := r.scr.GetContents()
		n := r.u.qr.m.Size + 2*qrQuiet
		const s = 4
		img = image.NewGray(image.Rect(0, 0, (n+8)*s, (n+8)*s)) // and a margin of light
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		for y := 0; y < (n+1)/2 && y < h; y++ {
			for x := 0; x < n && x < w; x++ {
				c := cells[(y0+y)*sw+x0+x]
				if len(c.Runes) != 1 || c.Runes[0] != '▀' {
					continue
				}
				fg, bg, _ := c.Style.Decompose()
				for half, col := range []tcell.Color{fg, bg} {
					if col == tcell.ColorBlack {
						for dy := range s {
							for dx := range s {
								img.SetGray((x+4)*s+dx, (2*y+half+4)*s+dy, color.Gray{0})
							}
						}
					}
				}
			}
		}
		for y := (n + 1) / 2; y < h; y++ {
			for x := range w {
				if c := cells[(y0+y)*sw+x0+x]; len(c.Runes) > 0 {
					caption.WriteString(string(c.Runes))
				}
			}
			caption.WriteByte('\n')
		}
	})
	if img == nil {
		return nil, ""
	}
	return img, caption.String()
}

// TestScanPrompt: s opens the scan prompt, the code is typed (digits and letters go
// to the prompt, not the keypad), Enter holds it before the scanner; Esc leaves
// without scanning.
func TestScanPrompt(t *testing.T) {
	f := newFake()
	r := start(t, f)
	r.typeKeys('s', '1', '3', '4', '5', 'x', tcell.KeyBackspace2, '6', 'm', '.', tcell.KeyEnter)
	f.waitCalls(t, "typed code", []string{"scan 13456m."})
	r.typeKeys('s', '9', tcell.KeyEsc, 's', tcell.KeyEnter, '1')
	f.waitCalls(t, "Esc, then an empty code, then a keypad key", []string{"press 1"})
}
