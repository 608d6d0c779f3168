package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/cardreader/testcards"
	"posfw/ui"
)

// simDay runs `posfw sim` on a new data directory through simctl: sign in, one sale
// per card given (with the PIN 1234 for "pin"), then SIGTERM. It returns the data
// directory.
func simDay(t *testing.T, cards ...string) string {
	t.Helper()
	return simDayAt(t, t.TempDir(), cards...)
}

// simDayAt is simDay on dir/var; the sim's exit error, if any, ends the test unless
// the caller expects it (simStart).
func simDayAt(t *testing.T, dir string, cards ...string) string {
	t.Helper()
	data := filepath.Join(dir, "var")
	cfg := filepath.Join(dir, "posfw.toml")
	os.WriteFile(cfg, []byte(`terminal_id = "SIM00001"
merchant_id = "898000000000001"
merchant_name = "POSFW DEMO"
language = "en"
[host]
address = "127.0.0.1:1"
response_timeout = "2s"
`), 0o600)
	s := &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: ui.English}
	var stderr bytes.Buffer
	sim := posfwCmd("sim", "--headless", "--data", data, "--control", s.sock, "--config", cfg)
	sim.Stderr = &stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sim.Wait() }()
	defer sim.Process.Kill()
	s.signIn(&stderr)
	for i, card := range cards {
		pin := ""
		if card == "pin" {
			pin = "1234"
		}
		s.sale(strings.Repeat(string(rune('1'+i)), 4), card, pin)
		s.wait(ui.WordApproved)
		s.done()
	}
	sim.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sim exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
	return data
}

// TestCardHashNotRecoverable is the attack of issue 12 on the data directory alone:
// after a day of sales, take each sale's masked PAN (first 6, last 4) and card hash
// from the journal, and try every candidate PAN of a range that holds the real one
// (the two hidden digits next to the last four varied, the Luhn check kept: ten
// candidates) as HMAC-SHA256 message, plain and with the PIN pad's domain prefix,
// under every 32-byte window of every file of the data directory as key (a card.key
// file of 32 bytes is one such window). When the key sat in DATA/card.key every PAN
// came back; with the key inside the PIN pad none may.
func TestCardHashNotRecoverable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator and a brute force")
	}
	cards := []string{"ok", "ok2", "pin"}
	data := simDay(t, cards...)

	type target struct {
		masked string
		hash   []byte
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "journal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT DISTINCT masked_pan, card_hash FROM records WHERE card_hash != ''")
	if err != nil {
		t.Fatal(err)
	}
	var targets []target
	for rows.Next() {
		var m, h string
		rows.Scan(&m, &h)
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("card hash %q is not hex", h)
		}
		targets = append(targets, target{m, b})
	}
	rows.Close()
	db.Close()
	if len(targets) != len(cards) {
		t.Fatalf("%d card hashes in the journal; want one per card (%d)", len(targets), len(cards))
	}

	// The candidates of each masked PAN, the real one among them.
	type guess struct {
		t   target
		pan []byte
	}
	var guesses []guess
	for _, tg := range targets {
		var real []byte
		for _, n := range cards {
			c, _ := testcards.Lookup(n)
			if len(c.PAN) == len(tg.masked) && string(c.PAN[:6]) == tg.masked[:6] && string(c.PAN[len(c.PAN)-4:]) == tg.masked[len(tg.masked)-4:] {
				real = c.PAN
			}
		}
		if real == nil {
			t.Fatalf("no test card is %s", tg.masked)
		}
		n := len(real)
		for a := byte('0'); a <= '9'; a++ {
			for b := byte('0'); b <= '9'; b++ {
				p := bytes.Clone(real)
				p[n-6], p[n-5] = a, b
				if luhn(p) {
					guesses = append(guesses, guess{tg, p})
				}
			}
		}
	}

	var files []string
	filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	var (
		mu        sync.Mutex
		recovered = map[string]string{} // masked PAN → the file whose window gave it
		windows   int
	)
	prefix := []byte("posfw card hash v1\x00")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 32 {
			continue
		}
		windows += len(b) - 31
		// Split the windows across the CPUs.
		var wg sync.WaitGroup
		n := runtime.NumCPU()
		for w := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for off := w; off+32 <= len(b); off += n {
					m := hmac.New(sha256.New, b[off:off+32])
					for _, g := range guesses {
						for _, pre := range [][]byte{nil, prefix} {
							m.Reset()
							m.Write(pre)
							m.Write(g.pan)
							if hmac.Equal(m.Sum(nil), g.t.hash) {
								mu.Lock()
								recovered[g.t.masked] = filepath.Base(f)
								mu.Unlock()
							}
						}
					}
				}
			}()
		}
		wg.Wait()
	}
	t.Logf("%d files, %d key windows, %d candidate PANs × 2 schemes", len(files), windows, len(guesses))
	for masked, f := range recovered {
		t.Errorf("the PAN behind %s was recovered with a key from %s", masked, f)
	}
}

// luhn reports whether the digits pass the Luhn check.
func luhn(pan []byte) bool {
	sum := 0
	for i := range pan {
		d := int(pan[len(pan)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// TestJournalCommandSimDay: after a simulator's day, `posfw journal verify` checks the
// seals with the simulated pad it finds beside the data directory, and the settlement
// report would carry the head (checked in firmware/receipt).
func TestJournalCommandSimDay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	data := simDay(t, "ok")
	code, out, errs := call("journal", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "checked by the PIN pad") {
		t.Errorf("journal verify = %d %q %q; want OK, checked by the PIN pad", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(data, "card.key")); !os.IsNotExist(err) {
		t.Errorf("card.key in the data directory: %v; want none", err)
	}
	// The pad's NVRAM went beside the data directory, not into it.
	if _, err := os.Stat(data + ".pinpad"); err != nil {
		t.Errorf("the simulated pad's NVRAM: %v; want %s.pinpad", err, data)
	}
}

// TestSimRefusesRestoredJournal: a simulator's journal put back to an older copy after
// another day of sales does not start: one line, before any screen.
func TestSimRefusesRestoredJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	for _, tc := range []struct {
		name string
		back func(t *testing.T, data string, old []byte) // takes the journal back in time
	}{
		{"old copy restored", func(t *testing.T, data string, old []byte) {
			if err := os.WriteFile(filepath.Join(data, "journal.db"), old, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"data directory wiped", func(t *testing.T, data string, _ []byte) {
			if err := os.RemoveAll(data); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := simDayAt(t, dir, "ok")
			old, err := os.ReadFile(filepath.Join(data, "journal.db"))
			if err != nil {
				t.Fatal(err)
			}
			simDayAt(t, dir, "ok2") // the pad's anchor moves on
			tc.back(t, data, old)
			var stderr bytes.Buffer
			sim := posfwCmd("sim", "--headless", "--data", data, "--control", filepath.Join(dir, "sim.sock"), "--config", filepath.Join(dir, "posfw.toml"))
			sim.Stderr = &stderr
			done := make(chan error, 1)
			if err := sim.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- sim.Wait() }()
			select {
			case err := <-done:
				msg := stderr.String()
				if err == nil || !strings.Contains(msg, "older than the PIN pad's record") || strings.Count(msg, "\n") != 1 {
					t.Errorf("sim on a journal gone back: %v, stderr %q; want a non-zero exit and one line saying the journal is older", err, msg)
				}
				if !strings.Contains(msg, data+".pinpad as well") {
					t.Errorf("stderr %q does not say which file to delete to start a new simulated terminal", msg)
				}
			case <-time.After(10 * time.Second):
				sim.Process.Kill()
				t.Fatal("sim started on a journal gone back; want it refused")
			}
		})
	}
}
