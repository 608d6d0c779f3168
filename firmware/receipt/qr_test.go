package receipt

import (
	"strings"
	"testing"
	"time"

	"posfw/firmware/txn"
)

func order() txn.Order {
	return txn.Order{No: "26120500000001", Kind: txn.OrderPayment, Wallet: "wechat", Payer: "1345**********6789", Amount: 123456,
		Currency: "CNY", Status: txn.OrderPaid, Batch: 1, WalletTxn: "we26120500000001", Operator: "01",
		CreatedAt: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
}

func TestOrderSlip(t *testing.T) {
	refund := order()
	refund.No, refund.Kind, refund.OrigNo, refund.Amount, refund.Supervisor = "26120500000002", txn.OrderRefund, "26120500000001", 300, "00"
	unknown := order()
	unknown.Status, unknown.WalletTxn = txn.OrderUnknown, ""
	partly := order()
	partly.Refunded = 300
	for _, tc := range []struct {
		name    string
		slip    OrderSlip
		want    []string
		notWant []string
	}{
		{"payment", OrderSlip{Merchant: merchant, Order: order(), Location: time.UTC},
			[]string{"商户存根 MERCHANT COPY", "QR PAYMENT", "WeChat Pay", "微信支付", "1345**********6789", "26120500000001",
				"[QR: 26120500000001]", "支付成功 PAID", "CNY 1,234.56", "2026-12-05 10:00:00"},
			[]string{"REPRINT", "Refunded", "RESULT UNKNOWN"}},
		{"refund", OrderSlip{Merchant: merchant, Order: refund, Copy: CustomerCopy},
			[]string{"CUSTOMER COPY", "QR REFUND", "原订单号 Orig order", "26120500000001", "[QR: 26120500000002]", "成功 DONE", "CNY -3.00", "主管 Supervisor"},
			[]string{"PAID"}},
		{"unknown", OrderSlip{Merchant: merchant, Order: unknown},
			[]string{"RESULT UNKNOWN", "WILL BE CANCELLED AUTOMATICALLY", "KEEP THIS SLIP", "结果未知 UNKNOWN"}, nil},
		{"reprint of a partly refunded payment", OrderSlip{Merchant: merchant, Order: partly, Reprint: true},
			[]string{"REPRINT", "已退 Refunded", "CNY 3.00"}, nil},
	} {
		got := render(t, tc.slip)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: slip lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: slip has %q:\n%s", tc.name, w, got)
			}
		}
	}
}

func TestReportQRTotals(t *testing.T) {
	rp := Report{Merchant: merchant, Currency: "CNY", At: time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC),
		Totals: txn.Totals{Batch: 1, Sales: txn.Total{Count: 1, Amount: 5000}},
		QR: []txn.WalletTotals{{Wallet: "alipay", Void: txn.Total{Count: 1, Amount: 1032}},
			{Wallet: "wechat", Payments: txn.Total{Count: 2, Amount: 2039}, Refunds: txn.Total{Count: 1, Amount: 300}}}}
	got := render(t, rp)
	for _, w := range []string{"净额 NET (card)", "CNY 50.00", "QR payments (apart)", "支付宝 Alipay", "撤销 Voids 1", "CNY 10.32",
		"微信支付 WeChat Pay", "付款 Payments 2", "CNY 20.39", "退货 Refunds 1", "CNY 3.00"} {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
	rp.QR = nil
	if got := render(t, rp); strings.Contains(got, "QR payments") {
		t.Errorf("a report without QR orders has a QR section:\n%s", got)
	}
}
