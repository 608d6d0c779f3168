package sim_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"posfw/drivers/modem/modemsim"
	"posfw/firmware/config"
	"posfw/firmware/sim"
	"posfw/ui"
)

// TestModemRecoveryLadder: a modem whose network stack hangs is brought back by the
// mildest rung that can (issue 14): one that a re-attach cures is never reset, and one
// that only a power cycle cures is re-attached, function-reset and reset-pulsed first,
// then power-cycled through its GPIO power key. Each time the data session comes back
// up and the status line's recovery note goes.
func TestModemRecoveryLadder(t *testing.T) {
	if testing.Short() {
		t.Skip("the full ladder takes about 20 s")
	}
	dir := t.TempDir()
	cfg := config.Sim()
	cfg.Modem.RecoverAfter.Duration = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	term, err := sim.Start(ctx, sim.Options{DataDir: filepath.Join(dir, "var"), Control: filepath.Join(dir, "sim.sock"),
		Config: cfg, Lang: ui.English, Version: "test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	modem := term.Devices.Modem
	waitUp := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if st := term.App.Modem(); st.Data && st.Recovery == "" && st.Bars > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: modem status %+v; want the data session up again", what, term.App.Modem())
			}
		}
	}
	waitUp("at start")

	for _, tc := range []struct {
		stuck   modemsim.Recovery
		used    []modemsim.Recovery // each tried once on the way
		notUsed []modemsim.Recovery
	}{
		{modemsim.ByReattach, []modemsim.Recovery{modemsim.ByReattach}, []modemsim.Recovery{modemsim.ByFunctionReset, modemsim.ByResetPulse, modemsim.ByPowerCycle}},
		{modemsim.ByPowerCycle, []modemsim.Recovery{modemsim.ByReattach, modemsim.ByFunctionReset, modemsim.ByResetPulse, modemsim.ByPowerCycle}, nil},
	} {
		before := map[modemsim.Recovery]int{}
		for r := modemsim.ByReattach; r <= modemsim.ByPowerCycle; r++ {
			before[r] = modem.Recovered(r)
		}
		modem.SetStuck(tc.stuck)
		// The link goes down and the ladder's note shows before it comes back.
		for deadline := time.Now().Add(10 * time.Second); term.App.Modem().Recovery == ""; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("stuck until %v: no recovery rung tried; status %+v", tc.stuck, term.App.Modem())
			}
		}
		waitUp("stuck until " + tc.stuck.String())
		for _, r := range tc.used {
			if got := modem.Recovered(r) - before[r]; got < 1 {
				t.Errorf("stuck until %v: %v tried %d times; want at least once", tc.stuck, r, got)
			}
		}
		for _, r := range tc.notUsed {
			if got := modem.Recovered(r) - before[r]; got != 0 {
				t.Errorf("stuck until %v: %v tried %d times; want none (a milder rung cured it)", tc.stuck, r, got)
			}
		}
	}

	// Every rung tried is in the journal's hash chain, as an audit event.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "var", "journal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT body FROM events WHERE kind = 'audit.modem_recovery' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var audited []string
	for rows.Next() {
		var body string
		rows.Scan(&body)
		audited = append(audited, body)
	}
	all := strings.Join(audited, "\n")
	for _, rung := range []string{"re-attach", "function reset", "reset pulse", "power cycle"} {
		if !strings.Contains(all, rung) {
			t.Errorf("journal audit of the recovery lacks %q:\n%s", rung, all)
		}
	}
}
