package sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"posfw/board"
	"posfw/drivers/chipreader"
	"posfw/drivers/chipreader/chipsim"
	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/modem/modemsim"
	"posfw/drivers/scanner/scannersim"
	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/control"
	"posfw/firmware/datadir"
	"posfw/firmware/host"
	"posfw/firmware/hostsim"
	"posfw/ui"
	"posfw/ui/headless"
)

// Options configure a simulated terminal.
type Options struct {
	// HostAddr, when set, is an acquirer to use instead of starting the host simulator.
	HostAddr string
	DataDir  string
	// Control is the control socket's path.
	Control string
	Config  *config.Config
	Lang    ui.Lang
	// KeepLang: Lang came from --lang and wins over a saved language.
	KeepLang bool
	// Mirror, when not nil, receives every new screen frame as text.
	Mirror  io.Writer
	Version string
	Log     *slog.Logger
	// Now is the terminal's clock, and its host simulator's (time.Now when nil): a
	// developer or a test runs the terminal at another hour (posfw sim --clock).
	Now func() time.Time
	// InstantCards makes the chip test cards answer as fast as the simulator runs; by
	// default they work at the reference reader's speed (chipsim.ContactReference,
	// ContactlessReference), so that a developer meets a card as slow as a real one.
	InstantCards bool
}

// Terminal is a running simulated terminal.
type Terminal struct {
	App     *app.App
	Devices *Devices
	// Opened are the drivers the firmware opened on the simulators' PTYs.
	Opened  *board.Devices
	Display *headless.Display
	control *control.Server
	// Acquirer is the host simulator, nil with Options.HostAddr.
	Acquirer     *hostsim.Server
	client       *host.Client
	acquirerAddr string
	// hostFault sets the host simulator's fault mode, when this terminal runs one.
	hostFault func(mode string) error
	// instantCards: Options.InstantCards.
	instantCards bool
}

// Start starts the device simulators, the App and the control socket.
func Start(ctx context.Context, o Options) (*Terminal, error) {
	b, err := board.Load(o.Config.Board)
	if err != nil {
		return nil, err
	}
	b = b.Clone()
	data := datadir.Dir(o.DataDir)
	devs, err := StartDevices(b, data.Devices())
	if err != nil {
		return nil, err
	}
	devs.Pad.SetNVRAM(data.PadNVRAM())
	t := &Terminal{Devices: devs, Display: headless.New(o.Mirror, b.Display.Cols), instantCards: o.InstantCards}
	t.Display.SetRows(b.Display.Rows)
	c := o.Config
	dialect, err := host.ParseDialect(c.Host.Dialect, host.CUPConfig{TPDU: c.Host.TPDU, Header: c.Host.Header, Field22: c.Host.Field22, SignOn: c.Host.SignOn, Totals: c.Host.SettlementTotals})
	if err != nil {
		devs.Close()
		return nil, err
	}
	// The simulated pad plays the key injection facility's part once: it gets the host
	// simulator's test TMK, which the firmware never sees.
	if !devs.Pad.HasTMK() {
		tmk, _ := hex.DecodeString(hostsim.DefaultMasterKey)
		if err := devs.Pad.InjectTMK(tmk); err != nil {
			devs.Close()
			return nil, err
		}
	}
	addr := o.HostAddr
	if addr == "" {
		if err := t.startAcquirer(o, dialect); err != nil {
			devs.Close()
			return nil, err
		}
		addr = t.acquirerAddr
	}
	t.client = host.New(host.Config{
		Address: addr, ConnectTimeout: c.Host.ConnectTimeout.Duration, ResponseTimeout: c.Host.ResponseTimeout.Duration,
		TerminalID: c.TerminalID, MerchantID: c.MerchantID, Currency: c.CurrencyCode(), Dialect: dialect, Logger: o.Log,
		Now: o.Now, Location: c.Location(),
	})
	opened, err := board.Open(b, board.Options{APN: c.Modem.APN})
	if err != nil {
		t.closeAcquirer()
		devs.Close()
		return nil, err
	}
	t.Opened = opened
	if k, ok := opened.Pad.(host.Keys); ok {
		t.client.UseKeys(k) // the pad holds the keys and computes the MACs
	}
	t.App, err = app.Start(ctx, app.Options{
		DataDir: o.DataDir, Config: o.Config, Devices: opened, Display: t.Display,
		Lang: o.Lang, Version: o.Version, Log: o.Log, SeedSimDefaults: true, TestCardKeys: true, Host: t.client, KeepLang: o.KeepLang,
		Now: o.Now,
	})
	if err != nil {
		opened.Close()
		t.closeAcquirer()
		devs.Close()
		return nil, err
	}
	t.control, err = control.Listen(o.Control, t.handle, control.WithLogger(o.Log))
	if err != nil {
		t.App.Close()
		devs.Close()
		return nil, err
	}
	return t, nil
}

// Run shows the screens until ctx ends, then shuts everything down: control socket
// removed, journal closed, PTYs released.
func (t *Terminal) Run(ctx context.Context) error {
	err := t.App.Run(ctx)
	t.Close()
	return err
}

// Close shuts the terminal down.
func (t *Terminal) Close() {
	t.control.Close()
	t.App.Close()
	t.client.Close()
	t.closeAcquirer()
	t.Devices.Close()
}

// startAcquirer runs the host simulator on 127.0.0.1 with its ledger in the data dir.
func (t *Terminal) startAcquirer(o Options, d host.Dialect) error {
	// The acquirer keeps the terminal's zone: its RRN's date and the original's date it
	// checks a refund against are the local date the slip printed.
	acq, err := hostsim.New(hostsim.Config{Ledger: datadir.Dir(o.DataDir).Ledger(), Logger: o.Log, Dialect: d,
		Now: o.Now, Location: o.Config.Location()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		acq.Close()
		return fmt.Errorf("host simulator: %w", err)
	}
	go acq.Serve(ln)
	t.Acquirer, t.acquirerAddr = acq, ln.Addr().String()
	t.hostFault = func(mode string) error {
		f, err := hostsim.ParseFault(mode)
		if err != nil {
			return err
		}
		return acq.SetFault(f)
	}
	return nil
}

func (t *Terminal) closeAcquirer() {
	if t.Acquirer != nil {
		t.Acquirer.Close()
	}
}

// verbs of the control socket; DESIGN §4. Verbs of devices that have no simulator yet
// answer that they are not available in this build.
var verbs = map[string]func(t *Terminal, ctx context.Context, req control.Request) control.Response{
	"screen":     (*Terminal).screen,
	"key":        (*Terminal).key,
	"select":     (*Terminal).selectItem,
	"wait":       (*Terminal).wait,
	"state":      (*Terminal).state,
	"fault":      (*Terminal).fault,
	"card":       (*Terminal).card,
	"pin":        (*Terminal).pin,
	"printer":    (*Terminal).printer,
	"scan":       (*Terminal).scan,
	"screenshot": (*Terminal).screenshot,
}

func (t *Terminal) handle(ctx context.Context, req control.Request) control.Response {
	f, ok := verbs[req.Verb]
	if !ok {
		return control.Fail("unknown verb %q (have %s)", req.Verb, verbNames())
	}
	return f(t, ctx, req)
}

func verbNames() string { return strings.Join(slices.Sorted(maps.Keys(verbs)), " ") }

func (t *Terminal) screen(ctx context.Context, req control.Request) control.Response {
	return control.Response{OK: true, Lines: t.Display.Lines()}
}

func (t *Terminal) key(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) == 0 {
		return control.Fail("key needs at least one key name")
	}
	keys := make([]ui.Key, len(req.Args))
	for i, a := range req.Args {
		k, err := ui.ParseKey(a)
		if err != nil {
			return control.Fail("%v", err)
		}
		keys[i] = k
	}
	for _, k := range keys {
		if !t.App.UI().Press(k) {
			return control.Fail("keypad buffer full: the terminal is not reading keys")
		}
	}
	return control.Response{OK: true}
}

var menuLine = regexp.MustCompile(`^\s*(\d)[ .)]\s*(.+)$`)

// selectItem presses the number of the menu item on screen whose label contains the
// text, paging down through a long menu as a cashier would.
func (t *Terminal) selectItem(ctx context.Context, req control.Request) control.Response {
	label := strings.ToLower(strings.TrimSpace(strings.Join(req.Args, " ")))
	if label == "" {
		return control.Fail("select needs a label")
	}
	first := t.Display.Lines()
	lines := first
	for range maxPages {
		for _, l := range lines {
			m := menuLine.FindStringSubmatch(l)
			if m != nil && strings.Contains(strings.ToLower(m[2]), label) {
				t.App.UI().Press(ui.Key(m[1]))
				return control.Response{OK: true, Lines: []string{strings.TrimSpace(l)}}
			}
		}
		if !strings.Contains(strings.Join(lines, "\n"), t.App.UI().T(ui.MsgMore)) {
			break
		}
		t.App.UI().Press(ui.KeyDown)
		if lines = t.changed(ctx, lines); slices.Equal(lines, first) {
			break // back on the first page
		}
	}
	return control.Fail("no menu item containing %q on the screen", strings.Join(req.Args, " "))
}

// maxPages bounds how far select pages through a menu.
const maxPages = 10

// changed waits up to a second for the screen to differ from before and returns it.
func (t *Terminal) changed(ctx context.Context, before []string) []string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for {
		if now := t.Display.Lines(); !slices.Equal(now, before) || ctx.Err() != nil {
			return now
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (t *Terminal) wait(ctx context.Context, req control.Request) control.Response {
	text := strings.Join(req.Args, " ")
	if text == "" {
		return control.Fail("wait needs the text to wait for")
	}
	timeout := 10 * time.Second
	if req.Timeout > 0 {
		timeout = time.Duration(req.Timeout * float64(time.Second))
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := t.Display.Wait(wctx, text); err != nil {
		return control.Response{Error: fmt.Sprintf("timed out after %v waiting for %q", timeout, text), Lines: t.Display.Lines()}
	}
	return control.Response{OK: true, Lines: t.Display.Lines()}
}

func (t *Terminal) state(ctx context.Context, req control.Request) control.Response {
	st, err := t.App.State(ctx)
	if err != nil {
		return control.Fail("state: %v", err)
	}
	// The simulator adds what its GPIO lines show: LEDs lit or not.
	full := struct {
		app.State
		LEDGreen bool `json:"led_green"`
		LEDRed   bool `json:"led_red"`
	}{State: st}
	if p := t.Devices.Pins["led_green"]; p != nil {
		full.LEDGreen = bool(p.Level())
	}
	if p := t.Devices.Pins["led_red"]; p != nil {
		full.LEDRed = bool(p.Level())
	}
	b, err := json.Marshal(full)
	if err != nil {
		return control.Fail("state: %v", err)
	}
	return control.Response{OK: true, State: b}
}

// faults are the simulator faults this build can inject: DEVICE=MODE → action. Besides
// these, every serial device takes DEVICE=unplugged (its USB cable pulled) and
// DEVICE=ok plugs it back in.
var faults = map[string]func(d *Devices){
	"modem=no-signal":    func(d *Devices) { d.Modem.SetNoSignal(true) },
	"modem=ok":           func(d *Devices) { d.Modem.SetNoSignal(false); d.Modem.SetStuck(modemsim.NotStuck) },
	"printer=paper-out":  func(d *Devices) { d.SetPaper(false) },
	"printer=cover-open": func(d *Devices) { d.Printer.SetCoverOpen(true) },
	"printer=ok":         func(d *Devices) { d.SetPaper(true); d.Printer.SetCoverOpen(false) },
	"reader=garbage":     func(d *Devices) { d.Reader.SetGarbage(true) },
	"reader=ok":          func(d *Devices) { d.Reader.SetGarbage(false) },
	"pinpad=power-cycle": func(d *Devices) { d.Pad.PowerCycle() },
}

func (t *Terminal) fault(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) != 1 {
		return control.Fail("fault takes one DEVICE=MODE")
	}
	if err := t.Fault(req.Args[0]); err != nil {
		return control.Fail("%v", err)
	}
	return control.Response{OK: true}
}

// Fault injects a simulator fault given as simctl fault takes it: DEVICE=MODE.
func (t *Terminal) Fault(spec string) error {
	if t.hostFault != nil && strings.HasPrefix(spec, "host=") {
		if err := t.hostFault(strings.TrimPrefix(spec, "host=")); err != nil {
			return fmt.Errorf("fault %s: %v", spec, err)
		}
		return nil
	}
	dev, mode, _ := strings.Cut(spec, "=")
	if r, ok := strings.CutPrefix(spec, "modem=stuck:"); ok {
		rec, err := modemsim.ParseRecovery(r)
		if err != nil {
			return err
		}
		t.Devices.Modem.SetStuck(rec)
		return nil
	}
	switch _, serial := deviceNames[dev]; {
	case serial && mode == "unplugged":
		return t.Devices.Unplug(dev)
	case serial && mode == "ok":
		if err := t.Devices.Plug(dev); err != nil {
			return err
		}
		if f, ok := faults[spec]; ok {
			f(t.Devices)
		}
		return nil
	}
	f, ok := faults[spec]
	if !ok {
		have := append(slices.Sorted(maps.Keys(faults)), "reader|pinpad|printer|modem=unplugged|ok", "modem=stuck:reattach|cfun|reset|power")
		if t.hostFault != nil {
			have = append(have, "host=MODE[:ARG][@MTI[#N]] (down|timeout|garbage|slow:N|drop-after-request|duplicate-response|bad-mac|unsigned|echo:FIELD|code:XX|hold|cut|ok)")
		}
		return fmt.Errorf("fault %q is not available (have %s)", spec, strings.Join(have, ", "))
	}
	f(t.Devices)
	return nil
}

// card presents a test card: "swipe NAME", "insert NAME" (the chip reader's slot), "tap
// NAME" (the contactless reader's field), "remove" (out of the slot and away from the
// field), or "key PAN EXPIRY" (typed on the keypad after F1, as a cashier keys a card
// by hand).
func (t *Terminal) card(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) == 1 && req.Args[0] == "remove" {
		if err := t.RemoveCard(); err != nil {
			return control.Fail("card remove: %v", err)
		}
		return control.Response{OK: true}
	}
	if len(req.Args) < 2 {
		return control.Fail("card takes swipe|insert|tap NAME, remove, or key PAN EXPIRY")
	}
	switch req.Args[0] {
	case "swipe":
		if err := t.Devices.Reader.Swipe(req.Args[1]); err != nil {
			return control.Fail("card swipe: %v", err)
		}
	case "insert", "tap":
		if err := t.Present(req.Args[0], req.Args[1]); err != nil {
			return control.Fail("card %s: %v", req.Args[0], err)
		}
	case "key":
		if len(req.Args) != 3 {
			return control.Fail("card key takes PAN EXPIRY")
		}
		keys := []ui.Key{ui.KeyF1}
		for _, group := range req.Args[1:] {
			for _, c := range group {
				if c < '0' || c > '9' {
					return control.Fail("card key: PAN and expiry are digits")
				}
				keys = append(keys, ui.Key(string(c)))
			}
			keys = append(keys, ui.KeyEnter)
		}
		for _, k := range keys {
			t.App.UI().Press(k)
		}
	default:
		return control.Fail("card %q: want swipe, insert, tap, remove or key", req.Args[0])
	}
	return control.Response{OK: true}
}

// pin types DIGITS on the simulated PIN pad, then its ENTER.
func (t *Terminal) pin(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) != 1 {
		return control.Fail("pin takes DIGITS")
	}
	if err := t.Devices.Pad.Type(req.Args[0]); err != nil {
		return control.Fail("pin: %v", err)
	}
	return control.Response{OK: true}
}

// screenshot answers with what the customer sees on the display, as a PNG in State (a
// JSON string, base64): simctl writes it to the file it was given, on its own side of
// the socket.
func (t *Terminal) screenshot(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) != 0 {
		return control.Fail("screenshot takes no arguments over the socket (simctl screenshot FILE.png writes the file)")
	}
	var buf bytes.Buffer
	if err := t.Display.Screenshot(&buf); err != nil {
		return control.Fail("screenshot: %v", err)
	}
	b, err := json.Marshal(buf.Bytes())
	if err != nil {
		return control.Fail("screenshot: %v", err)
	}
	return control.Response{OK: true, State: b}
}

// scanWait is how long simctl scan holds a code before the scanner for the terminal to
// trigger it, as a customer holds a phone up until the scan window lights.
const scanWait = 3 * time.Second

// scan shows CODE to the simulated barcode scanner.
func (t *Terminal) scan(ctx context.Context, req control.Request) control.Response {
	if len(req.Args) != 1 || req.Args[0] == "" {
		return control.Fail("scan takes one CODE (quote a code that holds spaces)")
	}
	if err := t.Scan(ctx, req.Args[0]); err != nil {
		return control.Fail("scan: %v", err)
	}
	return control.Response{OK: true}
}

// Scan shows code to the simulated scanner: it is read once the terminal triggers the
// scanner, within scanWait.
func (t *Terminal) Scan(ctx context.Context, code string) error {
	err := t.Devices.Scanner.Show(ctx, code, scanWait)
	switch {
	case errors.Is(err, scannersim.ErrNotTriggered):
		return fmt.Errorf("the terminal is not asking for a code (its scanner was not triggered within %v)", scanWait)
	case errors.Is(err, scannersim.ErrNotServing):
		return errors.New("the scanner is unplugged")
	}
	return err
}

// printer returns the text printed since the last --clear.
func (t *Terminal) printer(ctx context.Context, req control.Request) control.Response {
	text := t.Devices.Printer.Text()
	if len(req.Args) == 1 && req.Args[0] == "--clear" {
		t.Devices.Printer.Clear()
	} else if len(req.Args) > 0 {
		return control.Fail("printer takes only --clear")
	}
	return control.Response{OK: true, Lines: strings.Split(strings.TrimRight(text, "\n"), "\n")}
}

// The methods below are the simulated terminal as the laptop TUI (ui/tui) drives it:
// the control socket's verbs as calls.

// Screen is the in-memory display the firmware draws on.
func (t *Terminal) Screen() *headless.Display { return t.Display }

// Size is the screen's grid, in cells.
func (t *Terminal) Size() (cols, rows int) { return t.App.UI().Size() }

// Press presses a key of the terminal's keypad. It reports false when the keypad
// buffer is full.
func (t *Terminal) Press(k ui.Key) bool { return t.App.UI().Press(k) }

// Swipe swipes the named catalogue card on the card reader.
func (t *Terminal) Swipe(name string) error { return t.Devices.Reader.Swipe(name) }

// Present inserts (how "insert") or taps ("tap") the named chip test card.
func (t *Terminal) Present(how, name string) error {
	card, err := cardsim.Open(name)
	if err != nil {
		return err
	}
	if how == "tap" {
		return t.Devices.Contactless.Present(t.paced(card, chipsim.ContactlessReference), chipreader.EventTapped)
	}
	return t.Devices.Chip.Present(t.paced(card, chipsim.ContactReference), chipreader.EventInserted)
}

// paced is card at speed s, unless the terminal's cards are instant.
func (t *Terminal) paced(card *cardsim.Card, s chipsim.Speed) apdu.Card {
	if t.instantCards {
		return card
	}
	return chipsim.Paced(card, s)
}

// RemoveCard takes the chip card out of the slot and away from the field.
func (t *Terminal) RemoveCard() error {
	return errors.Join(t.Devices.Chip.Remove(), t.Devices.Contactless.Remove())
}

// TypePIN types digits on the PIN pad, then its ENTER.
func (t *Terminal) TypePIN(digits string) error { return t.Devices.Pad.Type(digits) }

// CancelPIN presses the PIN pad's CANCEL.
func (t *Terminal) CancelPIN() error { return t.Devices.Pad.PressCancel() }

// PadScreen is what the PIN pad's two-line screen shows.
func (t *Terminal) PadScreen() [2]string { return t.Devices.Pad.Screen() }

// PrinterText is the text printed since the last TearOff.
func (t *Terminal) PrinterText() string { return t.Devices.Printer.Text() }

// TearOff clears the printer's roll, as simctl printer --clear.
func (t *Terminal) TearOff() { t.Devices.Printer.Clear() }

// Status is the device and link status, one "label  value" line each: modem signal and
// registration, batch, reversals, the host simulator's fault mode and the printer.
func (t *Terminal) Status(ctx context.Context) ([]string, error) {
	st, err := t.App.State(ctx)
	if err != nil {
		return nil, err
	}
	host := "external"
	if t.Acquirer != nil {
		host = t.Acquirer.Fault().String()
	}
	printer := "ok"
	switch ps := t.Devices.Printer.Status(); {
	case ps.PaperOut:
		printer = "paper out"
	case ps.CoverOpen:
		printer = "cover open"
	}
	return []string{
		"Modem     " + signalBars(st.Signal) + " " + st.Registration,
		fmt.Sprintf("Batch     %06d", st.Batch),
		fmt.Sprintf("Reversals %d pending, %d failed", st.PendingReversals, st.FailedReversals),
		"Host      " + host,
		"Printer   " + printer,
	}, nil
}

// signalBars draws 0..4 signal bars in ASCII (block glyphs are ambiguous-width in CJK
// locales); -1 is no modem.
func signalBars(n int) string {
	if n < 0 {
		return "----"
	}
	n = min(n, 4)
	return strings.Repeat("#", n) + strings.Repeat(".", 4-n)
}
