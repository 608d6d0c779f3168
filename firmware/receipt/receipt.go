// Package receipt lays out the terminal's paper: sale, void, refund and manual refund
// slips (merchant and customer copies), reprints marked as such, and the settlement
// report, as ESC/POS byte streams for a 58 mm printer (32 columns). Chinese is printed
// in GB18030 by the encoder. A slip carries what a dispute needs: masked PAN, entry
// mode, amount, batch/trace/invoice, RRN, auth code, date and time, and a QR code of the
// RRN; never more of the card than the masked PAN.
//
// A record in trouble (DESIGN §3, the reversal row) says so at the top of its slip, in
// both languages: a request the host never answered is "failed, to be reversed
// automatically" — the paper a merchant shows when a cardholder was debited while the
// terminal showed a failure — and a reversal whose tries ran out says "reversal failed,
// call the acquirer".
package receipt

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"posfw/drivers/emv/tlv"
	"posfw/drivers/printer/escpos"
	"posfw/firmware/txn"
	"posfw/ui/i18n"
)

// Cols is the width of a 58 mm roll.
const Cols = escpos.Cols58mm

// Merchant is who the slip is from.
type Merchant struct {
	Name, TerminalID, MerchantID string
}

// Copy is which copy of a slip is printed.
type Copy int

// Copies of a slip.
const (
	MerchantCopy Copy = iota
	CustomerCopy
)

var copyNames = map[Copy]i18n.Text{
	MerchantCopy: {EN: "MERCHANT COPY", ZH: "商户存根"},
	CustomerCopy: {EN: "CUSTOMER COPY", ZH: "持卡人存根"},
}

// typeNames are the bilingual names of record types, printed large.
var typeNames = map[txn.Type]i18n.Text{
	txn.Sale:         {EN: "SALE", ZH: "消费"},
	txn.Void:         {EN: "VOID", ZH: "撤销"},
	txn.Refund:       {EN: "REFUND", ZH: "退货"},
	txn.ManualRefund: {EN: "MANUAL REFUND", ZH: "手工退款"},
}

var entryNames = map[txn.EntryMode]string{
	txn.Swiped: "S", txn.Keyed: "M", txn.Chip: "I", txn.Tapped: "C", txn.Fallback: "F",
}

// Slip is one transaction slip.
type Slip struct {
	Merchant Merchant
	Record   txn.Record
	Copy     Copy
	// Reprint marks a slip printed again ("REPRINT 重打印").
	Reprint bool
	// PINVerified: no signature line is needed.
	PINVerified bool
	// Message is the host's answer in words (declines).
	Message string
	// ReversalTries is how many times the reversal was sent; a reversal-failed slip
	// prints it (0: not printed).
	ReversalTries int
	// Location is the terminal's time zone, in which times are printed (nil: UTC).
	Location *time.Location
}

// zone is loc, or UTC: a slip's date never depends on the zone of the machine.
func zone(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// kv is a label: value line fitted to the roll, label left, value right.
func kv(label, value string) string {
	gap := Cols - escpos.Width(label) - escpos.Width(value)
	if gap < 1 {
		return label + "\n" + strings.Repeat(" ", max(Cols-escpos.Width(value), 0)) + value
	}
	return label + strings.Repeat(" ", gap) + value
}

// slipHead is the head every slip starts with: the merchant, which copy, REPRINT when
// it is one, the status notice in a box, MID, TID and the operator.
func slipHead(b *escpos.Builder, m Merchant, c Copy, reprint bool, notice []i18n.Text, operator string) {
	b.Init().Align(escpos.Center).Bold(true).Line(m.Name).Bold(false)
	b.Line(copyNames[c].Both())
	if reprint {
		b.Bold(true).Line("*** REPRINT 重打印 ***").Bold(false)
	}
	if notice != nil {
		b.Line(strings.Repeat("*", Cols)).Bold(true)
		for _, t := range notice {
			b.Line(t.ZH).Line(t.EN)
		}
		b.Bold(false).Line(strings.Repeat("*", Cols))
	}
	b.Align(escpos.Left)
	b.Line(kv("商户号 MID", m.MerchantID))
	b.Line(kv("终端号 TID", m.TerminalID))
	b.Line(kv("操作员 Operator", operator))
	b.Line(strings.Repeat("-", Cols))
}

// Bytes renders the slip as ESC/POS.
func (s Slip) Bytes() ([]byte, error) {
	r := s.Record
	loc := zone(s.Location)
	var b escpos.Builder
	slipHead(&b, s.Merchant, s.Copy, s.Reprint, noticeOf(r), r.Operator)
	b.Align(escpos.Center).Size(2, 2).Bold(true).Line(typeNames[r.Type].Both()).Size(1, 1).Bold(false).Align(escpos.Left)
	if r.MaskedPAN != "" {
		b.Line("卡号 Card No.")
		b.Bold(true).Line(r.MaskedPAN + " " + entryNames[r.EntryMode]).Bold(false)
	}
	for _, l := range chipLines(r.ICC) {
		b.Line(l)
	}
	b.Line(kv("批次号 Batch", fmt.Sprintf("%06d", r.Batch)))
	b.Line(kv("凭证号 Trace", fmt.Sprintf("%06d", r.STAN)))
	b.Line(kv("票据号 Invoice", fmt.Sprintf("%06d", r.Invoice)))
	if r.RRN != "" {
		b.Line(kv("参考号 RRN", r.RRN))
	}
	if r.AuthCode != "" {
		b.Line(kv("授权码 Auth", r.AuthCode))
	}
	b.Line(kv("时间 Time", r.CreatedAt.In(loc).Format("2006-01-02 15:04:05")))
	if r.OrigSTAN != 0 || r.OrigRRN != "" {
		if r.OrigSTAN != 0 {
			b.Line(kv("原凭证号 Orig trace", fmt.Sprintf("%06d", r.OrigSTAN)))
		}
		if r.OrigRRN != "" {
			b.Line(kv("原参考号 Orig RRN", r.OrigRRN))
		}
	}
	if r.Supervisor != "" {
		b.Line(kv("主管 Supervisor", r.Supervisor))
	}
	if r.Type == txn.ManualRefund {
		b.Line("原因 Reason: " + r.Reason)
	}
	b.Line(kv("状态 Status", statusText(r)))
	if r.Status == txn.ReversalFailed && s.ReversalTries > 0 {
		b.Line(kv("冲正次数 Reversal tries", fmt.Sprint(s.ReversalTries)))
	}
	if r.ResponseCode != "" && r.ResponseCode != txn.CodeApproved {
		b.Line(kv("应答码 Response", r.ResponseCode))
	}
	if s.Message != "" {
		b.Line(s.Message)
	}
	sign := ""
	if r.Type == txn.Void || r.Type == txn.Refund || r.Type == txn.ManualRefund {
		sign = "-"
	}
	b.Bold(true).Line(kv("金额 AMOUNT", r.Currency+" "+sign+txn.Money(r.Amount))).Bold(false)
	if r.Type == txn.Sale && r.Status == txn.Approved && !s.PINVerified && !noSignature(r.ICC) && s.Copy == MerchantCopy {
		b.Feed(2).Line("持卡人签名 Cardholder signature").Feed(1).Line(strings.Repeat("_", Cols))
	}
	if r.RRN != "" {
		b.Align(escpos.Center).QR(r.RRN, 4, escpos.ECM).Align(escpos.Left)
	}
	b.Feed(3).Cut()
	return b.Bytes(), b.Err()
}

var statusNames = map[txn.Status]i18n.Text{
	txn.Approved:          {EN: "APPROVED", ZH: "成功"},
	txn.Declined:          {EN: "DECLINED", ZH: "失败"},
	txn.Voided:            {EN: "VOIDED", ZH: "已撤销"},
	txn.PartiallyRefunded: {EN: "PART REFUNDED", ZH: "部分退货"},
	txn.Refunded:          {EN: "REFUNDED", ZH: "已退货"},
	txn.ReversalPending:   {EN: "REVERSAL PENDING", ZH: "待冲正"},
	txn.Reversed:          {EN: "REVERSED", ZH: "已冲正"},
	txn.ReversalFailed:    {EN: "REVERSAL FAILED", ZH: "冲正失败"},
	txn.Recorded:          {EN: "RECORDED", ZH: "已登记"},
	txn.NotSent:           {EN: "NOT SENT", ZH: "未发送"},
	txn.Pending:           {EN: "PENDING", ZH: "处理中"},
}

// notices are what the slip of a record in trouble says first, centred and bold, one
// line per language (32 columns do not hold both): what happened, what happens next,
// and what the merchant must do.
var notices = map[txn.Status][]i18n.Text{
	txn.ReversalPending: {
		{EN: "FAILED: NO ANSWER FROM HOST", ZH: "交易失败 主机无应答"},
		{EN: "WILL BE REVERSED AUTOMATICALLY", ZH: "将自动冲正"},
		{EN: "KEEP THIS SLIP", ZH: "请保留此凭条"},
	},
	txn.ReversalFailed: {
		{EN: "REVERSAL FAILED", ZH: "冲正失败"},
		{EN: "CALL THE ACQUIRER", ZH: "请联系收单机构"},
		{EN: "LISTED AT SETTLEMENT", ZH: "结算报告中单列"},
	},
}

// cardDeclinedNotice heads the slip of an approval the chip card refused (the host said
// yes, the card's second GENERATE AC said no, or the card was pulled out): the debit, if
// the issuer made one, is reversed.
var cardDeclinedNotice = []i18n.Text{
	{EN: "FAILED: CARD DECLINED", ZH: "交易失败 卡片拒绝"},
	{EN: "WILL BE REVERSED AUTOMATICALLY", ZH: "将自动冲正"},
	{EN: "KEEP THIS SLIP", ZH: "请保留此凭条"},
}

// noticeOf is the notice a record's slip opens with, if any.
func noticeOf(r txn.Record) []i18n.Text {
	if r.Status == txn.ReversalPending && r.ResponseCode == txn.CodeApproved {
		return cardDeclinedNotice
	}
	return notices[r.Status]
}

// cryptogramNames name a cryptogram by its type (CID bits 8–7, EMV Book 3 Table 15).
var cryptogramNames = map[byte]string{0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}

// chipLines are the chip data a bank slip prints for a chip or contactless record:
// AID, application label, TVR and TSI, the cryptogram by its type, and the ATC. The
// record's ICC holds none of the card's secrets (no PAN, track or PIN data).
func chipLines(iccHex string) []string {
	raw, err := hex.DecodeString(iccHex)
	if err != nil || len(raw) == 0 {
		return nil
	}
	l, err := tlv.Parse(raw)
	if err != nil {
		return nil
	}
	up := func(t tlv.Tag) string { return strings.ToUpper(hex.EncodeToString(l.Value(t))) }
	var lines []string
	if aid := up(0x84); aid != "" {
		lines = append(lines, kv("AID", aid))
	}
	if label := l.Value(0x50); len(label) > 0 {
		lines = append(lines, kv("应用 App", printable(label)))
	}
	if tvr, tsi := up(0x95), up(0x9B); tvr != "" || tsi != "" {
		lines = append(lines, kv("TVR "+tvr, "TSI "+tsi))
	}
	if ac := up(0x9F26); ac != "" {
		name := "AC"
		if cid := l.Value(0x9F27); len(cid) == 1 {
			if n, ok := cryptogramNames[cid[0]&0xC0]; ok {
				name = n
			}
		}
		lines = append(lines, kv(name, ac))
	}
	if atc := up(0x9F36); atc != "" {
		lines = append(lines, kv("ATC", atc))
	}
	return lines
}

// noSignature reports whether a chip record's CVM results (9F34) say the cardholder was
// verified without a signature: online PIN (method 02) or no CVM required (1F). A
// reprint knows it from the record, as the first print knew it from the flow.
func noSignature(iccHex string) bool {
	raw, err := hex.DecodeString(iccHex)
	if err != nil || len(raw) == 0 {
		return false
	}
	l, err := tlv.Parse(raw)
	if err != nil {
		return false
	}
	// Byte 1's low six bits are the method performed (Book 3 Annex C3). An online PIN's
	// result is the issuer's (byte 3 "unknown"): an approval means it was right.
	cvmr := l.Value(0x9F34)
	if len(cvmr) != 3 {
		return false
	}
	m := cvmr[0] & 0x3F
	return m == 0x02 || m == 0x1F
}

// printable keeps the printable ASCII of a card's text (an application label is 'ans').
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}

func statusText(r txn.Record) string { return statusNames[r.Status].Both() }

// Report is the settlement report of a closed batch.
type Report struct {
	Merchant Merchant
	Totals   txn.Totals
	Currency string
	At       time.Time
	// Result is how the batch closed: the report prints the words the screen shows
	// (txn.SettleResults).
	Result   txn.SettleResult
	Uploaded int // records sent in the batch upload
	// Location is the terminal's time zone, in which At is printed (nil: UTC).
	Location *time.Location
	// QR are the batch's QR totals per wallet, printed apart from the card totals.
	QR []txn.WalletTotals
}

// headLines print the journal's sealed head (txn.Totals.Head, "event:hash:MAC"), the
// proof that the journal kept now still holds what this report was made from: the
// label, then the event and hash, then the PIN pad's seal, each within the slip.
func headLines(head string) []string {
	if head == "" {
		return nil
	}
	lines := []string{"流水校验 Journal head"}
	if parts := strings.Split(head, ":"); len(parts) == 3 {
		return append(lines, "  "+parts[0]+":"+parts[1], "  "+"seal "+parts[2])
	}
	for len(head) > Cols-2 {
		lines, head = append(lines, "  "+head[:Cols-2]), head[Cols-2:]
	}
	return append(lines, "  "+head)
}

// Bytes renders the report as ESC/POS.
func (rp Report) Bytes() ([]byte, error) {
	var b escpos.Builder
	t := rp.Totals
	b.Init().Align(escpos.Center).Bold(true).Line(rp.Merchant.Name).Line("结算报告 SETTLEMENT").Bold(false).Align(escpos.Left)
	b.Line(kv("商户号 MID", rp.Merchant.MerchantID))
	b.Line(kv("终端号 TID", rp.Merchant.TerminalID))
	b.Line(kv("批次号 Batch", fmt.Sprintf("%06d", t.Batch)))
	b.Line(kv("时间 Time", rp.At.In(zone(rp.Location)).Format("2006-01-02 15:04:05")))
	b.Line(strings.Repeat("-", Cols))
	for _, row := range []struct {
		name  i18n.Text
		total txn.Total
	}{
		{i18n.Text{EN: "Sales", ZH: "消费"}, t.Sales},
		{i18n.Text{EN: "Voids", ZH: "撤销"}, t.Voids},
		{i18n.Text{EN: "Refunds", ZH: "退货"}, t.Refunds},
		{i18n.Text{EN: "Manual refunds", ZH: "手工退款"}, t.ManualRefunds},
		{i18n.Text{EN: "Reversal failed", ZH: "冲正失败"}, t.ReversalsFailed},
	} {
		b.Line(row.name.Both())
		b.Line(kv(fmt.Sprintf("  %d", row.total.Count), rp.Currency+" "+txn.Money(row.total.Amount)))
	}
	b.Line(strings.Repeat("-", Cols))
	net := t.Sales.Amount - t.Refunds.Amount
	b.Bold(true).Line(kv("净额 NET (card)", rp.Currency+" "+txn.Money(net))).Bold(false)
	for _, l := range QRTotalLines(rp.Currency, rp.QR) {
		b.Line(l)
	}
	if res, ok := txn.SettleResults[rp.Result]; ok {
		b.Bold(true).Line(res.ZH).Line(res.EN).Bold(false)
	}
	if rp.Uploaded > 0 {
		b.Line(kv("上送笔数 Uploaded", fmt.Sprint(rp.Uploaded)))
	}
	for _, l := range headLines(t.Head) {
		b.Line(l)
	}
	b.Feed(3).Cut()
	return b.Bytes(), b.Err()
}
