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
			a.emvAfterSignOn(ctx)
			break
		}
		a.log.Warn("sign-on failed, will retry", "err", err, "in", retry)
		if !sleep(ctx, retry) {
			return
		}
	}
	// QR orders a restart left open are queried (and cancelled) as soon as the host
	// takes messages.
	var orders orderResolver
	orders.try(ctx, a)
	gap := reversalEvery
	next := time.Now().Add(gap)
	var keys signOnRetrier
	for {
		if !sleep(ctx, keysEvery) {
			return
		}
		keys.try(ctx, a)
		if time.Now().Before(next) {
			continue
		}
		orders.try(ctx, a)
		switch left := a.engine.FlushReversals(ctx); {
		case left > 0:
			a.log.Warn("reversals still pending", "count", left)
			gap = min(2*gap, reversalMaxGap)
		default:
			gap = reversalEvery
		}
		next = time.Now().Add(gap)
	}
}

// keysEvery is how often the worker asks whether the PIN pad still holds the working
// keys (a local question, no traffic).
const keysEvery = 2 * time.Second

// signOnRetrier signs on when the host link lost its working keys (the PIN pad was
// power cycled or replaced), so that the next sale can be MACed without the cashier
// noticing; failed tries back off as the start-up sign-on's do (each is audited).
type signOnRetrier struct {
	next  time.Time
	retry time.Duration
}

func (r *signOnRetrier) try(ctx context.Context, a *App) {
	s, ok := a.opts.Host.(interface{ SignedOn() bool })
	if !ok || s.SignedOn() {
		r.next, r.retry = time.Time{}, 0
		return
	}
	if time.Now().Before(r.next) {
		return
	}
	if err := a.engine.SignOn(ctx, "system"); err != nil {
		r.retry = min(max(2*r.retry, signOnRetry), reversalMaxGap)
		r.next = time.Now().Add(r.retry)
		a.log.Warn("the PIN pad lost its working keys; sign-on failed, will retry", "err", err, "in", r.retry)
		return
	}
	r.next, r.retry = time.Time{}, 0
	a.log.Info("signed on again: the PIN pad had lost its working keys")
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
