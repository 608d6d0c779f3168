package hostsim

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"posfw/firmware/host"
	"posfw/firmware/qr"
	"posfw/firmware/txn"
)

// The wallets behind the acquirer (issue 17): QR orders by the terminal's order
// number, kept apart from the card authorisations. How a wallet answers a payment is
// chosen by the amount's last two digits, as the card rules are:
//
//	.51        refused 51 (the wallet's balance is short)
//	.31 - .38  "user paying": paid at the N-th query (N = the digit: .32 at the 2nd)
//	.39        "user paying" that never resolves: only a cancel ends it
//	.96        answered 96, nothing recorded (the terminal queries, then cancels)
//	.98        paid, and the answer is never sent (the terminal must query)
//	otherwise  paid at once
//
// A payment whose order number the ledger holds is refused 94 (duplicate order); a
// refund beyond what is left of its original is refused 13; a refund or void of an
// order it does not hold 25, of one not paid (or with refunds, for a void) 12.

// Order states in the ledger (the answer's ST).
const (
	orderPaid      = "paid"
	orderPaying    = "paying"
	orderFailed    = "failed"
	orderCancelled = "cancelled"
	orderVoided    = "voided"
)

// QROrder is one order in the ledger.
type QROrder struct {
	Terminal string
	No       string
	Kind     txn.OrderKind
	Wallet   string
	Payer    string // the payment code masked
	Amount   int64
	Status   string
	Refunded int64
	OrigNo   string
	Batch    int64
	// Need is the query at which a paying order becomes paid (0: never).
	Need    int
	Queries int
	// Pays counts the pay requests received for the order number: a terminal that
	// paid twice would show 2 (the second refused 94).
	Pays      int
	Cancels   int
	CreatedAt time.Time
}

const qrSchema = `
CREATE TABLE IF NOT EXISTS qr_orders (
	terminal   TEXT    NOT NULL,
	order_no   TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	wallet     TEXT    NOT NULL,
	payer      TEXT    NOT NULL,
	amount     INTEGER NOT NULL,
	status     TEXT    NOT NULL,
	refunded   INTEGER NOT NULL DEFAULT 0,
	orig_no    TEXT    NOT NULL DEFAULT '',
	batch      INTEGER NOT NULL,
	need       INTEGER NOT NULL DEFAULT 0,
	queries    INTEGER NOT NULL DEFAULT 0,
	pays       INTEGER NOT NULL DEFAULT 0,
	cancels    INTEGER NOT NULL DEFAULT 0,
	created_at TEXT    NOT NULL,
	PRIMARY KEY (terminal, order_no)
);`

const qrColumns = `terminal, order_no, kind, wallet, payer, amount, status, refunded, orig_no, batch, need,
	queries, pays, cancels, created_at`

func scanQROrder(row scanner) (*QROrder, error) {
	var o QROrder
	var created string
	err := row.Scan(&o.Terminal, &o.No, &o.Kind, &o.Wallet, &o.Payer, &o.Amount, &o.Status, &o.Refunded, &o.OrigNo,
		&o.Batch, &o.Need, &o.Queries, &o.Pays, &o.Cancels, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	o.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	return &o, nil
}

// Order is a terminal's order by number.
func (l *Ledger) Order(terminal, no string) (QROrder, error) {
	o, err := scanQROrder(l.db.QueryRow("SELECT "+qrColumns+" FROM qr_orders WHERE terminal = ? AND order_no = ?", terminal, no))
	if err != nil {
		return QROrder{}, err
	}
	return *o, nil
}

// Orders lists a terminal's orders, oldest first.
func (l *Ledger) Orders(terminal string) ([]QROrder, error) {
	rows, err := l.db.Query("SELECT "+qrColumns+" FROM qr_orders WHERE terminal = ? ORDER BY rowid", terminal)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []QROrder
	for rows.Next() {
		o, err := scanQROrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

func (t *ledgerTx) qrOrder(terminal, no string) (*QROrder, error) {
	o, err := scanQROrder(t.tx.QueryRowContext(t.ctx, "SELECT "+qrColumns+" FROM qr_orders WHERE terminal = ? AND order_no = ?", terminal, no))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return o, err
}

func (t *ledgerTx) saveQROrder(o *QROrder) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO qr_orders (`+qrColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (terminal, order_no) DO UPDATE SET status = excluded.status, refunded = excluded.refunded,
		queries = excluded.queries, pays = excluded.pays, cancels = excluded.cancels`,
		o.Terminal, o.No, o.Kind, o.Wallet, o.Payer, o.Amount, o.Status, o.Refunded, o.OrigNo, o.Batch, o.Need,
		o.Queries, o.Pays, o.Cancels, o.CreatedAt.UTC().Format(time.RFC3339Nano))
	return err
}

// financialOrQR answers 0200 and 0220: a QR message by its processing code, else a
// card's.
func (s *Server) financialOrQR(r *request) (outcome, error) {
	if _, ok := host.QRMessageByProc(r.get(3)); ok {
		return s.qrOrder(r)
	}
	return s.financial(r)
}

// qrOrder answers a QR message.
func (s *Server) qrOrder(r *request) (outcome, error) {
	m, _ := host.QRMessageByProc(r.get(3))
	d, err := host.ParseQRData(r.get(63))
	amount, aerr := strconv.ParseInt(r.get(4), 10, 64)
	batch, _ := strconv.ParseInt(r.get(60), 10, 64)
	no := d[host.TagOrder]
	if err != nil || aerr != nil || m.MTI != r.mti || no == "" || amount <= 0 {
		return outcome{code: codeFormat}, nil
	}
	answer := func(code string, o *QROrder) outcome {
		a := host.QRData{host.TagOrder: no}
		if o != nil {
			a[host.TagState] = stateLetter(o.Status)
			a[host.TagWallet], a[host.TagPayer] = o.Wallet, o.Payer
			a[host.TagWalletTxn] = walletTxn(o)
		} else if code == "25" {
			a[host.TagState] = string(txn.QRStateNone)
		}
		return outcome{code: code, extra: host.Fields{63: a.String()}}
	}
	cents := amount % 100
	var out outcome
	err = s.ledger.update(func(tx *ledgerTx) error {
		o, err := tx.qrOrder(r.terminal, no)
		if err != nil {
			return err
		}
		switch m.Op {
		case txn.QRPay:
			if o != nil {
				o.Pays++
				out = answer(codeDuplicate, nil)
				return tx.saveQROrder(o)
			}
			if cents == 96 {
				out = answer("96", nil)
				return nil
			}
			code := d[host.TagCode]
			wallet, cerr := qr.Classify(code)
			o = &QROrder{Terminal: r.terminal, No: no, Kind: txn.OrderPayment, Wallet: string(wallet), Payer: qr.MaskCode(code),
				Amount: amount, Status: orderPaid, Batch: batch, Pays: 1, CreatedAt: s.cfg.Now()}
			resp := host.CodeApproved
			switch {
			case cerr != nil:
				o.Status, resp = orderFailed, "14"
			case cents == 51:
				o.Status, resp = orderFailed, "51"
			case cents >= 31 && cents <= 39:
				o.Status, o.Need = orderPaying, int(cents-30)
				if cents == 39 {
					o.Need = 0
				}
			case cents == 98:
				out.silent = true
			}
			if !out.silent {
				out = answer(resp, o)
			}
			return tx.saveQROrder(o)
		case txn.QRPrecreate:
			if o != nil {
				out = answer(codeDuplicate, nil)
				return nil
			}
			// A merchant-presented code: paid when a wallet pays it (PayMerchantQR).
			o = &QROrder{Terminal: r.terminal, No: no, Kind: txn.OrderPayment, Amount: amount, Status: orderPaying,
				Batch: batch, CreatedAt: s.cfg.Now()}
			out = answer(host.CodeApproved, o)
			return tx.saveQROrder(o)
		case txn.QRQuery:
			if o == nil {
				out = answer("25", nil)
				return nil
			}
			if o.Status == orderPaying {
				o.Queries++
				if o.Need > 0 && o.Queries >= o.Need {
					o.Status = orderPaid
				}
			} else {
				o.Queries++
			}
			out = answer(host.CodeApproved, o)
			return tx.saveQROrder(o)
		case txn.QRCancel:
			if o == nil {
				out = answer("25", nil)
				return nil
			}
			o.Cancels++
			if o.Status == orderPaying || o.Status == orderPaid {
				o.Status = orderCancelled // a paid order's money goes back to the wallet
			}
			out = answer(host.CodeApproved, o)
			return tx.saveQROrder(o)
		case txn.QRRefund, txn.QRVoid:
			if o != nil {
				out = answer(codeDuplicate, nil)
				return nil
			}
			orig, err := tx.qrOrder(r.terminal, d[host.TagOrig])
			if err != nil {
				return err
			}
			code := host.CodeApproved
			switch {
			case orig == nil || orig.Kind != txn.OrderPayment:
				out = answer("25", nil)
				return nil
			case orig.Status != orderPaid:
				code = "12"
			case m.Op == txn.QRVoid && (orig.Refunded > 0 || orig.Batch != batch || amount != orig.Amount):
				code = "12"
			case m.Op == txn.QRRefund && orig.Refunded+amount > orig.Amount:
				code = "13"
			}
			kind := txn.OrderRefund
			if m.Op == txn.QRVoid {
				kind = txn.OrderVoid
			}
			o = &QROrder{Terminal: r.terminal, No: no, Kind: kind, Wallet: orig.Wallet, Payer: orig.Payer, Amount: amount,
				Status: orderPaid, OrigNo: orig.No, Batch: batch, CreatedAt: s.cfg.Now()}
			if code != host.CodeApproved {
				o.Status = orderFailed
			} else if kind == txn.OrderRefund {
				orig.Refunded += amount
			} else {
				orig.Status = orderVoided
			}
			if err := tx.saveQROrder(orig); err != nil {
				return err
			}
			out = answer(code, o)
			return tx.saveQROrder(o)
		}
		out = outcome{code: codeFormat}
		return nil
	})
	return out, err
}

// stateLetter is an order's state in an answer (host.TagState).
func stateLetter(status string) string {
	switch status {
	case orderPaid, orderVoided:
		return string(txn.QRStatePaid)
	case orderPaying:
		return string(txn.QRStatePaying)
	case orderFailed:
		return string(txn.QRStateFailed)
	case orderCancelled:
		return string(txn.QRStateCancelled)
	}
	return string(txn.QRStateNone)
}

// walletTxn is the wallet's transaction id of a paid order: made up from the order.
func walletTxn(o *QROrder) string {
	if o.Status != orderPaid && o.Status != orderVoided {
		return ""
	}
	return fmt.Sprintf("%.2s%s", o.Wallet, o.No)
}

// PayMerchantQR is a customer's wallet paying a terminal's merchant-presented code:
// the payload is checked (format, CRC), and the order its bill number (62/01) names,
// shown by the terminal its terminal label (62/07) names, must be waiting for this
// amount. It returns the order paid.
func (l *Ledger) PayMerchantQR(payload, wallet, payer string) (QROrder, error) {
	p, err := qr.Parse(payload)
	if err != nil {
		return QROrder{}, err
	}
	amount, err := qr.ParseAmount(p.Get("54"), 2)
	if err != nil {
		return QROrder{}, err
	}
	terminal, no := p.Sub("62", "07"), p.Sub("62", "01")
	var paid QROrder
	err = l.update(func(tx *ledgerTx) error {
		o, err := tx.qrOrder(terminal, no)
		switch {
		case err != nil:
			return err
		case o == nil:
			return fmt.Errorf("hostsim: no order %q of terminal %q", no, terminal)
		case o.Status != orderPaying || o.Amount != amount:
			return fmt.Errorf("hostsim: order %s is %s for %d, not waiting for %d", no, o.Status, o.Amount, amount)
		}
		o.Status, o.Wallet, o.Payer = orderPaid, wallet, payer
		if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE qr_orders SET wallet = ?, payer = ? WHERE terminal = ? AND order_no = ?",
			wallet, payer, terminal, no); err != nil {
			return err
		}
		paid = *o
		return tx.saveQROrder(o)
	})
	return paid, err
}
