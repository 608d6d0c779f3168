package hostsim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"posfw/firmware/host"
	"posfw/firmware/journal"
	"posfw/firmware/qr"
	"posfw/firmware/txn"
)

const wechatCode = "134567890123456789"

// qrRig is the terminal's QR engine on a real journal, over the real host link, to the
// simulator.
func qrRig(t *testing.T, d host.Dialect) (*env, *txn.QR) {
	t.Helper()
	e := startIn(t, d)
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	eng := &txn.Engine{Store: j, Host: e.c, Currency: "CNY", Numeric: "156",
		Limits: txn.Limits{MaxAmount: 1_000_000, RefundCeiling: 1_000_000}}
	q := &txn.QR{Engine: eng, Orders: j, Host: e.c,
		Classify:   func(c string) (string, error) { w, err := qr.Classify(c); return string(w), err },
		Mask:       qr.MaskCode,
		Prefix:     func(t time.Time) string { return t.Format("060102") },
		MaxQueries: 3, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	return e, q
}

func dialects(t *testing.T) []host.Dialect {
	c, err := host.NewCUP(host.CUPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return []host.Dialect{host.ISO87{}, c}
}

// TestQRWallets: each wallet behaviour of the simulator, through the terminal's engine
// and the host link in both dialects; terminal and acquirer end agreeing on every
// order, and no order is ever paid twice.
func TestQRWallets(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.Name(), func(t *testing.T) {
			e, q := qrRig(t, d)
			ctx := context.Background()
			for _, tc := range []struct {
				name    string
				amount  int64
				status  txn.OrderStatus
				ledger  string // "" : the acquirer has no order
				queries int
			}{
				{"paid at once", 1000, txn.OrderPaid, orderPaid, 0},
				{"user paying, paid at the 2nd query", 1032, txn.OrderPaid, orderPaid, 2},
				{"user paying for ever: cancelled", 1039, txn.OrderCancelled, orderCancelled, 3},
				{"refused 51", 1051, txn.OrderFailed, orderFailed, 0},
				{"answer lost: the query finds it paid", 1098, txn.OrderPaid, orderPaid, 1},
				{"answered 96: not at the acquirer, cancelled", 1096, txn.OrderCancelled, "", 0},
			} {
				o, err := q.Pay(ctx, txn.QRPayRequest{Amount: tc.amount, Code: wechatCode, Operator: "01"})
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				a, lerr := e.srv.Ledger().Order(testTID, o.No)
				switch {
				case o.Status != tc.status:
					t.Errorf("%s: terminal's order %s; want %s", tc.name, o.Status, tc.status)
				case tc.ledger == "" && !errors.Is(lerr, ErrNotFound):
					t.Errorf("%s: acquirer's order %+v, %v; want none", tc.name, a, lerr)
				case tc.ledger != "" && (lerr != nil || a.Status != tc.ledger || a.Pays != 1 || a.Queries != tc.queries || a.Amount != tc.amount || a.Wallet != "wechat"):
					t.Errorf("%s: acquirer's order %+v, %v; want %s, paid once, %d queries, wechat", tc.name, a, lerr, tc.ledger, tc.queries)
				}
			}
		})
	}
}

// TestQRRefundsAtTheAcquirer: refunds go to the original order and add up there; the
// acquirer refuses a refund beyond the original, a duplicate order number and an
// original it does not hold, whatever the terminal's rules let through.
func TestQRRefundsAtTheAcquirer(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.Name(), func(t *testing.T) {
			e, q := qrRig(t, d)
			ctx := context.Background()
			o, err := q.Pay(ctx, txn.QRPayRequest{Amount: 1000, Code: wechatCode, Operator: "01"})
			if err != nil || o.Status != txn.OrderPaid {
				t.Fatalf("pay = %+v, %v", o, err)
			}
			r, err := q.Refund(ctx, txn.QRRefundRequest{OrigNo: o.No, Amount: 300, Operator: "01", Supervisor: "00", SupervisorOK: true})
			if err != nil || r.Status != txn.OrderPaid {
				t.Fatalf("refund = %+v, %v", r, err)
			}
			if a, _ := e.srv.Ledger().Order(testTID, o.No); a.Refunded != 300 {
				t.Errorf("acquirer's refunded = %d; want 300", a.Refunded)
			}
			for _, tc := range []struct {
				name string
				req  txn.QRRequest
				code string
			}{
				{"refund beyond the original", txn.QRRequest{Op: txn.QRRefund, OrderNo: "X1", OrigNo: o.No, Amount: 701}, "13"},
				{"refund of an order it does not hold", txn.QRRequest{Op: txn.QRRefund, OrderNo: "X2", OrigNo: "nope", Amount: 1}, "25"},
				{"duplicate order number", txn.QRRequest{Op: txn.QRPay, OrderNo: o.No, Code: wechatCode, Amount: 1000}, "94"},
				{"void of a refunded order", txn.QRRequest{Op: txn.QRVoid, OrderNo: "X3", OrigNo: o.No, Amount: 1000, Batch: o.Batch}, "12"},
				{"not a payment code", txn.QRRequest{Op: txn.QRPay, OrderNo: "X4", Code: "9912345678", Amount: 1000}, "14"},
			} {
				tc.req.STAN, tc.req.Currency = e.next(), "156"
				if tc.req.Batch == 0 {
					tc.req.Batch = 1
				}
				a, err := e.c.QR(ctx, tc.req)
				if err != nil || a.Code != tc.code {
					t.Errorf("%s: answer %+v, %v; want %s", tc.name, a, err, tc.code)
				}
			}
			if a, _ := e.srv.Ledger().Order(testTID, o.No); a.Refunded != 300 || a.Pays != 2 {
				t.Errorf("acquirer's order after the refusals = %+v; want 300 refunded, the second pay counted and refused", a)
			}
		})
	}
}

// FuzzQROrder: any QR message — any op, amount, order, code and original, in order
// or not — is answered (or, a payment of .98, not answered) and never panics; the
// ledger never holds an order paid more than once.
func FuzzQROrder(f *testing.F) {
	srv, key := fuzzServer(f)
	f.Add(uint8(0), int64(1000), "26120500000001", wechatCode, "")
	f.Add(uint8(1), int64(1032), "26120500000001", "", "")
	f.Add(uint8(2), int64(1039), "26120500000002", "", "")
	f.Add(uint8(3), int64(300), "26120500000003", "", "26120500000001")
	f.Add(uint8(4), int64(1000), "26120500000004", "", "26120500000001")
	f.Add(uint8(0), int64(1098), "x", "9", "")
	stan := int64(10)
	f.Fuzz(func(t *testing.T, op uint8, amount int64, order, code, orig string) {
		m := host.QRMessages[int(op)%len(host.QRMessages)]
		stan++
		d := host.QRData{host.TagOrder: order}
		if code != "" {
			d[host.TagCode] = code
		}
		if orig != "" {
			d[host.TagOrig] = orig
		}
		msg, err := host.Build(m.MTI, host.Fields{3: m.Proc, 4: strconv.FormatInt(amount, 10), 11: fmt.Sprintf("%06d", stan%1000000),
			12: "120000", 13: "1205", 41: testTID, 42: testMID, 49: "156", 60: "000001", 63: d.String()})
		if err != nil {
			return
		}
		in, err := host.PackMAC(msg, key)
		if err != nil {
			return
		}
		checkAnswer(t, in, srv.handle(in, Fault{Mode: OK}))
		orders, err := srv.Ledger().Orders(testTID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			if o.Status == orderPaid && o.Kind == txn.OrderPayment && o.Pays < 1 {
				t.Fatalf("order %+v paid without a pay request", o)
			}
			if o.Refunded > o.Amount {
				t.Fatalf("order %+v refunded beyond its amount", o)
			}
		}
	})
}

// TestQRMerchantPresented: the terminal shows a dynamic EMVCo code for its order; a
// wallet that pays it makes the order paid at the next query; a code nobody pays is
// closed when it expires, at the terminal and the acquirer.
func TestQRMerchantPresented(t *testing.T) {
	for _, d := range dialects(t) {
		t.Run(d.Name(), func(t *testing.T) {
			e, q := qrRig(t, d)
			ctx := context.Background()
			m := qr.Merchant{GUID: "A000000333", MerchantID: testMID, MCC: "5411", Currency: "156", Exponent: 2, Country: "CN", Name: "POSFW DEMO", City: "SHANGHAI"}
			for _, tc := range []struct {
				name   string
				pay    bool
				status txn.OrderStatus
				ledger string
			}{
				{"paid by a wallet", true, txn.OrderPaid, orderPaid},
				{"never paid: closed on expiry", false, txn.OrderCancelled, orderCancelled},
			} {
				o, err := q.Collect(ctx, txn.QRCollectRequest{Amount: 1234, Operator: "01", Show: func(o *txn.Order) error {
					payload, err := qr.Build(m, qr.Order{Amount: o.Amount, BillNumber: o.No, TerminalLabel: testTID})
					if err != nil || !tc.pay {
						return err
					}
					_, err = e.srv.Ledger().PayMerchantQR(payload, "alipay", "2088****1234")
					return err
				}})
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				a, lerr := e.srv.Ledger().Order(testTID, o.No)
				if o.Status != tc.status || lerr != nil || a.Status != tc.ledger || a.Amount != 1234 {
					t.Errorf("%s: terminal %s, acquirer %+v, %v; want %s, %s", tc.name, o.Status, a, lerr, tc.status, tc.ledger)
				}
				if tc.pay && (o.Wallet != "alipay" || o.Payer != "2088****1234") {
					t.Errorf("%s: order's wallet %q payer %q; want the paying wallet's", tc.name, o.Wallet, o.Payer)
				}
			}
			if _, err := e.srv.Ledger().PayMerchantQR("000201010212", "alipay", ""); err == nil {
				t.Error("a payload without a CRC was paid")
			}
		})
	}
}
