package sim_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"posfw/firmware/config"
	"posfw/firmware/sim"
	"posfw/ui"
)

// BenchmarkCardToResult is DESIGN §10's "tap to result" and "chip insert to result": a
// whole simulated terminal (the firmware's drivers on PTYs, the journal, the PIN pad's
// MACs, the host simulator on loopback answering at once), the card presented at the
// prompt of a sale and the clock stopped when the outcome is on the screen — "Approved"
// for a tap, "Approved … Remove card" for an inserted card (its second GENERATE AC done).
// The cards work at the reference reader's speed (chipsim.ContactReference and
// ContactlessReference, the assumptions of docs/decisions.md); the instant variants show
// the terminal's own part.
//
//	go test -run '^$' -bench CardToResult -benchtime 20x ./firmware/sim/
func BenchmarkCardToResult(b *testing.B) {
	for _, tc := range []struct {
		name, how, card string
		instant         bool
	}{
		{"tap", "tap", "tap", false},
		{"insert", "insert", "chip", false},
		{"tap-instant", "tap", "tap", true},
		{"insert-instant", "insert", "chip", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			term, done := runTerminal(b, tc.instant)
			defer done()
			var took []time.Duration
			amount := 1000
			for b.Loop() {
				amount++ // another amount each time: no duplicate warning
				press(b, term, "1")
				waitScreen(b, term, ui.WordAmount.EN)
				press(b, term, strings.Split(fmt.Sprint(amount), "")...)
				press(b, term, "ENTER")
				waitScreen(b, term, ui.WordCard.EN)
				start := time.Now()
				if err := term.Present(tc.how, tc.card); err != nil {
					b.Fatal(err)
				}
				waitScreen(b, term, ui.WordApproved.EN)
				took = append(took, time.Since(start))
				if tc.how == "insert" {
					term.RemoveCard()
				}
				waitScreen(b, term, "ENTER: done")
				press(b, term, "ENTER")
				waitScreen(b, term, "8 ")
				term.RemoveCard()
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-to-result-p50")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "ms-to-result-max")
		})
	}
}

// runTerminal starts a simulated terminal with its host simulator and signs cashier 01
// in.
func runTerminal(b *testing.B, instant bool) (*sim.Terminal, func()) {
	b.Helper()
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	term, err := sim.Start(ctx, sim.Options{DataDir: filepath.Join(dir, "var"), Control: filepath.Join(dir, "sim.sock"),
		Config: config.Sim(), Lang: ui.English, Version: "bench", Log: slog.New(slog.DiscardHandler), InstantCards: instant})
	if err != nil {
		b.Fatal(err)
	}
	ran := make(chan struct{})
	go func() { term.Run(ctx); close(ran) }()
	waitScreen(b, term, ui.WordOperator.EN)
	press(b, term, "0", "1", "ENTER")
	press(b, term, "0", "0", "0", "0", "ENTER")
	waitScreen(b, term, "8 ")
	return term, func() { cancel(); <-ran }
}

func press(b *testing.B, term *sim.Terminal, keys ...string) {
	b.Helper()
	for _, k := range keys {
		key, err := ui.ParseKey(k)
		if err != nil {
			b.Fatal(err)
		}
		term.Press(key)
	}
}

// waitScreen polls the screen every 200 µs until it shows text.
func waitScreen(b *testing.B, term *sim.Terminal, text string) {
	b.Helper()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(term.Display.Text(), text); time.Sleep(200 * time.Microsecond) {
		if time.Now().After(deadline) {
			b.Fatalf("waiting for %q; screen:\n%s", text, term.Display.Text())
		}
	}
}
