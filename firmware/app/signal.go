package app

import (
	"context"

	"posfw/firmware/txn"
)

// outcome beeps and lights green for an approval (or a recorded manual refund), red
// with the long double beep for anything else. It returns at once; the pattern plays on.
func (a *App) outcome(ctx context.Context, s txn.Status) {
	a.dev.Indicators.Outcome(ctx, s == txn.Approved || s == txn.Recorded)
}
