package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/firmware/update"
	"posfw/ui"
)

// TestTechnicianMenu: a field technician at the terminal (Manage → Technician, the
// technician's password) sees the slots and versions, finds the bundles on a USB stick —
// a release for this board listed to install, one for another board listed as refused —
// installs the release, and the terminal stops to restart into it on trial. The actions
// are in the journal's hash chain.
// techSim is a simulated terminal installed in an install root with posfw 1.0.0 in
// slot a, a USB stick with 1.1.0 for this board and 1.2.0 for another, and cashier 01
// signed in.
type techSim struct {
	s      *cashier
	k      *kit
	data   string
	usb    string
	exited chan error
	stderr *bytes.Buffer
}

func startTechSim(t *testing.T) *techSim {
	t.Helper()
	dir := t.TempDir()
	k := &kit{t: t, dir: dir, root: filepath.Join(dir, "opt", "posfw")}
	keys, _ := update.Trusted()
	v1 := k.bundle("v1.0.0", os.Args[0], "--version", "1.0.0")
	if _, err := (update.Root{Dir: k.root}).Init(v1, keys, update.Here("sim")); err != nil {
		t.Fatal(err)
	}
	usb := filepath.Join(dir, "media", "usb0")
	os.MkdirAll(usb, 0o700)
	for name, args := range map[string][]string{
		"posfw-1.1.0.posfw": {"--version", "1.1.0"},
		"other-board.posfw": {"--version", "1.2.0", "--board", "rpi-terminal"},
	} {
		b := k.bundle(strings.TrimSuffix(name, ".posfw"), os.Args[0], args...)
		if err := os.Rename(b, filepath.Join(usb, name)); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "var")
	cfg := filepath.Join(dir, "posfw.toml")
	os.WriteFile(cfg, []byte(`terminal_id = "SIM00001"
merchant_id = "898000000000001"
merchant_name = "POSFW DEMO"
language = "en"
[host]
address = "127.0.0.1:1"
[update]
root = "`+k.root+`"
usb = ["`+filepath.Join(dir, "media")+`"]
listen = "127.0.0.1:0"
`), 0o600)
	ts := &techSim{s: &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: ui.English}, k: k, data: data, usb: usb,
		exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	sim := posfwCmd("sim", "--headless", "--data", data, "--control", ts.s.sock, "--config", cfg)
	sim.Stderr = ts.stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ts.exited <- sim.Wait() }()
	t.Cleanup(func() { sim.Process.Kill() })
	ts.s.signIn(ts.stderr)
	return ts
}

// technician opens Manage → Technician with the technician's password.
func (ts *techSim) technician() {
	s := ts.s
	s.sel(ui.Text{EN: "Manage"})
	s.sel(ui.Text{EN: "Technician"}) // select pages the menu to the item
	s.waitText("Technician password")
	s.digits("87654321")
	s.waitText("Slots & versions")
}

// restarted waits for the sim to stop cleanly to restart into a new version.
func (ts *techSim) restarted(version string) {
	ts.s.t.Helper()
	select {
	case err := <-ts.exited:
		if err != nil {
			ts.s.t.Fatalf("sim after installing %s: %v; want a clean stop\n%s", version, err, ts.stderr.String())
		}
	case <-time.After(20 * time.Second):
		ts.s.t.Fatalf("the sim did not stop to restart into %s\n%s", version, ts.stderr.String())
	}
}

func TestTechnicianMenu(t *testing.T) {
	if testing.Short() {
		t.Skip("a sim and two bundles take a while")
	}
	ts := startTechSim(t)
	s, k, data := ts.s, ts.k, ts.data
	s.sel(ui.Text{EN: "Manage"})
	s.sel(ui.Text{EN: "Technician"})
	s.waitText("Technician password")
	s.digits("12345678") // the administrator's: not the technician's
	s.waitText("Refused")
	s.keys("ENTER")
	s.waitText("Technician")
	s.sel(ui.Text{EN: "Technician"})
	s.waitText("Technician password")
	s.digits("87654321")
	s.waitText("Slots & versions")
	s.sel(ui.Text{EN: "Slots"})
	s.waitText("Slot A  1.0.0")
	s.waitText("Confirmed")
	s.keys("CANCEL")
	s.waitText("Update from USB")
	s.sel(ui.Text{EN: "Update from USB"})
	s.waitText("1 1.1.0")
	s.waitText("2 refused: bundle is for") // cut at the screen's width
	s.keys("1")
	s.waitText("Install 1.1.0")
	s.keys("ENTER")
	s.waitText("Restarting")
	ts.restarted("1.1.0")
	if st := k.status(); st.Active != "b" || st.ActiveVersion != "1.1.0" || st.Trial != 0 || st.PreviousVersion != "1.0.0" {
		t.Errorf("install root after the USB update = %+v; want 1.1.0 in slot b on trial, 1.0.0 kept", st)
	}

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "journal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM events WHERE kind = 'audit.technician' AND operator = '98' AND body LIKE '%installed version 1.1.0%'").Scan(&n); err != nil || n != 1 {
		t.Errorf("technician's install in the journal: %d events, %v; want 1", n, err)
	}
}

// TestTechnicianReceivesPush: Manage → Technician → Receive update shows the port and the
// terminal's certificate pin; the technician's laptop pushes a bundle to it with `posfw
// push --pin`, the terminal shows the percentage received, installs it and stops to
// restart into it on trial.
func TestTechnicianReceivesPush(t *testing.T) {
	if testing.Short() {
		t.Skip("a sim and a push take a while")
	}
	ts := startTechSim(t)
	s := ts.s
	ts.technician()
	s.sel(ui.Text{EN: "Receive update"})
	s.waitText("Waiting for push")
	screen := strings.Split(s.do("screen"), "\n")
	var port, pin string
	for i, l := range screen {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "Port "); ok {
			port = p
		}
		if strings.TrimSpace(l) == "Pin" {
			for _, c := range screen[i+1:] {
				c = strings.TrimSpace(c)
				if len(c) == 0 || strings.Trim(c, "0123456789abcdef") != "" {
					break
				}
				pin += c
			}
		}
	}
	if port == "" || len(pin) != 64 {
		t.Fatalf("Receive update screen shows port %q and pin %q; want both whole:\n%s", port, pin, strings.Join(screen, "\n"))
	}
	code, out, errs := call("push", filepath.Join(ts.usb, "posfw-1.1.0.posfw"), "--to", "127.0.0.1:"+port, "--pin", pin)
	if code != 0 {
		t.Fatalf("push: exit %d: %s%s", code, out, errs)
	}
	ts.restarted("1.1.0")
	if st := ts.k.status(); st.Active != "b" || st.ActiveVersion != "1.1.0" || st.Trial != 0 {
		t.Errorf("install root after the push = %+v; want 1.1.0 in slot b on trial", st)
	}
}
