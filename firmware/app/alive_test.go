package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"posfw/firmware/journal"
	"posfw/ui"
	"posfw/ui/headless"
)

// TestBeats: the UI part beats while its goroutine waits for someone or has been busy
// only a short while, and stops beating when it stays busy (a flow hung), while the
// journal goes on beating; once the UI waits again it beats again. The watchdog is fed
// only while both beat.
func TestBeats(t *testing.T) {
	defer func(e, s time.Duration) { beatEvery, uiStuckAfter = e, s }(beatEvery, uiStuckAfter)
	beatEvery, uiStuckAfter = 5*time.Millisecond, 100*time.Millisecond
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	a := &App{ui: ui.New(headless.New(nil, 24), 24, 10, ui.English), journal: j, log: slog.New(slog.DiscardHandler)}
	beats := make(chan string, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.beat(ctx, func(part string) {
		select {
		case beats <- part:
		default:
		}
	})
	// seen collects the parts that beat during d.
	seen := func(d time.Duration) map[string]bool {
		for len(beats) > 0 {
			<-beats
		}
		got := map[string]bool{}
		for end := time.After(d); ; {
			select {
			case p := <-beats:
				got[p] = true
			case <-end:
				return got
			}
		}
	}
	done := a.ui.Wait() // waiting for a key: alive however long it takes
	if got := seen(300 * time.Millisecond); !got[PartUI] || !got[PartJournal] {
		t.Errorf("while the UI waits for a key, parts beating = %v; want ui and journal", got)
	}
	done()                       // the UI goroutine goes to work ...
	time.Sleep(2 * uiStuckAfter) // ... and does not come back
	if got := seen(100 * time.Millisecond); got[PartUI] || !got[PartJournal] {
		t.Errorf("with the UI busy for %v, parts beating = %v; want the journal only", 2*uiStuckAfter, got)
	}
	defer a.ui.Wait()()
	if got := seen(100 * time.Millisecond); !got[PartUI] {
		t.Errorf("once the UI waits again, parts beating = %v; want ui", got)
	}
}
