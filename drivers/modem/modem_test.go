package modem

import (
	"context"
	"errors"
	"testing"
	"time"

	"posfw/drivers/modem/modemsim"
	"posfw/drivers/serialport"
)

// simModem starts the simulator on a real PTY behind a replugging device path and opens
// it as the firmware does.
func simModem(t *testing.T, o Options) (*Modem, *modemsim.Sim, *serialport.Hotplug) {
	t.Helper()
	sim := modemsim.New()
	h := serialport.NewHotplug(t.TempDir() + "/modem")
	plugModem(t, h, sim)
	m, err := New(serialport.PathOpener(h.Path(), serialport.Config{Baud: 115200}), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); h.Unplug() })
	m.timeout = 2 * time.Second
	return m, sim, h
}

func plugModem(t *testing.T, h *serialport.Hotplug, sim *modemsim.Sim) {
	t.Helper()
	p, err := h.Plug()
	if err != nil {
		t.Fatal(err)
	}
	go sim.Serve(p)
}

func TestModemOverPTY(t *testing.T) {
	ctx := context.Background()
	m, sim, _ := simModem(t, Options{APN: "cmnet"})
	if err := m.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if st, err := m.SIMState(ctx); err != nil || st != "READY" {
		t.Errorf("SIMState = %q, %v; want READY", st, err)
	}
	sig, err := m.Signal(ctx)
	if err != nil || sig.RSSI != 24 || sig.Bars() != 4 {
		t.Errorf("Signal = %+v (%d bars), %v; want RSSI 24, 4 bars", sig, sig.Bars(), err)
	}
	if r, err := m.Registration(ctx); err != nil || r != Home {
		t.Errorf("Registration = %v, %v; want registered (home)", r, err)
	}
	if op, err := m.Operator(ctx); err != nil || op != "CHINA MOBILE" {
		t.Errorf("Operator = %q, %v; want CHINA MOBILE", op, err)
	}
	if imei, err := m.IMEI(ctx); err != nil || imei != sim.IMEI {
		t.Errorf("IMEI = %q, %v; want %s", imei, err, sim.IMEI)
	}
	if lines, err := m.Command(ctx, "+CGDCONT?"); err != nil || len(lines) != 1 || lines[0] != `+CGDCONT: 1,"IP","cmnet","0.0.0.0",0,0` {
		t.Errorf("AT+CGDCONT? = %q, %v; want the APN set up at connect", lines, err)
	}

	sim.SetNoSignal(true)
	if sig, _ := m.Signal(ctx); sig.Bars() != 0 {
		t.Errorf("Signal with no network = %d bars; want 0", sig.Bars())
	}
	if r, _ := m.Registration(ctx); r.Registered() {
		t.Errorf("Registration with no network = %v; want not registered", r)
	}

	var ce *CommandError
	if _, err := m.Command(ctx, "+BOGUS"); !errors.As(err, &ce) || ce.Result != "+CME ERROR: 58" {
		t.Errorf("AT+BOGUS = %v; want +CME ERROR: 58", err)
	}
}

// TestEchoSkipped: before ATE0 the modem echoes commands (the set-up's own ATE0 is
// echoed); no answer may include the echo.
func TestEchoSkipped(t *testing.T) {
	m, _, _ := simModem(t, Options{})
	lines, err := m.Command(context.Background(), "+CSQ")
	if err != nil || len(lines) != 1 || lines[0] != "+CSQ: 24,99" {
		t.Errorf("AT+CSQ with echo on = %q, %v; want [+CSQ: 24,99]", lines, err)
	}
}

// TestModemReplug unplugs the modem: commands fail while it is out, and the first
// command after it is plugged back in works, on a modem set up again (echo off, APN).
func TestModemReplug(t *testing.T) {
	ctx := context.Background()
	m, sim, h := simModem(t, Options{APN: "cmnet"})
	if _, err := m.Signal(ctx); err != nil {
		t.Fatalf("Signal before the unplug: %v", err)
	}
	h.Unplug()
	if _, err := m.Signal(ctx); err == nil {
		t.Error("Signal after the modem vanished succeeded; want an error")
	}
	if _, err := m.Signal(ctx); err == nil {
		t.Error("Signal while the modem is out succeeded; want an error")
	}
	fresh := modemsim.New() // a modem that was power-cycled: echo on, no APN
	fresh.IMEI = sim.IMEI
	plugModem(t, h, fresh)
	if sig, err := m.Signal(ctx); err != nil || sig.RSSI != 24 {
		t.Errorf("Signal after the replug = %+v, %v; want RSSI 24", sig, err)
	}
	if lines, err := m.Command(ctx, "+CGDCONT?"); err != nil || len(lines) != 1 || lines[0] != `+CGDCONT: 1,"IP","cmnet","0.0.0.0",0,0` {
		t.Errorf("AT+CGDCONT? after the replug = %q, %v; want the APN set up again", lines, err)
	}
}

func TestRefusedAPN(t *testing.T) {
	if _, err := New(nil, Options{APN: "cm\"net"}); err == nil {
		t.Error(`New with APN cm"net succeeded; want it refused`)
	}
}

func TestNoAnswer(t *testing.T) {
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	go func() { // a modem that hears but never answers
		b := make([]byte, 64)
		for {
			if _, err := pty.Read(b); err != nil {
				return
			}
		}
	}()
	m, err := New(serialport.PathOpener(pty.Path(), serialport.Config{Baud: 115200}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.timeout = 200 * time.Millisecond
	if _, err := m.Command(context.Background(), ""); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("AT to a silent modem = %v; want ErrNoAnswer", err)
	}
}

func TestParseCSQ(t *testing.T) {
	for _, tc := range []struct {
		in      string
		bars    int
		wantErr bool
	}{
		{"31,0", 4, false}, {"20,99", 4, false}, {"19,99", 3, false}, {"15,99", 3, false},
		{"14,99", 2, false}, {"10,99", 2, false}, {"9,99", 1, false}, {"2,99", 1, false},
		{"1,99", 0, false}, {"99,99", 0, false},
		{"32,99", 0, true}, {"-1,0", 0, true}, {"5", 0, true}, {"a,b", 0, true}, {"5,8", 0, true},
	} {
		s, err := ParseCSQ(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && s.Bars() != tc.bars) {
			t.Errorf("ParseCSQ(%q) = %+v (%d bars), %v; want %d bars, error %v", tc.in, s, s.Bars(), err, tc.bars, tc.wantErr)
		}
	}
}

func TestParseRegistration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Registration
		wantErr bool
	}{
		{"0,1", Home, false}, {"2,5,\"1A2B\",\"01C3\",7", Roaming, false}, {"0,2", Searching, false},
		{"0", 0, true}, {"0,x", 0, true}, {"0,11", 0, true},
	} {
		got, err := ParseRegistration(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseRegistration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParseCSQ(f *testing.F) {
	for _, s := range []string{"24,99", "99,99", "", ",", "1,2,3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseCSQ(s)
		if err == nil && (sig.Bars() < 0 || sig.Bars() > 4) {
			t.Errorf("ParseCSQ(%q) bars = %d; want 0..4", s, sig.Bars())
		}
	})
}

func FuzzParseRegistration(f *testing.F) {
	for _, s := range []string{"0,1", "2,5,\"1A\"", "", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRegistration(s); err == nil && (r < 0 || r > 10) {
			t.Errorf("ParseRegistration(%q) = %d; want 0..10", s, r)
		}
	})
}

// TestDataSession brings the data session up, re-attaches (which drops it), and resets
// the modem's function: after the reset the driver sets the modem up again by itself
// (the APN is back), and a stuck modem is cured only by a recovery hard enough.
func TestDataSession(t *testing.T) {
	ctx := context.Background()
	m, sim, _ := simModem(t, Options{APN: "cmnet"})
	if on, err := m.DataActive(ctx); err != nil || on {
		t.Fatalf("DataActive before Activate = %v, %v; want false", on, err)
	}
	if err := m.Activate(ctx); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if on, err := m.DataActive(ctx); err != nil || !on {
		t.Errorf("DataActive after Activate = %v, %v; want true", on, err)
	}
	sim.SetStuck(modemsim.ByFunctionReset)
	if r, _ := m.Registration(ctx); r.Registered() {
		t.Errorf("stuck modem registered as %v; want searching", r)
	}
	if err := m.Reattach(ctx); err != nil {
		t.Fatalf("Reattach: %v", err)
	}
	if r, _ := m.Registration(ctx); r.Registered() {
		t.Errorf("a re-attach cured a modem stuck until a function reset: %v", r)
	}
	if on, _ := m.DataActive(ctx); on {
		t.Error("data session still active after a detach")
	}
	if err := m.FunctionReset(ctx); err != nil {
		t.Fatalf("FunctionReset: %v", err)
	}
	if r, err := m.Registration(ctx); err != nil || !r.Registered() {
		t.Errorf("Registration after the function reset = %v, %v; want registered", r, err)
	}
	if lines, err := m.Command(ctx, "+CGDCONT?"); err != nil || len(lines) != 1 || lines[0] != `+CGDCONT: 1,"IP","cmnet","0.0.0.0",0,0` {
		t.Errorf("AT+CGDCONT? after the function reset = %q, %v; want the APN set up again", lines, err)
	}
	if got := sim.Recovered(modemsim.ByFunctionReset); got != 1 {
		t.Errorf("function resets seen by the modem = %d; want 1", got)
	}
}

func FuzzParseCGACT(f *testing.F) {
	for _, s := range []string{"1,1", "1,0", "2,1", "", "1", "0,1", "1,2", "256,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cid, _, err := ParseCGACT(s); err == nil && (cid < 1 || cid > 255) {
			t.Errorf("ParseCGACT(%q) cid = %d; want 1..255", s, cid)
		}
	})
}
