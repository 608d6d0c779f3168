package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"posfw/firmware/txn"
)

// The journal keeps the QR orders (migrations/0008).
var _ txn.OrderStore = (*Journal)(nil)

// Event kinds of the QR orders. Each carries the order's snapshot ("order"), so that
// the orders table can be checked against the chain.
const (
	evOrderBegin   = "order.begin"   // the order, journalled before any message about it
	evOrderRequest = "order.request" // a message about it is leaving: op, STAN
	evOrderAnswer  = "order.answer"  // its answer, or the problem that stood for one
	evOrderEffect  = "order.effect"  // a payment changed by a refund or void of it
)

const orderColumns = `id, order_no, kind, wallet, payer, amount, currency, status, refunded, orig_no,
	batch, wallet_txn, response_code, queries, operator, supervisor, created_at, updated_at`

const (
	qInsertOrder = `INSERT INTO orders (order_no, kind, wallet, payer, amount, currency, status, refunded,
		orig_no, batch, wallet_txn, response_code, queries, operator, supervisor, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, (SELECT value FROM counters WHERE name = 'batch'), '', '', 0, ?, ?, ?, ?)
		RETURNING id, batch`
	qNextOrderID = "SELECT COALESCE(max(id), 0) + 1 FROM orders"
	qGetOrder    = "SELECT " + orderColumns + " FROM orders WHERE order_no = ?"
	qSaveOrder   = `UPDATE orders SET status = ?, refunded = ?, wallet_txn = ?, response_code = ?, queries = ?,
		payer = ?, wallet = ?, updated_at = ? WHERE id = ?`
	qOpenRefunds = `SELECT COALESCE(sum(amount), 0) FROM orders WHERE orig_no = ? AND kind IN ('refund', 'void')
		AND status IN ('pending', 'unknown')`
)

func scanOrder(s scanner) (*txn.Order, error) {
	var o txn.Order
	var created, updated string
	err := s.Scan(&o.ID, &o.No, &o.Kind, &o.Wallet, &o.Payer, &o.Amount, &o.Currency, &o.Status, &o.Refunded,
		&o.OrigNo, &o.Batch, &o.WalletTxn, &o.ResponseCode, &o.Queries, &o.Operator, &o.Supervisor, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, txn.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = parseTime(created), parseTime(updated)
	return &o, nil
}

// orderEvent is the body of an order event.
type orderEvent struct {
	Order   txn.Order     `json:"order"`
	Op      txn.QROp      `json:"op,omitempty"`
	STAN    int64         `json:"stan,omitempty"`
	Answer  *txn.QRAnswer `json:"answer,omitempty"`
	Problem string        `json:"problem,omitempty"`
}

// BeginOrder journals a new pending order; its number is prefix and the order's id in
// eight digits, so that numbers never repeat on this terminal.
func (j *Journal) BeginOrder(ctx context.Context, o *txn.Order, prefix string) error {
	if o.Status != txn.OrderPending {
		return fmt.Errorf("journal: BeginOrder of a %s order; want pending", o.Status)
	}
	return j.tx(ctx, func(t *wtx) error {
		now := j.now()
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		o.CreatedAt = o.CreatedAt.UTC().Truncate(time.Microsecond)
		o.UpdatedAt = now
		var id int64
		if err := t.QueryRow(qNextOrderID).Scan(&id); err != nil {
			return err
		}
		no := fmt.Sprintf("%s%08d", prefix, id)
		if o.OrigNo != "" {
			var one int
			if err := t.QueryRow("SELECT 1 FROM orders WHERE order_no = ?", o.OrigNo).Scan(&one); err != nil {
				return fmt.Errorf("journal: original order %s: %w", o.OrigNo, err)
			}
		}
		if err := t.QueryRow(qInsertOrder, no, o.Kind, o.Wallet, o.Payer, o.Amount, o.Currency, o.Status,
			o.OrigNo, o.Operator, o.Supervisor, fmtTime(o.CreatedAt), fmtTime(o.UpdatedAt)).Scan(&o.ID, &o.Batch); err != nil {
			return err
		}
		o.No = no
		return t.appendEvent(now, evOrderBegin, 0, o.Operator, orderEvent{Order: *o})
	})
}

// OrderRequest records that a message about an order is leaving.
func (j *Journal) OrderRequest(ctx context.Context, no string, op txn.QROp, stan int64) error {
	return j.tx(ctx, func(t *wtx) error {
		o, err := scanOrder(t.QueryRow(qGetOrder, no))
		if err != nil {
			return fmt.Errorf("journal: order %s: %w", no, err)
		}
		now := j.now()
		if op == txn.QRQuery {
			o.Queries++
			o.UpdatedAt = now
			if err := saveOrder(t, o); err != nil {
				return err
			}
		}
		return t.appendEvent(now, evOrderRequest, 0, "", orderEvent{Order: *o, Op: op, STAN: stan})
	})
}

// OrderAnswer records an answer and, with to set, the order's move and its effect on
// the payment it goes back to.
func (j *Journal) OrderAnswer(ctx context.Context, no string, op txn.QROp, a txn.QRAnswer, problem string, to txn.OrderStatus) (*txn.Order, error) {
	var out *txn.Order
	err := j.tx(ctx, func(t *wtx) error {
		o, err := scanOrder(t.QueryRow(qGetOrder, no))
		if err != nil {
			return fmt.Errorf("journal: order %s: %w", no, err)
		}
		now := j.now()
		if to != "" && to != o.Status {
			if !txn.CanMoveOrder(o.Status, to) {
				return fmt.Errorf("journal: order %s cannot go from %s to %s", no, o.Status, to)
			}
			o.Status = to
		}
		if a.Code != "" {
			o.ResponseCode = a.Code
		}
		if a.WalletTxn != "" {
			o.WalletTxn = a.WalletTxn
		}
		// A merchant-presented order learns its wallet and payer when a wallet pays it.
		if o.Payer == "" && a.Payer != "" {
			o.Payer = a.Payer
		}
		if o.Wallet == "" && a.Wallet != "" {
			o.Wallet = a.Wallet
		}
		o.UpdatedAt = now
		if err := saveOrder(t, o); err != nil {
			return err
		}
		ans := a
		if err := t.appendEvent(now, evOrderAnswer, 0, "", orderEvent{Order: *o, Op: op, Answer: &ans, Problem: problem}); err != nil {
			return err
		}
		if to == txn.OrderPaid && o.OrigNo != "" && (o.Kind == txn.OrderRefund || o.Kind == txn.OrderVoid) {
			p, err := scanOrder(t.QueryRow(qGetOrder, o.OrigNo))
			if err != nil {
				return fmt.Errorf("journal: original order %s: %w", o.OrigNo, err)
			}
			if o.Kind == txn.OrderRefund {
				p.Refunded += o.Amount
			} else if txn.CanMoveOrder(p.Status, txn.OrderVoided) {
				p.Status = txn.OrderVoided
			}
			p.UpdatedAt = now
			if err := saveOrder(t, p); err != nil {
				return err
			}
			if err := t.appendEvent(now, evOrderEffect, 0, "", orderEvent{Order: *p, Op: op}); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func saveOrder(t *wtx, o *txn.Order) error {
	_, err := t.Exec(qSaveOrder, o.Status, o.Refunded, o.WalletTxn, o.ResponseCode, o.Queries, o.Payer, o.Wallet, fmtTime(o.UpdatedAt), o.ID)
	return err
}

// Order is the order with that number, with the sum of its refunds still open.
func (j *Journal) Order(ctx context.Context, no string) (*txn.Order, error) {
	o, err := scanOrder(j.queryRow(ctx, qGetOrder, no))
	if err != nil {
		return nil, err
	}
	if o.Kind == txn.OrderPayment {
		if err := j.queryRow(ctx, qOpenRefunds, no).Scan(&o.Open); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// OpenOrders are the orders pending or unknown, oldest first.
func (j *Journal) OpenOrders(ctx context.Context) ([]txn.Order, error) {
	return j.orders(ctx, "WHERE status IN ('pending', 'unknown') ORDER BY id")
}

// Orders lists every order, oldest first.
func (j *Journal) Orders(ctx context.Context) ([]txn.Order, error) {
	return j.orders(ctx, "ORDER BY id")
}

func (j *Journal) orders(ctx context.Context, where string, args ...any) ([]txn.Order, error) {
	if !j.hasTable("orders") {
		return nil, nil
	}
	rows, err := j.query(ctx, "SELECT "+orderColumns+" FROM orders "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []txn.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// QRTotals adds up a batch's QR orders per wallet, wallets in name order.
func (j *Journal) QRTotals(ctx context.Context, batch int64) ([]txn.WalletTotals, error) {
	rows, err := j.query(ctx, `SELECT wallet, kind, status, count(*), COALESCE(sum(amount), 0) FROM orders
		WHERE batch = ? AND status IN ('paid', 'voided') GROUP BY wallet, kind, status ORDER BY wallet`, batch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []txn.WalletTotals
	for rows.Next() {
		var wallet string
		var kind txn.OrderKind
		var st txn.OrderStatus
		var n, amt int64
		if err := rows.Scan(&wallet, &kind, &st, &n, &amt); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Wallet != wallet {
			out = append(out, txn.WalletTotals{Wallet: wallet})
		}
		w := &out[len(out)-1]
		var tot *txn.Total
		switch {
		case kind == txn.OrderPayment && st == txn.OrderPaid:
			tot = &w.Payments // a voided payment no longer stands
		case kind == txn.OrderRefund && st == txn.OrderPaid:
			tot = &w.Refunds
		case kind == txn.OrderVoid && st == txn.OrderPaid:
			tot = &w.Void
		}
		if tot != nil {
			tot.Count += n
			tot.Amount += amt
		}
	}
	return out, rows.Err()
}

// orderRow is an order as a row of the export (ExportFields): type qr_payment,
// qr_refund or qr_void; the payer masked; the batch, and no STAN (orders have none).
func orderRow(o txn.Order, loc *time.Location) []string {
	return []string{
		strconv.FormatInt(o.ID, 10), "qr_" + string(o.Kind), string(o.Status), strconv.FormatInt(o.Amount, 10), o.Currency,
		"", o.WalletTxn, "", fmt.Sprintf("%06d", o.Batch), "",
		"", "qr", "", "", "", strconv.FormatInt(o.Refunded, 10),
		o.Operator, o.Supervisor, "", o.CreatedAt.In(loc).Format(exportTime), o.UpdatedAt.In(loc).Format(exportTime), o.ResponseCode,
		o.No, o.Wallet, o.Payer, o.OrigNo,
	}
}

// noteOrder keeps the order snapshot of an order event's body, by order number.
func noteOrder(last map[string]string, body string) {
	var e struct {
		Order json.RawMessage `json:"order"`
	}
	var o struct {
		No string `json:"No"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && json.Unmarshal(e.Order, &o) == nil && o.No != "" {
		last[o.No] = string(e.Order)
	}
}

// verifyOrders checks every order row against the snapshot of its last event: the
// orders table must be what the chain says.
func (j *Journal) verifyOrders(ctx context.Context, last map[string]string) (string, error) {
	orders, err := j.Orders(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range orders {
		b, _ := json.Marshal(o)
		if snap, ok := last[o.No]; !ok || !sameRecord(snap, string(b)) {
			return fmt.Sprintf("order %s differs from its last journal event", o.No), nil
		}
	}
	return "", nil
}
