// Package headless is a Display that keeps the screen in memory: the simulator's control
// socket reads it (posfw simctl screen) and tests wait on it. Optionally every new frame
// is also written to a log stream, so a developer running `posfw sim` headless on a
// terminal sees the screen change.
package headless

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"posfw/ui"
)

// Display is an in-memory screen.
type Display struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new frame
	mirror  io.Writer
	cols    int
}

// New returns an empty display. If mirror is not nil each changed frame is written to it
// inside a cols-wide box.
func New(mirror io.Writer, cols int) *Display {
	return &Display{changed: make(chan struct{}), mirror: mirror, cols: cols}
}

// Show stores the frame and wakes waiters.
func (d *Display) Show(lines []string) error {
	d.mu.Lock()
	same := slices.Equal(d.lines, lines)
	d.lines = append([]string(nil), lines...)
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
