package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"posfw/board"
	"posfw/firmware/config"
	"posfw/firmware/txn"
	"posfw/ui"
	"posfw/ui/headless"
)

// TestRefusedTellsTheTruth: a failure before the request left says "not sent"; one after
// it (the journal could not take the outcome) never does, and says the request will be
// reversed, in the words of the no-answer slip.
func TestRefusedTellsTheTruth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		want    []string
		notWant string
	}{
		{"journal failed before sending", fmt.Errorf("%w: disk full", txn.ErrJournal),
			[]string{"Refused", msgJournal.EN}, ""},
		{"outcome not recorded after sending", fmt.Errorf("%w: disk full", txn.ErrUnrecorded),
			[]string{msgUnrecorded.EN, msgWillRevert.EN}, "not sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := headless.New(nil, 24)
			a := &App{ui: ui.New(d, 24, 10, ui.English), log: slog.New(slog.DiscardHandler),
				board: &board.Board{Display: board.Display{Cols: 24, Rows: 10}}}
			a.dev = board.Absent(a.board)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := a.refused(ctx, TitleSale, tc.err); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			screen := d.Text()
			for _, w := range tc.want {
				if !strings.Contains(screen, w) {
					t.Errorf("screen lacks %q:\n%s", w, screen)
				}
			}
			if tc.notWant != "" && strings.Contains(screen, tc.notWant) {
				t.Errorf("screen says %q although the request may have left:\n%s", tc.notWant, screen)
			}
		})
	}
}

// TestSlipTitles: the Printing screen is headed by what prints — Sale, Void, Refund —
// and only a reprint says Reprint.
func TestSlipTitles(t *testing.T) {
	for _, tc := range []struct {
		typ     txn.Type
		reprint bool
		want    string
	}{
		{txn.Sale, false, "Sale"},
		{txn.Void, false, "Void"},
		{txn.Refund, false, "Refund"},
		{txn.Sale, true, "Reprint"},
	} {
		d := headless.New(nil, 24)
		a := &App{ui: ui.New(d, 24, 10, ui.English), log: slog.New(slog.DiscardHandler),
			board: &board.Board{Display: board.Display{Cols: 24, Rows: 10}}, opts: Options{Config: config.Sim()}}
		a.dev = board.Absent(a.board) // the slip fails to print: the screen keeps its title
		note := a.printSlips(context.Background(), txn.Record{Type: tc.typ, Status: txn.Approved, Amount: 100}, tc.reprint, false, "")
		lines := strings.Split(d.Text(), "\n")
		if got := strings.TrimSpace(lines[0]); got != tc.want || note == "" {
			t.Errorf("%s slip (reprint %v): Printing screen titled %q, note %q; want %q and a printer note", tc.typ, tc.reprint, got, note, tc.want)
		}
	}
}
