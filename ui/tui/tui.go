// Package tui is the laptop face of `posfw sim` (DESIGN.md §4; issue 6, "Backends"): the
// terminal's screen and keypad, the PIN pad, a printer roll that grows as receipts print,
// device and link status, and buttons and keys to present test cards and inject faults,
// drawn with tview on tcell.
//
// The TUI draws none of the firmware's screens itself. The firmware draws into the
// in-memory headless display, as it does for the control socket, and the TUI shows that
// display's frames as they change; keys go into the same keypad queue simctl uses. So a
// script and a person can drive one simulated terminal at the same time.
package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"posfw/drivers/cardreader/testcards"
	"posfw/ui"
	"posfw/ui/headless"
)

// Terminal is the simulated terminal the TUI shows and drives. *sim.Terminal satisfies
// it; the methods are the control socket's verbs as calls.
type Terminal interface {
	// Screen is the in-memory display the firmware draws on.
	Screen() *headless.Display
	// Size is the screen's grid, in cells.
	Size() (cols, rows int)
	// Press presses a keypad key; false when the keypad buffer is full.
	Press(k ui.Key) bool
	// Swipe swipes the named catalogue card.
	Swipe(card string) error
	// Present inserts ("insert") or taps ("tap") the named chip test card.
	Present(how, card string) error
	// RemoveCard takes the chip card out of the slot or away from the field.
	RemoveCard() error
	// TypePIN types digits on the PIN pad, then its ENTER.
	TypePIN(digits string) error
	// CancelPIN presses the PIN pad's CANCEL.
	CancelPIN() error
	// PadScreen is the PIN pad's two lines.
	PadScreen() [2]string
	// PrinterText is the text printed since the last TearOff.
	PrinterText() string
	// TearOff clears the printer roll.
	TearOff()
	// Fault injects a fault, DEVICE=MODE.
	Fault(spec string) error
	// Scan shows code to the barcode scanner; it fails when the terminal is not
	// asking for one.
	Scan(ctx context.Context, code string) error
	// Status is device and link status, one line each.
	Status(ctx context.Context) ([]string, error)
}

// Options configure a TUI.
type Options struct {
	// Title heads the window, e.g. the terminal id and the control socket's path.
	Title string
	// Screen is the tcell screen to draw on (a simulation screen in tests); nil opens
	// the user's terminal.
	Screen tcell.Screen
}

// How often the TUI looks at the devices that cannot say when they change, and how
// many of those looks between reads of the status (which queries the journal).
const (
	pollEvery   = 200 * time.Millisecond
	statusEvery = 5
)

// mode is what the next key means: a keypad key, or the answer to a TUI prompt.
type mode int

const (
	modeKeypad mode = iota
	modeCard        // a digit picks the test card to swipe
	modeFault       // a digit picks the fault to inject
	modePIN         // digits are typed on the PIN pad
	modeScan        // text is a code to show to the scanner
	modeChip        // a digit picks the chip card to insert or tap, 0 takes it away
)

// help is the help line of each mode.
var help = map[mode]string{
	modeKeypad: "Keypad: 0-9 . Enter  Esc=CANCEL  Bksp=CLEAR  Up Down  F1-F4  m=MENU\n" +
		"p PIN pad   c card   i chip   f fault   s scan   t tear off   PgUp PgDn End roll   Ctrl-C quit",
	modeCard:  "Card: press 1-%d to swipe that card; Esc goes back.",
	modeFault: "Fault: press 1-%d to inject that fault; Esc goes back.",
	modeChip:  "Chip: press 1-%d to insert (tap… cards: tap) that card, 0 to take it away; Esc goes back.",
	modePIN: "PIN pad: type the digits, Enter sends them, Bksp deletes one,\n" +
		"Esc presses the PIN pad's CANCEL.",
	modeScan: "Scanner: type the code (a wallet's is 18 or 19 digits), Enter holds it\n" +
		"before the scanner, Bksp deletes one character, Esc goes back.",
}

// TUI is the laptop face of one simulated terminal.
type TUI struct {
	term  Terminal
	cards []string
	app   *tview.Application

	screen, pad, status, printer, message, helpLine *tview.TextView
	// pages holds the layout and, over it while the screen shows one, the QR code.
	pages                     *tview.Pages
	qr                        *qrPane
	keyButtons                map[ui.Key]*tview.Button
	cardButtons, faultButtons []*tview.Button

	// Owned by the event loop.
	mode    mode
	pin     []byte
	code    []rune // typed in the scan prompt
	padShow [2]string

	mu   sync.Mutex
	note string // the last action's outcome; actions finish off the event loop
	quit context.CancelFunc
}

// New lays out a TUI for term. Run shows it.
func New(term Terminal, o Options) *TUI {
	u := &TUI{term: term, cards: testcards.Names(), app: tview.NewApplication(), keyButtons: map[ui.Key]*tview.Button{}}
	if o.Screen != nil {
		u.app.SetScreen(o.Screen)
	}
	u.app.EnableMouse(true)
	u.qr = newQRPane()
	u.pages = tview.NewPages().AddPage("main", u.layout(o.Title), true, true)
	u.app.SetRoot(u.pages, true)
	u.app.SetFocus(u.screen)
	u.app.SetInputCapture(u.key)
	u.app.SetMouseCapture(func(ev *tcell.EventMouse, a tview.MouseAction) (*tcell.EventMouse, tview.MouseAction) {
		// Buttons ignore double clicks; on a keypad "1 1" clicked quickly is two presses.
		if a == tview.MouseLeftDoubleClick {
			a = tview.MouseLeftClick
		}
		return ev, a
	})
	u.drawHelp()
	return u
}

// Run shows the TUI until ctx ends or Ctrl-C is pressed, then gives the terminal back.
func (u *TUI) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.mu.Lock()
	u.quit = cancel
	u.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.followScreen(ctx) }()
	go func() { defer wg.Done(); u.poll(ctx) }()
	go func() {
		<-ctx.Done()
		// The watchers hand their updates to the event loop and wait for them, so the
		// loop stops only after they have gone; queueing Stop also waits for the loop
		// to have started.
		wg.Wait()
		u.app.QueueUpdate(u.app.Stop)
	}()
	defer func() {
		// tview restores the terminal and re-panics; report instead of crashing posfw.
		if p := recover(); p != nil {
			err = fmt.Errorf("tui: %v", p)
		}
	}()
	return u.app.Run()
}

// layout builds the panes:
//
//	title
//	screen  keypad   printer
//	PIN pad status   printer
//	cards            printer
//	faults           printer
//	message, help
func (u *TUI) layout(title string) tview.Primitive {
	cols, rows := u.term.Size()

	u.screen = text(" Terminal ")
	u.screen.SetScrollable(false)
	// The screen's box is the frame's size, whatever room the keypad beside it takes.
	screenCol := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(u.screen, rows+2, 0, true).
		AddItem(nil, 0, 1, false)
	top := tview.NewFlex().
		AddItem(screenCol, cols+2, 0, true).
		AddItem(u.keypad(), keypadWidth, 0, false)

	u.pad = text(" PIN pad (p) ")
	u.status = text(" Status ")
	middle := tview.NewFlex().
		AddItem(u.pad, 20, 0, false).
		AddItem(u.status, 0, 1, false)

	left := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(top, max(rows+2, 2*len(keypadRows)-1+2), 0, true).
		AddItem(middle, 7, 0, false).
		AddItem(u.cardPanel(), 3, 0, false).
		AddItem(u.faultPanel(), len(deviceRows())+2, 0, false)

	u.printer = text(" Printer (t: tear off) ")
	u.printer.ScrollToEnd()
	body := tview.NewFlex().
		AddItem(left, max(cols+2+keypadWidth, leftWidth), 0, true).
		AddItem(u.printer, rollWidth, 0, false).
		AddItem(nil, 0, 1, false)

	head := tview.NewTextView().SetText(title)
	head.SetTextStyle(tcell.StyleDefault.Bold(true))
	u.message = tview.NewTextView()
	u.helpLine = tview.NewTextView()
	return tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(head, 1, 0, false).
		AddItem(body, 0, 1, true).
		AddItem(u.message, 1, 0, false).
		AddItem(u.helpLine, 2, 0, false)
}

// text is a bordered pane of raw text: no style tags, so a frame showing "[1]" shows it.
func text(title string) *tview.TextView {
	v := tview.NewTextView().SetWrap(false)
	v.SetBorder(true).SetTitle(title).SetTitleAlign(tview.AlignLeft)
	return v
}

// Widths of the columns: the keypad's buttons, their gaps and border; the left column
// at least as wide as the card buttons and the status need; the printer's paper
// (printersim's 58 mm roll, 32 characters) and border.
var keypadWidth = sum(keypadColumns) + len(keypadColumns) - 1 + 2

const (
	leftWidth = 54
	rollWidth = 32 + 2
)

func sum(xs []int) (n int) {
	for _, x := range xs {
		n += x
	}
	return n
}

// keypad is the terminal's keypad as buttons.
func (u *TUI) keypad() tview.Primitive {
	g := tview.NewGrid().SetColumns(keypadColumns...).SetGap(1, 1)
	rows := make([]int, len(keypadRows))
	for i := range rows {
		rows[i] = 1
	}
	g.SetRows(rows...)
	for r, row := range keypadRows {
		for c, k := range row {
			span := 1
			if c == len(row)-1 {
				span = len(keypadColumns) - c
			}
			b := u.button(string(k), func() { u.input(k) })
			u.keyButtons[k] = b
			g.AddItem(b, r, c, 1, span, 0, 0, false)
		}
	}
	g.SetBorder(true).SetTitle(" Keypad ").SetTitleAlign(tview.AlignLeft)
	return g
}

// cardPanel has one button per catalogue card.
func (u *TUI) cardPanel() tview.Primitive {
	f := tview.NewFlex()
	for i, name := range u.cards {
		b := u.button(fmt.Sprintf("%d %s", i+1, name), func() { u.swipe(name) })
		u.cardButtons = append(u.cardButtons, b)
		// Proportional widths: the row shrinks to the panel rather than losing its last cards.
		f.AddItem(b, 0, len(name)+3, false).AddItem(nil, 0, 1, false)
	}
	f.SetBorder(true).SetTitle(fmt.Sprintf(" Cards (c, then 1-%d) ", min(len(u.cards), 9))).SetTitleAlign(tview.AlignLeft)
	return f
}

// deviceRows groups the faults by device, one row of the panel each.
func deviceRows() [][]int {
	var rows [][]int
	for i, f := range faults {
		if i == 0 || f.device != faults[i-1].device {
			rows = append(rows, nil)
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], i)
	}
	return rows
}

// faultPanel has one button per fault, a row per device.
func (u *TUI) faultPanel() tview.Primitive {
	col := tview.NewFlex().SetDirection(tview.FlexRow)
	u.faultButtons = make([]*tview.Button, len(faults))
	for _, idx := range deviceRows() {
		row := tview.NewFlex().AddItem(tview.NewTextView().SetText(faults[idx[0]].device), 8, 0, false)
		for _, i := range idx {
			f := faults[i]
			label := fmt.Sprintf("%d %s", i+1, f.mode)
			b := u.button(label, func() { u.inject(f) })
			u.faultButtons[i] = b
			row.AddItem(b, len(label)+2, 0, false).AddItem(nil, 1, 0, false)
		}
		col.AddItem(row, 1, 0, false)
	}
	col.SetBorder(true).SetTitle(fmt.Sprintf(" Faults (f, then 1-%d) ", len(faults))).SetTitleAlign(tview.AlignLeft)
	return col
}

// button does do when clicked, then gives the focus back to the screen, so that the
// clicked button does not stay lit.
func (u *TUI) button(label string, do func()) *tview.Button {
	b := tview.NewButton(label)
	b.SetSelectedFunc(func() {
		do()
		u.app.SetFocus(u.screen)
	})
	return b
}

// key handles every key before tview does: the TUI has no focusable fields, and
// Ctrl-C must stop it through ctx, not behind Run's back.
func (u *TUI) key(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyCtrlC {
		u.say("stopping...")
		u.mu.Lock()
		quit := u.quit
		u.mu.Unlock()
		if quit != nil {
			quit()
		}
		return nil
	}
	if u.mode == modeScan {
		u.scanKey(ev)
		return nil
	}
	if u.mode == modeKeypad {
		switch commandOf(ev) {
		case cmdScan:
			u.setMode(modeScan)
			return nil
		case cmdPIN:
			u.setMode(modePIN)
		case cmdCard:
			u.setMode(modeCard)
		case cmdChip:
			u.setMode(modeChip)
		case cmdFault:
			u.setMode(modeFault)
		case cmdTearOff:
			u.term.TearOff()
			u.say("printer roll torn off")
		case cmdRollUp:
			u.scrollRoll(-1)
		case cmdRollDown:
			u.scrollRoll(+1)
		case cmdRollEnd:
			u.printer.ScrollToEnd()
		}
	}
	if k, ok := keypadKey(ev); ok {
		u.input(k)
	}
	return nil
}

// input is a keypad key, typed or clicked. It goes to the terminal, or to the TUI's
// prompt when one is open.
func (u *TUI) input(k ui.Key) {
	n, digit := k.Digit()
	switch u.mode {
	case modeKeypad:
		if !u.term.Press(k) {
			u.say("keypad buffer full: the terminal is not reading keys")
		}
	case modeCard:
		if digit && n >= 1 && n <= len(u.cards) {
			u.swipe(u.cards[n-1])
		}
		if digit || k == ui.KeyCancel {
			u.setMode(modeKeypad)
		}
	case modeChip:
		switch {
		case digit && n == 0:
			u.say("taking the card away...")
			u.do(u.term.RemoveCard, "card taken away")
		case digit && n <= len(chipCards):
			card, how := chipCards[n-1], chipHow(chipCards[n-1])
			u.say(how + " " + card + "...")
			u.do(func() error { return u.term.Present(how, card) }, how+" "+card+": done")
		}
		if digit || k == ui.KeyCancel {
			u.setMode(modeKeypad)
		}
	case modeFault:
		if digit && n >= 1 && n <= len(faults) {
			u.inject(faults[n-1])
		}
		if digit || k == ui.KeyCancel {
			u.setMode(modeKeypad)
		}
	case modePIN:
		u.pinKey(k)
	}
}

// pinKey is a key of the PIN prompt.
func (u *TUI) pinKey(k ui.Key) {
	switch k {
	case ui.KeyEnter:
		digits := string(u.pin)
		u.say("PIN sent to the PIN pad")
		u.do(func() error { return u.term.TypePIN(digits) }, "")
		u.setMode(modeKeypad)
	case ui.KeyCancel:
		u.say("CANCEL pressed on the PIN pad")
		u.do(u.term.CancelPIN, "")
		u.setMode(modeKeypad)
	case ui.KeyClear:
		if len(u.pin) > 0 {
			u.pin = u.pin[:len(u.pin)-1]
		}
	default:
		if _, ok := k.Digit(); ok && len(u.pin) < maxPIN {
			u.pin = append(u.pin, k[0])
		}
	}
	u.drawPad()
}

// scanKey is a key of the scan prompt: the code is typed on the laptop's keyboard
// and shown on the message line.
func (u *TUI) scanKey(ev *tcell.EventKey) {
	switch ev.Key() {
	case tcell.KeyEnter:
		code := string(u.code)
		u.setMode(modeKeypad)
		if code == "" {
			return
		}
		u.say("holding the code before the scanner...")
		u.do(func() error { return u.term.Scan(context.Background(), code) }, "code scanned")
		return
	case tcell.KeyEsc:
		u.setMode(modeKeypad)
		u.say("")
		return
	case tcell.KeyBackspace, tcell.KeyBackspace2, tcell.KeyDelete:
		if len(u.code) > 0 {
			u.code = u.code[:len(u.code)-1]
		}
	case tcell.KeyRune:
		if r := ev.Rune(); r >= 0x20 && r != 0x7f && len(u.code) < maxScan {
			u.code = append(u.code, r)
		}
	}
	u.message.SetText("Scan> " + string(u.code) + "_")
}

// setMode opens or closes a prompt.
func (u *TUI) setMode(m mode) {
	u.mode = m
	clear(u.pin) // wipe the digits, not just forget them
	u.pin = u.pin[:0]
	clear(u.code) // a payment code, too
	u.code = u.code[:0]
	if m == modeScan {
		u.message.SetText("Scan> _")
	}
	u.drawPad()
	u.drawHelp()
}

func (u *TUI) swipe(card string) {
	u.say("swiping " + card + "...")
	u.do(func() error { return u.term.Swipe(card) }, "swiped "+card)
}

func (u *TUI) inject(f fault) {
	u.say("fault " + f.spec() + "...")
	u.do(func() error { return u.term.Fault(f.spec()) }, "fault "+f.spec()+" set")
}

// do runs a device action off the event loop (a swipe waits while the firmware's line
// is full, the PIN pad for its entry) and notes its outcome for the next poll: done
// when it worked (empty: keep the note), else the error.
func (u *TUI) do(action func() error, done string) {
	go func() {
		err := action()
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			u.note = "! " + err.Error()
		} else if done != "" {
			u.note = done
		}
	}()
}

// say shows a note at once; it is called on the event loop.
func (u *TUI) say(s string) {
	u.mu.Lock()
	u.note = s
	u.mu.Unlock()
	u.message.SetText(s)
}

// scrollRoll scrolls the printer roll a page back (-1) or forward (+1).
func (u *TUI) scrollRoll(dir int) {
	row, _ := u.printer.GetScrollOffset()
	_, _, _, h := u.printer.GetInnerRect()
	u.printer.ScrollTo(max(row+dir*h, 0), 0)
}

func (u *TUI) drawHelp() {
	s := help[u.mode]
	switch u.mode {
	case modeCard:
		s = fmt.Sprintf(s, min(len(u.cards), 9))
	case modeFault:
		s = fmt.Sprintf(s, len(faults))
	case modeChip:
		s = fmt.Sprintf(s, len(chipCards))
	}
	u.helpLine.SetText(s)
}

// drawPad shows the PIN pad's screen and, under it, the PIN prompt.
func (u *TUI) drawPad() {
	prompt := "p: type a PIN"
	if u.mode == modePIN {
		prompt = "> " + strings.Repeat("*", len(u.pin)) + "_"
	}
	u.pad.SetText(u.padShow[0] + "\n" + u.padShow[1] + "\n\n" + prompt)
}

// followScreen shows every new frame of the terminal's screen.
func (u *TUI) followScreen(ctx context.Context) {
	disp := u.term.Screen()
	for {
		changed := disp.Changed()
		lines := disp.Lines()
		frame := strings.Join(lines, "\n")
		payload, hasQR := disp.QR()
		u.app.QueueUpdateDraw(func() {
			u.screen.SetText(frame)
			u.showQR(payload, hasQR, lines)
		})
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// view is what poll last showed of the devices that cannot say when they change.
type view struct {
	pad    [2]string
	paper  string
	note   string
	status []string
}

// poll shows the PIN pad, the printer roll, the status and action outcomes as they
// change.
func (u *TUI) poll(ctx context.Context) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last view
	for n := 0; ; n++ {
		v := last
		v.pad = u.term.PadScreen()
		v.paper = u.term.PrinterText()
		u.mu.Lock()
		v.note = u.note
		u.mu.Unlock()
		if n%statusEvery == 0 {
			st, err := u.term.Status(ctx)
			if err != nil {
				st = []string{"! " + err.Error()}
			}
			v.status = st
		}
		if n == 0 || v.pad != last.pad || v.paper != last.paper || v.note != last.note || !slices.Equal(v.status, last.status) {
			u.app.QueueUpdateDraw(func() {
				u.padShow = v.pad
				u.drawPad()
				if n == 0 || v.paper != last.paper {
					u.printer.SetText(v.paper)
				}
				u.message.SetText(v.note)
				u.status.SetText(strings.Join(v.status, "\n"))
			})
		}
		last = v
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// showQR puts the QR code on the screen in a pane over the layout, centred, or takes
// it away; it runs on the event loop.
func (u *TUI) showQR(payload string, show bool, frame []string) {
	if !show || !u.qr.set(payload, qrCaption(frame)) {
		u.pages.RemovePage("qr")
		return
	}
	w, h := u.qr.size()
	centred := tview.NewFlex().
		AddItem(nil, 0, 1, false).
		AddItem(tview.NewFlex().SetDirection(tview.FlexRow).
			AddItem(nil, 0, 1, false).
			AddItem(u.qr, h, 0, false).
			AddItem(nil, 0, 1, false), w, 0, false).
		AddItem(nil, 0, 1, false)
	u.pages.AddPage("qr", centred, true, true)
	u.app.SetFocus(u.screen)
}
