package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"posfw/board"
	"posfw/drivers/printer"
	"posfw/firmware/receipt"
	"posfw/firmware/txn"
	"posfw/ui"
)

// reversalTries is how many times a reversal is sent before it is given up and the
// merchant is told to call the acquirer.
const reversalTries = 3

// noticeRetry is how long a reversal-failed slip that the printer refused waits before
// it is tried again (paper out: the cashier needs a moment, and each try is logged).
var noticeRetry = 30 * time.Second

var (
	titleReversalFailed = ui.Text{EN: "Reversal failed", ZH: "冲正失败"}
	msgCallAcquirer     = ui.Text{EN: "Call the acquirer", ZH: "请联系收单机构"}
)

// notices are the "reversal failed, call the acquirer" slips owed to the merchant.
//
// The engine's ReversalFailed hook runs inside FlushReversals, on the background worker
// or inside a flow, while the engine holds its reversal lock. The hook therefore only
// queues the record; the idle screen, on the UI goroutine, prints the queue. Every other
// slip is printed by a flow, also on the UI goroutine, and a flow and the idle screen
// never run at once: so one goroutine owns the printer, slips never interleave (not even
// between a sale's two copies), no printer lock is needed, and a slow or faulty printer
// never holds up a reversal or a cashier's request.
//
// A slip the printer refuses stays queued and is tried again after noticeRetry. The
// queue is memory only: after a restart the slip is not printed again, but the idle
// alert still shows while the journal holds a failed reversal, and the record can be
// reprinted by trace (it says "call the acquirer" for as long as it is failed).
type notices struct {
	mu      sync.Mutex
	recs    []txn.Record
	retryAt time.Time
}

// add queues a record whose reversal has just been given up. It is the engine's
// ReversalFailed hook: it never blocks on I/O.
func (n *notices) add(r txn.Record) {
	n.mu.Lock()
	n.recs = append(n.recs, r)
	n.mu.Unlock()
}

// next is the oldest slip owed, when one is owed and may be tried now.
func (n *notices) next(now time.Time) (txn.Record, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.recs) == 0 || now.Before(n.retryAt) {
		return txn.Record{}, false
	}
	return n.recs[0], true
}

// done drops the oldest slip (printed), or, when the printer failed, keeps it and
// backs off.
func (n *notices) done(now time.Time, printed bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !printed {
		n.retryAt = now.Add(noticeRetry)
		return
	}
	n.recs = n.recs[1:]
	n.retryAt = time.Time{}
}

// printNotices prints the reversal-failed slips owed, oldest first. It runs on the UI
// goroutine at the idle screen (see notices).
func (a *App) printNotices(ctx context.Context) {
	if !board.Present(a.dev.Printer) {
		return // the idle alert is all this terminal can give
	}
	for {
		rec, ok := a.notices.next(time.Now())
		if !ok {
			return
		}
		a.ui.Show(a.title(titleReversalFailed), a.ui.T(msgCallAcquirer), "", a.ui.T(ui.WordPrinting))
		b, err := receipt.Slip{Merchant: a.merchant(), Record: rec, Copy: receipt.MerchantCopy, ReversalTries: reversalTries, Location: a.loc}.Bytes()
		if err == nil {
			err = a.dev.Printer.Print(ctx, b)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			a.log.Warn("reversal-failed slip not printed, will retry", "trace", rec.STAN, "paper_out", errors.Is(err, printer.ErrPaperOut), "err", err, "in", noticeRetry)
		}
		a.notices.done(time.Now(), err == nil)
		if err != nil {
			return
		}
		a.log.Info("reversal-failed slip printed", "trace", rec.STAN)
	}
}
