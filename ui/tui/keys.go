package tui

import (
	"strings"
	"unicode"

	"github.com/gdamore/tcell/v2"

	"posfw/ui"
)

// specialKeys are the laptop keys that stand for keypad keys other than the digits.
var specialKeys = map[tcell.Key]ui.Key{
	tcell.KeyEnter:     ui.KeyEnter,
	tcell.KeyEsc:       ui.KeyCancel,
	tcell.KeyBackspace: ui.KeyClear, // tcell reports DEL (0x7f) as Backspace too
	tcell.KeyDelete:    ui.KeyClear,
	tcell.KeyUp:        ui.KeyUp,
	tcell.KeyDown:      ui.KeyDown,
	tcell.KeyF1:        ui.KeyF1,
	tcell.KeyF2:        ui.KeyF2,
	tcell.KeyF3:        ui.KeyF3,
	tcell.KeyF4:        ui.KeyF4,
}

// runeKeys are the printable laptop keys that stand for keypad keys besides the digits.
var runeKeys = map[rune]ui.Key{
	'.': ui.KeyDot,
	'm': ui.KeyMenu,
}

// keypadKey is the keypad key a laptop key stands for.
func keypadKey(ev *tcell.EventKey) (ui.Key, bool) {
	if ev.Key() != tcell.KeyRune {
		k, ok := specialKeys[ev.Key()]
		return k, ok
	}
	r := unicode.ToLower(ev.Rune())
	if r >= '0' && r <= '9' {
		return ui.Key(string(r)), true
	}
	k, ok := runeKeys[r]
	return k, ok
}

// command is a TUI shortcut that is not a keypad key.
type command int

const (
	cmdNone     command = iota
	cmdPIN              // type a PIN on the PIN pad
	cmdCard             // pick a test card to swipe
	cmdFault            // pick a fault to inject
	cmdTearOff          // clear the printer roll
	cmdRollUp           // scroll the printer roll back a page
	cmdRollDown         // scroll it forward a page
	cmdRollEnd          // follow the printing again
	cmdScan             // show a code to the barcode scanner
	cmdChip             // insert or tap a chip test card, or take it away
)

// commandRunes and commandKeys are the shortcuts of the TUI's own commands.
var (
	commandRunes = map[rune]command{'p': cmdPIN, 'c': cmdCard, 'f': cmdFault, 't': cmdTearOff, 's': cmdScan, 'i': cmdChip}
	commandKeys  = map[tcell.Key]command{tcell.KeyPgUp: cmdRollUp, tcell.KeyPgDn: cmdRollDown, tcell.KeyEnd: cmdRollEnd}
)

// commandOf is the TUI command a laptop key stands for.
func commandOf(ev *tcell.EventKey) command {
	if ev.Key() == tcell.KeyRune {
		return commandRunes[unicode.ToLower(ev.Rune())]
	}
	return commandKeys[ev.Key()]
}

// keypadRows lay the keypad's buttons out as on a countertop terminal; the last key of
// a short row spans the rest of it.
var keypadRows = [][]ui.Key{
	{ui.KeyF1, ui.KeyF2, ui.KeyF3, ui.KeyF4},
	{"1", "2", "3", ui.KeyCancel},
	{"4", "5", "6", ui.KeyClear},
	{"7", "8", "9", ui.KeyEnter},
	{ui.KeyDot, "0", ui.KeyUp, ui.KeyDown},
	{ui.KeyMenu},
}

// keypadColumns are the widths of the keypad's button columns.
var keypadColumns = []int{5, 5, 5, 8}

// chipCards are the chip test cards the TUI offers (digits 1-9): those named tap… are
// held to the contactless reader, the others inserted in the chip reader.
var chipCards = []string{"chip", "chip-pin", "chip-sig", "chip-aac", "chip-expired", "chip-refuse2", "fallback", "tap", "tap-offline"}

// chipHow is how a chip test card is presented: "tap" or "insert".
func chipHow(card string) string {
	if strings.HasPrefix(card, "tap") {
		return "tap"
	}
	return "insert"
}

// A fault is one button of the fault panel: DEVICE=MODE as simctl fault takes it.
type fault struct{ device, mode string }

func (f fault) spec() string { return f.device + "=" + f.mode }

// faults are the faults the panel offers, numbered 1-9 in this order (DESIGN §4).
var faults = []fault{
	{"printer", "paper-out"}, {"printer", "ok"},
	{"modem", "no-signal"}, {"modem", "ok"},
	{"host", "timeout"}, {"host", "down"}, {"host", "ok"},
	{"reader", "garbage"}, {"reader", "ok"},
}

// maxScan is the longest code the scan prompt takes: an EMV merchant-presented
// payload's limit.
const maxScan = 512

// maxPIN is the most digits the PIN prompt collects (ISO 9564 allows 4 to 12).
const maxPIN = 12
