package app

import (
	"context"
	"time"
)

// beatEvery is how often the parts are checked; the service watchdog's interval is
// several times longer (WatchdogSec=30s in the unit). A variable for tests.
var beatEvery = 2 * time.Second

// uiStuckAfter is how long the UI goroutine may work without waiting for anyone before
// it counts as hung: longer than the longest bounded step of a flow (a host exchange
// with its connect and response timeouts, a reversal after it, the slips). A variable
// for tests.
var uiStuckAfter = 3 * time.Minute

// beat tells alive, every beatEvery until ctx ends, which parts are working: the UI
// while its goroutine is waiting for someone or busy for less than uiStuckAfter, and
// the journal while an empty write transaction goes through. A part that stops beating
// stops the watchdog's feeding, and the service manager restarts the terminal.
func (a *App) beat(ctx context.Context, alive func(part string)) {
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		if !a.ui.Stuck(uiStuckAfter) {
			alive(PartUI)
		}
		pctx, cancel := context.WithTimeout(ctx, beatEvery)
		if a.journal.Ping(pctx) == nil {
			alive(PartJournal)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
