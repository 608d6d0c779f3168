package receipt

import (
	"flag"
	"os"
	"path/filepath"
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
	p, err := escpos.Decode(b)
	if err != nil {
		t.Fatalf("decoding the slip: %v", err)
	}
	return p.Text(Cols)
}

func sale() txn.Record {
	return txn.Record{
		Type: txn.Sale, Status: txn.Approved, Amount: 123456, Currency: "CNY", STAN: 12, Batch: 1, Invoice: 12,
		RRN: "100000000012", AuthCode: "A00012", MaskedPAN: "622202*********0127", EntryMode: txn.Swiped,
		Operator: "01", CreatedAt: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
	}
}

// troubled is the sale of sale() in a reversal state: the host never answered, so it
// has no RRN, auth code or response code.
func troubled(st txn.Status) txn.Record {
	r := sale()
	r.Status, r.RRN, r.AuthCode = st, "", ""
	return r
}

// chipSale is sale() read from a chip: its ICC holds 84, 95, 9F26 with 9F27 = TC, 9F36,
// then 9B and 50 as the app keeps them.
func chipSale(st txn.Status, code string) txn.Record {
	r := sale()
	r.Status, r.ResponseCode, r.EntryMode = st, code, txn.Chip
	r.ICC = "8408A000000333010101" + "95050000008000" + "9F26081122334455667788" + "9F270140" + "9F36020007" +
		"9B02E800" + "500E556E696F6E50617920446562697420"[:32]
	return r
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
		{"no answer, merchant copy", Slip{Merchant: merchant, Record: troubled(txn.ReversalPending)},
			[]string{"商户存根 MERCHANT COPY", "交易失败 主机无应答", "FAILED: NO ANSWER FROM HOST", "将自动冲正", "WILL BE REVERSED AUTOMATICALLY",
				"待冲正 REVERSAL PENDING", "622202*********0127", "000012", "CNY 1,234.56"},
			[]string{"signature", "QR", "APPROVED", "成功", "CALL THE ACQUIRER"}},
		{"no answer, customer copy", Slip{Merchant: merchant, Record: troubled(txn.ReversalPending), Copy: CustomerCopy},
			[]string{"持卡人存根 CUSTOMER COPY", "交易失败 主机无应答", "FAILED: NO ANSWER FROM HOST", "请保留此凭条", "KEEP THIS SLIP"},
			[]string{"signature"}},
		{"no answer, void", Slip{Merchant: merchant, Record: func() txn.Record {
			r := troubled(txn.ReversalPending)
			r.Type, r.OrigSTAN, r.Supervisor = txn.Void, 11, "00"
			return r
		}()}, []string{"撤  销    V O I D", "FAILED: NO ANSWER FROM HOST", "CNY -1,234.56", "000011"}, nil},
		{"reversal failed", Slip{Merchant: merchant, Record: troubled(txn.ReversalFailed), ReversalTries: 3},
			[]string{"商户存根 MERCHANT COPY", "冲正失败", "REVERSAL FAILED", "请联系收单机构", "CALL THE ACQUIRER",
				"消  费    S A L E", "622202*********0127", "批次号 Batch", "000001", "凭证号 Trace", "票据号 Invoice", "000012",
				"CNY 1,234.56", "冲正次数 Reversal tries        3"},
			[]string{"signature", "NO ANSWER", "REVERSAL PENDING"}},
		{"reversal failed, tries unknown (reprint)", Slip{Merchant: merchant, Record: troubled(txn.ReversalFailed), Reprint: true},
			[]string{"REPRINT", "CALL THE ACQUIRER"}, []string{"Reversal tries"}},
		{"chip sale: AID, label, TVR/TSI, TC, ATC", Slip{Merchant: merchant, Record: chipSale(txn.Approved, "00"), PINVerified: true},
			[]string{"622202*********0127 I", "AID", "A000000333010101", "应用 App", "UnionPay Debit", "TVR 0000008000", "TSI E800",
				"TC ", "1122334455667788", "ATC", "0007"}, []string{"ARQC", "signature"}},
		{"chip sale reprinted: online PIN in 9F34, no signature", Slip{Merchant: merchant, Record: func() txn.Record {
			r := chipSale(txn.Approved, "00")
			r.ICC += "9F3403420300"
			return r
		}(), Reprint: true}, []string{"REPRINT"}, []string{"signature"}},
		{"tap reprinted: no CVM in 9F34, no signature", Slip{Merchant: merchant, Record: func() txn.Record {
			r := chipSale(txn.Approved, "00")
			r.ICC += "9F34031F0002"
			return r
		}(), Reprint: true}, []string{"REPRINT"}, []string{"signature"}},
		{"chip sale with a signature CVM", Slip{Merchant: merchant, Record: func() txn.Record {
			r := chipSale(txn.Approved, "00")
			r.ICC += "9F34031E0300"
			return r
		}(), Reprint: true}, []string{"REPRINT", "持卡人签名 Cardholder signature"}, nil},
		{"chip sale the card refused after the host approved", Slip{Merchant: merchant, Record: chipSale(txn.ReversalPending, "00")},
			[]string{"FAILED: CARD DECLINED", "交易失败 卡片拒绝", "WILL BE REVERSED AUTOMATICALLY", "待冲正 REVERSAL PENDING"},
			[]string{"NO ANSWER FROM HOST", "signature"}},
		{"chip sale the host never answered", Slip{Merchant: merchant, Record: chipSale(txn.ReversalPending, "")},
			[]string{"FAILED: NO ANSWER FROM HOST"}, []string{"CARD DECLINED"}},
		{"reversed: no notice", Slip{Merchant: merchant, Record: troubled(txn.Reversed), ReversalTries: 3},
			[]string{"已冲正 REVERSED"}, []string{strings.Repeat("*", Cols), "FAILED", "Reversal tries", "CALL THE ACQUIRER"}},
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
	rp := Report{Merchant: merchant, Currency: "CNY", At: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC), Result: txn.SettledBalanced,
		Totals: txn.Totals{Batch: 3, Sales: txn.Total{Count: 2, Amount: 3000}, Refunds: txn.Total{Count: 1, Amount: 500},
			ManualRefunds: txn.Total{Count: 1, Amount: 200}}}
	text := render(t, rp)
	for _, w := range []string{"结算报告 SETTLEMENT", "000003", "消费 Sales", "CNY 30.00", "退货 Refunds", "CNY 5.00",
		"手工退款 Manual refunds", "CNY 2.00", "净额 NET (card)", "CNY 25.00", "Settled: BALANCED", "结算成功，对账平"} {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
	// The report says what the screen says, for each way a batch closes.
	for res, words := range txn.SettleResults {
		rp.Result, rp.Uploaded = res, 4
		text := render(t, rp)
		for _, w := range []string{words.EN, words.ZH} {
			if !strings.Contains(text, w) {
				t.Errorf("report of a %s settlement lacks %q:\n%s", res, w, text)
			}
		}
		if res != txn.SettledBalanced && !strings.Contains(text, "Uploaded") {
			t.Errorf("report of a %s settlement does not say how many were uploaded:\n%s", res, text)
		}
	}
}

// TestReportHead: the journal's sealed head prints on the settlement report, every
// line within the slip; a report without one prints no head lines.
func TestReportHead(t *testing.T) {
	rp := Report{Merchant: merchant, Currency: "CNY", At: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC), Result: txn.SettledBalanced,
		Totals: txn.Totals{Batch: 3}}
	for _, tc := range []struct {
		name, head string
		want       []string
	}{
		{"sealed", "123456:0123456789abcdef:fedcba9876543210", []string{"流水校验 Journal head", "  123456:0123456789abcdef", "  seal fedcba9876543210"}},
		{"unsealed (the pad did not answer)", "17:0123456789abcdef:unsealed", []string{"流水校验 Journal head", "  17:0123456789abcdef", "  seal unsealed"}},
		{"none", "", nil},
	} {
		rp.Totals.Head = tc.head
		text := render(t, rp)
		for _, w := range tc.want {
			if !strings.Contains(text, w+"\n") {
				t.Errorf("%s: report lacks the line %q:\n%s", tc.name, w, text)
			}
		}
		if tc.head == "" && strings.Contains(text, "Journal head") {
			t.Errorf("%s: report prints a head:\n%s", tc.name, text)
		}
		for _, l := range strings.Split(text, "\n") {
			if w := escpos.Width(l); w > Cols {
				t.Errorf("%s: line %q is %d columns; the slip has %d", tc.name, l, w, Cols)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.txt from the slips as rendered now")

// TestSlipGolden compares whole slips, as the paper shows them, with testdata: the
// layout of the notices a merchant keeps as evidence must not drift unnoticed.
func TestSlipGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		slip Slip
	}{
		{"no_answer_merchant.txt", Slip{Merchant: merchant, Record: troubled(txn.ReversalPending), Location: time.UTC}},
		{"no_answer_customer.txt", Slip{Merchant: merchant, Record: troubled(txn.ReversalPending), Copy: CustomerCopy, Location: time.UTC}},
		{"reversal_failed.txt", Slip{Merchant: merchant, Record: troubled(txn.ReversalFailed), ReversalTries: 3, Location: time.UTC}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := render(t, tc.slip)
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("slip %s:\n%s\nwant (go test -update to accept):\n%s", tc.file, got, want)
			}
			for _, l := range strings.Split(got, "\n") {
				if w := escpos.Width(l); w > Cols {
					t.Errorf("line %q is %d columns wide; the roll has %d", l, w, Cols)
				}
			}
		})
	}
}

// TestLocalTime: slips and the settlement report print the terminal's local time, in
// its zone, whatever the machine's: a sale at 00:40 in Beijing is 16:40 UTC the day
// before, and the slip must say the day the cardholder will type back for a refund.
func TestLocalTime(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC)
	r := sale()
	r.CreatedAt = at
	for _, tc := range []struct {
		name string
		doc  interface{ Bytes() ([]byte, error) }
		want string
	}{
		{"slip in Beijing", Slip{Merchant: merchant, Record: r, Location: shanghai}, "2026-12-06 00:40:00"},
		{"slip, no zone: UTC", Slip{Merchant: merchant, Record: r}, "2026-12-05 16:40:00"},
		{"report in Beijing", Report{Merchant: merchant, Currency: "CNY", At: at, Location: shanghai}, "2026-12-06 00:40:00"},
		{"report, no zone: UTC", Report{Merchant: merchant, Currency: "CNY", At: at.In(shanghai)}, "2026-12-05 16:40:00"},
	} {
		if text := render(t, tc.doc); !strings.Contains(text, tc.want) {
			t.Errorf("%s:\n%s\nwant the time %s", tc.name, text, tc.want)
		}
	}
}
