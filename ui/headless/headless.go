// Package headless is a Display that keeps the screen in memory: the simulator's control
// socket reads it (posfw simctl screen) and tests wait on it. Optionally every new frame
// is also written to a log stream, so a developer running `posfw sim` headless on a
// terminal sees the screen change.
package headless

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"slices"
	"strings"
	"sync"

	"posfw/ui"
	"posfw/ui/framebuffer"
)

// Display is an in-memory screen. It is a ui.QRDisplay: a QR code shown on it is
// kept with the frame, and Screenshot draws both as the terminal's panel would.
type Display struct {
	mu      sync.Mutex
	lines   []string
	qr      string        // the payload of the QR code on screen, "" for none
	changed chan struct{} // closed and replaced on every new frame
	mirror  io.Writer
	cols    int
	rows    int // 0 until SetRows: the frames' length
}

// New returns an empty display. If mirror is not nil each changed frame is written to it
// inside a cols-wide box.
func New(mirror io.Writer, cols int) *Display {
	return &Display{changed: make(chan struct{}), mirror: mirror, cols: cols}
}

// Show stores the frame and wakes waiters.
func (d *Display) Show(lines []string) error { return d.show("", lines) }

// ShowQR stores the frame with payload as a QR code across its leading blank rows
// (see ui.QRDisplay), and wakes waiters. A code that the screen cannot show is
// ui.ErrNoQR, as on the terminal's panel.
func (d *Display) ShowQR(payload string, frame []string) error {
	if _, err := d.panel(payload, frame); err != nil {
		return err
	}
	return d.show(payload, frame)
}

// SetRows gives the display its grid's height, so that a screenshot taken before the
// first frame is the panel's size, blank.
func (d *Display) SetRows(rows int) {
	d.mu.Lock()
	d.rows = rows
	d.mu.Unlock()
}

// QR is the payload of the QR code on screen; false when there is none.
func (d *Display) QR() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.qr, d.qr != ""
}

func (d *Display) show(qr string, lines []string) error {
	d.mu.Lock()
	same := slices.Equal(d.lines, lines) && d.qr == qr
	d.lines = append([]string(nil), lines...)
	d.qr = qr
	if !same {
		close(d.changed)
		d.changed = make(chan struct{})
	}
	mirror := d.mirror
	d.mu.Unlock()
	if mirror != nil && !same {
		border := "+" + strings.Repeat("-", d.cols) + "+"
		var b strings.Builder
		b.WriteString(border + "\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "|%s|\n", pad(l, d.cols))
		}
		b.WriteString(border + "\n")
		io.WriteString(mirror, b.String())
	}
	return nil
}

// Lines is the current frame.
func (d *Display) Lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// Changed returns a channel that is closed when a frame different from the current one
// is shown, so a live view (the TUI) redraws on change instead of polling.
func (d *Display) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// Text is the current frame, one line per row.
func (d *Display) Text() string { return strings.Join(d.Lines(), "\n") }

// Wait returns when text appears on the screen, or with ctx's error.
func (d *Display) Wait(ctx context.Context, text string) error {
	for {
		d.mu.Lock()
		found := strings.Contains(strings.Join(d.lines, "\n"), text)
		ch := d.changed
		d.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pad right-pads s with spaces to cols cells.
func pad(s string, cols int) string {
	if w := ui.Width(s); w < cols {
		return s + strings.Repeat(" ", cols-w)
	}
	return s
}

// Pixel sizes of a screenshot: the panel drawn as the framebuffer backend draws it,
// each font pixel shotScale pixels, about the size of a terminal's 3.5" screen on a
// laptop's.
const (
	cellW, cellH = 8, 16
	shotScale    = 3
)

// panel draws a frame (and QR code) as the framebuffer backend draws it on a panel
// exactly the grid's size.
func (d *Display) panel(qr string, lines []string) (*framebuffer.FB, error) {
	d.mu.Lock()
	cols, rows := max(d.cols, 1), max(len(lines), d.rows, 1)
	d.mu.Unlock()
	w, h := cols*cellW*shotScale, rows*cellH*shotScale
	fb, err := framebuffer.New(discard{}, framebuffer.Geometry{Width: w, Height: h, BitsPerPixel: 32, Stride: 4 * w}, cols, rows)
	if err != nil {
		return nil, err
	}
	if qr != "" {
		return fb, fb.ShowQR(qr, lines)
	}
	return fb, fb.Show(lines)
}

// Screenshot writes what the customer sees, as a PNG: the frame and any QR code,
// drawn as the framebuffer backend draws them (white text on black, GNU Unifont).
func (d *Display) Screenshot(w io.Writer) error {
	d.mu.Lock()
	qr, lines := d.qr, append([]string(nil), d.lines...)
	d.mu.Unlock()
	fb, err := d.panel(qr, lines)
	if err != nil {
		return err
	}
	return png.Encode(w, fb.Picture())
}

// discard is a framebuffer device that keeps nothing: the picture is read from the
// FB itself.
type discard struct{}

func (discard) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
