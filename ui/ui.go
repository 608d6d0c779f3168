// Package ui is the terminal's screens and prompts, independent of the display that
// shows them. Screens are drawn as a small grid of text (its size comes from the board;
// a CJK character takes two cells), flows read keys one at a time, and a Display backend
// — in memory for the simulator and tests, a TUI on a laptop, a framebuffer on hardware —
// puts the grid on glass.
package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
)

// Display shows frames. A frame has exactly the UI's row count of lines, each at most
// the column count wide (in cells).
type Display interface {
	Show(lines []string) error
}

// QRDisplay is a Display that can also show a QR code for the customer to scan: the
// merchant's payment code, a slip's order number.
type QRDisplay interface {
	Display
	// ShowQR shows frame with payload as a QR code drawn across its leading blank
	// rows (as large as they allow, on a light ground with its quiet zone) and the
	// rest of the frame as text, until the next Show or ShowQR.
	ShowQR(payload string, frame []string) error
}

// ErrNoQR is the error of ShowQR on a display that cannot draw a QR code, or one too
// small for this one: the flow shows the code's text instead.
var ErrNoQR = errors.New("this display cannot show the QR code")

// QRBlankRows is the number of leading blank rows of a frame: the rows a QRDisplay
// draws its QR code across.
func QRBlankRows(frame []string) int {
	n := 0
	for n < len(frame) && strings.TrimSpace(frame[n]) == "" {
		n++
	}
	return n
}

// ErrCancel is returned by prompts when the operator pressed CANCEL.
var ErrCancel = errors.New("cancelled")

// ErrTimeout is returned by prompts when no key came in time.
var ErrTimeout = errors.New("no key pressed in time")

// UI draws on one display and reads one keypad.
type UI struct {
	disp       Display
	cols, rows int
	keys       chan Key

	mu      sync.Mutex
	lang    Lang
	last    []string
	lastKey time.Time
	// waits counts the waits for the cashier in progress; busy is when the UI goroutine
	// last stopped waiting (see Wait and Stuck).
	waits int
	busy  time.Time
}

// New returns a UI drawing a cols × rows grid on d.
func New(d Display, cols, rows int, lang Lang) *UI {
	return &UI{disp: d, cols: cols, rows: rows, keys: make(chan Key, 32), lang: lang, busy: time.Now()}
}

// Wait marks the UI goroutine as waiting for the cashier or the cardholder (a key, a
// card, a PIN): however long that takes, the terminal is not hung. It returns the
// function that ends the wait. Waits may nest.
func (u *UI) Wait() (done func()) {
	u.mu.Lock()
	u.waits++
	u.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			if u.waits--; u.waits == 0 {
				u.busy = time.Now()
			}
			u.mu.Unlock()
		})
	}
}

// Stuck reports whether the UI goroutine has been busy — working, not waiting for
// anyone — for longer than limit: a flow hung on something that does not come back.
// The watchdog stops being fed when it is.
func (u *UI) Stuck(limit time.Duration) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.waits == 0 && time.Since(u.busy) > limit
}

// Size is the grid's columns and rows.
func (u *UI) Size() (cols, rows int) { return u.cols, u.rows }

// Lang is the current screen language.
func (u *UI) Lang() Lang {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lang
}

// SetLang switches the screen language.
func (u *UI) SetLang(l Lang) {
	u.mu.Lock()
	u.lang = l
	u.mu.Unlock()
}

// T is t in the current language.
func (u *UI) T(t Text) string { return t.In(u.Lang()) }

// Press queues a key press, as the keypad does. It reports false when the queue is full
// (a key mashed faster than the flows read is dropped, as on a real keypad buffer).
func (u *UI) Press(k Key) bool {
	u.mu.Lock()
	u.lastKey = time.Now()
	u.mu.Unlock()
	select {
	case u.keys <- k:
		return true
	default:
		return false
	}
}

// LastKey is when a key was last pressed (zero before the first).
func (u *UI) LastKey() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastKey
}

// Keys is the key queue, for flows that wait on a key and something else at once.
func (u *UI) Keys() <-chan Key { return u.keys }

// ReadKey waits for the next key, at most timeout (0: no limit).
func (u *UI) ReadKey(ctx context.Context, timeout time.Duration) (Key, error) {
	defer u.Wait()()
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case k := <-u.keys:
		return k, nil
	case <-tc:
		return "", ErrTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Show draws lines: each is cut to the grid's width, and the frame is padded or cut to
// its height.
func (u *UI) Show(lines ...string) error {
	frame := make([]string, u.rows)
	for i := range frame {
		if i < len(lines) {
			frame[i] = Fit(lines[i], u.cols)
		}
	}
	u.mu.Lock()
	u.last = frame
	u.mu.Unlock()
	return u.disp.Show(frame)
}

// ShowQR shows payload as a QR code over the screen's upper rows, with the caption
// lines (an amount, a countdown) in its last rows; the text frame (Frame, simctl
// screen) is the caption under blank rows. It returns ErrNoQR, showing nothing, when
// the display cannot draw the code.
func (u *UI) ShowQR(payload string, caption ...string) error {
	qd, ok := u.disp.(QRDisplay)
	if !ok || len(caption) >= u.rows {
		return ErrNoQR
	}
	frame := make([]string, u.rows)
	for i, c := range caption {
		frame[u.rows-len(caption)+i] = Fit(c, u.cols)
	}
	if err := qd.ShowQR(payload, frame); err != nil {
		return err
	}
	u.mu.Lock()
	u.last = frame
	u.mu.Unlock()
	return nil
}

// Frame is the last frame drawn.
func (u *UI) Frame() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.last...)
}

// Fit cuts s to at most cols cells; a wide (CJK) character that would straddle the edge
// is dropped whole.
func Fit(s string, cols int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return runewidth.Truncate(s, cols, "")
}

// Width is the number of cells s takes.
func Width(s string) int { return runewidth.StringWidth(s) }

// Columns lays left and right out on one line of width cols, right-aligned.
func Columns(left, right string, cols int) string {
	gap := cols - Width(left) - Width(right)
	if gap < 1 {
		gap = 1
	}
	return left + strings.Repeat(" ", gap) + right
}

// Center centres s within cols cells.
func Center(s string, cols int) string {
	pad := (cols - Width(s)) / 2
	if pad < 0 {
		pad = 0
	}
	return strings.Repeat(" ", pad) + s
}

// Item is one entry of a numbered menu.
type Item struct {
	Label Text
	// Run is the item's flow. It returns when the flow is done or cancelled.
	Run func(ctx context.Context) error
}

// Menu shows title and the items numbered 1..n, paging with UP/DOWN when they do not fit,
// and runs the chosen item; it returns on CANCEL (nil) or when ctx ends.
func (u *UI) Menu(ctx context.Context, title Text, items []Item) error {
	header := func() []string { return []string{Center(u.T(title), u.cols)} }
	return u.menu(ctx, header, items, 0, true, nil)
}

// menu draws header lines, then a page of numbered items, then a hint line. It redraws
// every refresh (0: only after keys), so a header can show a clock.
// tick, when set, runs at every refresh and ends the menu with its error.
func (u *UI) menu(ctx context.Context, header func() []string, items []Item, refresh time.Duration, cancel bool, tick func() error) error {
	page := 0
	for {
		head := header()
		room := u.rows - len(head)
		if cancel || len(items) > room {
			room-- // a hint line: how to go back, or how to page
		}
		per := max(min(room, 9), 1)
		pages := max((len(items)+per-1)/per, 1)
		lines := head
		for i := page * per; i < len(items) && i < (page+1)*per; i++ {
			lines = append(lines, fmt.Sprintf("%d %s", i-page*per+1, u.T(items[i].Label)))
		}
		if pages > 1 || cancel {
			for len(lines) < u.rows-1 {
				lines = append(lines, "")
			}
			if pages > 1 {
				lines = append(lines, u.T(MsgMore))
			} else {
				lines = append(lines, u.T(MsgPressCancel))
			}
		}
		u.Show(lines...)
		k, err := u.ReadKey(ctx, refresh)
		if errors.Is(err, ErrTimeout) {
			if tick != nil {
				if err := tick(); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		switch k {
		case KeyCancel:
			if cancel {
				return nil
			}
		case KeyDown:
			page = (page + 1) % pages
		case KeyUp:
			page = (page + pages - 1) % pages
		default:
			if n, ok := k.Digit(); ok && n >= 1 && n <= per && page*per+n-1 < len(items) {
				if err := u.run(ctx, items[page*per+n-1]); err != nil {
					return err
				}
			}
		}
	}
}

// run runs an item's flow; a cancelled flow returns to the menu.
func (u *UI) run(ctx context.Context, it Item) error {
	if it.Run == nil {
		return u.Notice(ctx, it.Label, MsgNotAvailable)
	}
	err := it.Run(ctx)
	if errors.Is(err, ErrCancel) {
		return nil
	}
	return err
}

// Notice shows a title and message lines until CANCEL or ENTER.
func (u *UI) Notice(ctx context.Context, title Text, msgs ...Text) error {
	lines := []string{Center(u.T(title), u.cols)}
	for _, m := range msgs {
		lines = append(lines, u.T(m))
	}
	return u.Page(ctx, lines...)
}

// Page shows lines (the first is the title) until CANCEL or ENTER.
func (u *UI) Page(ctx context.Context, lines ...string) error {
	for len(lines) < u.rows-1 {
		lines = append(lines, "")
	}
	lines = append(lines[:u.rows-1], u.T(MsgPressCancel))
	u.Show(lines...)
	for {
		k, err := u.ReadKey(ctx, 0)
		if err != nil {
			return err
		}
		if k == KeyCancel || k == KeyEnter {
			return nil
		}
	}
}
