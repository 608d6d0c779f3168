package app

import (
	"context"
	"time"
)

// FlushReversals sends the pending reversals now, as the background worker does every
// reversalEvery, so that a test need not wait for it.
func (a *App) FlushReversals(ctx context.Context) int { return a.engine.FlushReversals(ctx) }

// SetNoticeRetry sets how long a refused reversal-failed slip waits before it is tried
// again; the returned func restores it.
func SetNoticeRetry(d time.Duration) (restore func()) {
	old := noticeRetry
	noticeRetry = d
	return func() { noticeRetry = old }
}
