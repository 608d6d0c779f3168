package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/firmware/journal"
	"posfw/ui"
)

// TestEMVParams (issue 16) through simctl only, in both dialects: after its start-up
// sign-on the terminal downloads the acquirer's AIDs and CA public key over TCP from the
// simulator and journals them as version 1; Manage → EMV parameters shows them; Download
// now asks again, finds the set unchanged, and is journalled under the operator.
func TestEMVParams(t *testing.T) {
	for _, d := range []string{"iso87", "cup"} {
		t.Run(d, func(t *testing.T) { emvParams(t, d) })
	}
}

func emvParams(t *testing.T, dialect string) {
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	s, stop := qrSim(t, dir, dialect)
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(readLog(t, data), "EMV parameters downloaded"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no EMV parameter download after the sign-on; log:\n%s", readLog(t, data))
		}
	}
	s.sel(ui.Text{EN: "Manage"})
	s.waitText("Sign off")
	s.sel(ui.Text{EN: "EMV parameters"})
	s.waitText("Download now")
	s.sel(ui.Text{EN: "Show"})
	s.waitText("Version 1")
	screen := s.do("screen")
	for _, want := range []string{"AID 4", "A000000333010101 P", "A000000333010106 P", "1/2"} {
		if !strings.Contains(screen, want) {
			t.Errorf("first page lacks %q:\n%s", want, screen)
		}
	}
	s.keys("DOWN")
	s.waitText("A000000333 F1")
	s.waitText("exp 2035-12-31")
	s.keys("CANCEL")
	s.waitText("Download now")
	s.sel(ui.Text{EN: "Download now"})
	s.waitText("Unchanged")
	s.waitText("Version 1")
	s.keys("ENTER")
	s.waitText("Download now")
	if err := stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	j, err := journal.OpenWith(filepath.Join(data, "journal.db"), journal.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	set, info, ok, err := j.EMVParams(context.Background())
	j.Close()
	if err != nil || !ok || set.Version != 1 || info.Operator != "system" || len(set.AIDs) != 4 || len(set.CAPKs) != 1 || set.CAPKs[0].Name() != "A000000333/F1" {
		t.Fatalf("journal: %+v %+v %v %v; want version 1 by system, 4 AIDs, key A000000333/F1", set, info, ok, err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "journal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []string
	rows, err := db.Query("SELECT kind, operator FROM events WHERE kind LIKE 'emv.%' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, op string
		rows.Scan(&k, &op)
		got = append(got, k+" "+op)
	}
	rows.Close()
	if want := []string{"emv.params system", "emv.params_unchanged 01"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("EMV events in the chain = %q; want %q", got, want)
	}
}
