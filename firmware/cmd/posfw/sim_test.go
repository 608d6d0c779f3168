package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/firmware/journal"
)

// posfwCmd runs this test binary as the posfw command.
func posfwCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "POSFW_BE_MAIN=1")
	return cmd
}

// simctl runs `posfw simctl --control sock args...` and returns exit code and stdout.
func simctl(t *testing.T, sock string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := posfwCmd(append([]string{"simctl", "--control", sock}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("simctl %v: %v", args, err)
	}
	return code, out.String() + errb.String()
}

func mustSimctl(t *testing.T, sock string, args ...string) string {
	t.Helper()
	code, out := simctl(t, sock, args...)
	if code != 0 {
		t.Fatalf("simctl %s: exit %d: %s", strings.Join(args, " "), code, out)
	}
	return out
}

// TestSimEndToEnd starts `posfw sim --headless`, drives it only through `posfw simctl`,
// and stops it with SIGTERM, as a script or a developer would.
func TestSimEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	sock := filepath.Join(dir, "sim.sock")
	var stderr bytes.Buffer
	sim := posfwCmd("sim", "--headless", "--lang", "en", "--data", data, "--control", sock)
	sim.Stderr = &stderr
	start := time.Now()
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sim.Wait() }()
	defer func() {
		sim.Process.Kill()
	}()

	// Wait until the control socket answers with the sign-in screen.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if code, out := simctl(t, sock, "screen"); code == 0 && strings.Contains(out, "Operator") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle screen within 10 s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("start to sign-in screen: %v (including process start)", time.Since(start).Round(time.Millisecond))

	// Sign in as cashier 01; a wrong password first.
	mustSimctl(t, sock, "key", "0", "1", "ENTER", "9", "9", "9", "9", "ENTER")
	mustSimctl(t, sock, "wait", "Wrong password (4 left)", "--timeout", "5")
	mustSimctl(t, sock, "key", "ENTER")
	mustSimctl(t, sock, "wait", "Operator", "--timeout", "5")
	mustSimctl(t, sock, "key", "0", "1", "ENTER", "0", "0", "0", "0", "ENTER")
	mustSimctl(t, sock, "wait", "SIM00001", "--timeout", "5")
	screen := mustSimctl(t, sock, "screen")
	// The embedded configuration's terminal is in Beijing, whatever the machine's zone.
	beijing, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 Sale", "2 Void", "3 Refund", "6 Settlement", "8 Manage", time.Now().In(beijing).Format("2006-01-02")} {
		if !strings.Contains(screen, want) {
			t.Errorf("idle screen:\n%s\nwant %q", screen, want)
		}
	}
	mustSimctl(t, sock, "wait", "4G ||||", "--timeout", "5")

	// Keys change the screen: Manage, then Terminal info.
	mustSimctl(t, sock, "key", "8")
	mustSimctl(t, sock, "wait", "Terminal info", "--timeout", "5")
	if out := mustSimctl(t, sock, "select", "info"); !strings.Contains(out, "3 Terminal info") {
		t.Errorf("select info pressed %q; want 3 Terminal info", out)
	}
	mustSimctl(t, sock, "wait", "SQLite 3.", "--timeout", "5")
	if out := mustSimctl(t, sock, "screen"); !strings.Contains(out, "TID SIM00001") || !strings.Contains(out, "Batch 000001") {
		t.Errorf("terminal info screen:\n%s\nwant TID and batch", out)
	}
	mustSimctl(t, sock, "key", "CANCEL", "CANCEL")
	mustSimctl(t, sock, "wait", "1 Sale", "--timeout", "5")

	// CANCEL backs out of a sale before anything happened.
	mustSimctl(t, sock, "select", "Sale")
	mustSimctl(t, sock, "wait", "Amount", "--timeout", "5")
	mustSimctl(t, sock, "key", "CANCEL")
	mustSimctl(t, sock, "wait", "8 Manage", "--timeout", "5")

	// State, and a modem fault reaching the idle screen through the AT link.
	var st struct {
		Batch  int `json:"batch"`
		Signal int `json:"signal"`
	}
	if err := json.Unmarshal([]byte(mustSimctl(t, sock, "state")), &st); err != nil || st.Batch != 1 || st.Signal != 4 {
		t.Errorf("state = %+v, %v; want batch 1, signal 4", st, err)
	}
	mustSimctl(t, sock, "fault", "modem=no-signal")
	mustSimctl(t, sock, "wait", "4G ....", "--timeout", "10")
	mustSimctl(t, sock, "fault", "modem=ok")
	mustSimctl(t, sock, "wait", "4G ||||", "--timeout", "10")

	// Bad requests: clear errors, non-zero exits.
	if code, out := simctl(t, sock, "wait", "no such text", "--timeout", "0.3"); code != 1 || !strings.Contains(out, "timed out") {
		t.Errorf("wait for absent text: exit %d, %q; want exit 1 and 'timed out'", code, out)
	}
	if code, out := simctl(t, sock, "key", "ESC"); code != 1 || !strings.Contains(out, `unknown key "ESC"`) {
		t.Errorf("key ESC: exit %d, %q; want exit 1 and unknown key", code, out)
	}
	if code, out := simctl(t, sock, "select", "Teleport"); code != 1 || !strings.Contains(out, "no menu item") {
		t.Errorf("select Teleport: exit %d, %q; want exit 1 and no menu item", code, out)
	}
	if code, out := simctl(t, sock, "fault", "printer=on-fire"); code != 1 || !strings.Contains(out, "not available") {
		t.Errorf("fault printer=on-fire: exit %d, %q; want exit 1", code, out)
	}

	// Clean shutdown: exit 0, socket removed, journal closed and sound.
	sim.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("sim exited with %v after SIGTERM; want exit 0. stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop within 10 s of SIGTERM")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("control socket still exists after shutdown (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(data, "journal.db-wal")); !os.IsNotExist(err) {
		t.Errorf("journal WAL left behind: the journal was not closed (%v)", err)
	}
	j, err := journal.Open(filepath.Join(data, "journal.db"))
	if err != nil {
		t.Fatalf("journal after shutdown: %v", err)
	}
	j.Close()
	logb, _ := os.ReadFile(filepath.Join(data, "log", "posfw.log"))
	for _, want := range []string{"terminal started", "modem ready", "terminal stopped"} {
		if !bytes.Contains(logb, []byte(want)) {
			t.Errorf("log lacks %q:\n%s", want, logb)
		}
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr mentions a panic:\n%s", stderr.String())
	}
}
