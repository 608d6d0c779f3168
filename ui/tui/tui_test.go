package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/mattn/go-runewidth"
	"github.com/rivo/tview"

	"posfw/drivers/cardreader/testcards"
	"posfw/ui"
	"posfw/ui/headless"
)

// fake is a simulated terminal that records what the TUI does to it.
type fake struct {
	disp       *headless.Display
	cols, rows int

	mu     sync.Mutex
	calls  []string
	paper  string
	status []string
}

func newFake() *fake {
	return &fake{disp: headless.New(nil, 24), cols: 24, rows: 10, status: []string{"Modem     ###. 3/4 home", "Batch     000001"}}
}

func (f *fake) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fake) Screen() *headless.Display { return f.disp }
func (f *fake) Size() (int, int)          { return f.cols, f.rows }
func (f *fake) Press(k ui.Key) bool       { f.record("press " + string(k)); return true }
func (f *fake) Swipe(card string) error   { f.record("swipe " + card); return nil }
func (f *fake) Present(how, card string) error {
	f.record(how + " " + card)
	return nil
}
func (f *fake) RemoveCard() error           { f.record("remove"); return nil }
func (f *fake) TypePIN(digits string) error { f.record("pin " + digits); return nil }
func (f *fake) CancelPIN() error            { f.record("cancel-pin"); return nil }
func (f *fake) PadScreen() [2]string        { return [2]string{"AMOUNT 12.34", "ENTER PIN"} }
func (f *fake) TearOff()                    { f.record("tear-off"); f.setPaper("") }
func (f *fake) Fault(spec string) error     { f.record("fault " + spec); return nil }
func (f *fake) Scan(_ context.Context, code string) error {
	f.record("scan " + code)
	return nil
}
func (f *fake) setPaper(s string)   { f.mu.Lock(); f.paper = s; f.mu.Unlock() }
func (f *fake) PrinterText() string { f.mu.Lock(); defer f.mu.Unlock(); return f.paper }
func (f *fake) Status(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}

func (f *fake) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// waitCalls waits until the fake has recorded want, in order, since it was last reset.
func (f *fake) waitCalls(t *testing.T, what string, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(f.recorded(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: terminal got %q; want %q", what, f.recorded(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

// running is a TUI running on a simulation screen.
type running struct {
	u      *TUI
	scr    tcell.SimulationScreen
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, f *fake) *running {
	t.Helper()
	scr := tcell.NewSimulationScreen("UTF-8")
	r := &running{scr: scr, done: make(chan error, 1)}
	r.u = New(f, Options{Screen: scr, Title: "posfw sim test"})
	scr.SetSize(100, 34)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.u.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return r
}

// rows reads the rectangle of p's inner area off the simulation screen, one string
// per row; a wide (CJK) character is read once, though it covers two cells.
func (r *running) rows(p interface{ GetInnerRect() (int, int, int, int) }) []string {
	var out []string
	r.u.app.QueueUpdate(func() {
		x0, y0, w, h := p.GetInnerRect()
		cells, sw, _ := r.scr.GetContents()
		for y := y0; y < y0+h; y++ {
			var b strings.Builder
			for x := x0; x < x0+w; x++ {
				c := cells[y*sw+x]
				if len(c.Runes) == 0 {
					continue
				}
				b.WriteString(string(c.Runes))
				x += runewidth.RuneWidth(c.Runes[0]) - 1
			}
			out = append(out, b.String())
		}
	})
	return out
}

// waitRows waits until p shows want (each row trimmed of trailing blanks).
func (r *running) waitRows(t *testing.T, what string, p interface{ GetInnerRect() (int, int, int, int) }, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.rows(p)
		for i := range got {
			got[i] = strings.TrimRight(got[i], " ")
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows\n%q\nwant\n%q", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeKeys injects keys: a rune, or a tcell.Key.
func (r *running) typeKeys(keys ...any) {
	for _, k := range keys {
		switch k := k.(type) {
		case rune:
			r.scr.InjectKey(tcell.KeyRune, k, tcell.ModNone)
		case tcell.Key:
			r.scr.InjectKey(k, 0, tcell.ModNone)
		}
	}
}

// click clicks the middle of b.
func (r *running) click(b *tview.Button) {
	var x, y, w int
	r.u.app.QueueUpdate(func() { x, y, w, _ = b.GetRect() })
	r.scr.InjectMouse(x+w/2, y, tcell.ButtonPrimary, tcell.ModNone)
	r.scr.InjectMouse(x+w/2, y, tcell.ButtonNone, tcell.ModNone)
}

func TestScreenShowsFrames(t *testing.T) {
	f := newFake()
	frames := [][]string{
		{"   Operator sign-in", "Operator: 01", "Password: ****", "[1] brackets stay", "", "", "", "", "", "Enter  Cancel"},
		{"        消费 Sale", "Amount", "            12.34", "", "", "", "", "", "", "按取消键返回"},
	}
	f.disp.Show(frames[0])
	r := start(t, f)
	for i, frame := range frames {
		f.disp.Show(frame)
		r.waitRows(t, fmt.Sprintf("screen box (frame %d)", i), r.u.screen, frame)
	}
	// The box is the frame's size: 24 × 10 cells inside the border.
	var w, h int
	r.u.app.QueueUpdate(func() { _, _, w, h = r.u.screen.GetInnerRect() })
	if w != 24 || h != 10 {
		t.Errorf("screen box is %d×%d cells; want 24×10", w, h)
	}
}

func TestKeysReachKeypad(t *testing.T) {
	f := newFake()
	r := start(t, f)
	for _, tt := range []struct {
		name string
		keys []any
		want []string
	}{
		{"1 Enter", []any{'1', tcell.KeyEnter}, []string{"press 1", "press ENTER"}},
		{"0 9 .", []any{'0', '9', '.'}, []string{"press 0", "press 9", "press ."}},
		{"Esc Bksp DEL Delete", []any{tcell.KeyEsc, tcell.KeyBackspace, tcell.KeyBackspace2, tcell.KeyDelete}, []string{"press CANCEL", "press CLEAR", "press CLEAR", "press CLEAR"}},
		{"Up Down m M", []any{tcell.KeyUp, tcell.KeyDown, 'm', 'M'}, []string{"press UP", "press DOWN", "press MENU", "press MENU"}},
		{"F1-F4", []any{tcell.KeyF1, tcell.KeyF2, tcell.KeyF3, tcell.KeyF4}, []string{"press F1", "press F2", "press F3", "press F4"}},
		{"x F5 5", []any{'x', tcell.KeyF5, '5'}, []string{"press 5"}}, // not keypad keys: nothing pressed
	} {
		r.typeKeys(tt.keys...)
		f.waitCalls(t, "keys "+tt.name, tt.want)
	}
}

func TestKeypadButtons(t *testing.T) {
	f := newFake()
	r := start(t, f)
	for _, k := range []ui.Key{"7", ui.KeyEnter, ui.KeyCancel, ui.KeyMenu, ui.KeyF4, ui.KeyDot} {
		r.click(r.u.keyButtons[k])
		f.waitCalls(t, "clicking "+string(k), []string{"press " + string(k)})
	}
}

func TestPrinterRoll(t *testing.T) {
	f := newFake()
	r := start(t, f)
	receipt := []string{"      MERCHANT COPY", "SALE 消费", "CARD 622202******7894", "AMOUNT          12.34"}
	f.setPaper(strings.Join(receipt, "\n") + "\n")
	r.waitRowsPrefix(t, "printer roll", r.u.printer, receipt)

	// A long roll follows the printing: the last line is in view, the first is not.
	var long []string
	for i := 1; i <= 60; i++ {
		long = append(long, fmt.Sprintf("line %02d", i))
	}
	f.setPaper(strings.Join(long, "\n") + "\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(r.rows(r.u.printer), "\n")
		if strings.Contains(got, "line 60") && !strings.Contains(got, "line 01") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("printer roll shows\n%s\nwant its end (line 60) in view", got)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// t tears the roll off.
	r.typeKeys('t')
	f.waitCalls(t, "t", []string{"tear-off"})
	r.waitRowsPrefix(t, "torn-off roll", r.u.printer, []string{""})
}

// waitRowsPrefix waits until p's first rows show want.
func (r *running) waitRowsPrefix(t *testing.T, what string, p interface{ GetInnerRect() (int, int, int, int) }, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.rows(p)
		for i := range got {
			got[i] = strings.TrimRight(got[i], " ")
		}
		if len(got) >= len(want) && slices.Equal(got[:len(want)], want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows\n%q\nwant it to start with\n%q", what, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCards(t *testing.T) {
	f := newFake()
	r := start(t, f)
	names := testcards.Names()
	if len(names) == 0 || len(names) > 9 {
		t.Fatalf("catalogue has %d cards; the c shortcut covers 1-9", len(names))
	}
	for i, name := range names {
		r.typeKeys('c', rune('1'+i))
		f.waitCalls(t, fmt.Sprintf("c %d", i+1), []string{"swipe " + name})
	}
	// Esc leaves the card prompt without pressing CANCEL; the next key is a keypad key.
	r.typeKeys('c', tcell.KeyEsc, '1')
	f.waitCalls(t, "c Esc 1", []string{"press 1"})
	for i, name := range names {
		r.click(r.u.cardButtons[i])
		f.waitCalls(t, "clicking card "+name, []string{"swipe " + name})
	}
}

// TestChipCards: i then a digit inserts a chip card, or taps a tap… card; i 0 takes it
// away; Esc leaves without a card.
func TestChipCards(t *testing.T) {
	f := newFake()
	r := start(t, f)
	if len(chipCards) > 9 {
		t.Fatalf("%d chip cards; the i shortcut covers 1-9", len(chipCards))
	}
	for i, name := range chipCards {
		r.typeKeys('i', rune('1'+i))
		f.waitCalls(t, fmt.Sprintf("i %d", i+1), []string{chipHow(name) + " " + name})
	}
	r.typeKeys('i', '0')
	f.waitCalls(t, "i 0", []string{"remove"})
	r.typeKeys('i', tcell.KeyEsc, '1')
	f.waitCalls(t, "i Esc 1", []string{"press 1"})
	if chipHow("tap-offline") != "tap" || chipHow("chip-pin") != "insert" {
		t.Error("tap cards are not tapped, or chip cards not inserted")
	}
}

func TestFaults(t *testing.T) {
	want := []string{
		"printer=paper-out", "printer=ok", "modem=no-signal", "modem=ok",
		"host=timeout", "host=down", "host=ok", "reader=garbage", "reader=ok",
	}
	f := newFake()
	r := start(t, f)
	for i, spec := range want {
		r.typeKeys('f', rune('1'+i))
		f.waitCalls(t, fmt.Sprintf("f %d", i+1), []string{"fault " + spec})
		r.click(r.u.faultButtons[i])
		f.waitCalls(t, "clicking fault "+spec, []string{"fault " + spec})
	}
}

func TestPIN(t *testing.T) {
	f := newFake()
	r := start(t, f)
	r.waitRowsPrefix(t, "PIN pad", r.u.pad, []string{"AMOUNT 12.34", "ENTER PIN", "", "p: type a PIN"})

	// Digits typed after p go to the PIN pad, not the keypad; Bksp deletes one.
	r.typeKeys('p', '1', '2', '9', tcell.KeyBackspace, '3')
	r.waitRowsPrefix(t, "PIN prompt", r.u.pad, []string{"AMOUNT 12.34", "ENTER PIN", "", "> ***_"})
	r.typeKeys('4', tcell.KeyEnter)
	f.waitCalls(t, "p 1 2 9 Bksp 3 4 Enter", []string{"pin 1234"})
	r.waitRowsPrefix(t, "PIN pad after Enter", r.u.pad, []string{"AMOUNT 12.34", "ENTER PIN", "", "p: type a PIN"})

	r.typeKeys('p', '5', tcell.KeyEsc)
	f.waitCalls(t, "p 5 Esc", []string{"cancel-pin"})
	r.typeKeys(tcell.KeyEnter)
	f.waitCalls(t, "Enter after the PIN prompt", []string{"press ENTER"})
}

func TestStatus(t *testing.T) {
	f := newFake()
	r := start(t, f)
	r.waitRowsPrefix(t, "status", r.u.status, f.status)
}

func TestCtrlCStops(t *testing.T) {
	f := newFake()
	r := start(t, f)
	r.typeKeys('1')
	f.waitCalls(t, "1", []string{"press 1"})
	r.scr.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run after Ctrl-C = %v; want nil", err)
		}
		r.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Ctrl-C")
	}
	if got := f.recorded(); len(got) != 0 {
		t.Errorf("Ctrl-C reached the terminal as %q; want nothing", got)
	}
}

// FuzzKeypadKey checks that whatever the laptop sends, the TUI only ever presses keys
// the terminal's keypad has (ui.ParseKey accepts them back), and never one for a TUI
// command key.
func FuzzKeypadKey(f *testing.F) {
	f.Add(int16(tcell.KeyRune), '1', uint16(0))
	f.Add(int16(tcell.KeyEnter), rune(0), uint16(0))
	f.Add(int16(tcell.KeyRune), 'p', uint16(tcell.ModAlt))
	f.Add(int16(tcell.KeyF4), rune(0), uint16(tcell.ModShift))
	f.Fuzz(func(t *testing.T, key int16, r rune, mod uint16) {
		ev := tcell.NewEventKey(tcell.Key(key), r, tcell.ModMask(mod))
		k, ok := keypadKey(ev)
		if !ok {
			return
		}
		if back, err := ui.ParseKey(string(k)); err != nil || back != k {
			t.Fatalf("keypadKey(%v) = %q, which ParseKey reads as %q, %v", ev.Name(), k, back, err)
		}
		if c := commandOf(ev); c != cmdNone {
			t.Fatalf("%v is both keypad key %q and TUI command %d", ev.Name(), k, c)
		}
	})
}
