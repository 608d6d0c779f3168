package receipt

import (
	"fmt"
	"time"

	"posfw/drivers/printer/escpos"
	"posfw/firmware/txn"
	"posfw/ui/i18n"
)

// OrderSlip is the slip of a QR order: wallet, order number and its QR code (a refund
// starts from it, scanned), the payer masked, the status. It never holds the payment
// code the customer showed.
type OrderSlip struct {
	Merchant Merchant
	Order    txn.Order
	Copy     Copy
	Reprint  bool
	Location *time.Location
}

var orderKindNames = map[txn.OrderKind]i18n.Text{
	txn.OrderPayment: {EN: "QR PAYMENT", ZH: "扫码支付"},
	txn.OrderRefund:  {EN: "QR REFUND", ZH: "扫码退货"},
	txn.OrderVoid:    {EN: "QR VOID", ZH: "扫码撤销"},
}

// WalletNames are the wallets' names on paper and screens.
var WalletNames = map[string]i18n.Text{
	"wechat":   {EN: "WeChat Pay", ZH: "微信支付"},
	"alipay":   {EN: "Alipay", ZH: "支付宝"},
	"unionpay": {EN: "UnionPay QR", ZH: "银联二维码"},
}

// WalletName is a wallet's name, or the wallet's id when it has none.
func WalletName(w string) i18n.Text {
	if n, ok := WalletNames[w]; ok {
		return n
	}
	return i18n.Text{EN: w, ZH: w}
}

// orderNotices head the slip of an order whose end is not known.
var orderNotices = map[txn.OrderStatus][]i18n.Text{
	txn.OrderUnknown: {
		{EN: "RESULT UNKNOWN", ZH: "支付结果未知"},
		{EN: "WILL BE CANCELLED AUTOMATICALLY", ZH: "将自动撤销订单"},
		{EN: "KEEP THIS SLIP", ZH: "请保留此凭条"},
	},
}

// OrderStatusText is how a slip names an order's status: a refund or void that went
// through is "done", not "paid".
func OrderStatusText(o txn.Order) i18n.Text {
	if o.Status == txn.OrderPaid && o.Kind != txn.OrderPayment {
		return i18n.Text{EN: "DONE", ZH: "成功"}
	}
	return txn.OrderStatusText[o.Status]
}

// Bytes renders the slip as ESC/POS.
func (s OrderSlip) Bytes() ([]byte, error) {
	o := s.Order
	var b escpos.Builder
	slipHead(&b, s.Merchant, s.Copy, s.Reprint, orderNotices[o.Status], o.Operator)
	b.Align(escpos.Center).Size(2, 2).Bold(true).Line(orderKindNames[o.Kind].ZH).Size(1, 1).Line(orderKindNames[o.Kind].EN).Bold(false).Align(escpos.Left)
	w := WalletName(o.Wallet)
	b.Line(kv("钱包 Wallet", w.EN))
	b.Line(kv("", w.ZH))
	if o.Payer != "" {
		b.Line(kv("付款码 Payer", o.Payer))
	}
	b.Line("订单号 Order No.")
	b.Bold(true).Line(o.No).Bold(false)
	if o.OrigNo != "" {
		b.Line("原订单号 Orig order")
		b.Line(o.OrigNo)
	}
	if o.WalletTxn != "" {
		b.Line(kv("交易号 Wallet txn", o.WalletTxn))
	}
	b.Line(kv("批次号 Batch", fmt.Sprintf("%06d", o.Batch)))
	b.Line(kv("时间 Time", o.CreatedAt.In(zone(s.Location)).Format("2006-01-02 15:04:05")))
	if o.Supervisor != "" {
		b.Line(kv("主管 Supervisor", o.Supervisor))
	}
	b.Line(kv("状态 Status", OrderStatusText(o).Both()))
	if o.Refunded > 0 {
		b.Line(kv("已退 Refunded", o.Currency+" "+txn.Money(o.Refunded)))
	}
	if o.ResponseCode != "" && o.ResponseCode != txn.CodeApproved {
		b.Line(kv("应答码 Response", o.ResponseCode))
	}
	sign := ""
	if o.Kind != txn.OrderPayment {
		sign = "-"
	}
	b.Bold(true).Line(kv("金额 AMOUNT", o.Currency+" "+sign+txn.Money(o.Amount))).Bold(false)
	// The order number as a QR code: a refund starts by scanning it.
	b.Align(escpos.Center).QR(o.No, 4, escpos.ECM).Align(escpos.Left)
	b.Feed(3).Cut()
	return b.Bytes(), b.Err()
}

// QRTotalLines are the QR lines of a settlement report: per wallet, payments, refunds
// and voids, apart from the card totals.
func QRTotalLines(currency string, ts []txn.WalletTotals) []string {
	if len(ts) == 0 {
		return nil
	}
	lines := []string{"扫码支付 QR payments (apart)"}
	for _, t := range ts {
		n := WalletName(t.Wallet)
		lines = append(lines, n.ZH+" "+n.EN)
		for _, row := range []struct {
			name  string
			total txn.Total
		}{{"  付款 Payments", t.Payments}, {"  退货 Refunds", t.Refunds}, {"  撤销 Voids", t.Void}} {
			lines = append(lines, kv(fmt.Sprintf("%s %d", row.name, row.total.Count), currency+" "+txn.Money(row.total.Amount)))
		}
	}
	return lines
}
