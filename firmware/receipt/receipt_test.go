package receipt

import (
	"strings"
	"testing"
	"time"

	"posfw/drivers/printer/escpos"
	"posfw/firmware/txn"
)

var merchant = Merchant{Name: "POSFW 模拟商户", TerminalID: "SIM00001", MerchantID: "898000000000001"}

func render(t *testing.T, s interface{ Bytes() ([]byte, error) }) string {
	t.Helper()
	b, err := s.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d := escpos.NewDecoder(escpos.Options{})
	d.Write(b)
	if err := d.Close(); err != nil {
		t.Fatalf("decoding the slip: %v", err)
	}
	return d.Paper().Text(Cols)
}

func sale() txn.Record {
	return txn.Record{
		Type: txn.Sale, Status: txn.Approved, Amount: 123456, Currency: "CNY", STAN: 12, Batch: 1, Invoice: 12,
		RRN: "100000000012", AuthCode: "A00012", MaskedPAN: "622202*********0127", EntryMode: txn.Swiped,
		Operator: "01", CreatedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
	}
}

func TestSlip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		slip    Slip
		want    []string
		notWant []string
	}{
		{"sale merchant copy", Slip{Merchant: merchant, Record: sale(), Location: time.UTC},
			[]string{"商户存根 MERCHANT COPY", "消  费    S A L E", "622202*********0127 S", "凭证号 Trace", "000012", "100000000012", "A00012",
				"2026-11-21 10:00:00", "CNY 1,234.56", "持卡人签名 Cardholder signature", "[QR: 100000000012]", "- - -"},
			[]string{"REPRINT"}},
		{"customer copy with PIN: no signature", Slip{Merchant: merchant, Record: sale(), Copy: CustomerCopy, PINVerified: true},
			[]string{"持卡人存根 CUSTOMER COPY"}, []string{"signature"}},
		{"reprint", Slip{Merchant: merchant, Record: sale(), Reprint: true}, []string{"*** REPRINT 重打印 ***"}, nil},
		{"refund", Slip{Merchant: merchant, Record: func() txn.Record {
			r := sale()
			r.Type, r.OrigRRN, r.Supervisor = txn.Refund, "100000000001", "00"
			return r
		}()}, []string{"退  货    R E F U N D", "CNY -1,234.56", "原参考号 Orig RRN", "100000000001", "主管 Supervisor"}, []string{"signature"}},
		{"declined", Slip{Merchant: merchant, Record: func() txn.Record {
			r := sale()
			r.Status, r.ResponseCode, r.RRN, r.AuthCode = txn.Declined, "51", "", ""
			return r
		}(), Message: "余额不足 Insufficient funds"}, []string{"失败 DECLINED", "应答码 Response", "51", "余额不足"}, []string{"QR", "signature"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := render(t, tc.slip)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("slip lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(text, w) {
					t.Errorf("slip has %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, "6222021234567890127") {
				t.Error("slip holds a full PAN")
			}
		})
	}
}

func TestReport(t *testing.T) {
	rp := Report{Merchant: merchant, Currency: "CNY", At: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC), Balanced: true,
		Totals: txn.Totals{Batch: 3, Sales: txn.Total{Count: 2, Amount: 3000}, Refunds: txn.Total{Count: 1, Amount: 500},
			ManualRefunds: txn.Total{Count: 1, Amount: 200}}}
	text := render(t, rp)
	for _, w := range []string{"结算报告 SETTLEMENT", "000003", "消费 Sales", "CNY 30.00", "退货 Refunds", "CNY 5.00",
		"手工退款 Manual refunds", "CNY 2.00", "净额 NET (card)", "CNY 25.00", "BALANCED"} {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
}
