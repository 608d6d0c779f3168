package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/firmware/journal"
	"posfw/firmware/receipt"
	"posfw/firmware/txn"
	"posfw/ui"
)

var (
	TitleManualRefund = ui.Text{EN: "Manual refund", ZH: "手工退款"}
	titleReprintLast  = ui.Text{EN: "Reprint last", ZH: "重打印最后一笔"}
	titleReprintTrace = ui.Text{EN: "Reprint by trace", ZH: "按凭证号重打印"}
	titleByTrace      = ui.Text{EN: "By trace", ZH: "按凭证号"}
	titleByRRN        = ui.Text{EN: "By RRN", ZH: "按参考号"}
	titleByDate       = ui.Text{EN: "By date", ZH: "按日期"}
	titleByCard       = ui.Text{EN: "By card + amount", ZH: "按卡号和金额"}
	msgNotFound       = ui.Text{EN: "Not found", ZH: "无此交易"}
	msgSignedOn       = ui.Text{EN: "Signed on, keys loaded", ZH: "签到成功"}
)

// reprintFlow: the last slip or one by trace no., marked REPRINT.
func (a *App) reprintFlow(ctx context.Context) error {
	return a.ui.Menu(ctx, TitleReprint, []ui.Item{
		{Label: titleReprintLast, Run: func(ctx context.Context) error {
			rec, err := a.journal.Last(ctx)
			return a.reprint(ctx, rec, err)
		}},
		{Label: titleReprintTrace, Run: func(ctx context.Context) error {
			t, err := a.ui.Digits(ctx, TitleReprint, ui.WordTrace, 1, 6, false)
			if err != nil {
				return err
			}
			rec, err := a.journal.AnyByTrace(ctx, atoi(t))
			return a.reprint(ctx, rec, err)
		}},
	})
}

func (a *App) reprint(ctx context.Context, rec *txn.Record, err error) error {
	if errors.Is(err, txn.ErrNotFound) {
		return a.ui.Result(ctx, resultWait, a.title(TitleReprint), a.ui.T(msgNotFound))
	}
	if err != nil {
		return a.refused(ctx, TitleReprint, err)
	}
	note := a.printSlips(ctx, *rec, true, false, "")
	lines := []string{a.title(TitleReprint), fmt.Sprintf("%s %06d", a.ui.T(ui.WordTrace), rec.STAN), ui.FormatAmount(rec.Amount)}
	if note == "" {
		note = a.ui.T(ui.Text{EN: "Reprinted", ZH: "重打印完成"})
	}
	return a.ui.Result(ctx, resultWait, append(lines, note)...)
}

// queryFlow finds records by trace, RRN, date or masked card + amount (duplicate-debit
// disputes) and pages through them.
func (a *App) queryFlow(ctx context.Context) error {
	run := func(build func(ctx context.Context) (journal.Query, error)) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			q, err := build(ctx)
			if err != nil {
				return err
			}
			recs, err := a.journal.Find(ctx, q)
			if err != nil {
				return a.refused(ctx, TitleQuery, err)
			}
			return a.showRecords(ctx, recs)
		}
	}
	return a.ui.Menu(ctx, TitleQuery, []ui.Item{
		{Label: titleByTrace, Run: run(func(ctx context.Context) (journal.Query, error) {
			t, err := a.ui.Digits(ctx, TitleQuery, ui.WordTrace, 1, 6, false)
			return journal.Query{STAN: atoi(t)}, err
		})},
		{Label: titleByRRN, Run: run(func(ctx context.Context) (journal.Query, error) {
			r, err := a.ui.Digits(ctx, TitleQuery, ui.WordRRN, 12, 12, false)
			return journal.Query{RRN: r}, err
		})},
		{Label: titleByDate, Run: run(func(ctx context.Context) (journal.Query, error) {
			d, err := a.ui.Digits(ctx, TitleQuery, ui.WordDate, 4, 4, false)
			if err != nil {
				return journal.Query{}, err
			}
			from, err := dayOf(d, a.now().In(a.loc))
			return journal.Query{From: from, To: from.AddDate(0, 0, 1)}, err
		})},
		{Label: titleByCard, Run: func(ctx context.Context) error {
			card, err := a.flowCard(ctx, &cardPrompt{title: TitleQuery})
			if err != nil {
				return err
			}
			hash, err := a.cards.CardHash(ctx, card.PAN)
			card.Wipe()
			if err != nil {
				return a.refused(ctx, TitleQuery, err)
			}
			amount, err := a.ui.Amount(ctx, TitleQuery)
			if err != nil {
				return err
			}
			recs, err := a.journal.Find(ctx, journal.Query{CardHash: hash, Amount: amount})
			if err != nil {
				return a.refused(ctx, TitleQuery, err)
			}
			return a.showRecords(ctx, recs)
		}},
	})
}

// dayOf is midnight of MMDD in now's zone (the terminal's), in the year of now (last
// year when that is later).
func dayOf(mmdd string, now time.Time) (time.Time, error) {
	m, d := int(atoi(mmdd[:2])), int(atoi(mmdd[2:]))
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, fmt.Errorf("date %s is not MMDD", mmdd)
	}
	t := time.Date(now.Year(), time.Month(m), d, 0, 0, 0, 0, now.Location())
	if t.After(now) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, nil
}

// showRecords pages through records with UP/DOWN; ENTER reprints the one shown.
func (a *App) showRecords(ctx context.Context, recs []txn.Record) error {
	if len(recs) == 0 {
		return a.ui.Result(ctx, resultWait, a.title(TitleQuery), a.ui.T(msgNotFound))
	}
	i := 0
	for {
		r := recs[i]
		a.ui.Show(
			ui.Columns(a.ui.T(TitleQuery), fmt.Sprintf("%d/%d", i+1, len(recs)), a.cols()),
			a.ui.T(typeName(r.Type))+" "+string(r.Status),
			fmt.Sprintf("%s %06d", a.ui.T(ui.WordTrace), r.STAN),
			a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(r.Amount),
			r.MaskedPAN,
			a.ui.T(ui.WordRRN)+" "+r.RRN,
			r.CreatedAt.In(a.loc).Format("2006-01-02 15:04:05"),
			a.ui.T(ui.Text{EN: "UP/DOWN  ENTER: reprint", ZH: "上下翻页 确认重打印"}),
		)
		k, err := a.ui.ReadKey(ctx, resultWait)
		if err != nil {
			if errors.Is(err, ui.ErrTimeout) {
				return nil
			}
			return err
		}
		switch k {
		case ui.KeyCancel:
			return nil
		case ui.KeyDown:
			i = (i + 1) % len(recs)
		case ui.KeyUp:
			i = (i + len(recs) - 1) % len(recs)
		case ui.KeyEnter:
			rec := r
			return a.reprint(ctx, &rec, nil)
		}
	}
}

// settleFlow shows the batch totals, settles on ENTER and prints the report.
func (a *App) settleFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleSettlement, msgNoHost)
	}
	batch, err := a.journal.CurrentBatch(ctx)
	if err != nil {
		return a.refused(ctx, TitleSettlement, err)
	}
	t, err := a.journal.Totals(ctx, batch)
	if err != nil {
		return a.refused(ctx, TitleSettlement, err)
	}
	// QR orders settle through the wallets, apart from the card totals of the 0500.
	qt, err := a.journal.QRTotals(ctx, batch)
	if err != nil {
		return a.refused(ctx, TitleSettlement, err)
	}
	ok, err := a.ui.Confirm(ctx, TitleSettlement, append(totalsLines(a.ui, t), a.qrTotalsLines(qt)...)...)
	if err != nil || !ok {
		return err
	}
	a.ui.Show(a.title(TitleSettlement), a.ui.T(ui.WordProcessing))
	s, err := a.engine.Settle(ctx, a.operatorID())
	if err != nil {
		return a.refused(ctx, TitleSettlement, err)
	}
	// The screen says what the report says: balanced, balanced after the upload, or
	// closed unbalanced.
	lines := append([]string{a.title(TitleSettlement), a.ui.T(txn.SettleResults[s.Result])}, totalsLines(a.ui, s.Totals)...)
	lines = append(lines, a.qrTotalsLines(qt)...)
	a.ui.Show(a.title(TitleSettlement), a.ui.T(ui.WordPrinting))
	b, err := receipt.Report{Merchant: a.merchant(), Totals: s.Totals, Currency: a.opts.Config.Currency, At: a.now(), Location: a.loc,
		Result: s.Result, Uploaded: s.Uploaded, QR: qt}.Bytes()
	if err == nil {
		err = a.dev.Printer.Print(ctx, b)
	}
	if err != nil {
		a.log.Warn("settlement report not printed", "err", err)
		lines = append(lines, a.ui.T(msgPrinterFault))
	}
	return a.ui.Result(ctx, resultWait, lines...)
}

func totalsLines(u *ui.UI, t txn.Totals) []string {
	return []string{
		fmt.Sprintf("Batch %06d", t.Batch),
		fmt.Sprintf("%s %d %s", u.T(TitleSale), t.Sales.Count, ui.FormatAmount(t.Sales.Amount)),
		fmt.Sprintf("%s %d %s", u.T(TitleVoid), t.Voids.Count, ui.FormatAmount(t.Voids.Amount)),
		fmt.Sprintf("%s %d %s", u.T(TitleRefund), t.Refunds.Count, ui.FormatAmount(t.Refunds.Amount)),
		fmt.Sprintf("%s %d %s", u.T(TitleManualRefund), t.ManualRefunds.Count, ui.FormatAmount(t.ManualRefunds.Amount)),
	}
}

// signOnFlow signs on and loads working keys.
func (a *App) signOnFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleSignOn, msgNoHost)
	}
	a.ui.Show(a.title(TitleSignOn), a.ui.T(ui.WordProcessing))
	if err := a.engine.SignOn(ctx, a.operatorID()); err != nil {
		return a.refused(ctx, TitleSignOn, err)
	}
	return a.ui.Result(ctx, resultWait, a.title(TitleSignOn), a.ui.T(msgSignedOn))
}
