package ui_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"posfw/ui"
	"posfw/ui/headless"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cols int
		want string
	}{
		{"Sale", 10, "Sale"},
		{"Settlement report", 10, "Settlement"},
		{"消费 Sale", 6, "消费 S"},
		{"消费消费", 5, "消费"}, // the third wide character would straddle the edge
		{"a\tb\x1b", 5, "a b "},
	} {
		if got := ui.Fit(tc.in, tc.cols); got != tc.want || ui.Width(got) > tc.cols {
			t.Errorf("Fit(%q, %d) = %q; want %q", tc.in, tc.cols, got, tc.want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for _, s := range []string{"0", "9", ".", "enter", "CANCEL", "Clear", "up", "DOWN", "F1", "f4", "MENU"} {
		if _, err := ui.ParseKey(s); err != nil {
			t.Errorf("ParseKey(%q) = %v; want a key", s, err)
		}
	}
	for _, s := range []string{"", "10", "F5", "ESC", "a"} {
		if k, err := ui.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) = %q; want an error", s, k)
		}
	}
}

func newUI(t *testing.T, lang ui.Lang) (*ui.UI, *headless.Display, context.Context) {
	t.Helper()
	d := headless.New(nil, 24)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ui.New(d, 24, 8, lang), d, ctx
}

func waitFor(t *testing.T, ctx context.Context, d *headless.Display, text string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := d.Wait(wctx, text); err != nil {
		t.Fatalf("screen never showed %q; screen:\n%s", text, d.Text())
	}
}

func TestHomeMenuAndBack(t *testing.T) {
	u, d, ctx := newUI(t, ui.English)
	ran := make(chan string, 1)
	items := []ui.Item{
		{Label: ui.Text{EN: "Sale", ZH: "消费"}},
		{Label: ui.Text{EN: "Info", ZH: "信息"}, Run: func(ctx context.Context) error {
			ran <- "info"
			return u.Page(ctx, "Terminal info", "TID SIM00001")
		}},
	}
	clock := func() time.Time { return time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC) }
	go u.Home(ctx, ui.Status{TerminalID: "SIM00001", Now: clock, Signal: func() int { return 3 }}, items)

	waitFor(t, ctx, d, "SIM00001")
	lines := d.Lines()
	if want := ui.Columns("SIM00001", "4G |||.", 24); lines[0] != want {
		t.Errorf("idle row 1 = %q; want %q", lines[0], want)
	}
	if lines[1] != "2026-11-21 09:30:00" || lines[2] != "1 Sale" || lines[3] != "2 Info" {
		t.Errorf("idle screen = %q; want date, then 1 Sale, 2 Info", lines[:4])
	}

	u.Press("1")
	waitFor(t, ctx, d, "Not available yet")
	u.Press(ui.KeyCancel)
	waitFor(t, ctx, d, "1 Sale")

	u.Press("2")
	if got := <-ran; got != "info" {
		t.Fatalf("item 2 ran %q", got)
	}
	waitFor(t, ctx, d, "TID SIM00001")
	u.Press(ui.KeyEnter)
	waitFor(t, ctx, d, "2 Info")

	// Keys with no item do nothing.
	u.Press("7")
	u.Press(ui.KeyCancel)
	time.Sleep(50 * time.Millisecond)
	if !strings.Contains(d.Text(), "1 Sale") {
		t.Errorf("after unmapped keys the screen is:\n%s\nwant the idle screen", d.Text())
	}
}

func TestMenuPaging(t *testing.T) {
	u, d, ctx := newUI(t, ui.Chinese)
	var items []ui.Item
	for i := 1; i <= 9; i++ {
		items = append(items, ui.Item{Label: ui.Text{EN: "Item", ZH: "项目" + string(rune('0'+i))}})
	}
	done := make(chan error, 1)
	go func() { done <- u.Menu(ctx, ui.Text{EN: "Manage", ZH: "管理"}, items) }()
	waitFor(t, ctx, d, "1 项目1")
	if !strings.Contains(d.Text(), "上下键翻页") || strings.Contains(d.Text(), "项目7") {
		t.Fatalf("first page:\n%s\nwant items 1-6 and the paging hint", d.Text())
	}
	u.Press(ui.KeyDown)
	waitFor(t, ctx, d, "1 项目7")
	u.Press(ui.KeyUp)
	waitFor(t, ctx, d, "1 项目1")
	u.Press(ui.KeyCancel)
	if err := <-done; err != nil {
		t.Errorf("Menu after CANCEL = %v; want nil", err)
	}
}

func TestSignalText(t *testing.T) {
	for _, tc := range []struct {
		bars int
		want string
	}{{-1, "No modem"}, {0, "4G ...."}, {2, "4G ||.."}, {4, "4G ||||"}, {9, "4G ||||"}} {
		if got := ui.SignalText(tc.bars, ui.English); got != tc.want {
			t.Errorf("SignalText(%d) = %q; want %q", tc.bars, got, tc.want)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"1", "enter", "F4", "", "ESC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ui.ParseKey(s)
		if err != nil {
			return
		}
		// Whatever was accepted is a key the keypad has, and parses back to itself.
		if k2, err := ui.ParseKey(string(k)); err != nil || k2 != k {
			t.Errorf("ParseKey(%q) = %q, which parses to %q, %v", s, k, k2, err)
		}
	})
}

func TestHomeAlert(t *testing.T) {
	u, d, ctx := newUI(t, ui.English)
	alert := "Call acquirer: reversal"
	go u.Home(ctx, ui.Status{TerminalID: "SIM00001", Alert: func() string { return alert }}, []ui.Item{{Label: ui.Text{EN: "Sale"}}})
	waitFor(t, ctx, d, "SIM00001")
	if lines := d.Lines(); lines[2] != alert || lines[3] != "1 Sale" {
		t.Errorf("idle screen with an alert = %q; want the alert above the menu", lines[:4])
	}
}

func TestHomeIdleLock(t *testing.T) {
	u, _, ctx := newUI(t, ui.English)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- u.Home(ctx, ui.Status{TerminalID: "T", IdleLock: 1500 * time.Millisecond}, nil) }()
	time.Sleep(800 * time.Millisecond)
	u.Press(ui.KeyDown) // a key restarts the idle time
	select {
	case err := <-done:
		if !errors.Is(err, ui.ErrIdle) {
			t.Fatalf("Home = %v; want ErrIdle", err)
		}
		if time.Since(start) < 2*time.Second {
			t.Errorf("signed off %v after start although a key came at 0.8 s; want at least 2.3 s", time.Since(start))
		}
	case <-ctx.Done():
		t.Fatal("Home never signed off")
	}
}
