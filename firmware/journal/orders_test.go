package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"posfw/firmware/txn"
)

// TestOrdersLife: an order is journalled before its request, every request and answer
// is an event of the chain, a refund adds to its payment, a void voids it, moves the
// transitions table does not hold are refused, open orders survive a reopen, and the
// export and the totals hold them.
func TestOrdersLife(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pay := func(amount int64, wallet string) *txn.Order {
		t.Helper()
		o := &txn.Order{Kind: txn.OrderPayment, Wallet: wallet, Payer: "1300****1234", Amount: amount, Currency: "CNY", Status: txn.OrderPending, Operator: "01"}
		if err := j.BeginOrder(ctx, o, "261205"); err != nil {
			t.Fatal(err)
		}
		return o
	}
	events := func() int64 {
		var n int64
		j.queryRow(ctx, "SELECT count(*) FROM events WHERE kind LIKE 'order.%'").Scan(&n)
		return n
	}
	a := pay(1000, "wechat")
	if a.No != "26120500000001" || a.Batch != 1 {
		t.Errorf("first order = %q batch %d; want 26120500000001 batch 1", a.No, a.Batch)
	}
	b := pay(500, "alipay")
	if b.No != "26120500000002" {
		t.Errorf("second order = %q; want 26120500000002", b.No)
	}
	if err := j.OrderRequest(ctx, a.No, txn.QRPay, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := j.OrderAnswer(ctx, a.No, txn.QRPay, txn.QRAnswer{Code: "00", State: txn.QRStatePaying}, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := j.OrderRequest(ctx, a.No, txn.QRQuery, 8); err != nil {
		t.Fatal(err)
	}
	got, err := j.OrderAnswer(ctx, a.No, txn.QRQuery, txn.QRAnswer{Code: "00", State: txn.QRStatePaid, WalletTxn: "W1"}, "", txn.OrderPaid)
	if err != nil || got.Status != txn.OrderPaid || got.Queries != 1 || got.WalletTxn != "W1" {
		t.Fatalf("after the query = %+v, %v; want paid, 1 query, W1", got, err)
	}
	if n := events(); n != 6 {
		t.Errorf("order events = %d; want 6 (2 begins, 2 requests, 2 answers)", n)
	}
	// b stays open across a restart.
	j.Close()
	if j, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	open, err := j.OpenOrders(ctx)
	if err != nil || len(open) != 1 || open[0].No != b.No {
		t.Fatalf("open orders after reopen = %+v, %v; want %s", open, err, b.No)
	}

	for _, tc := range []struct {
		name string
		no   string
		to   txn.OrderStatus
		ok   bool
	}{
		{"paid cannot fail", a.No, txn.OrderFailed, false},
		{"pending cannot be voided", b.No, txn.OrderVoided, false},
		{"pending may be cancelled", b.No, txn.OrderCancelled, true},
		{"cancelled is final", b.No, txn.OrderPaid, false},
	} {
		_, err := j.OrderAnswer(ctx, tc.no, txn.QRCancel, txn.QRAnswer{Code: "00"}, "", tc.to)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v; want ok %v", tc.name, err, tc.ok)
		}
	}

	refund := &txn.Order{Kind: txn.OrderRefund, Wallet: "wechat", Amount: 300, Currency: "CNY", Status: txn.OrderPending, OrigNo: a.No, Operator: "01", Supervisor: "00"}
	if err := j.BeginOrder(ctx, refund, "261205"); err != nil {
		t.Fatal(err)
	}
	if p, _ := j.Order(ctx, a.No); p.Open != 300 || p.Refundable() != 700 {
		t.Errorf("payment with a refund open = open %d refundable %d; want 300, 700", p.Open, p.Refundable())
	}
	if _, err := j.OrderAnswer(ctx, refund.No, txn.QRRefund, txn.QRAnswer{Code: "00", State: txn.QRStatePaid}, "", txn.OrderPaid); err != nil {
		t.Fatal(err)
	}
	if p, _ := j.Order(ctx, a.No); p.Refunded != 300 || p.Open != 0 || p.Refundable() != 700 {
		t.Errorf("payment after the refund = refunded %d open %d; want 300, 0", p.Refunded, p.Open)
	}
	bad := &txn.Order{Kind: txn.OrderRefund, Wallet: "wechat", Amount: 300, Currency: "CNY", Status: txn.OrderPending, OrigNo: "99999999999999", Operator: "01"}
	if err := j.BeginOrder(ctx, bad, "261205"); err == nil {
		t.Error("a refund of an order the journal does not hold was journalled")
	}

	tot, err := j.QRTotals(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []txn.WalletTotals{{Wallet: "wechat", Payments: txn.Total{Count: 1, Amount: 1000}, Refunds: txn.Total{Count: 1, Amount: 300}}}
	if len(tot) != 1 || tot[0] != want[0] {
		t.Errorf("QR totals = %+v; want %+v", tot, want)
	}

	var out bytes.Buffer
	if err := j.Export(ctx, &out, "json"); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 3 || rows[0]["type"] != "qr_payment" || rows[0]["order_no"] != a.No || rows[0]["refunded"] != float64(300) ||
		rows[2]["type"] != "qr_refund" || rows[2]["original_order"] != a.No || rows[1]["status"] != "cancelled" {
		t.Errorf("export = %s", out.String())
	}
	if st, err := j.Stats(ctx); err != nil || st.Orders != 3 || st.OpenOrders != 0 {
		t.Errorf("stats = %+v, %v; want 3 orders, none open", st, err)
	}
	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("verify = %+v, %v", rep, err)
	}
	// An order row changed behind the chain's back is named.
	if _, err := j.db.Exec("UPDATE orders SET refunded = 0 WHERE order_no = ?", a.No); err != nil {
		t.Fatal(err)
	}
	if rep, err := j.Verify(ctx); err != nil || !strings.Contains(rep.Problem, "order "+a.No) {
		t.Errorf("verify of a rewritten order = %+v, %v; want it named", rep, err)
	}
}
