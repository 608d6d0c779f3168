package app

import (
	"context"
	"time"
)

// Background work of the money path.
const (
	signOnRetry    = 10 * time.Second
	reversalEvery  = 15 * time.Second
	reversalMaxGap = 5 * time.Minute
)

// hostWorker signs on at start (retrying, backing off, until the host answers) and then sends pending
// reversals in the background, backing off while the host is unreachable. Reversals are
// also sent before every request by the engine itself.
func (a *App) hostWorker(ctx context.Context) {
	// Each try is audited, so an unreachable host backs the tries off to one every
	// reversalMaxGap rather than filling the journal.
	for retry := signOnRetry; ; retry = min(2*retry, reversalMaxGap) {
		err := a.engine.SignOn(ctx, "system")
		if err == nil {
			a.log.Info("signed on")
			break
		}
		a.log.Warn("sign-on failed, will retry", "err", err, "in", retry)
		if !sleep(ctx, retry) {
			return
		}
	}
	gap := reversalEvery
	for {
		if !sleep(ctx, gap) {
			return
		}
		switch left := a.engine.FlushReversals(ctx); {
		case left > 0:
			a.log.Warn("reversals still pending", "count", left)
			gap = min(2*gap, reversalMaxGap)
		default:
			gap = reversalEvery
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
