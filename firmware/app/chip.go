package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/emv"
	"posfw/firmware/txn"
	"posfw/ui"
)

// Messages of the chip and contactless steps.
var (
	msgInsertCard   = ui.Text{EN: "Please insert card", ZH: "请插卡"}
	msgRemoveCard   = ui.Text{EN: "Remove card", ZH: "请拔卡"}
	msgSwipeNow     = ui.Text{EN: "Chip failed: swipe card", ZH: "芯片无法读取，请刷卡"}
	msgCardDeclined = ui.Text{EN: "Declined by the card", ZH: "卡片拒绝交易"}
	msgCardRefused  = ui.Text{EN: "Card cannot be used", ZH: "此卡无法使用"}
	msgTapAgain     = ui.Text{EN: "Tap again or insert", ZH: "请重新挥卡或插卡"}
	msgCardReversed = ui.Text{EN: "Card refused, reversing", ZH: "卡片拒绝，已登记冲正"}
	msgReading      = ui.Text{EN: "Reading card...", ZH: "读卡中..."}
)

// chipArrival is a chip card that came to one of the chip readers.
type chipArrival struct {
	dev chipreader.Device
	tap bool
	err error
}

// watchChip waits on a chip reader for a card to arrive (inserted, or tapped on the
// contactless reader) and sends it on got. A removal is not an arrival: the queue may
// hold one left from the idle screen. A reader that fails is left alone until the next
// prompt, so an unplugged reader does not spin.
func watchChip(ctx context.Context, dev chipreader.Device, tap bool, got chan<- chipArrival) {
	for {
		e, err := dev.Wait(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				got <- chipArrival{dev: dev, tap: tap, err: err}
			}
			return
		case e == chipreader.EventInserted || e == chipreader.EventTapped:
			got <- chipArrival{dev: dev, tap: e == chipreader.EventTapped}
			return
		}
	}
}

// kernel is the EMV kernel for one transaction, its hooks on this terminal's screen and
// PIN pad: the PIN block lands on card.
func (a *App) kernel(ctx context.Context, title ui.Text, amount int64, card *txn.Card, pinErr *error) *emv.Kernel {
	p := a.kernelParams(ctx)
	// This terminal approves online only: a floor limit of zero sends every card to the
	// issuer (an offline TC would be money the journal could not yet send; see
	// docs/decisions.md).
	for i := range p.AIDs {
		p.AIDs[i].FloorLimit, p.AIDs[i].CLFloorLimit = 0, 0
	}
	return &emv.Kernel{
		P: p,
		// 9A and 9F21 are the terminal's local date and time (at 00:40 in Beijing the UTC
		// date is still yesterday's); the card checks its dates against them.
		Now: func() time.Time { return a.now().In(a.loc) },
		Trace: func(line string) {
			a.log.Debug("apdu", "trace", line) // emvtag's trace: card data redacted
		},
		Hooks: emv.Hooks{
			Choose: func(apps []emv.Candidate) (int, error) {
				opts := make([]ui.Text, len(apps))
				for i, c := range apps {
					opts[i] = ui.Text{EN: c.Label, ZH: c.Label}
				}
				return a.ui.Choose(ctx, ui.Text{EN: "Select application", ZH: "请选择应用"}, opts)
			},
			PIN: func(c emv.CardData) emv.PINStatus {
				pan := bytes.Clone(c.PAN)
				defer clear(pan)
				tc := &txn.Card{PAN: pan}
				if err := a.readPIN(ctx, title, amount, tc); err != nil {
					*pinErr = err
					return emv.PINPadFailed
				}
				card.PINBlock, card.KSN = tc.PINBlock, tc.KSN
				return emv.PINEntered
			},
		},
	}
}

// chipCard is the card's side of an online chip transaction for the engine: the host's
// answer goes to the kernel's Complete (or Abort when none came).
type chipCard struct {
	tx     *emv.Transaction
	result emv.Result
	called bool
}

// Complete implements txn.ChipCard.
func (c *chipCard) Complete(answered bool, resp txn.Response) txn.ChipVerdict {
	c.called = true
	if !answered {
		c.result = c.tx.Abort()
		return txn.ChipVerdict{ICC: slipICC(c.result), Reason: "no valid answer: card asked to decline"}
	}
	icc, err := emv.ParseHostICC([]byte(resp.ICC))
	if err != nil {
		icc = emv.HostICC{} // the card then fails issuer authentication as it should
	}
	c.result = c.tx.Complete(emv.HostResult{Answered: true, ResponseCode: resp.Code, ICC: icc})
	return txn.ChipVerdict{Accepted: c.result.Outcome == emv.Approved, ICC: slipICC(c.result), Reason: c.result.Reason}
}

// slipICC is the record's chip data: field 55 as the host gets it, then the TSI and the
// application label, which the slip prints and the host is not sent (host.HostICC
// leaves them out).
func slipICC(r emv.Result) []byte {
	b := append([]byte(nil), r.Field55...)
	b = append(b, tlv.TLV{Tag: 0x9B, Value: r.TSI[:]}.Bytes()...)
	if r.Label != "" {
		b = append(b, tlv.TLV{Tag: 0x50, Value: []byte(r.Label)}.Bytes()...)
	}
	return b
}

// chipTxnCard is the card as the engine sends it, from the kernel's result: PAN and track
// 2 equivalent as bytes the caller wipes.
func chipTxnCard(r emv.Result, tap bool) *txn.Card {
	c := &txn.Card{PAN: bytes.Clone(r.Card.PAN), PSN: r.Card.PSN, EntryMode: txn.Chip, ICC: slipICC(r)}
	if tap {
		c.EntryMode = txn.Tapped
	}
	if len(r.Card.Expiry) >= 4 {
		c.Expiry = r.Card.Expiry[:4]
	}
	if len(r.Card.Track2) > 0 {
		// Track 2 equivalent (57) as field 35's characters, in bytes the caller wipes:
		// never through a string.
		t2 := make([]byte, hex.EncodedLen(len(r.Card.Track2)))
		hex.Encode(t2, r.Card.Track2)
		for i, ch := range t2 {
			if 'a' <= ch && ch <= 'f' {
				t2[i] = ch - 'a' + 'A'
			}
		}
		for len(t2) > 0 && t2[len(t2)-1] == 'F' {
			t2 = t2[:len(t2)-1]
		}
		c.Track2 = t2
	}
	return c
}

// chipSale runs a sale on a card in a chip reader: the kernel up to its first GENERATE
// AC, the host through the engine (which gives the answer back to the card before it
// writes the outcome), then "Remove card" and the slips.
//
// It returns retry when the card prompt must come back: the chip could not be read
// (pr counts it toward fallback) or a tapped card must be inserted.
func (a *App) chipSale(ctx context.Context, pr *cardPrompt, in cardIn) (retry bool, err error) {
	amount := pr.amount
	a.ui.Show(a.title(TitleSale), a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(amount), a.ui.T(msgReading))
	card := &txn.Card{}
	defer card.Wipe()
	var pinErr error
	k := a.kernel(ctx, TitleSale, amount, card, &pinErr)
	t := emv.Txn{Amount: amount}
	var tx *emv.Transaction
	var res emv.Result
	if in.tap {
		tx, res = k.Contactless(in.chip, t)
	} else {
		tx, res = k.Contact(in.chip, t)
	}
	a.log.Info("chip", "result", res.String())
	defer tx.Wipe() // the kernel's copies of the card data; the request has its own
	if pinErr != nil {
		if res.Outcome == emv.Online {
			tx.Abort()
		}
		a.removeCard(ctx, TitleSale, in)
		return false, a.refused(ctx, TitleSale, pinErr)
	}
	switch res.Outcome {
	case emv.Online:
	case emv.ChipError:
		if _, err := in.chip.PowerOn(); errors.Is(err, chipreader.ErrNoCard) {
			// The card had gone: an arrival left in the reader's queue from the idle screen
			// (inserted, then taken out). Not a chip failure; ask again.
			a.log.Info("chip card gone before it was read", "reason", res.Reason)
			return true, nil
		}
		in.chip.PowerOff()
		pr.chipFailures++
		// The count tells the cashier how far it is to the stripe (fallback).
		n := k.P.ChipFailuresBeforeFallback
		note := chipErrorNote(pr.chipFailures, n)
		pr.note = &note
		if n > 0 && pr.chipFailures >= n {
			pr.note = &msgSwipeNow
		}
		a.log.Info("chip read failed", "failures", pr.chipFailures, "reason", res.Reason)
		return true, nil
	case emv.InsertCard:
		pr.note = &msgInsertCard
		return true, nil
	case emv.Declined:
		a.record(ctx, "chip_declined", fmt.Sprintf("%s %s offline: %s", res.Card.Masked(), ui.FormatAmount(amount), res.Reason))
		a.removeCard(ctx, TitleSale, in, ui.WordDeclined, msgCardDeclined)
		return false, a.ui.Result(ctx, resultWait, a.title(TitleSale), a.ui.T(ui.WordDeclined), a.ui.T(msgCardDeclined))
	case emv.Approved:
		// Offline approval cannot happen with floor limits of zero; were it to, the
		// journal would not hold it: the cashier is told it did not go through.
		a.log.Error("chip card approved offline; this terminal approves online only", "result", res.String())
		a.removeCard(ctx, TitleSale, in)
		return false, a.ui.Result(ctx, resultWait, a.title(TitleSale), a.ui.T(ui.WordDeclined), a.ui.T(msgCardRefused))
	default:
		a.log.Info("chip card refused", "reason", res.Reason)
		a.removeCard(ctx, TitleSale, in)
		return false, a.ui.Result(ctx, resultWait, a.title(TitleSale), a.ui.T(ui.WordRefused), a.ui.T(msgCardRefused), res.Reason)
	}
	c := chipTxnCard(res, in.tap)
	defer c.Wipe()
	c.PINBlock, c.KSN = card.PINBlock, card.KSN
	chip := &chipCard{tx: tx, result: res}
	c.Chip = chip
	req := txn.SaleRequest{Amount: amount, Card: c, Operator: a.operatorID()}
	for {
		lines := []string{a.title(TitleSale), a.ui.T(ui.WordAmount) + " " + ui.FormatAmount(amount), c.Masked(), a.ui.T(ui.WordProcessing)}
		if in.tap {
			// One tap: the card was read and may go while the host is asked.
			lines = append(lines, a.ui.T(msgRemoveCard))
		}
		a.ui.Show(lines...)
		rec, err := a.engine.Sale(ctx, req)
		var ref *txn.Refusal
		if errors.As(err, &ref) && ref.Rule == "duplicate confirmed" && !req.ConfirmDuplicate {
			ok, cerr := a.ui.Confirm(ctx, TitleSale, a.ui.T(msgDuplicate), a.ui.T(ref.Text), c.Masked(), ui.FormatAmount(amount))
			if cerr == nil && ok {
				req.ConfirmDuplicate = true
				continue
			}
			// The cashier did not go on: nothing was sent, the card declines.
			tx.Abort()
			a.removeCard(ctx, TitleSale, in)
			return false, cerr
		}
		if !chip.called {
			tx.Abort() // nothing went to the host: the card ends with an AAC
		}
		// The host has had the request: the card's data goes now, not when the cashier
		// leaves the result screen.
		pinned := c.PINBlock != nil
		c.Wipe()
		card.Wipe()
		tx.Wipe()
		a.removeCard(ctx, TitleSale, in, outcomeWord(rec, err))
		if err == nil && rec.Status == txn.ReversalPending && rec.ResponseCode == txn.CodeApproved {
			// The host approved and the card did not: the slip says so.
			a.log.Warn("card declined after the host approved; reversing", "trace", rec.STAN, "reason", chip.result.Reason)
		}
		// No signature line when the cardholder entered the PIN or the card's CVM list
		// asked for no verification (a small tap).
		return false, a.finish(ctx, TitleSale, rec, err, pinned || res.CVM == emv.NoCVM)
	}
}

// chipErrorNote is the card prompt's note after a chip read failed: how many of the
// failures that allow a fallback swipe there have been (24 columns).
func chipErrorNote(failures, ofN int) ui.Text {
	if ofN <= 0 {
		return ui.Text{EN: "Chip error: insert again", ZH: "读芯片失败，请重插"}
	}
	return ui.Text{EN: fmt.Sprintf("Chip error %d/%d: reinsert", failures, ofN), ZH: fmt.Sprintf("读芯片失败(%d/%d)，请重插", failures, ofN)}
}

// outcomeWord is the one word for how a flow ended: Approved, Declined or Refused.
func outcomeWord(rec *txn.Record, err error) ui.Text {
	switch {
	case err != nil:
		return ui.WordRefused
	case rec.Status == txn.Approved:
		return ui.WordApproved
	}
	return ui.WordDeclined
}

// removeCard asks for the card to come out of the contact reader and waits for it (or
// a key, or 30 s); a tapped card has gone already.
//
// status, when given, is the outcome's word (Approved, Declined): the screen says it
// with "Remove card", so the result is known before the card is out.
func (a *App) removeCard(ctx context.Context, title ui.Text, in cardIn, status ...ui.Text) {
	if in.chip == nil || in.tap {
		return
	}
	lines := []string{a.title(title)}
	for _, s := range status {
		lines = append(lines, a.ui.T(s))
	}
	a.ui.Show(append(lines, a.ui.T(msgRemoveCard))...)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	defer a.ui.Wait()()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			e, err := in.chip.Wait(wctx)
			if err != nil || e == chipreader.EventRemoved {
				return
			}
		}
	}()
	select {
	case <-gone:
	case <-a.ui.Keys():
		cancel()
		<-gone
	}
}

// record writes an event to the journal, logging when it cannot.
func (a *App) record(ctx context.Context, kind, detail string) {
	if a.journal == nil {
		return
	}
	if err := a.journal.Audit(ctx, txn.Event{Kind: kind, Operator: a.operatorID(), Detail: detail}); err != nil {
		a.log.Error("audit", "kind", kind, "err", err)
	}
}

// readChip reads a chip card's data for a void or a refund (PBOC's simple flow: no
// cryptogram); a tap reads it through the contactless path.
func (a *App) readChip(ctx context.Context, title ui.Text, amount int64, in cardIn) (*txn.Card, error) {
	a.ui.Show(a.title(title), a.ui.T(msgReading))
	var pinErr error
	k := a.kernel(ctx, title, amount, &txn.Card{}, &pinErr)
	k.Hooks.PIN = nil // a refund is not the cardholder's to verify
	t := emv.Txn{Amount: amount, Type: 0x20}
	var res emv.Result
	if in.tap {
		var tx *emv.Transaction
		tx, res = k.Contactless(in.chip, t)
		defer tx.Wipe()
		if res.Outcome == emv.Online {
			tx.Abort()
			res.Outcome = emv.CardRead
		}
		if res.Outcome == emv.Declined || res.Outcome == emv.Approved {
			res.Outcome = emv.CardRead // the card was read; its cryptogram is not asked for
		}
	} else {
		res = k.ReadCard(in.chip, t)
	}
	a.removeCard(ctx, title, in)
	if res.Outcome != emv.CardRead || len(res.Card.PAN) == 0 {
		a.log.Info("chip card not read", "result", res.String())
		return nil, errors.New(a.ui.T(msgCardRefused))
	}
	c := chipTxnCard(res, in.tap)
	res.Card.Wipe() // c has its own copy
	c.ICC = nil     // nothing for the host to verify: field 55 is not sent (simple flow)
	return c, nil
}
