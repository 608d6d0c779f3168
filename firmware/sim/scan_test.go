package sim_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/scanner"
	"posfw/firmware/config"
	"posfw/firmware/control"
	"posfw/firmware/sim"
	"posfw/ui"
)

// TestScan: `simctl scan CODE` goes through the control socket to the simulated
// scanner, over its PTY to the firmware's own scanner driver; a scan nobody asked for
// is refused with the reason; the scanner's USB cable pulled and plugged back in, the
// driver finds it again by itself.
func TestScan(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sim.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	term, err := sim.Start(ctx, sim.Options{DataDir: filepath.Join(dir, "var"), Control: sock,
		Config: config.Sim(), Lang: ui.English, Version: "test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	if _, ok := term.Opened.Scanner.(*scanner.Serial); !ok {
		t.Fatalf("the sim board's scanner is %T (%v); want the serial driver", term.Opened.Scanner, term.Opened.Scanner)
	}
	scan := func(code string) control.Response {
		t.Helper()
		resp, err := control.Call(sock, control.Request{Verb: "scan", Args: []string{code}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	type result struct {
		code string
		err  error
	}
	read := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			code, err := term.Opened.Scanner.Read(rctx)
			ch <- result{code, err}
		}()
		return ch
	}

	if resp := scan("134567890123456789"); resp.OK || !strings.Contains(resp.Error, "not asking for a code") {
		t.Errorf("scan with no Read pending = %+v; want refused: not asking for a code", resp)
	}
	for _, code := range []string{"134567890123456789", "00020101021226", "https://qr.example.com/pay?order=1 2"} {
		ch := read()
		if resp := scan(code); !resp.OK {
			t.Fatalf("scan %q = %+v", code, resp)
		}
		if r := <-ch; r.err != nil || r.code != code {
			t.Errorf("firmware read %q, %v; want %q", r.code, r.err, code)
		}
	}
	if resp, _ := control.Call(sock, control.Request{Verb: "scan"}); resp.OK || !strings.Contains(resp.Error, "one CODE") {
		t.Errorf("scan without a code = %+v; want refused", resp)
	}

	ch := read()
	if err := term.Fault("scanner=unplugged"); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; !errors.Is(r.err, scanner.ErrDeviceGone) {
		t.Errorf("Read while the scanner is unplugged = %q, %v; want %v", r.code, r.err, scanner.ErrDeviceGone)
	}
	if resp := scan("x"); resp.OK || !strings.Contains(resp.Error, "unplugged") {
		t.Errorf("scan while unplugged = %+v; want refused: unplugged", resp)
	}
	if err := term.Fault("scanner=ok"); err != nil {
		t.Fatal(err)
	}
	var got result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		ch := read()
		resp := scan("AFTER-REPLUG")
		if got = <-ch; resp.OK && got.err == nil {
			break
		}
	}
	if got.err != nil || got.code != "AFTER-REPLUG" {
		t.Errorf("after replug the firmware read %q, %v; want AFTER-REPLUG", got.code, got.err)
	}
}
