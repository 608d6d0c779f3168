package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/ui"
)

// TestReplugEveryDevice pulls each serial device's cable out of a running `posfw sim`
// (simctl fault DEV=unplugged) and plugs it back in (DEV=ok): while it is out the
// cashier sees what is missing, and once it is back it works again without a restart
// (issue 13). Each driver reopens its own port; nothing in the terminal is restarted.
func TestReplugEveryDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("four devices out and back take a while")
	}
	dir := t.TempDir()
	s := &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: ui.English}
	var stderr bytes.Buffer
	sim := posfwCmd("sim", "--headless", "--lang", "en", "--data", filepath.Join(dir, "var"), "--control", s.sock)
	sim.Stderr = &stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Process.Kill()
	s.signIn(&stderr)

	t.Run("chip", func(t *testing.T) {
		s.t = t
		s.do("fault", "chip=unplugged")
		s.sel(ui.Text{EN: "Sale"})
		s.wait(ui.WordAmount)
		s.digits("102")
		s.waitText("Chip reader not") // the stripe still works
		s.do("card", "swipe", "ok")
		s.wait(ui.WordApproved)
		s.done()
		s.do("fault", "chip=ok")
		s.chipSale("103", "insert", "chip")
		s.remove()
		s.wait(ui.WordApproved)
		s.done()
	})

	t.Run("reader", func(t *testing.T) {
		s.t = t
		s.do("fault", "reader=unplugged")
		s.sel(ui.Text{EN: "Sale"})
		s.wait(ui.WordAmount)
		s.digits("101")
		s.waitText("Card reader not") // cut at the 24-column screen
		if code, out := simctl(t, s.sock, "card", "swipe", "ok"); code == 0 {
			t.Errorf("a swipe on an unplugged reader went through: %s", out)
		}
		s.do("fault", "reader=ok")
		s.do("card", "swipe", "ok")
		s.wait(ui.WordApproved)
		s.done()
	})

	t.Run("pinpad", func(t *testing.T) {
		s.t = t
		s.do("fault", "pinpad=unplugged")
		s.sale("102", "pin", "")
		s.waitText("PIN pad not connected")
		s.keys("ENTER")
		s.waitText("8 ")
		s.do("fault", "pinpad=ok")
		s.sale("103", "pin", "1234")
		s.wait(ui.WordApproved)
		s.done()
	})

	// A pad that was power-cycled has lost the working keys of the sign-on (its NVRAM
	// keeps the master key): the first request finds out, nothing is sent, and the
	// terminal signs on again by itself; the next sale goes through.
	t.Run("pinpad power cycle", func(t *testing.T) {
		s.t = t
		s.do("fault", "pinpad=power-cycle")
		s.sale("106", "ok", "")
		s.waitText("not charged")
		s.keys("ENTER")
		s.waitText("8 ")
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var st struct {
				SignedOn bool `json:"signed_on"`
			}
			json.Unmarshal([]byte(s.do("state")), &st)
			if st.SignedOn {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the terminal did not sign on again after the pad lost its keys")
			}
		}
		s.sale("107", "ok", "")
		s.wait(ui.WordApproved)
		s.done()
	})

	t.Run("printer", func(t *testing.T) {
		s.t = t
		s.do("printer", "--clear")
		s.do("fault", "printer=unplugged")
		s.sale("104", "ok", "")
		s.wait(ui.WordApproved)
		s.waitText("Printer fault")
		s.done()
		if p := s.do("printer"); strings.Contains(p, "1.04") {
			t.Errorf("an unplugged printer printed:\n%s", p)
		}
		s.do("fault", "printer=ok")
		s.sale("105", "ok", "")
		s.wait(ui.WordApproved)
		s.done()
		if p := s.do("printer", "--clear"); !strings.Contains(p, "1.05") {
			t.Errorf("slip after the printer was plugged back in:\n%s\nwant the 1.05 sale", p)
		}
	})

	t.Run("modem", func(t *testing.T) {
		s.t = t
		signal := func() float64 {
			var st struct{ Signal float64 }
			json.Unmarshal([]byte(s.do("state")), &st)
			return st.Signal
		}
		waitSignal := func(want func(float64) bool, what string) {
			t.Helper()
			for deadline := time.Now().Add(15 * time.Second); !want(signal()); time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("signal %v; want %s", signal(), what)
				}
			}
		}
		waitSignal(func(v float64) bool { return v > 0 }, "bars before the unplug")
		s.do("fault", "modem=unplugged")
		waitSignal(func(v float64) bool { return v < 0 }, "no modem (-1) while unplugged")
		s.do("fault", "modem=ok")
		waitSignal(func(v float64) bool { return v > 0 }, "bars again after the replug")
	})
}
