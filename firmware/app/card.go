package app

import (
	"context"
	"errors"
	"time"

	"posfw/board"
	"posfw/drivers/cardreader"
	"posfw/drivers/chipreader"
	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/iso9564"
	"posfw/firmware/emv"
	"posfw/firmware/txn"
	"posfw/ui"
)

// Messages of the card and PIN steps.
var (
	msgReadError = ui.Text{EN: "Read error, swipe again", ZH: "读卡失败，请重刷"}
	msgUseChip   = ui.Text{EN: "Chip card: insert chip", ZH: "芯片卡请插卡"}
	msgNoReader  = ui.Text{EN: "Card reader not connected", ZH: "读卡器未连接"}
	// msgNoChipReader: the chip or contactless reader failed (unplugged, pcscd gone).
	msgNoChipReader = ui.Text{EN: "Chip reader not connected", ZH: "IC卡读卡器未连接"}
	msgPINOnPad     = ui.Text{EN: "Enter PIN on the PIN pad", ZH: "请在密码键盘输入密码"}
	msgPINTimeout   = ui.Text{EN: "PIN entry timed out", ZH: "输入密码超时"}
	msgNoPad        = ui.Text{EN: "PIN pad not connected", ZH: "密码键盘未连接"}
	msgSkipCard     = ui.Text{EN: "ENTER: no card", ZH: "确认键: 不刷卡"}
	msgCardNo       = ui.Text{EN: "Card number", ZH: "卡号"}
	msgExpiry       = ui.Text{EN: "Expiry (YYMM)", ZH: "有效期(年月)"}
)

// errNoCard is returned by readCard when the operator chose to go on without a card.
var errNoCard = errors.New("no card presented")

// cardIn is a card as it came to the terminal: swiped or keyed (mag), or in a chip
// reader (chip, tap when on the contactless reader).
type cardIn struct {
	mag  *cardreader.Presentation
	chip chipreader.Device
	tap  bool
	// fallback: mag is a chip card's swipe taken after its chip failed (entry mode 80).
	fallback bool
}

// Wipe wipes the swiped card's data; a chip card's is the kernel's and the flow's.
func (c cardIn) Wipe() {
	if c.mag != nil {
		c.mag.Wipe()
	}
}

// cardPrompt is what readCard knows of the sale while it waits.
type cardPrompt struct {
	title    ui.Text
	amount   int64
	optional bool // ENTER goes on without a card
	// chipFailures counts the chip reads of this sale that failed: enough of them let a
	// chip card's swipe through as a fallback (emv.Params.Swipe).
	chipFailures int
	note         *ui.Text
	// chipDown are the chip readers that failed during this prompt: they are not waited
	// on again until the next one (an unplugged reader answers at once; a wait on it
	// would spin), and the prompt says so.
	chipDown map[chipreader.Device]bool
}

// readCard shows the card prompt and waits for a card inserted, tapped or swiped, or
// F1 and a keyed card number (manual entry fallback), or CANCEL. The caller owns the
// card and must Wipe it.
func (a *App) readCard(ctx context.Context, pr *cardPrompt) (in cardIn, err error) {
	defer func() {
		if err == nil && in.mag != nil && len(in.mag.Card.PAN) > 0 {
			// The pad hashes the card while the flow goes on (PIN, confirmation).
			a.cards.Prepare(in.mag.Card.PAN)
		}
	}()
	for {
		if a.stripeDone != nil {
			<-a.stripeDone // within the stripe reader's poll interval, before the prompt shows
			a.stripeDone = nil
		}
		lines := []string{ui.Center(a.ui.T(pr.title), a.cols())}
		if pr.amount > 0 {
			lines = append(lines, a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(pr.amount))
		}
		lines = append(lines, a.ui.T(ui.WordCard), a.ui.T(ui.WordManual))
		if pr.optional {
			lines = append(lines, a.ui.T(msgSkipCard))
		}
		if pr.note != nil {
			lines = append(lines, a.ui.T(*pr.note))
		}
		a.ui.Show(lines...)

		rctx, cancel := context.WithCancel(ctx)
		got := make(chan readResult, 1)
		go func() {
			p, err := a.dev.Reader.Read(rctx)
			got <- readResult{p, err}
		}()
		chips := make(chan chipArrival, 2)
		for _, r := range []struct {
			dev chipreader.Device
			tap bool
		}{{a.dev.Chip, false}, {a.dev.Contactless, true}} {
			if !pr.chipDown[r.dev] {
				go watchChip(rctx, r.dev, r.tap, chips)
			}
		}
		w, err := a.waitCard(ctx, got, chips, pr)
		cancel()
		if w.byKey {
			// The stripe reader's answer is still to come (it notices the cancel within its
			// poll interval): collect it, wiping a card that raced the key or the chip
			// card. Leaving the prompt, aside (the next prompt waits for it), rather than
			// hold the flow — a chip card's transaction — for it; asking again, first, so
			// that the next swipe goes to the next read and not to this one's wipe.
			drain := func() {
				if r := <-got; r.err == nil || errors.Is(r.err, cardreader.ErrUseChip) {
					r.p.Wipe()
				}
			}
			if w.retry != nil {
				drain()
			} else {
				done := make(chan struct{})
				a.stripeDone = done
				go func() { drain(); close(done) }()
			}
		}
		switch {
		case errors.Is(err, errManualEntry):
			p, err := a.keyCard(ctx, pr.title)
			return cardIn{mag: p}, err
		case w.retry != nil:
			pr.note = w.retry
			continue
		}
		return w.in, err
	}
}

type readResult struct {
	p   cardreader.Presentation
	err error
}

var errManualEntry = errors.New("manual entry chosen")

// cardWait is how a wait for a card ended.
type cardWait struct {
	// in is the card, when one came.
	in cardIn
	// retry, when set, is the message to show before asking again.
	retry *ui.Text
	// byKey says something other than the stripe reader ended the wait (a key, ctx, a
	// chip card), so the stripe reader's own answer has not been taken from got yet.
	byKey bool
}

// waitCard waits for the stripe reader, a chip reader or a key.
func (a *App) waitCard(ctx context.Context, got <-chan readResult, chips <-chan chipArrival, pr *cardPrompt) (cardWait, error) {
	defer a.ui.Wait()()
	for {
		select {
		case <-ctx.Done():
			return cardWait{byKey: true}, ctx.Err()
		case c := <-chips:
			if c.err != nil {
				// The stripe and the other reader still work: say so and wait on them.
				a.log.Warn("chip reader", "reader", c.dev.String(), "err", c.err)
				if pr.chipDown == nil {
					pr.chipDown = map[chipreader.Device]bool{}
				}
				pr.chipDown[c.dev] = true
				return cardWait{retry: &msgNoChipReader, byKey: true}, c.err
			}
			return cardWait{in: cardIn{chip: c.dev, tap: c.tap}, byKey: true}, nil
		case r := <-got:
			var re *cardreader.ReadError
			switch {
			case r.err == nil:
				return cardWait{in: cardIn{mag: &r.p}}, nil
			case errors.Is(r.err, cardreader.ErrUseChip):
				d := a.kernelParams(ctx).Swipe(emv.SwipeCheck{ServiceCode: r.p.Card.ServiceCode, ChipFailures: pr.chipFailures, HasChipReader: board.Present(a.dev.Chip)})
				a.log.Info("chip card swiped", "rule", d.Rule)
				switch d.Decision {
				case emv.SwipeFallback:
					return cardWait{in: cardIn{mag: &r.p, fallback: true}}, nil
				case emv.SwipeAccept:
					return cardWait{in: cardIn{mag: &r.p}}, nil
				}
				r.p.Wipe()
				return cardWait{retry: &msgUseChip}, r.err
			case errors.As(r.err, &re):
				a.log.Info("card read error", "cause", re.Cause)
				return cardWait{retry: &msgReadError}, r.err
			}
			a.log.Warn("card reader", "err", r.err)
			return cardWait{retry: &msgNoReader}, r.err
		case k := <-a.ui.Keys():
			switch {
			case k == ui.KeyCancel:
				return cardWait{byKey: true}, ui.ErrCancel
			case k == ui.KeyF1:
				return cardWait{byKey: true}, errManualEntry
			case k == ui.KeyEnter && pr.optional:
				return cardWait{byKey: true}, errNoCard
			}
		}
	}
}

// keyCard takes a card number and expiry keyed on the terminal.
func (a *App) keyCard(ctx context.Context, title ui.Text) (*cardreader.Presentation, error) {
	for {
		// The card number stays in bytes, wiped once Manual has its own copy.
		pan, err := a.ui.DigitBytes(ctx, title, msgCardNo, 12, 19, false)
		if err != nil {
			return nil, err
		}
		exp, err := a.ui.Digits(ctx, title, msgExpiry, 4, 4, false)
		if err != nil {
			clear(pan)
			return nil, err
		}
		p, err := cardreader.Manual(pan, exp)
		clear(pan)
		if err == nil {
			return &p, nil
		}
		a.ui.Result(ctx, 3*time.Second, ui.Center(a.ui.T(title), a.cols()), a.ui.T(ui.WordRefused), a.ui.T(ui.Text{EN: "Invalid card number or expiry", ZH: "卡号或有效期无效"}))
	}
}

// txnCard is the card as the engine sends it. Its PAN is the presentation's; its track 2
// is a copy: callers wipe both the card and the presentation.
func txnCard(in cardIn) *txn.Card {
	p := in.mag
	c := &txn.Card{PAN: p.Card.PAN, Expiry: p.Card.Expiry, EntryMode: entryModes[p.Kind]}
	if p.Kind == cardreader.Swiped {
		c.Track2 = p.Card.Track2Equivalent()
	}
	if in.fallback {
		c.EntryMode = txn.Fallback
	}
	return c
}

var entryModes = map[cardreader.Kind]txn.EntryMode{
	cardreader.Swiped: txn.Swiped, cardreader.Keyed: txn.Keyed,
	cardreader.Inserted: txn.Chip, cardreader.Tapped: txn.Tapped,
}

// needsPIN: the card's service code asks for a PIN (swipes); keyed cards go without.
func needsPIN(p *cardreader.Presentation) bool {
	return p.Kind == cardreader.Swiped && p.Card.PINRequired()
}

// readPIN asks the PIN pad for the PIN of card and puts the encrypted block and KSN on
// it. CANCEL on either keypad abandons the transaction (nothing was sent).
func (a *App) readPIN(ctx context.Context, title ui.Text, amount int64, card *txn.Card) error {
	digits, err := accountDigits(card.PAN)
	if err != nil {
		return err
	}
	a.ui.Show(ui.Center(a.ui.T(title), a.cols()), a.ui.T(ui.WordAmount)+" "+ui.FormatAmount(amount), a.ui.T(ui.WordPIN)+":", a.ui.T(msgPINOnPad))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-pctx.Done():
				return
			case k := <-a.ui.Keys():
				if k == ui.KeyCancel {
					cancel()
					return
				}
			}
		}
	}()
	getPIN := a.dev.Pad.GetPIN // a block under the pad's DUKPT key, with its KSN
	sp, session := a.dev.Pad.(sessionPINPad)
	if session = session && a.opts.Config.Host.SessionPIN(); session {
		getPIN = sp.GetSessionPIN // a block under the PIK of the last sign-on, no KSN
	}
	waited := a.ui.Wait() // the cardholder types on the pad, up to its timeout
	res, err := getPIN(pctx, pinpad.PINRequest{PANDigits: digits, Amount: amount, Timeout: 60 * time.Second})
	waited()
	switch {
	case err == nil:
		card.PINBlock = append([]byte(nil), res.Block[:]...)
		if !session {
			card.KSN = append([]byte(nil), res.KSN[:]...)
		}
		res.Wipe()
		return nil
	case errors.Is(err, pinpad.ErrCancelled), pctx.Err() != nil && ctx.Err() == nil:
		a.dev.Pad.Cancel(context.WithoutCancel(ctx))
		return ui.ErrCancel
	case errors.Is(err, pinpad.ErrTimeout):
		return errors.New(a.ui.T(msgPINTimeout))
	case errors.Is(err, pinpad.ErrDeviceGone), errors.Is(err, board.ErrAbsent):
		a.log.Warn("PIN pad", "err", err)
		return errors.New(a.ui.T(msgNoPad))
	}
	return err
}

// sessionPINPad is a pad that can encrypt a PIN under the session PIN key (the PIK of
// the last sign-on), as UnionPay hosts want.
type sessionPINPad interface {
	GetSessionPIN(ctx context.Context, req pinpad.PINRequest) (pinpad.PINResult, error)
}

// accountDigits is pinpad.AccountDigits (the 12 rightmost PAN digits without the check
// digit, zero-padded on the left, of an ISO 9564 format 0 PIN block) read from the
// PAN's bytes: converting the PAN to a string for it would leave the whole card number
// in a string that cannot be wiped (AccountDigits' result is a slice of its argument,
// which would keep that string alive through the PIN entry).
func accountDigits(pan []byte) (string, error) {
	ok := len(pan) >= iso9564.MinPANLength && len(pan) <= iso9564.MaxPANLength
	for _, c := range pan {
		ok = ok && '0' <= c && c <= '9'
	}
	if !ok {
		return pinpad.AccountDigits("") // its error, which never repeats the PAN
	}
	var d [12]byte
	body := pan[:len(pan)-1]
	for i := range d {
		d[i] = '0'
		if j := len(body) - len(d) + i; j >= 0 {
			d[i] = body[j]
		}
	}
	digits := string(d[:])
	clear(d[:])
	return digits, nil
}
