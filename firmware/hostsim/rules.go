package hostsim

import (
	"crypto/subtle"
	"strconv"
	"strings"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/cardreader/testcards"
	"posfw/firmware/host"
	"posfw/firmware/txn"
)

// noAnswer is the pseudo response code of a request the acquirer never
// answers (and does not record).
const noAnswer = "--"

// call is one financial request being decided.
type call struct {
	r    *request
	a    *Auth            // the row it becomes
	pan  string           // "" when no card was sent
	card *testcards.Entry // the catalogue's entry for the card, if any
	chip *chipCall        // the chip data (field 55), nil when none
	orig *Auth            // the original of a void or refund, once found
}

// rule is one check a financial request must pass: it returns a response
// code to refuse the request, "" to let the next rule decide.
type rule struct {
	name  string
	check func(s *Server, tx *ledgerTx, c *call) (string, error)
}

// rules are the checks of each request type, in the order they apply; a
// request that passes them all is approved (00).
var rules = map[txn.Type][]rule{
	txn.Sale: {
		amountEnds(98, noAnswer),
		amountEnds(96, "96"),
		{"amount is positive", positiveAmount},
		{"card number is there and passes Luhn", cardNumber},
		{"card has not expired", notExpired},
		{"chip data: the ARQC verifies under the card's issuer keys (else A7)", chipCryptogram},
		{"the test card's own answer", catalogueAnswer},
		{"PIN of a card that has one", rightPIN},
		amountEnds(51, "51"),
	},
	txn.Void: {
		amountEnds(98, noAnswer),
		amountEnds(96, "96"),
		{"chip data, when sent: the ARQC verifies (else A7)", chipCryptogram},
		{"original exists (by RRN, else by STAN in 90), same terminal", voidOriginal},
		{"original is a standing, unsettled, unrefunded sale or refund", voidable},
		{"full amount of the original", sameAmount},
		{"same card as the original, when a card is sent", sameCard},
		{"PIN, when one is sent", rightPIN},
	},
	txn.Refund: {
		amountEnds(98, noAnswer),
		amountEnds(96, "96"),
		{"amount is positive", positiveAmount},
		{"chip data, when sent: the ARQC verifies (else A7)", chipCryptogram},
		{"original exists (by RRN) on the date in 90", refundOriginal},
		{"original is a standing sale (not voided or reversed)", refundable},
		{"original route available (else 40: flagged, or amount ends .40)", routeAvailable},
		{"refunds stay within the original", withinOriginal},
		{"PIN, when one is sent", rightPIN},
	},
}

func amountEnds(cents int64, code string) rule {
	return rule{"amount ending ." + strconv.FormatInt(cents, 10) + " answers " + code,
		func(_ *Server, _ *ledgerTx, c *call) (string, error) {
			if c.a.Amount%100 == cents {
				return code, nil
			}
			return "", nil
		}}
}

func positiveAmount(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.a.Amount <= 0 {
		return "13", nil
	}
	return "", nil
}

func cardNumber(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.pan == "" || !iso7813.Luhn(c.pan) {
		return "14", nil
	}
	return "", nil
}

// notExpired reads the expiry (YYMM) from field 14, else from track 2.
func notExpired(s *Server, _ *ledgerTx, c *call) (string, error) {
	exp := c.r.get(14)
	if t2 := c.r.get(35); exp == "" && t2 != "" {
		if i := strings.IndexAny(t2, "=D"); i >= 0 && len(t2) >= i+5 {
			exp = t2[i+1 : i+5]
		}
	}
	if len(exp) == 4 && exp < s.cfg.Now().In(s.cfg.Location).Format("0601") {
		return "54", nil
	}
	return "", nil
}

func catalogueAnswer(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.card != nil && c.card.Response != "00" {
		return c.card.Response, nil
	}
	return "", nil
}

// rightPIN checks the PIN of a card whose PIN the simulator knows. A sale
// with such a card needs one; a void or refund is checked only if it
// carries one.
func rightPIN(s *Server, _ *ledgerTx, c *call) (string, error) {
	want, needed := "", false
	switch {
	case c.card != nil:
		want, needed = c.card.PIN, c.a.Type == txn.Sale
	case c.chip != nil && c.chip.profile != nil:
		// A chip card's own CVM list decides whether a PIN is asked (the kernel applies
		// it): one that is sent must be right.
		want = c.chip.profile.PIN
	default:
		if p := profileByPAN(c.pan); p != nil {
			want = p.PIN // a chip card swiped (fallback): its PIN is the chip's
		}
	}
	if want == "" {
		return "", nil
	}
	if c.r.get(52) == "" {
		if needed {
			return "55", nil
		}
		return "", nil
	}
	pin, err := s.pinOf(c.r, c.pan)
	if err != nil || subtle.ConstantTimeCompare([]byte(pin), []byte(want)) != 1 {
		return "55", nil
	}
	return "", nil
}

func voidOriginal(_ *Server, tx *ledgerTx, c *call) (string, error) {
	var err error
	if rrn := c.r.get(37); rrn != "" {
		c.orig, err = tx.byRRN(rrn)
	} else if od, perr := host.ParseOriginalData(c.r.get(90)); perr == nil && od.STAN != 0 {
		c.orig, err = tx.latestUnsettled(c.r.terminal, od.STAN)
	}
	if err != nil {
		return "", err
	}
	if c.orig == nil || c.orig.Code == "" || c.orig.Terminal != c.r.terminal {
		return "25", nil
	}
	return "", nil
}

func voidable(_ *Server, _ *ledgerTx, c *call) (string, error) {
	o := c.orig
	ok := o.Status == Authorised && !o.Settled &&
		(o.Type == txn.Sale && o.Refunded == 0 || o.Type == txn.Refund)
	if !ok {
		return "12", nil
	}
	return "", nil
}

func sameAmount(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.a.Amount != c.orig.Amount {
		return "13", nil
	}
	return "", nil
}

func sameCard(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.a.cardHash != "" && c.orig.cardHash != "" && c.a.cardHash != c.orig.cardHash {
		return "12", nil
	}
	return "", nil
}

func refundOriginal(_ *Server, tx *ledgerTx, c *call) (string, error) {
	rrn := c.r.get(37)
	if rrn == "" {
		return "25", nil
	}
	var err error
	if c.orig, err = tx.byRRN(rrn); err != nil {
		return "", err
	}
	if c.orig == nil {
		return "25", nil
	}
	if od, err := host.ParseOriginalData(c.r.get(90)); err == nil && od.DateTime[:4] != "0000" && od.DateTime[:4] != c.orig.Date {
		return "25", nil
	}
	return "", nil
}

func refundable(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.orig.Type != txn.Sale || c.orig.Status != Authorised {
		return "12", nil
	}
	return "", nil
}

func routeAvailable(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.orig.RouteUnavailable || c.a.Amount%100 == 40 {
		return "40", nil
	}
	return "", nil
}

func withinOriginal(_ *Server, _ *ledgerTx, c *call) (string, error) {
	if c.orig.Refunded+c.a.Amount > c.orig.Amount {
		return "61", nil
	}
	return "", nil
}

// ---- effects on the ledger ----

// approve applies an approved void or refund to its original.
func approve(tx *ledgerTx, a, orig *Auth) error {
	switch a.Type {
	case txn.Void:
		orig.Status = Voided
		if orig.Type == txn.Refund {
			if err := adjustRefunded(tx, orig.OrigID, -orig.Amount); err != nil {
				return err
			}
		}
		return tx.save(orig)
	case txn.Refund:
		orig.Refunded += a.Amount
		return tx.save(orig)
	}
	return nil
}

// undo takes back the effect of an approved row being reversed.
func undo(tx *ledgerTx, a *Auth) error {
	switch a.Type {
	case txn.Void:
		orig, err := tx.byID(a.OrigID)
		if err != nil || orig == nil {
			return err
		}
		orig.Status = Authorised
		if orig.Type == txn.Refund {
			if err := adjustRefunded(tx, orig.OrigID, orig.Amount); err != nil {
				return err
			}
		}
		return tx.save(orig)
	case txn.Refund:
		return adjustRefunded(tx, a.OrigID, -a.Amount)
	}
	return nil
}

func adjustRefunded(tx *ledgerTx, saleID, by int64) error {
	sale, err := tx.byID(saleID)
	if err != nil || sale == nil {
		return err
	}
	sale.Refunded += by
	return tx.save(sale)
}

// ---- handlers ----

// network answers 0800: sign-on issues working keys; echo answers 00.
func (s *Server) network(r *request) (outcome, error) {
	switch net := r.get(70); {
	case s.cfg.Dialect.IsSignOn(net):
		keys, err := s.issueKeys(r.terminal, net)
		if err != nil {
			return outcome{}, err
		}
		return outcome{code: host.CodeApproved, extra: host.Fields{62: keys}}, nil
	case net == host.NetEcho:
		return outcome{code: host.CodeApproved}, nil
	}
	return outcome{code: codeFormat}, nil
}

// financial decides a sale, void or refund by its rules and records it.
func (s *Server) financial(r *request) (outcome, error) {
	fin, ok := host.FinancialByProc(r.get(3))
	amount, err := strconv.ParseInt(r.get(4), 10, 64)
	date, tm := r.get(13), r.get(12)
	if !ok || fin.MTI != r.mti || err != nil || len(date) != 4 || len(tm) != 6 {
		return outcome{code: codeFormat}, nil
	}
	batch, _ := strconv.ParseInt(r.get(60), 10, 64)
	c := &call{r: r, pan: panOf(r)}
	c.a = &Auth{
		Terminal: r.terminal, STAN: r.stan, Date: date, Time: tm, Type: fin.Type, Amount: amount,
		Currency: r.get(49), Batch: batch, CreatedAt: s.cfg.Now(),
		digest: keyedHash(digestKey, r.mti, r.get(3), r.get(4), r.get(49), r.get(2), r.get(35), r.get(37), r.get(90)),
	}
	if c.pan != "" {
		c.a.MaskedPAN = txn.MaskPAN([]byte(c.pan))
		c.a.cardHash = keyedHash(cardHashKey, c.pan)
		if e, ok := testcards.ByPAN([]byte(c.pan)); ok {
			c.card = &e
		}
	}
	c.chip = chipOf(r, c.pan)
	var out outcome
	err = s.ledger.update(func(tx *ledgerTx) error {
		prev, err := tx.byKey(r.terminal, r.stan, date)
		if err != nil {
			return err
		}
		if prev != nil {
			out = repeated(prev, c.a)
			if prev.Code != "" && prev.digest == c.a.digest {
				// The same request again: the same chip data in the answer.
				if n, ok, err := tx.chipOf(prev.ID); err != nil {
					return err
				} else if ok && len(n.Answer) > 0 {
					out.extra[55] = string(n.Answer)
				}
			}
			return nil
		}
		code, err := s.decide(tx, c)
		if err != nil || code == noAnswer {
			out.silent = err == nil
			return err
		}
		c.a.Code, c.a.Status = code, Declined
		if code == host.CodeApproved {
			c.a.Status = Authorised
			if c.orig != nil {
				c.a.OrigID = c.orig.ID
				if err := approve(tx, c.a, c.orig); err != nil {
					return err
				}
			}
		}
		if err := tx.insert(c.a, s.cfg.Now().In(s.cfg.Location).Format("0102")); err != nil {
			return err
		}
		out = answered(c.a)
		if c.chip != nil && c.chip.err == nil {
			icc, err := chipAnswer(c, code)
			if err != nil {
				return err
			}
			if err := tx.noteChip(c.a.ID, c.chip, icc); err != nil {
				return err
			}
			if len(icc) > 0 {
				out.extra[55] = string(icc)
			}
		}
		return nil
	})
	return out, err
}

// decide runs the rules of the request's type.
func (s *Server) decide(tx *ledgerTx, c *call) (string, error) {
	for _, rl := range rules[c.a.Type] {
		code, err := rl.check(s, tx, c)
		if err != nil || code != "" {
			if code != "" {
				s.log.Info("hostsim: refused", "rule", rl.name, "code", code, "terminal", c.r.terminal, "stan", c.r.stan)
			}
			return code, err
		}
	}
	return host.CodeApproved, nil
}

// repeated answers a request whose terminal, STAN and date are taken: the
// same request again gets the same answer; another one is a duplicate.
func repeated(prev, a *Auth) outcome {
	if prev.Code == "" || prev.digest != a.digest {
		return outcome{code: codeDuplicate}
	}
	return answered(prev)
}

func answered(a *Auth) outcome {
	f := host.Fields{37: a.RRN}
	if a.AuthCode != "" {
		f[38] = a.AuthCode
	}
	return outcome{code: a.Code, extra: f}
}

// panOf returns the PAN of field 2, else of track 2.
func panOf(r *request) string {
	if pan := r.get(2); pan != "" {
		return pan
	}
	t2 := r.get(35)
	if i := strings.IndexAny(t2, "=D"); i >= 0 {
		return t2[:i]
	}
	return t2
}

// reversal undoes the original of a 0400/0401 if it stands. Repeats find it
// reversed and answer 00 again; a reversal of a request the acquirer never
// saw is recorded (status reversed, no response code) so that a repeat, or
// the original arriving late, finds it.
func (s *Server) reversal(r *request) (outcome, error) {
	od, err := host.ParseOriginalData(r.get(90))
	fin, ok := host.FinancialByProc(r.get(3))
	amount, aerr := strconv.ParseInt(r.get(4), 10, 64)
	if err != nil || !ok || aerr != nil || od.STAN == 0 {
		return outcome{code: codeFormat}, nil
	}
	out := outcome{code: host.CodeApproved}
	err = s.ledger.update(func(tx *ledgerTx) error {
		orig, err := tx.byKey(r.terminal, od.STAN, od.DateTime[:4])
		if err == nil && orig == nil {
			orig, err = tx.latestUnsettled(r.terminal, od.STAN)
		}
		if err != nil {
			return err
		}
		if orig == nil {
			batch, _ := strconv.ParseInt(r.get(60), 10, 64)
			return tx.insert(&Auth{
				Terminal: r.terminal, STAN: od.STAN, Date: od.DateTime[:4], Time: od.DateTime[4:],
				Type: fin.Type, Amount: amount, Currency: r.get(49), Status: Reversed, Reversals: 1,
				Batch: batch, CreatedAt: s.cfg.Now(), digest: "reversal",
			}, "")
		}
		if orig.Type != fin.Type || orig.Amount != amount {
			out.code = "25" // not the request the terminal means
			return nil
		}
		if err := s.checkReversalChip(tx, r, orig); err != nil {
			return err
		}
		orig.Reversals++
		switch {
		case orig.Status == Authorised && orig.Settled:
			out.code = "12" // too late: settled
		case orig.Status == Authorised:
			orig.Status = Reversed
			if err := undo(tx, orig); err != nil {
				return err
			}
		}
		return tx.save(orig)
	})
	return out, err
}

// settle answers a 0500 for the batch named in field 60, and no other.
//
// A first 0500 (920000) compares the terminal's totals (field 63) with the
// ledger's rows of that batch, settled or not, so that a 0500 repeated after
// its answer was lost gets the first answer again: 00, the batch settled (its
// first result kept); 95, unbalanced, upload it. It drops what a broken
// earlier upload left.
//
// The trailer (960000) ends a batch upload (0320): the acquirer settles from
// the upload whatever the result (CUP convention): 00 when the upload adds up
// to the totals, 95 when it does not ("closed unbalanced, uploaded"). Rows of
// the batch the terminal did not upload are not its own and are taken out of
// the settlement (reversed).
func (s *Server) settle(r *request) (outcome, error) {
	theirs, err := host.ParseTotals(r.get(63))
	batch, berr := strconv.ParseInt(r.get(60), 10, 64)
	proc := r.get(3)
	if (proc != host.ProcSettle && proc != host.ProcSettleTrailer) || err != nil || berr != nil {
		return outcome{code: codeFormat}, nil
	}
	// Only what the dialect's 0500 carries is compared (CUP: net debits and credits).
	view := func(t txn.Totals) host.TotalsView {
		return s.cfg.Dialect.SettlementCompares(host.TotalsView{
			SalesCount: t.Sales.Count, SalesAmount: t.Sales.Amount,
			RefundsCount: t.Refunds.Count, RefundsAmount: t.Refunds.Amount,
			VoidsCount: t.Voids.Count, VoidsAmount: t.Voids.Amount,
		})
	}
	agree := func(ours txn.Totals) bool { return view(ours) == view(theirs) }
	out := outcome{code: host.CodeUnbalanced}
	err = s.ledger.update(func(tx *ledgerTx) error {
		if proc == host.ProcSettleTrailer {
			up, _, err := tx.uploaded(r.terminal, batch)
			if err != nil {
				return err
			}
			result := ResultUnbalancedUploaded
			if agree(up) {
				out.code, result = host.CodeApproved, ResultBalancedAfterUpload
			}
			s.log.Info("hostsim: settlement from the upload", "terminal", r.terminal, "batch", batch, "result", result)
			return tx.settleUpload(r.terminal, batch, result, r.get(62))
		}
		if err := tx.dropUpload(r.terminal, batch); err != nil {
			return err
		}
		ours, err := tx.batchTotals(r.terminal, batch)
		if err != nil {
			return err
		}
		if !agree(ours) {
			s.log.Info("hostsim: settlement unbalanced", "terminal", r.terminal, "batch", batch,
				"ours", ours, "theirs", theirs)
			return nil
		}
		out.code = host.CodeApproved
		return tx.settle(r.terminal, batch, ResultBalanced, r.get(62))
	})
	return out, err
}

// upload records one record of a batch upload (0320).
func (s *Server) upload(r *request) (outcome, error) {
	od, err := host.ParseOriginalData(r.get(90))
	fin, ok := host.FinancialByProc(r.get(3))
	amount, aerr := strconv.ParseInt(r.get(4), 10, 64)
	batch, berr := strconv.ParseInt(r.get(60), 10, 64)
	if err != nil || !ok || aerr != nil || berr != nil {
		return outcome{code: codeFormat}, nil
	}
	err = s.ledger.update(func(tx *ledgerTx) error {
		if err := tx.addUpload(r.terminal, batch, od.STAN, fin.Type, amount, r.get(37)); err != nil {
			return err
		}
		if icc := r.get(55); icc != "" {
			return tx.noteUploadChip(r.terminal, batch, od.STAN, []byte(icc))
		}
		return nil
	})
	return outcome{code: host.CodeApproved}, err
}
