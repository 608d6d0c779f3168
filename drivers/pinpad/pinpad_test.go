package pinpad_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/frame"
	"posfw/drivers/pinpad/iso9564"
	"posfw/drivers/pinpad/padsim"
	"posfw/drivers/serialport"
	"posfw/drivers/testkit"
)

// The PAN of the ANSI X9.24-1 test vectors; its PIN is 1234.
const testPAN = "4012345678909"

// simPad starts the simulator on a real PTY and opens the device end as the firmware
// does, through drivers/serialport.
func simPad(t *testing.T, sim *padsim.Sim) (*pinpad.Driver, *serialport.PTY) {
	t.Helper()
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { sim.Serve(pty); close(served) }()
	d := pinpad.New(serialport.PathOpener(pty.Path(), serialport.Config{Baud: 115200}), pinpad.Config{})
	t.Cleanup(func() { d.Close(); pty.Close(); <-served })
	return d, pty
}

func accountDigits(t *testing.T, pan string) string {
	t.Helper()
	a, err := pinpad.AccountDigits(pan)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitScreen waits until the simulator shows want on line 2.
func waitScreen(t *testing.T, sim *padsim.Sim, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for sim.Screen()[1] != want {
		if time.Now().After(deadline) {
			t.Fatalf("PIN pad shows %q; want line 2 %q", sim.Screen(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openBlock is the host's side: derive the PIN key of r.KSN from the test BDK, decrypt
// the block and read the PIN back with the PAN.
func openBlock(t *testing.T, r pinpad.PINResult, pan string) string {
	t.Helper()
	bdk, _ := dukpt.ParseKey(padsim.TestBDK)
	tk, err := dukpt.DeriveTransactionKey(dukpt.DeriveIPEK(bdk, r.KSN), r.KSN)
	if err != nil {
		t.Fatalf("host derivation for KSN %v: %v", r.KSN, err)
	}
	pk, _ := dukpt.WorkingKey(tk, dukpt.PINEncryption)
	pin, err := iso9564.DecodeFormat0(dukpt.DecryptPINBlock(pk, r.Block), pan)
	if err != nil {
		t.Fatalf("decrypted block for KSN %v: %v", r.KSN, err)
	}
	return pin
}

func TestInfo(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	info, err := d.Info(context.Background())
	want := pinpad.Info{Model: sim.Model, Serial: sim.Serial, Firmware: sim.Firmware, KSN: sim.KSN()}
	if err != nil || info != want {
		t.Errorf("Info() = %+v, %v; want %+v", info, err, want)
	}
	if info.KSN.String() != padsim.TestKSN {
		t.Errorf("Info().KSN = %v; want the initial KSN %s", info.KSN, padsim.TestKSN)
	}
}

func TestDisplay(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	for _, lines := range [][2]string{
		{"Amount 12.34", "Insert card"},
		{"金额 12.34", "请输入密码"},
		{"", ""},
	} {
		if err := d.Display(context.Background(), lines[0], lines[1]); err != nil {
			t.Errorf("Display(%q, %q) = %v", lines[0], lines[1], err)
		}
		if got := sim.Screen(); got != lines {
			t.Errorf("after Display(%q, %q) the PIN pad shows %q", lines[0], lines[1], got)
		}
	}
	if err := d.Display(context.Background(), strings.Repeat("x", 65), ""); err == nil {
		t.Error("Display of a 65-byte line succeeded; want an error")
	}
	if err := d.Display(context.Background(), "bell\a", ""); err == nil {
		t.Error("Display of a control character succeeded; want an error")
	}
}

// TestGetPIN types 1234 three times: each block is the published X9.24-1 test vector
// for its KSN, decrypts host-side to format 0 of 1234, and the counter advances.
func TestGetPIN(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	for _, want := range []struct{ ksn, block string }{
		{"FFFF9876543210E00001", "1B9C1845EB993A7A"},
		{"FFFF9876543210E00002", "10A01C8D02C69107"},
		{"FFFF9876543210E00003", "18DC07B94797B466"},
	} {
		typed := make(chan error, 1)
		go func() {
			waitScreen(t, sim, "ENTER PIN")
			if got := sim.Screen()[0]; got != "AMOUNT 12.34" {
				t.Errorf("PIN pad line 1 during the entry = %q; want AMOUNT 12.34", got)
			}
			typed <- sim.Type("1234")
		}()
		r, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: accountDigits(t, testPAN), Amount: 1234, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("GetPIN = %v", err)
		}
		if err := <-typed; err != nil {
			t.Errorf("Type(1234) = %v", err)
		}
		if r.KSN.String() != want.ksn || fmt.Sprintf("%X", r.Block) != want.block {
			t.Errorf("GetPIN = KSN %v block %X; want KSN %s block %s", r.KSN, r.Block, want.ksn, want.block)
		}
		if pin := openBlock(t, r, testPAN); pin != "1234" {
			t.Errorf("block for KSN %v decrypts to a PIN of %d digits; want 1234", r.KSN, len(pin))
		}
		r.Wipe()
		if r != (pinpad.PINResult{}) {
			t.Error("PINResult.Wipe left data behind")
		}
	}
	if info, _ := d.Info(context.Background()); info.KSN.String() != "FFFF9876543210E00003" {
		t.Errorf("Info().KSN after three PINs = %v; want FFFF9876543210E00003", info.KSN)
	}
	if got := sim.Screen(); got[1] != "" || strings.Contains(got[0], "AMOUNT") {
		t.Errorf("PIN pad shows %q after the entry; want the idle screen", got)
	}
}

// TestPINLength: a short PIN is refused by the pad and the entry goes on; digits past
// Max are ignored.
func TestPINLength(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	pan := "6222021234567894"
	for _, tc := range []struct {
		name     string
		min, max int
		keys     []string
		want     string
	}{
		{"short, then the rest", 4, 6, []string{"12", "34"}, "1234"},
		{"past max", 4, 4, []string{"123456"}, "1234"},
		{"twelve digits", 12, 12, []string{"123456789012"}, "123456789012"},
	} {
		typed := make(chan error, len(tc.keys))
		go func() {
			waitScreen(t, sim, "ENTER PIN")
			for _, k := range tc.keys {
				typed <- sim.Type(k)
			}
		}()
		r, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: accountDigits(t, pan), Min: tc.min, Max: tc.max, Timeout: 5 * time.Second})
		if err != nil {
			t.Errorf("%s: GetPIN = %v", tc.name, err)
			continue
		}
		if pin := openBlock(t, r, pan); pin != tc.want {
			t.Errorf("%s: block decrypts to %d digits; want %d", tc.name, len(pin), len(tc.want))
		}
		for i := range tc.keys {
			err := <-typed
			if wantShort := i < len(tc.keys)-1; wantShort != errors.Is(err, padsim.ErrShortPIN) {
				t.Errorf("%s: Type #%d = %v; want ErrShortPIN %v", tc.name, i+1, err, wantShort)
			}
		}
	}
}

func TestCancel(t *testing.T) {
	req := pinpad.PINRequest{PANDigits: "401234567890", Amount: 500, Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name   string
		cancel func(d *pinpad.Driver, sim *padsim.Sim) error
	}{
		{"CANCEL on the PIN pad", func(_ *pinpad.Driver, sim *padsim.Sim) error { return sim.PressCancel() }},
		{"Cancel from the terminal", func(d *pinpad.Driver, _ *padsim.Sim) error { return d.Cancel(context.Background()) }},
	} {
		sim := padsim.New()
		d, _ := simPad(t, sim)
		cancelled := make(chan error, 1)
		go func() {
			waitScreen(t, sim, "ENTER PIN")
			cancelled <- tc.cancel(d, sim)
		}()
		_, err := d.GetPIN(context.Background(), req)
		if !errors.Is(err, pinpad.ErrCancelled) {
			t.Errorf("%s: GetPIN = %v; want ErrCancelled", tc.name, err)
		}
		if err := <-cancelled; err != nil {
			t.Errorf("%s: cancelling = %v", tc.name, err)
		}
		if sim.Screen()[1] != "" {
			t.Errorf("%s: PIN pad shows %q after the cancel; want the idle screen", tc.name, sim.Screen())
		}
		if got := sim.KSN().String(); got != padsim.TestKSN {
			t.Errorf("%s: KSN after a cancelled entry = %s; want it unused (%s)", tc.name, got, padsim.TestKSN)
		}
	}
}

// TestContextCancel: when the terminal gives up, the PIN pad stops prompting too.
func TestContextCancel(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitScreen(t, sim, "ENTER PIN")
		cancel()
	}()
	_, err := d.GetPIN(ctx, pinpad.PINRequest{PANDigits: "401234567890", Timeout: 5 * time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("GetPIN with a cancelled context = %v; want context.Canceled", err)
	}
	if got := sim.Screen(); got[1] != "" {
		t.Errorf("PIN pad shows %q after the terminal gave up; want the idle screen", got)
	}
	if err := sim.Type("1234"); !errors.Is(err, padsim.ErrIdle) {
		t.Errorf("Type after the entry was cancelled = %v; want ErrIdle", err)
	}
}

func TestTimeout(t *testing.T) {
	sim := padsim.New()
	sim.KeyWait = 50 * time.Millisecond
	d, _ := simPad(t, sim)
	start := time.Now()
	_, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: "401234567890", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, pinpad.ErrTimeout) {
		t.Errorf("GetPIN with nobody typing = %v; want ErrTimeout", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("GetPIN timed out after %v; want at least the 300ms asked for", el)
	}
	if err := sim.Type("1234"); !errors.Is(err, padsim.ErrIdle) {
		t.Errorf("Type after the timeout = %v; want ErrIdle", err)
	}
}

func TestBypass(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	for _, tc := range []struct {
		allow bool
		want  error
	}{
		{true, pinpad.ErrBypass},
		{false, pinpad.ErrTimeout},
	} {
		typed := make(chan error, 1)
		go func() {
			waitScreen(t, sim, "ENTER PIN")
			typed <- sim.Type("")
		}()
		_, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: "401234567890", AllowBypass: tc.allow, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, tc.want) {
			t.Errorf("ENTER alone, bypass allowed %v: GetPIN = %v; want %v", tc.allow, err, tc.want)
		}
		if err := <-typed; tc.allow != (err == nil) {
			t.Errorf("ENTER alone, bypass allowed %v: Type = %v", tc.allow, err)
		}
	}
}

// TestBusy: during a PIN entry the pad still says who it is but refuses to change its
// display or start another entry.
func TestBusy(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := d.GetPIN(ctx, pinpad.PINRequest{PANDigits: "401234567890", Timeout: 5 * time.Second})
		done <- err
	}()
	waitScreen(t, sim, "ENTER PIN")
	if _, err := d.Info(ctx); err != nil {
		t.Errorf("Info during a PIN entry = %v; want an answer", err)
	}
	if err := d.Display(ctx, "x", "y"); !errors.Is(err, pinpad.ErrBusy) {
		t.Errorf("Display during a PIN entry = %v; want ErrBusy", err)
	}
	if _, err := d.GetPIN(ctx, pinpad.PINRequest{PANDigits: "401234567890"}); !errors.Is(err, pinpad.ErrBusy) {
		t.Errorf("second GetPIN = %v; want ErrBusy", err)
	}
	if err := sim.Type("4321"); err != nil {
		t.Errorf("Type = %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("the first GetPIN = %v; want its PIN", err)
	}
}

func TestLoadInitialKey(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	bdk, _ := dukpt.ParseKey(padsim.TestBDK)
	ksn, _ := dukpt.ParseKSN("FFFF9876543210A00000")
	now, err := d.LoadInitialKey(context.Background(), dukpt.DeriveIPEK(bdk, ksn), ksn)
	if err != nil || now != ksn {
		t.Fatalf("LoadInitialKey = %v, %v; want %v", now, err, ksn)
	}
	go func() {
		waitScreen(t, sim, "ENTER PIN")
		sim.Type("2468")
	}()
	r, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: accountDigits(t, testPAN), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("GetPIN = %v", err)
	}
	if r.KSN.String() != "FFFF9876543210A00001" || openBlock(t, r, testPAN) != "2468" {
		t.Errorf("after loading a new key, GetPIN gave KSN %v and a block that does not open to the PIN typed", r.KSN)
	}

	prod := padsim.New()
	prod.Production = true
	dp, _ := simPad(t, prod)
	if _, err := dp.LoadInitialKey(context.Background(), dukpt.Key{}, ksn); !errors.Is(err, pinpad.ErrNotPermitted) {
		t.Errorf("LoadInitialKey on a production PIN pad = %v; want ErrNotPermitted", err)
	}
}

// TestDeviceGone: the PTY closes while a PIN entry waits; the driver reports it, and
// keeps reporting it rather than hanging.
func TestDeviceGone(t *testing.T) {
	sim := padsim.New()
	d, pty := simPad(t, sim)
	go func() {
		waitScreen(t, sim, "ENTER PIN")
		pty.Close()
	}()
	start := time.Now()
	_, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: "401234567890", Timeout: 30 * time.Second})
	if !errors.Is(err, pinpad.ErrDeviceGone) {
		t.Errorf("GetPIN when the PIN pad vanished = %v; want ErrDeviceGone", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("GetPIN took %v to notice the PIN pad had gone", el)
	}
	if _, err := d.Info(context.Background()); !errors.Is(err, pinpad.ErrDeviceGone) {
		t.Errorf("Info after the PIN pad vanished = %v; want ErrDeviceGone", err)
	}
	d.Close()
	if _, err := d.Info(context.Background()); !errors.Is(err, pinpad.ErrClosed) {
		t.Errorf("Info after Close = %v; want ErrClosed", err)
	}
}

func TestRequestRefused(t *testing.T) {
	sim := padsim.New()
	d, _ := simPad(t, sim)
	for _, tc := range []struct {
		name string
		req  pinpad.PINRequest
	}{
		{"full PAN", pinpad.PINRequest{PANDigits: testPAN}},
		{"no PAN", pinpad.PINRequest{}},
		{"letters", pinpad.PINRequest{PANDigits: "40123456789A"}},
		{"negative amount", pinpad.PINRequest{PANDigits: "401234567890", Amount: -1}},
		{"amount over 12 digits", pinpad.PINRequest{PANDigits: "401234567890", Amount: 1e12}},
		{"min above max", pinpad.PINRequest{PANDigits: "401234567890", Min: 6, Max: 5}},
		{"max above 12", pinpad.PINRequest{PANDigits: "401234567890", Max: 13}},
		{"min below 4", pinpad.PINRequest{PANDigits: "401234567890", Min: 3}},
		{"timeout too long", pinpad.PINRequest{PANDigits: "401234567890", Timeout: 2 * time.Hour}},
	} {
		_, err := d.GetPIN(context.Background(), tc.req)
		if err == nil {
			t.Errorf("%s: GetPIN succeeded; want an error", tc.name)
			continue
		}
		if strings.Contains(err.Error(), "40123456789") {
			t.Errorf("%s: error %q quotes the PAN", tc.name, err)
		}
	}
	if s := sim.Screen(); s[1] != "" {
		t.Errorf("a refused request reached the PIN pad: it shows %q", s)
	}
}

func TestAccountDigits(t *testing.T) {
	for _, tc := range []struct{ pan, want string }{
		{"4012345678909", "401234567890"},
		{"6222021234567894", "202123456789"},
		{"6222021234567890123", "123456789012"},
		{"12345674", "000001234567"},
	} {
		if got, err := pinpad.AccountDigits(tc.pan); err != nil || got != tc.want {
			t.Errorf("AccountDigits(%q) = %q, %v; want %q", tc.pan, got, err, tc.want)
		}
	}
	for _, pan := range []string{"", "1234567", "40123456789012345678", "401234567890A"} {
		got, err := pinpad.AccountDigits(pan)
		if err == nil {
			t.Errorf("AccountDigits(%q) = %q; want an error", pan, got)
		} else if pan != "" && strings.Contains(err.Error(), pan) {
			t.Errorf("AccountDigits error %q quotes the PAN", err)
		}
	}
}

// TestNothingLeaks: a full PIN entry leaves neither PIN, PAN digits nor block in the
// simulator's log, and a PINResult prints without its block.
func TestNothingLeaks(t *testing.T) {
	sim := padsim.New()
	var mu sync.Mutex
	var log strings.Builder
	sim.Logf = func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(&log, format+"\n", args...)
		mu.Unlock()
	}
	d, _ := simPad(t, sim)
	go func() {
		waitScreen(t, sim, "ENTER PIN")
		sim.Type("9753")
	}()
	r, err := d.GetPIN(context.Background(), pinpad.PINRequest{PANDigits: "401234567890", Amount: 100, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("GetPIN = %v", err)
	}
	block := hex.EncodeToString(r.Block[:])
	mu.Lock()
	got := log.String()
	mu.Unlock()
	if !strings.Contains(got, "get PIN response") {
		t.Fatalf("simulator log has no get PIN answer; the test would prove nothing:\n%s", got)
	}
	for _, secret := range []string{"9753", "401234567890", block, strings.ToUpper(block)} {
		if strings.Contains(got, secret) {
			t.Errorf("simulator log contains a secret:\n%s", got)
		}
	}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r)} {
		if strings.Contains(strings.ToLower(s), block) {
			t.Errorf("PINResult prints as %q; shows the block", s)
		}
	}
}

// TestSimBadLRC talks to the simulator as a raw host: a request with a bad LRC is
// NAKed and its resend answered, after line noise too.
func TestSimBadLRC(t *testing.T) {
	sim := padsim.New()
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	go sim.Serve(pty)
	port, err := serialport.Open(pty.Path(), serialport.Config{Baud: 115200, ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	w := &wire{t: t, port: port}

	w.send("02 00 02 10 01 03 11") // info, LRC off by one
	w.expect(frame.Nak)
	w.send("ff 00 0d 0a 02 00 02 10 01 03 10") // noise, then the resend
	w.expect(frame.Ack)
	ev := w.expect(frame.Frame)
	m, err := frame.ParseMessage(ev.Payload)
	if err != nil || m.Command != frame.CmdInfo || !m.Response || m.Seq != 1 || m.Status != frame.StatusOK {
		t.Errorf("simulator answered %v, %v; want an info response #1", m, err)
	}
	w.send("06")

	// An unknown command is answered, byte for byte: 02 00 03 FF 02 06 03 LRC.
	w.send("02 00 02 7f 02 03 7c")
	w.expect(frame.Ack)
	if ev := w.expect(frame.Frame); fmt.Sprintf("% x", ev.Payload) != "ff 02 06" {
		t.Errorf("answer to an unknown command = % x; want ff 02 06", ev.Payload)
	}
	w.send("06")
}

// wire is a raw host: frames go out as hex, events come back decoded.
type wire struct {
	t    *testing.T
	port serialport.Port
	dec  frame.Decoder
	evs  []frame.Event
}

func (w *wire) send(h string) {
	w.t.Helper()
	b := testkit.Unhex(w.t, h)
	if _, err := w.port.Write(b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wire) expect(k frame.Kind) frame.Event {
	w.t.Helper()
	buf := make([]byte, 64)
	for len(w.evs) == 0 {
		n, err := w.port.Read(buf)
		if err != nil {
			w.t.Fatalf("waiting for %v: %v", k, err)
		}
		for _, c := range buf[:n] {
			if ev, ok := w.dec.Step(c); ok {
				w.evs = append(w.evs, ev)
			}
		}
	}
	ev := w.evs[0]
	w.evs = w.evs[1:]
	if ev.Kind != k {
		w.t.Fatalf("got %v (%v); want %v", ev.Kind, ev.Err, k)
	}
	return ev
}

// TestReplug pulls the PIN pad's cable between two calls and plugs it back in: the
// call after the replug works without anyone reopening the driver, and a call while
// it is out says the pad is gone.
func TestReplug(t *testing.T) {
	sim := padsim.New()
	h := serialport.NewHotplug(t.TempDir() + "/pinpad")
	plug := func() {
		t.Helper()
		p, err := h.Plug()
		if err != nil {
			t.Fatal(err)
		}
		go sim.Serve(p)
	}
	plug()
	d := pinpad.New(serialport.PathOpener(h.Path(), serialport.Config{Baud: 115200}), pinpad.Config{})
	t.Cleanup(func() { d.Close(); h.Unplug() })
	ctx := context.Background()
	if _, err := d.Info(ctx); err != nil {
		t.Fatalf("Info before the unplug: %v", err)
	}
	h.Unplug()
	if _, err := d.Info(ctx); !errors.Is(err, pinpad.ErrDeviceGone) {
		t.Errorf("Info while unplugged = %v; want ErrDeviceGone", err)
	}
	for i := range 2 { // twice: the driver survives more than one replug
		plug()
		if info, err := d.Info(ctx); err != nil || info.Serial != sim.Serial {
			t.Errorf("Info after replug %d = %+v, %v; want the pad's info", i+1, info, err)
		}
		// Unplugged and back between two calls: the next call finds the old line dead
		// and goes on a fresh one without failing.
		h.Unplug()
		plug()
		if err := d.Display(ctx, "after", "replug"); err != nil {
			t.Errorf("Display on a replugged pad = %v", err)
		}
		h.Unplug()
	}
}
