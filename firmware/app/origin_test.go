package app_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/board"
	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/journal"
	"posfw/firmware/operator"
	"posfw/firmware/sim"
	"posfw/ui"
	"posfw/ui/headless"
)

// simJournal runs `posfw sim`'s terminal once on a new data directory and returns it.
func simJournal(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sim.Start(ctx, sim.Options{DataDir: dir, Control: filepath.Join(dir, "sim.sock"),
		Config: config.Sim(), Lang: ui.English, Version: "test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	st.Run(ctx)
	return dir
}

// startProduction starts the App as `posfw run` does (no simulator defaults) on dir.
func startProduction(t *testing.T, dir string) (*app.App, error) {
	b, err := board.Load("sim")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := board.Open(b, board.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(context.Background(), app.Options{DataDir: dir, Config: config.Sim(), Devices: devs,
		Display: headless.New(nil, b.Display.Cols), Lang: ui.English, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		devs.Close()
	}
	return a, err
}

// TestRunRefusesSimJournal: the journal `posfw sim` made (operators with the default
// passwords, test sales) is refused by a production start, in one line saying why,
// before the terminal could count it as provisioned.
func TestRunRefusesSimJournal(t *testing.T) {
	dir := simJournal(t)
	a, err := startProduction(t, dir)
	if err == nil {
		ok, perr := a.Provisioned(context.Background())
		a.Close()
		t.Fatalf("production start on a simulator's journal succeeded, Provisioned = %v, %v; want it refused", ok, perr)
	}
	if msg := err.Error(); !strings.Contains(msg, "posfw sim") || strings.Contains(msg, "\n") {
		t.Errorf("refusal = %q; want one line naming `posfw sim`", msg)
	}
}

// TestCheckProduction: which journals a production terminal takes money on.
func TestCheckProduction(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, dir string) *journal.Journal {
		j, err := journal.Open(filepath.Join(dir, "journal.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j
	}
	ops := func(t *testing.T, j *journal.Journal) *operator.Service {
		s, err := operator.New(j, time.Now, operator.DefaultPolicy)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) *journal.Journal
		want string // "" accepted; else in the refusal
	}{
		{"new journal", func(t *testing.T) *journal.Journal { return open(t, t.TempDir()) }, ""},
		{"provisioned", func(t *testing.T) *journal.Journal {
			j := open(t, t.TempDir())
			s := ops(t, j)
			if err := s.Provision(ctx, "00", "654321"); err != nil {
				t.Fatal(err)
			}
			if err := s.Provision(ctx, "99", "87654321"); err != nil {
				t.Fatal(err)
			}
			return j
		}, ""},
		{"made by posfw sim", func(t *testing.T) *journal.Journal { return open(t, simJournal(t)) }, "made or used by `posfw sim`"},
		{"seeded by a simulator without the mark", func(t *testing.T) *journal.Journal {
			j := open(t, t.TempDir())
			if _, err := ops(t, j).SeedSimDefaults(ctx); err != nil {
				t.Fatal(err)
			}
			return j
		}, "operator 00 of journal"},
		{"administrator with the default password", func(t *testing.T) *journal.Journal {
			j := open(t, t.TempDir())
			s := ops(t, j)
			if err := s.Provision(ctx, "00", "654321"); err != nil {
				t.Fatal(err)
			}
			if err := s.Provision(ctx, "99", "12345678"); err != nil {
				t.Fatal(err)
			}
			return j
		}, "operator 99 of journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := app.CheckProduction(ctx, tc.make(t))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckProduction = %v; want nil", err)
			case tc.want != "" && (!errors.Is(err, app.ErrSimJournal) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckProduction = %v; want ErrSimJournal saying %q", err, tc.want)
			}
		})
	}
}
