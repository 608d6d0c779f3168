package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"posfw/drivers/printer"
	"posfw/firmware/receipt"
	"posfw/firmware/txn"
	"posfw/ui"
)

// resultWait is how long a result stays up before the terminal returns to idle.
const resultWait = 60 * time.Second

var (
	msgNoResponse   = ui.Text{EN: "No answer, reversing", ZH: "无应答，已登记冲正"}
	msgNotSent      = ui.Text{EN: "Host down, not charged", ZH: "主机不通，未扣款"}
	msgPaperOut     = ui.Text{EN: "Paper out, reprint later", ZH: "缺纸，请装纸后重打印"}
	msgPrinterFault = ui.Text{EN: "Printer fault, reprint", ZH: "打印机故障，请稍后重打印"}
	msgJournal      = ui.Text{EN: "Journal failed, not sent", ZH: "流水写入失败，交易未发送"}
	// The request left (or may have) and its outcome could not be written: the record
	// stays an armed reversal. Worded as the no-answer slip is.
	msgUnrecorded  = ui.Text{EN: "Not completed", ZH: "交易未完成"}
	msgWillRevert  = ui.Text{EN: "Will be reversed", ZH: "将自动冲正"}
	msgCallTech    = ui.Text{EN: "Journal full: call tech", ZH: "流水故障，请联系维护"}
	msgDuplicate   = ui.Text{EN: "Same card, same amount", ZH: "同卡同金额刚刚交易过"}
	msgManualOffer = ui.Text{EN: "Record a manual refund?", ZH: "是否登记手工退款?"}
	msgRefundable  = ui.Text{EN: "Refundable", ZH: "可退金额"}
	msgNoHost      = ui.Text{EN: "No host configured", ZH: "未配置主机"}
	msgReason      = ui.Text{EN: "Reason", ZH: "原因"}
)

func (a *App) cols() int { return a.board.Display.Cols }

func (a *App) title(t ui.Text) string { return ui.Center(a.ui.T(t), a.cols()) }

// saleFlow: amount, card, PIN when the card asks for it, processing, result, receipt.
func (a *App) saleFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleSale, msgNoHost)
	}
	amount, err := a.ui.Amount(ctx, TitleSale)
	if err != nil {
		return err
	}
	pr := &cardPrompt{title: TitleSale, amount: amount}
	var in cardIn
	for {
		if in, err = a.readCard(ctx, pr); err != nil {
			return err
		}
		if in.chip == nil {
			break
		}
		if retry, err := a.chipSale(ctx, pr, in); !retry {
			return err
		}
	}
	pres := in.mag
	defer in.Wipe()
	card := txnCard(in)
	defer card.Wipe()
	pin := needsPIN(pres)
	if pin {
		if err := a.readPIN(ctx, TitleSale, amount, card); err != nil {
			return a.refused(ctx, TitleSale, err)
		}
	}
	req := txn.SaleRequest{Amount: amount, Card: card, Operator: a.operatorID()}
	for {
		a.ui.Show(a.title(TitleSale), a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(amount), pres.Card.Masked(), a.ui.T(ui.WordProcessing))
		rec, err := a.engine.Sale(ctx, req)
		var ref *txn.Refusal
		if errors.As(err, &ref) && ref.Rule == "duplicate confirmed" && !req.ConfirmDuplicate {
			ok, cerr := a.ui.Confirm(ctx, TitleSale, a.ui.T(msgDuplicate), a.ui.T(ref.Text), pres.Card.Masked(), ui.FormatAmount(amount))
			if cerr != nil || !ok {
				return cerr
			}
			req.ConfirmDuplicate = true
			continue
		}
		// The host has had the request: the card's data goes now, not when the cashier
		// leaves the result screen.
		card.Wipe()
		in.Wipe()
		return a.finish(ctx, TitleSale, rec, err, pin)
	}
}

// flowCard reads the card of a void or a refund: swiped, keyed, or a chip card read
// without a cryptogram (readChip). The card's bytes are the caller's to wipe.
func (a *App) flowCard(ctx context.Context, pr *cardPrompt) (*txn.Card, error) {
	in, err := a.readCard(ctx, pr)
	if err != nil {
		return nil, err
	}
	if in.chip != nil {
		return a.readChip(ctx, pr.title, pr.amount, in)
	}
	// The card's bytes go to the caller: its own PAN, the presentation wiped here.
	c := txnCard(in)
	c.PAN = bytes.Clone(c.PAN)
	in.Wipe()
	return c, nil
}

// refused shows "Refused" and the reason on the next line.
func (a *App) refused(ctx context.Context, title ui.Text, err error) error {
	if errors.Is(err, ui.ErrCancel) || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, txn.ErrUnrecorded) {
		a.log.Error("outcome not recorded; the record stays pending and is reversed at the next start", "title", title.EN, "error", err)
		a.outcome(ctx, txn.ReversalPending)
		return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(msgUnrecorded), a.ui.T(msgWillRevert), a.ui.T(msgCallTech))
	}
	reason := err.Error()
	var ref *txn.Refusal
	switch {
	case errors.As(err, &ref):
		reason = a.ui.T(ref.Text)
	case errors.Is(err, txn.ErrJournal):
		reason = a.ui.T(msgJournal)
	}
	a.log.Info("refused", "title", title.EN, "reason", reason)
	return a.ui.Result(ctx, resultWait, a.title(title), a.ui.T(ui.WordRefused), reason)
}

// finish shows a transaction's outcome and prints its slips. The outcome is already in
// the journal: a printer fault only means a reprint later.
func (a *App) finish(ctx context.Context, title ui.Text, rec *txn.Record, err error, pinVerified bool) error {
	if err != nil {
		return a.refused(ctx, title, err)
	}
	a.outcome(ctx, rec.Status)
	lines := []string{a.title(title)}
	msg := ""
	switch rec.Status {
	case txn.Approved, txn.Recorded:
		lines = append(lines, a.ui.T(ui.WordApproved))
	case txn.Declined:
		c := txn.LookupCode(rec.ResponseCode)
		msg = a.ui.T(c.Text)
		lines = append(lines, a.ui.T(ui.WordDeclined), fmt.Sprintf("%s %s", rec.ResponseCode, msg))
	case txn.ReversalPending:
		// The slip says it in both languages itself; msg is for the host's words only.
		why := msgNoResponse
		if rec.ResponseCode == txn.CodeApproved {
			why = msgCardReversed // the host approved; the chip card did not
		}
		lines = append(lines, a.ui.T(ui.WordDeclined), a.ui.T(why))
	case txn.NotSent:
		lines = append(lines, a.ui.T(ui.WordDeclined), a.ui.T(msgNotSent))
	default:
		lines = append(lines, string(rec.Status))
	}
	lines = append(lines, a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(rec.Amount), fmt.Sprintf("%s %06d", a.ui.T(ui.WordTrace), rec.STAN))
	if rec.RRN != "" {
		lines = append(lines, a.ui.T(ui.WordRRN)+" "+rec.RRN)
	}
	if printedAtFinish[rec.Status] {
		// The outcome is on the screen before the paper moves: the cashier and the
		// cardholder read it while the slips print.
		a.ui.Show(append(lines[:len(lines):len(lines)], a.ui.T(ui.WordPrinting))...)
		if note := a.printCopies(ctx, *rec, false, pinVerified, msg); note != "" {
			lines = append(lines, note)
		}
	}
	return a.ui.Result(ctx, resultWait, lines...)
}

// printedAtFinish are the outcomes a flow prints slips for: not sent means nothing
// happened.
//
// A request the host never answered (reversal pending) prints both copies: the slip
// says "failed, no answer, will be reversed automatically" with the trace, date and
// masked card. The merchant keeps it for the "debited but the terminal showed failure"
// dispute; the cardholder gets one too, because the debit, if there was one, shows on
// the cardholder's statement and the cardholder is the one who calls the issuer.
var printedAtFinish = map[txn.Status]bool{txn.Approved: true, txn.Recorded: true, txn.Declined: true, txn.ReversalPending: true}

// merchantOnly are the statuses whose slips are the merchant's business only: a decline,
// and a reversal given up (the merchant calls the acquirer; the cardholder is long gone).
var merchantOnly = map[txn.Status]bool{txn.Declined: true, txn.ReversalFailed: true}

// slipTitles head the Printing screen of each kind of slip; a reprint says Reprint.
var slipTitles = map[txn.Type]ui.Text{
	txn.Sale: TitleSale, txn.Void: TitleVoid, txn.Refund: TitleRefund, txn.ManualRefund: TitleManualRefund,
}

// printSlips prints the merchant copy and, unless the status is merchantOnly, the
// customer copy; it returns a note for the screen when the printer failed. It runs on
// the UI goroutine, the printer's only user (see notices).
func (a *App) printSlips(ctx context.Context, rec txn.Record, reprint, pinVerified bool, msg string) string {
	title := slipTitles[rec.Type]
	if reprint {
		title = TitleReprint
	}
	a.ui.Show(a.title(title), a.ui.T(ui.WordPrinting))
	return a.printCopies(ctx, rec, reprint, pinVerified, msg)
}

// printCopies prints the slips of printSlips without a screen of its own.
func (a *App) printCopies(ctx context.Context, rec txn.Record, reprint, pinVerified bool, msg string) string {
	copies := []receipt.Copy{receipt.MerchantCopy, receipt.CustomerCopy}
	if merchantOnly[rec.Status] {
		copies = copies[:1]
	}
	for _, c := range copies {
		b, err := receipt.Slip{Merchant: a.merchant(), Record: rec, Copy: c, Reprint: reprint, PINVerified: pinVerified, Message: msg, Location: a.loc}.Bytes()
		if err == nil {
			err = a.dev.Printer.Print(ctx, b)
		}
		if err != nil {
			a.log.Warn("printing failed", "trace", rec.STAN, "err", err)
			if errors.Is(err, printer.ErrPaperOut) {
				return a.ui.T(msgPaperOut)
			}
			return a.ui.T(msgPrinterFault)
		}
	}
	return ""
}

func (a *App) merchant() receipt.Merchant {
	c := a.opts.Config
	return receipt.Merchant{Name: c.MerchantName, TerminalID: c.TerminalID, MerchantID: c.MerchantID}
}

// voidFlow: supervisor, trace no., confirm the original, card if presented, result.
func (a *App) voidFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleVoid, msgNoHost)
	}
	sup, err := a.supervisor(ctx, TitleVoid)
	if err != nil {
		return err
	}
	t, err := a.ui.Digits(ctx, TitleVoid, ui.WordTrace, 1, 6, false)
	if err != nil {
		return err
	}
	stan := atoi(t)
	orig, err := a.engine.FindForVoid(ctx, stan)
	if err != nil {
		return a.refused(ctx, TitleVoid, err)
	}
	ok, err := a.ui.Confirm(ctx, TitleVoid, a.ui.T(typeName(orig.Type))+fmt.Sprintf(" %06d", orig.STAN), orig.MaskedPAN,
		a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(orig.Amount), orig.CreatedAt.In(a.loc).Format("01-02 15:04:05"))
	if err != nil || !ok {
		return err
	}
	req := txn.VoidRequest{STAN: stan, Operator: a.operatorID(), Supervisor: sup, SupervisorOK: true}
	card, err := a.flowCard(ctx, &cardPrompt{title: TitleVoid, amount: orig.Amount, optional: true})
	switch {
	case errors.Is(err, errNoCard):
	case err != nil:
		return a.refused(ctx, TitleVoid, err)
	default:
		req.Card = card
		defer req.Card.Wipe()
	}
	a.ui.Show(a.title(TitleVoid), a.ui.T(ui.WordProcessing))
	rec, err := a.engine.Void(ctx, req)
	return a.finish(ctx, TitleVoid, rec, err, false)
}

// refundFlow: supervisor, original RRN and date, amount (refundable shown), the
// original card, result; on "original route unavailable" a manual refund is offered.
func (a *App) refundFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleRefund, msgNoHost)
	}
	sup, err := a.supervisor(ctx, TitleRefund)
	if err != nil {
		return err
	}
	rrn, err := a.ui.Digits(ctx, TitleRefund, ui.WordRRN, 12, 12, false)
	if err != nil {
		return err
	}
	date, err := a.ui.Digits(ctx, TitleRefund, ui.WordDate, 4, 4, false)
	if err != nil {
		return err
	}
	orig, err := a.engine.FindForRefund(ctx, rrn, date)
	if err != nil {
		return a.refused(ctx, TitleRefund, err)
	}
	var extra []string
	if orig != nil {
		extra = append(extra, a.ui.T(msgRefundable)+" "+ui.FormatAmount(orig.Refundable()))
	}
	amount, err := a.ui.Amount(ctx, TitleRefund, extra...)
	if err != nil {
		return err
	}
	card, err := a.flowCard(ctx, &cardPrompt{title: TitleRefund, amount: amount})
	if err != nil {
		return a.refused(ctx, TitleRefund, err)
	}
	defer card.Wipe()
	a.ui.Show(a.title(TitleRefund), a.ui.T(ui.WordProcessing))
	rec, err := a.engine.Refund(ctx, txn.RefundRequest{OrigRRN: rrn, OrigDate: date, Amount: amount, Card: card,
		Operator: a.operatorID(), Supervisor: sup, SupervisorOK: true})
	if err := a.finish(ctx, TitleRefund, rec, err, false); err != nil {
		return err
	}
	if rec != nil && rec.Status == txn.Declined && txn.LookupCode(rec.ResponseCode).Action == txn.ActManualRoute {
		ok, err := a.ui.Confirm(ctx, TitleManualRefund, a.ui.T(msgManualOffer), a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(amount))
		if err != nil || !ok {
			return err
		}
		return a.manualRefund(ctx, sup, rrn, date, amount)
	}
	return nil
}

// manualRefundFlow records a refund made outside the card route, chosen by the supervisor.
func (a *App) manualRefundFlow(ctx context.Context) error {
	if a.engine == nil {
		return a.ui.Notice(ctx, TitleManualRefund, msgNoHost)
	}
	sup, err := a.supervisor(ctx, TitleManualRefund)
	if err != nil {
		return err
	}
	rrn, err := a.ui.Digits(ctx, TitleManualRefund, ui.WordRRN, 12, 12, false)
	if err != nil {
		return err
	}
	date, err := a.ui.Digits(ctx, TitleManualRefund, ui.WordDate, 4, 4, false)
	if err != nil {
		return err
	}
	amount, err := a.ui.Amount(ctx, TitleManualRefund)
	if err != nil {
		return err
	}
	return a.manualRefund(ctx, sup, rrn, date, amount)
}

func (a *App) manualRefund(ctx context.Context, sup, rrn, date string, amount int64) error {
	i, err := a.ui.Choose(ctx, msgReason, txn.ManualRefundReasons)
	if err != nil {
		return err
	}
	rec, err := a.engine.ManualRefund(ctx, txn.ManualRefundRequest{Amount: amount, Reason: txn.ManualRefundReasons[i].EN,
		OrigRRN: rrn, OrigDate: date, Operator: a.operatorID(), Supervisor: sup, SupervisorOK: true})
	return a.finish(ctx, TitleManualRefund, rec, err, false)
}

func typeName(t txn.Type) ui.Text {
	switch t {
	case txn.Sale:
		return TitleSale
	case txn.Void:
		return TitleVoid
	case txn.Refund:
		return TitleRefund
	case txn.ManualRefund:
		return TitleManualRefund
	}
	return ui.Text{EN: string(t), ZH: string(t)}
}

func atoi(s string) int64 {
	var v int64
	for _, c := range s {
		v = v*10 + int64(c-'0')
	}
	return v
}
