package ui

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Status is what the idle screen shows above the main menu.
type Status struct {
	TerminalID string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Signal is the modem's strength in bars 0..4, or -1 when there is no modem.
	Signal func() int
	// Alert, when it returns text, is shown under the clock (a failed reversal, say).
	// It only reads: it runs at every redraw.
	Alert func() string
	// Idle, when set, runs once a second on the idle screen, before the redraw: work
	// owed at idle, such as slips still to print.
	Idle func()
	// IdleLock ends Home with ErrIdle when no key was pressed for that long (0: never).
	IdleLock time.Duration
}

// ErrIdle ends the idle screen after Status.IdleLock without a key: the operator is
// signed off.
var ErrIdle = errors.New("signed off after idle time")

// SignalText draws bars as "4G ||||", "4G ||.." or "No modem".
func SignalText(bars int, lang Lang) string {
	if bars < 0 {
		return MsgNoModem.In(lang)
	}
	bars = min(bars, 4)
	return "4G " + strings.Repeat("|", bars) + strings.Repeat(".", 4-bars)
}

// Home is the idle screen: terminal id and signal, date and time, and the numbered main
// menu. It redraws every second (the clock, the signal) and runs the chosen item; it
// returns only when ctx ends.
func (u *UI) Home(ctx context.Context, st Status, items []Item) error {
	now := st.Now
	if now == nil {
		now = time.Now
	}
	header := func() []string {
		bars := -1
		if st.Signal != nil {
			bars = st.Signal()
		}
		head := []string{
			Columns(st.TerminalID, SignalText(bars, u.Lang()), u.cols),
			now().Format("2006-01-02 15:04:05"),
		}
		if st.Alert != nil {
			if a := st.Alert(); a != "" {
				head = append(head, a)
			}
		}
		return head
	}
	start := time.Now()
	tick := func() error {
		if st.Idle != nil {
			st.Idle()
		}
		last := u.LastKey()
		if last.Before(start) {
			last = start
		}
		if st.IdleLock > 0 && time.Since(last) >= st.IdleLock {
			return ErrIdle
		}
		return nil
	}
	return u.menu(ctx, header, items, time.Second, false, tick)
}
