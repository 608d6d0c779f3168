package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/drivers/printer"
	"posfw/drivers/scanner"
	"posfw/firmware/qr"
	"posfw/firmware/receipt"
	"posfw/firmware/txn"
	"posfw/ui"
)

// QR payments (issue 17): the customer-presented code (付款码) scanned, refunds and
// voids by order number. The rules and the journal's order are txn.QR's; this file is
// the screens and the slips.

// How long the terminal waits for a customer confirming on the phone: a query every
// qrQueryEvery, at most qrMaxQueries, then the order is cancelled.
const (
	qrQueryEvery = 2 * time.Second
	qrMaxQueries = 6
)

// Titles and messages of the QR screens.
var (
	TitleQR          = ui.Text{EN: "QR pay", ZH: "扫码支付"}
	titleQRPay       = ui.Text{EN: "Scan customer code", ZH: "扫付款码收款"}
	titleQRRefund    = ui.Text{EN: "QR refund", ZH: "扫码退货"}
	titleQRVoid      = ui.Text{EN: "QR void", ZH: "扫码撤销"}
	titleQRShow      = ui.Text{EN: "Show merchant code", ZH: "展示收款码"}
	titleQRReprint   = ui.Text{EN: "QR reprint", ZH: "扫码重打印"}
	msgScanToPay     = ui.Text{EN: "Scan to pay", ZH: "请扫码付款"}
	msgCancelWait    = ui.Text{EN: "CANCEL: cancel order", ZH: "取消键: 撤销订单"}
	msgScanCode      = ui.Text{EN: "Scan customer code", ZH: "请扫描付款码"}
	msgKeyCode       = ui.Text{EN: "F1: key the code", ZH: "F1: 手输号码"}
	msgPaymentCode   = ui.Text{EN: "Payment code", ZH: "付款码"}
	msgBadCode       = ui.Text{EN: "Not a payment code", ZH: "不是付款码"}
	msgBadOrder      = ui.Text{EN: "Not an order number", ZH: "不是订单号"}
	msgScanOrder     = ui.Text{EN: "Scan slip QR", ZH: "请扫描凭条二维码"}
	msgOrderNo       = ui.Text{EN: "Order No.", ZH: "订单号"}
	msgCustomerPay   = ui.Text{EN: "Customer paying", ZH: "用户支付中"}
	msgQRQuery       = ui.Text{EN: "Query", ZH: "查询"}
	msgSeconds       = ui.Text{EN: "s left", ZH: "秒"}
	msgNoScanner     = ui.Text{EN: "Scanner not connected", ZH: "扫码器未连接"}
	msgOpenOrders    = ui.Text{EN: "Settling open orders", ZH: "正在处理未完成订单"}
	msgPaid          = ui.Text{EN: "PAID", ZH: "支付成功"}
	msgQRCancelled   = ui.Text{EN: "Order cancelled", ZH: "订单已撤销"}
	msgNotCharged    = ui.Text{EN: "Customer not charged", ZH: "用户未扣款"}
	msgQRUnknown     = ui.Text{EN: "Result unknown", ZH: "支付结果未知"}
	msgWillCancel    = ui.Text{EN: "Will be cancelled", ZH: "将自动撤销订单"}
	msgQRDone        = ui.Text{EN: "Done", ZH: "成功"}
	msgWallet        = ui.Text{EN: "Wallet", ZH: "钱包"}
	msgOrderNotFound = ui.Text{EN: "Order not found", ZH: "原订单不存在"}
)

// orderDigits is the length of the terminal's order numbers: YYMMDD and 8 digits.
const orderDigits = 14

// newQR makes the QR engine over the card engine's journal and limits.
func (a *App) newQR(h txn.QRHost) *txn.QR {
	return &txn.QR{
		Engine: a.engine, Orders: a.journal, Host: h,
		Classify: func(code string) (string, error) {
			w, err := qr.Classify(code)
			return string(w), err
		},
		Mask:       qr.MaskCode,
		Prefix:     func(t time.Time) string { return t.In(a.loc).Format("060102") },
		QueryEvery: qrQueryEvery, MaxQueries: qrMaxQueries,
	}
}

// qrMenu is the main menu's "QR pay": collect, refund, void.
func (a *App) qrMenu(ctx context.Context) error {
	if a.qr == nil {
		return a.ui.Notice(ctx, TitleQR, msgNoHost)
	}
	return a.ui.Menu(ctx, TitleQR, []ui.Item{
		{Label: titleQRPay, Run: a.qrPayFlow},
		{Label: titleQRRefund, Run: a.qrRefundFlow},
		{Label: titleQRVoid, Run: a.qrVoidFlow},
		{Label: titleQRShow, Run: a.qrCollectFlow},
		{Label: titleQRReprint, Run: a.qrReprintFlow},
	})
}

// orderResolver ends, from the host worker, the orders a restart or an unanswered
// cancel left open, backing off while they stay open (the host unreachable), as the
// reversals do: each try writes its messages to the journal.
type orderResolver struct {
	next time.Time
	gap  time.Duration
}

// try resolves the open orders when due, unless a flow is busy with an order (it
// would be queried and cancelled under the customer's thumb).
func (r *orderResolver) try(ctx context.Context, a *App) {
	if a.qr == nil || time.Now().Before(r.next) || !a.qrMu.TryLock() {
		return
	}
	defer a.qrMu.Unlock()
	if left := a.qr.Resolve(ctx); left != 0 {
		r.gap = min(max(2*r.gap, reversalEvery), reversalMaxGap)
		r.next = time.Now().Add(r.gap)
		a.log.Warn("QR orders still open", "count", left, "retry_in", r.gap)
		return
	}
	r.next, r.gap = time.Time{}, 0
}

// qrOpen counts the orders still open (simctl state).
func (a *App) qrOpen(ctx context.Context) int {
	o, err := a.journal.OpenOrders(ctx)
	if err != nil {
		return -1
	}
	return len(o)
}

// qrPayFlow: amount, the customer's code (scanned, or keyed), the wait while the
// customer confirms, the result and the slips.
func (a *App) qrPayFlow(ctx context.Context) error {
	amount, err := a.ui.Amount(ctx, titleQRPay)
	if err != nil {
		return err
	}
	lines := []string{a.ui.T(ui.WordAmount) + " " + ui.FormatAmount(amount)}
	code, err := a.readCode(ctx, titleQRPay, msgScanCode, msgPaymentCode, 16, 24, lines, func(c string) bool {
		_, err := qr.Classify(c)
		return err == nil
	}, msgBadCode)
	if err != nil {
		return err
	}
	a.ui.Show(a.title(titleQRPay), lines[0], a.ui.T(ui.WordProcessing))
	a.qrMu.Lock() // the host worker may be settling an earlier order
	defer a.qrMu.Unlock()
	if err := a.settleOpenOrders(ctx, titleQRPay); err != nil {
		return err
	}
	q := *a.qr
	var query, most int
	q.Progress = func(i, max int, _ *txn.Order) { query, most = i, max }
	// The wait between queries counts down on the screen, second by second.
	q.Sleep = func(ctx context.Context, d time.Duration) error {
		for end := time.Now().Add(d); ; {
			left := time.Until(end)
			if left <= 0 {
				return nil
			}
			total := left + time.Duration(most-query)*q.QueryEvery
			a.ui.Show(a.title(titleQRPay), lines[0], a.ui.T(msgCustomerPay),
				fmt.Sprintf("%s %d/%d", a.ui.T(msgQRQuery), query, most),
				fmt.Sprintf("%d %s", int(total.Round(time.Second)/time.Second), a.ui.T(msgSeconds)), a.ui.T(msgCancelWait))
			if err := a.waitOrCancel(ctx, min(left, time.Second)); err != nil {
				return err
			}
		}
	}
	a.ui.Show(a.title(titleQRPay), lines[0], a.ui.T(ui.WordProcessing))
	o, err := q.Pay(ctx, txn.QRPayRequest{Amount: amount, Code: code, Operator: a.operatorID()})
	code = ""
	return a.qrFinish(ctx, titleQRPay, o, err)
}

// errCashierCancel: the cashier pressed CANCEL while the terminal waited for the
// customer; the order is cancelled (closed) at once instead of after the last query.
var errCashierCancel = errors.New("the cashier cancelled the wait")

// waitOrCancel waits d, or until CANCEL (errCashierCancel) or ctx's end.
func (a *App) waitOrCancel(ctx context.Context, d time.Duration) error {
	for end := time.Now().Add(d); ; {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		k, err := a.ui.ReadKey(ctx, left)
		switch {
		case errors.Is(err, ui.ErrTimeout):
			return nil
		case err != nil:
			return err
		case k == ui.KeyCancel:
			return errCashierCancel
		}
	}
}

// settleOpenOrders ends earlier orders left open before a new one starts, as a card's
// reversals go before the next sale.
func (a *App) settleOpenOrders(ctx context.Context, title ui.Text) error {
	if a.qrOpen(ctx) <= 0 {
		return nil
	}
	a.ui.Show(a.title(title), a.ui.T(msgOpenOrders), a.ui.T(ui.WordProcessing))
	a.qr.Resolve(ctx)
	return ctx.Err()
}

// qrRefundFlow: supervisor, the original order (its slip's QR scanned, or keyed), the
// amount within what is left, the result. The money goes back to the original order's
// wallet: no account is ever asked for.
func (a *App) qrRefundFlow(ctx context.Context) error {
	sup, err := a.supervisor(ctx, titleQRRefund)
	if err != nil {
		return err
	}
	orig, err := a.readOrder(ctx, titleQRRefund)
	if err != nil || orig == nil {
		return err
	}
	amount, err := a.ui.Amount(ctx, titleQRRefund, a.ui.T(receipt.WalletName(orig.Wallet)), orig.No,
		a.ui.T(msgRefundable)+" "+ui.FormatAmount(orig.Refundable()))
	if err != nil {
		return err
	}
	a.qrMu.Lock()
	defer a.qrMu.Unlock()
	a.ui.Show(a.title(titleQRRefund), a.ui.T(ui.WordProcessing))
	o, err := a.qr.Refund(ctx, txn.QRRefundRequest{OrigNo: orig.No, Amount: amount, Operator: a.operatorID(), Supervisor: sup, SupervisorOK: true})
	return a.qrFinish(ctx, titleQRRefund, o, err)
}

// qrVoidFlow: supervisor, the original order, confirm, the result.
func (a *App) qrVoidFlow(ctx context.Context) error {
	sup, err := a.supervisor(ctx, titleQRVoid)
	if err != nil {
		return err
	}
	orig, err := a.readOrder(ctx, titleQRVoid)
	if err != nil || orig == nil {
		return err
	}
	ok, err := a.ui.Confirm(ctx, titleQRVoid, a.ui.T(receipt.WalletName(orig.Wallet)), orig.No, orig.Payer,
		a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(orig.Amount))
	if err != nil || !ok {
		return err
	}
	a.qrMu.Lock()
	defer a.qrMu.Unlock()
	a.ui.Show(a.title(titleQRVoid), a.ui.T(ui.WordProcessing))
	o, err := a.qr.Void(ctx, txn.QRVoidRequest{OrigNo: orig.No, Operator: a.operatorID(), Supervisor: sup, SupervisorOK: true})
	return a.qrFinish(ctx, titleQRVoid, o, err)
}

// qrReprintFlow reprints any order's slips, found by its number (scanned or keyed),
// with its status as the journal holds it now.
func (a *App) qrReprintFlow(ctx context.Context) error {
	o, err := a.readOrder(ctx, titleQRReprint)
	if err != nil || o == nil {
		return err
	}
	lines := []string{a.title(titleQRReprint), o.No, a.ui.T(receipt.OrderStatusText(*o))}
	if note := a.printOrderSlips(ctx, *o, true); note != "" {
		lines = append(lines, note)
	}
	return a.ui.Result(ctx, resultWait, lines...)
}

// readOrder asks for an order number, scanned from a slip or keyed, and finds it.
func (a *App) readOrder(ctx context.Context, title ui.Text) (*txn.Order, error) {
	no, err := a.readCode(ctx, title, msgScanOrder, msgOrderNo, orderDigits, orderDigits, nil, func(c string) bool {
		return len(c) == orderDigits && allDigits(c)
	}, msgBadOrder)
	if err != nil {
		return nil, err
	}
	o, err := a.qr.FindOrder(ctx, no)
	if err != nil {
		return nil, a.refused(ctx, title, err)
	}
	if o == nil {
		return nil, a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), a.ui.T(msgOrderNotFound))
	}
	return o, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// readCode waits for a code from the scanner, or F1 and the code keyed (minLen to
// maxLen digits), or CANCEL. A code that valid refuses is refused on the screen (bad)
// and asked for again: nothing is sent for it. The code is never logged.
func (a *App) readCode(ctx context.Context, title, prompt, label ui.Text, minLen, maxLen int, extra []string, valid func(string) bool, bad ui.Text) (string, error) {
	note, refused := "", false
	for {
		lines := append([]string{a.title(title)}, extra...)
		lines = append(lines, a.ui.T(prompt), a.ui.T(msgKeyCode))
		if refused {
			lines = append(lines, a.ui.T(ui.WordRefused))
		}
		if note != "" {
			lines = append(lines, note)
		}
		a.ui.Show(lines...)
		code, byKey, err := a.scanOrKey(ctx)
		switch {
		case errors.Is(err, errManualEntry):
			code, err = a.ui.Digits(ctx, title, label, minLen, maxLen, false, extra...)
			if err != nil {
				return "", err
			}
		case err != nil && byKey:
			return "", err
		case err != nil:
			var ce *scanner.CodeError
			if errors.As(err, &ce) {
				note, refused = a.ui.T(bad), true
			} else {
				a.log.Warn("scanner", "err", err)
				note, refused = a.ui.T(msgNoScanner), false
			}
			if !sleep(ctx, 200*time.Millisecond) {
				return "", ctx.Err()
			}
			continue
		}
		if !valid(code) {
			a.log.Info("code refused before sending", "title", title.EN, "length", len(code))
			note, refused = a.ui.T(bad), true
			continue
		}
		return code, nil
	}
}

// scanOrKey waits for the scanner or a key: CANCEL (ui.ErrCancel) or F1
// (errManualEntry); byKey says a key or ctx ended the wait.
func (a *App) scanOrKey(ctx context.Context) (code string, byKey bool, err error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type scan struct {
		code string
		err  error
	}
	got := make(chan scan, 1)
	go func() {
		c, err := a.dev.Scanner.Read(rctx)
		got <- scan{c, err}
	}()
	defer a.ui.Wait()()
	for {
		select {
		case <-ctx.Done():
			return "", true, ctx.Err()
		case s := <-got:
			return s.code, false, s.err
		case k := <-a.ui.Keys():
			switch k {
			case ui.KeyCancel:
				return "", true, ui.ErrCancel
			case ui.KeyF1:
				return "", true, errManualEntry
			}
		}
	}
}

// qrFinish shows an order's end and prints its slips.
func (a *App) qrFinish(ctx context.Context, title ui.Text, o *txn.Order, err error) error {
	if err != nil {
		return a.refused(ctx, title, err)
	}
	ok := o.Status == txn.OrderPaid
	a.dev.Indicators.Outcome(ctx, ok)
	lines := []string{a.title(title)}
	switch o.Status {
	case txn.OrderPaid:
		if o.Kind == txn.OrderPayment {
			lines = append(lines, a.ui.T(ui.WordApproved), a.ui.T(msgPaid))
		} else {
			lines = append(lines, a.ui.T(ui.WordApproved), a.ui.T(msgQRDone))
		}
	case txn.OrderCancelled:
		lines = append(lines, a.ui.T(ui.WordDeclined), a.ui.T(msgQRCancelled), a.ui.T(msgNotCharged))
	case txn.OrderUnknown:
		lines = append(lines, a.ui.T(ui.WordDeclined), a.ui.T(msgQRUnknown), a.ui.T(msgWillCancel))
	default:
		l := a.ui.T(ui.WordDeclined)
		if o.ResponseCode != "" {
			lines = append(lines, l, o.ResponseCode+" "+a.ui.T(txn.LookupCode(o.ResponseCode).Text))
		} else {
			lines = append(lines, l, a.ui.T(msgNotSent))
		}
	}
	lines = append(lines, a.ui.T(msgWallet)+" "+a.ui.T(receipt.WalletName(o.Wallet)),
		a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(o.Amount), o.No)
	if note := a.printOrderSlips(ctx, *o, false); note != "" {
		lines = append(lines, note)
	}
	return a.ui.Result(ctx, resultWait, lines...)
}

// printOrderSlips prints an order's merchant copy and, for an order that moved money
// or may have, the customer's.
func (a *App) printOrderSlips(ctx context.Context, o txn.Order, reprint bool) string {
	a.ui.Show(a.title(TitleQR), a.ui.T(ui.WordPrinting))
	copies := []receipt.Copy{receipt.MerchantCopy, receipt.CustomerCopy}
	if o.Status == txn.OrderFailed || o.Status == txn.OrderCancelled {
		copies = copies[:1]
	}
	for _, c := range copies {
		b, err := receipt.OrderSlip{Merchant: a.merchant(), Order: o, Copy: c, Reprint: reprint, Location: a.loc}.Bytes()
		if err == nil {
			err = a.dev.Printer.Print(ctx, b)
		}
		if err != nil {
			a.log.Warn("printing failed", "order", o.No, "err", err)
			if errors.Is(err, printer.ErrPaperOut) {
				return a.ui.T(msgPaperOut)
			}
			return a.ui.T(msgPrinterFault)
		}
	}
	return ""
}

// qrTotalsLines are the settlement screen's QR lines: per wallet, the payments that
// stand (the report details refunds and voids).
func (a *App) qrTotalsLines(ts []txn.WalletTotals) []string {
	var lines []string
	for _, t := range ts {
		lines = append(lines, fmt.Sprintf("%s %d %s", a.ui.T(receipt.WalletName(t.Wallet)), t.Payments.Count, ui.FormatAmount(t.Payments.Amount)))
	}
	return lines
}

// The merchant-presented code (收款码): what the EMVCo payload says of the merchant
// beyond the configuration's merchant id and name. The configuration has no MCC,
// city or acquirer application id yet: these are the defaults of a Chinese
// acquirer's retail merchant (UnionPay's AID).
const (
	qrGUID = "A000000333"
	qrMCC  = "5411"
	qrCity = "SHANGHAI"
	// qrCollectPolls queries (every qrQueryEvery) before a shown code expires.
	qrCollectPolls = 30
)

// qrMerchant is the merchant part of the terminal's dynamic codes.
func (a *App) qrMerchant() qr.Merchant {
	c := a.opts.Config
	name := c.MerchantName
	if r := []rune(name); len(r) > 25 {
		name = string(r[:25])
	}
	return qr.Merchant{GUID: qrGUID, MerchantID: c.MerchantID, MCC: qrMCC, Currency: c.CurrencyCode(), Exponent: 2,
		Country: "CN", Name: name, City: qrCity}
}

// qrCollectFlow: amount, then the terminal shows a dynamic EMVCo code of its order
// with a countdown and queries the order until a wallet pays it or the code expires
// (the order is then closed).
func (a *App) qrCollectFlow(ctx context.Context) error {
	amount, err := a.ui.Amount(ctx, titleQRShow)
	if err != nil {
		return err
	}
	a.qrMu.Lock()
	defer a.qrMu.Unlock()
	if err := a.settleOpenOrders(ctx, titleQRShow); err != nil {
		return err
	}
	q := *a.qr
	var payload string
	var query, most int
	q.Progress = func(i, max int, _ *txn.Order) { query, most = i, max }
	caption := func(left time.Duration) []string {
		return []string{a.ui.T(msgScanToPay) + " " + ui.FormatAmount(amount),
			fmt.Sprintf("%d %s", int(left.Round(time.Second)/time.Second), a.ui.T(msgSeconds))}
	}
	q.Sleep = func(ctx context.Context, d time.Duration) error {
		for end := time.Now().Add(d); ; {
			left := time.Until(end)
			if left <= 0 {
				return nil
			}
			a.ui.ShowQR(payload, caption(left+time.Duration(most-query)*q.QueryEvery)...)
			if err := a.waitOrCancel(ctx, min(left, time.Second)); err != nil {
				return err
			}
		}
	}
	a.ui.Show(a.title(titleQRShow), a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(amount), a.ui.T(ui.WordProcessing))
	o, err := q.Collect(ctx, txn.QRCollectRequest{Amount: amount, Operator: a.operatorID(), Polls: qrCollectPolls,
		Show: func(o *txn.Order) error {
			p, err := qr.Build(a.qrMerchant(), qr.Order{Amount: o.Amount, BillNumber: o.No, TerminalLabel: a.opts.Config.TerminalID})
			if err != nil {
				return err
			}
			payload = p
			return a.ui.ShowQR(payload, caption(time.Duration(qrCollectPolls)*q.QueryEvery)...)
		}})
	return a.qrFinish(ctx, titleQRShow, o, err)
}
