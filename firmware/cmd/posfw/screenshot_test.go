package main

import (
	"context"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/qrcode/qrtest"
	"posfw/firmware/config"
	"posfw/firmware/sim"
	"posfw/ui"
)

// TestSimctlScreenshot: `posfw simctl screenshot FILE.png` writes what the customer
// sees; a QR code on the screen is read back from the file by a real QR reader.
func TestSimctlScreenshot(t *testing.T) {
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

	// Before any frame: a blank picture of the 24×10 grid.
	file := filepath.Join(dir, "blank.png")
	mustSimctl(t, sock, "screenshot", file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(f)
	f.Close()
	if err != nil || cfg.Width != 24*8*3 || cfg.Height != 10*16*3 {
		t.Errorf("screenshot %v, %v; want a 576×480 PNG", cfg, err)
	}

	const code = "00020101021226330010A00000033301158983101481605685204581253031565406128.505802CN5915POSFW TEST SHOP6008SHANGHAI62300114202612050001230708123456786304ABCD"
	if err := term.App.UI().ShowQR(code, "Scan to pay", "128.50"); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, "qr.png")
	mustSimctl(t, sock, "screenshot", file)
	bin := lookZbar(t)
	if got := qrtest.DecodeFile(t, bin, file); len(got) != 1 || got[0] != code {
		t.Errorf("zbarimg read %q from simctl's screenshot; want the code on screen", got)
	}
	if out := mustSimctl(t, sock, "screen"); !strings.Contains(out, "Scan to pay") {
		t.Errorf("simctl screen = %q; want the caption", out)
	}

	for _, args := range [][]string{{"screenshot"}, {"screenshot", "a.jpg"}, {"screenshot", "a.png", "b.png"}} {
		if code, out := simctl(t, sock, args...); code != 2 || !strings.Contains(out, "FILE.png") {
			t.Errorf("simctl %v = exit %d, %q; want a usage error", args, code, out)
		}
	}
	if code, out := simctl(t, sock, "screenshot", filepath.Join(dir, "no", "such", "dir.png")); code != 1 || !strings.Contains(out, "no such file") {
		t.Errorf("simctl screenshot into a missing directory = exit %d, %q; want exit 1 and the reason", code, out)
	}
}

// lookZbar is zbarimg's path, or the test's skip (fail under CI) without it.
func lookZbar(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zbarimg is not installed (scripts/deps installs zbar-tools)")
		}
		t.Skip("zbarimg not installed: apt-get install zbar-tools")
	}
	return bin
}

// TestEscposRenderQR: `posfw escpos render FILE --png OUT` draws a slip whose QR code
// a real QR reader reads off the picture, as a phone would off a photo of the slip.
func TestEscposRenderQR(t *testing.T) {
	dir := t.TempDir()
	const order = "QR-20261205-000123"
	var b escpos.Builder
	b.Init().Align(escpos.Center).Line("退款请扫码 REFUND").QR(order, 4, escpos.ECM).Line(order).Cut()
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "slip.bin"), filepath.Join(dir, "slip.png")
	if err := os.WriteFile(in, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := posfwCmd("escpos", "render", in, "--png", out).CombinedOutput(); err != nil {
		t.Fatalf("posfw escpos render --png: %v: %s", err, msg)
	}
	if got := qrtest.DecodeFile(t, lookZbar(t), out); len(got) != 1 || got[0] != order {
		t.Errorf("zbarimg read %q off the slip's picture; want [%s]", got, order)
	}
}
