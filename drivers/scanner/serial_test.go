package scanner_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/scanner"
	"posfw/drivers/scanner/scannersim"
	"posfw/drivers/serialport"
)

// rig is a simulated scanner on a real PTY behind a replugging link, and a
// Serial driver that opens the link through serialport as the firmware does.
type rig struct {
	t   *testing.T
	sim *scannersim.Sim
	h   *serialport.Hotplug
	s   *scanner.Serial
}

func newRig(t *testing.T, sim *scannersim.Sim, trig scanner.Trigger) *rig {
	t.Helper()
	g := &rig{t: t, sim: sim, h: serialport.NewHotplug(filepath.Join(t.TempDir(), "scanner"))}
	g.plug()
	g.s = scanner.New(serialport.PathOpener(g.h.Path(), serialport.Config{Baud: 9600}), scanner.Options{Trigger: trig})
	t.Cleanup(func() {
		g.s.Close()
		g.h.Unplug()
	})
	return g
}

func (g *rig) plug() {
	g.t.Helper()
	p, err := g.h.Plug()
	if err != nil {
		g.t.Fatal(err)
	}
	go g.sim.Serve(p)
}

type result struct {
	code string
	err  error
}

// read starts a Read and returns where its result will come.
func (g *rig) read(ctx context.Context) <-chan result {
	ch := make(chan result, 1)
	go func() {
		code, err := g.s.Read(ctx)
		ch <- result{code, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return in 5 s")
		return result{}
	}
}

func TestReadTriggered(t *testing.T) {
	for _, trig := range []scanner.Trigger{scanner.TriggerHoneywell, scanner.TriggerNewland} {
		t.Run(string(trig), func(t *testing.T) {
			g := newRig(t, scannersim.New(), trig)
			ctx := context.Background()
			for _, code := range []string{"134567890123456789", "6212345678901234567", "https://qr.example.com/p?o=1&a=2"} {
				ch := g.read(ctx)
				if err := g.sim.Show(ctx, code, 2*time.Second); err != nil {
					t.Fatalf("Show(%q): %v", code, err)
				}
				if r := wait(t, ch); r.err != nil || r.code != code {
					t.Errorf("Read = %q, %v; want %q", r.code, r.err, code)
				}
			}
			// The scanner stops after a good read: with no Read, nothing triggers it.
			if err := g.sim.Show(ctx, "999", 200*time.Millisecond); !errors.Is(err, scannersim.ErrNotTriggered) {
				t.Errorf("Show with no Read pending = %v; want %v", err, scannersim.ErrNotTriggered)
			}
		})
	}
}

// TestCancelStopsScanner: a Read that ends unanswered turns the scanner off.
func TestCancelStopsScanner(t *testing.T) {
	g := newRig(t, scannersim.New(), scanner.TriggerHoneywell)
	ctx, cancel := context.WithCancel(context.Background())
	ch := g.read(ctx)
	deadline := time.Now().Add(2 * time.Second)
	for !g.sim.Triggered() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !g.sim.Triggered() {
		t.Fatal("Read did not trigger the scanner")
	}
	cancel()
	if r := wait(t, ch); !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled Read = %q, %v; want %v", r.code, r.err, context.Canceled)
	}
	for g.sim.Triggered() && time.Now().Before(deadline.Add(time.Second)) {
		time.Sleep(5 * time.Millisecond)
	}
	if g.sim.Triggered() {
		t.Error("scanner still triggered after the Read was cancelled")
	}
}

// TestStaleCodeDropped: a code shown before the terminal asked is not returned.
func TestStaleCodeDropped(t *testing.T) {
	g := newRig(t, scannersim.NewPresentation(), scanner.TriggerNone)
	ctx := context.Background()
	if err := g.s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.sim.Show(ctx, "OLD-CODE", time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let it reach the port's buffer
	ch := g.read(ctx)
	time.Sleep(100 * time.Millisecond) // let Read flush
	if err := g.sim.Show(ctx, "NEW-CODE", time.Second); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ch); r.err != nil || r.code != "NEW-CODE" {
		t.Errorf("Read = %q, %v; want NEW-CODE (OLD-CODE was shown before Read)", r.code, r.err)
	}
}

func TestBadLines(t *testing.T) {
	for _, tt := range []struct {
		name, line, reason string
	}{
		{"control character", "1345\a67890\r\n", "control character U+0007 at byte 4"},
		{"no suffix", "134567890", "no CR/LF after the code: set the scanner's suffix to CR LF"},
		{"not UTF-8", "13\xfe45\r\n", "byte 2 (0xFE) is not UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t, scannersim.NewPresentation(), scanner.TriggerNone)
			ctx := context.Background()
			ch := g.read(ctx)
			time.Sleep(100 * time.Millisecond)
			if err := g.sim.ShowRaw(ctx, []byte(tt.line), time.Second); err != nil {
				t.Fatal(err)
			}
			r := wait(t, ch)
			var ce *scanner.CodeError
			if !errors.As(r.err, &ce) || ce.Reason != tt.reason {
				t.Fatalf("Read = %q, %v; want *CodeError %q", r.code, r.err, tt.reason)
			}
			if strings.Contains(r.err.Error(), "34567") {
				t.Errorf("error %q holds the code", r.err)
			}
			// The next code reads.
			ch = g.read(ctx)
			time.Sleep(100 * time.Millisecond)
			if err := g.sim.Show(ctx, "GOOD", time.Second); err != nil {
				t.Fatal(err)
			}
			if r := wait(t, ch); r.err != nil || r.code != "GOOD" {
				t.Errorf("Read after a bad line = %q, %v; want GOOD", r.code, r.err)
			}
		})
	}
}

// TestUnplugReplug: the scanner's USB cable pulled and plugged back in: the
// pending Read reports ErrDeviceGone, later Reads find the device again on
// its path by themselves.
func TestUnplugReplug(t *testing.T) {
	g := newRig(t, scannersim.New(), scanner.TriggerHoneywell)
	ctx := context.Background()
	ch := g.read(ctx)
	time.Sleep(100 * time.Millisecond)
	if err := g.h.Unplug(); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ch); !errors.Is(r.err, scanner.ErrDeviceGone) {
		t.Fatalf("Read while unplugged = %q, %v; want %v", r.code, r.err, scanner.ErrDeviceGone)
	}
	if _, err := g.s.Read(ctx); !errors.Is(err, scanner.ErrDeviceGone) {
		t.Errorf("Read with the device away = %v; want %v", err, scanner.ErrDeviceGone)
	}
	g.plug()
	var got result
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		ch := g.read(ctx)
		err := g.sim.Show(ctx, "AFTER-REPLUG", time.Second)
		got = wait(t, ch)
		if err == nil && got.err == nil {
			break
		}
	}
	if got.err != nil || got.code != "AFTER-REPLUG" {
		t.Errorf("Read after replug = %q, %v; want AFTER-REPLUG", got.code, got.err)
	}
	if s := g.s.String(); s != "scanner on "+g.h.Path() {
		t.Errorf("String() = %q; want %q", s, "scanner on "+g.h.Path())
	}
}

func TestClose(t *testing.T) {
	g := newRig(t, scannersim.New(), scanner.TriggerHoneywell)
	ch := g.read(context.Background())
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := g.s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if r := wait(t, ch); !errors.Is(r.err, scanner.ErrClosed) {
		t.Errorf("pending Read after Close = %q, %v; want %v", r.code, r.err, scanner.ErrClosed)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v to end the Read; want well under a second", d)
	}
	if _, err := g.s.Read(context.Background()); !errors.Is(err, scanner.ErrClosed) {
		t.Errorf("Read after Close = %v; want %v", err, scanner.ErrClosed)
	}
}
