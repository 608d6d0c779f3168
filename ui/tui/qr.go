package tui

import (
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posfw/drivers/qrcode"
	"posfw/ui"
)

// qrQuiet is the quiet zone the TUI leaves round a QR code, in modules: half the
// standard's four, which phone cameras and zbar read, so that a version-7 code and
// its caption fit the 33 rows the TUI needs anyway.
const qrQuiet = 2

// qrPane shows the QR code on the terminal's screen as the customer would scan it
// off the panel: two modules a character cell, one above the other, drawn with the
// upper half block (foreground the upper module, background the lower), dark on
// light whatever the laptop terminal's colours; the caption under it.
type qrPane struct {
	*tview.Box
	payload string
	m       *qrcode.Matrix
	caption []string
}

func newQRPane() *qrPane {
	p := &qrPane{Box: tview.NewBox()}
	p.SetBorder(true).SetTitle(" Customer display: scan the code ").SetTitleAlign(tview.AlignLeft)
	return p
}

// set encodes payload (level M where possible, else L, as the framebuffer does) and
// keeps the caption; it reports false when no QR code holds the payload.
func (p *qrPane) set(payload string, caption []string) bool {
	p.caption = caption
	if payload == p.payload && p.m != nil {
		return true
	}
	p.payload, p.m = payload, nil
	m, err := qrcode.Encode(payload, qrcode.M)
	if err != nil {
		if m, err = qrcode.Encode(payload, qrcode.L); err != nil {
			return false
		}
	}
	p.m = m
	return true
}

// size is the pane's width and height in cells, border included.
func (p *qrPane) size() (w, h int) {
	n := p.m.Size + 2*qrQuiet
	w = n
	for _, c := range p.caption {
		w = max(w, ui.Width(c))
	}
	return w + 2, (n+1)/2 + len(p.caption) + 2
}

var (
	dark  = tcell.ColorBlack
	light = tcell.ColorWhite
)

// Draw draws the code and the caption inside the border.
func (p *qrPane) Draw(screen tcell.Screen) {
	p.Box.DrawForSubclass(screen, p)
	if p.m == nil {
		return
	}
	x0, y0, w, h := p.GetInnerRect()
	for r, row := range qrCells(p.m) {
		if r >= h {
			return
		}
		for c, cell := range row {
			if c < w {
				screen.SetContent(x0+c, y0+r, '▀', nil, tcell.StyleDefault.Foreground(cell[0]).Background(cell[1]))
			}
		}
	}
	y := y0 + (p.m.Size+2*qrQuiet+1)/2
	for _, line := range p.caption {
		if y < y0+h {
			tview.Print(screen, tview.Escape(line), x0, y, w, tview.AlignCenter, tcell.ColorDefault)
		}
		y++
	}
}

// qrCells lays m out in cells with its quiet zone: each cell the colours of its upper
// and lower module.
func qrCells(m *qrcode.Matrix) [][][2]tcell.Color {
	n := m.Size + 2*qrQuiet
	rows := make([][][2]tcell.Color, (n+1)/2)
	for r := range rows {
		rows[r] = make([][2]tcell.Color, n)
		for x := range n {
			for half := range 2 {
				y := 2*r + half
				c := light
				if y < n && m.Dark(x-qrQuiet, y-qrQuiet) {
					c = dark
				}
				rows[r][x][half] = c
			}
		}
	}
	return rows
}

// qrCaption is the text of a frame that shows a QR code: its rows after the blank
// ones the code is drawn across, trailing blanks dropped.
func qrCaption(frame []string) []string {
	var out []string
	for _, l := range frame[ui.QRBlankRows(frame):] {
		out = append(out, strings.TrimRight(l, " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
