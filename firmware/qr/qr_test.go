package qr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// annexB is the example payload of EMV QRCPS MPM, Annex B, byte for byte: its CRC
// (A13A) was computed by the specification's authors, not by this code.
const annexB = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"

func TestCRC16(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint16
	}{
		{"123456789", 0x29B1}, // the CRC-16/CCITT-FALSE check value
		{"", 0xFFFF},
		{annexB[:len(annexB)-4], 0xA13A},
	} {
		if got := CRC16([]byte(tt.in)); got != tt.want {
			t.Errorf("CRC16(%.20q) = %04X; want %04X", tt.in, got, tt.want)
		}
	}
}

func TestParseAnnexB(t *testing.T) {
	p, err := Parse(annexB)
	if err != nil {
		t.Fatalf("Parse(Annex B) = %v", err)
	}
	var ids []string
	for _, o := range p.Objects {
		ids = append(ids, o.ID)
	}
	if got, want := strings.Join(ids, " "), "00 01 29 31 52 58 59 60 64 54 53 55 62 91 63"; got != want {
		t.Errorf("object IDs = %s; want %s", got, want)
	}
	for _, tt := range []struct{ id, sub, want string }{
		{"01", "", "12"},
		{"29", "00", "D15600000000"},
		{"29", "05", "A93FO3230Q"},
		{"31", "03", "12345678"},
		{"52", "", "4111"},
		{"53", "", "156"},
		{"54", "", "23.72"},
		{"58", "", "CN"},
		{"59", "", "BEST TRANSPORT"},
		{"60", "", "BEIJING"},
		{"64", "01", "最佳运输"}, // lengths count characters: 04 is four Chinese characters
		{"64", "02", "北京"},
		{"62", AddStoreLabel, "1234"},
		{"62", AddCustomerLabel, "***"},
		{"62", AddTerminalLabel, "A6008667"},
		{"62", "09", "ME"},
		{"91", "00", "A011223344998877"},
		{"91", "07", "12345678"},
		{"63", "", "A13A"},
	} {
		got := p.Get(tt.id)
		if tt.sub != "" {
			got = p.Sub(tt.id, tt.sub)
		}
		if got != tt.want {
			t.Errorf("object %s/%s = %q; want %q", tt.id, tt.sub, got, tt.want)
		}
	}
	if n := len(p.Accounts()); n != 2 {
		t.Errorf("Accounts() has %d templates; want 2 (29 and 31)", n)
	}
	if amt, err := ParseAmount(p.Get(IDAmount), 2); err != nil || amt != 2372 {
		t.Errorf("ParseAmount(%q) = %d, %v; want 2372", p.Get(IDAmount), amt, err)
	}
}

func TestParseRefused(t *testing.T) {
	// withCRC appends a right CRC, so that each case fails for its own reason.
	withCRC := func(s string) string {
		s += "6304"
		return s + fmt.Sprintf("%04X", CRC16([]byte(s)))
	}
	const acct = "26160012com.test.pay"
	const tail = "5204581253031565802CN5903ABC6007BEIJING"
	for _, tt := range []struct {
		name, in, reason string
	}{
		{"wrong CRC", annexB[:len(annexB)-1] + "B", "CRC does not match"},
		{"lower-case CRC", annexB[:len(annexB)-4] + "a13a", "CRC is not four upper-case"},
		{"no CRC", "000201" + acct + tail, "does not end with the CRC"},
		{"not first", withCRC("010212000201" + acct + tail), "does not start with the Payload Format Indicator"},
		{"format 02", withCRC("000202" + acct + tail), `Payload Format Indicator is "02"`},
		{"length past end", "00020101021226990012com", "runs past the end"},
		{"bad ID", "0002010x", "want a two-digit ID"},
		{"zero length", withCRC("000201" + "0100" + acct + tail), "length 00"},
		{"twice", withCRC("000201" + acct + tail + "5802CN"), "58 appears twice"},
		{"no account", withCRC("000201" + tail), "no merchant account information"},
		{"account without GUID", withCRC("000201" + "26080104abcd" + tail), "has no globally unique identifier"},
		{"bad template", withCRC("000201" + "26050012c" + tail), "in template 26"},
		{"no MCC", withCRC("000201" + acct + "53031565802CN5903ABC6007BEIJING"), "no merchant category code (52)"},
		{"bad currency", withCRC("000201" + acct + "520458125302CN5802CN5903ABC6007BEIJING"), "transaction currency (53) is not three digits"},
		{"bad amount", withCRC("000201" + acct + tail + "54051.2.3"), "transaction amount (54) is not an amount"},
		{"zero amount", withCRC("000201" + acct + tail + "54040.00"), "transaction amount (54) is not an amount"},
		{"initiation 13", withCRC("000201010213" + acct + tail), "point of initiation method (01) is not 11 or 12"},
		{"country", withCRC("000201" + acct + "5204581253031565802cn5903ABC6007BEIJING"), "country code (58) is not two letters"},
		{"name too long", withCRC("000201" + acct + "5204581253031565802CN5926" + strings.Repeat("N", 26) + "6007BEIJING"), "merchant name (59) is not 1 to 25"},
		{"too long", strings.Repeat("0", 513), "longer than 512"},
		{"not UTF-8", "000201\xff", "not UTF-8"},
		{"empty", "", "does not start with the Payload Format Indicator"},
	} {
		_, err := Parse(tt.in)
		var e *Error
		if err == nil || !strings.Contains(err.Error(), tt.reason) || (!errors.As(err, &e) && !errors.Is(err, ErrCRC)) {
			t.Errorf("%s: Parse(%.40q) = %v; want an error with %q", tt.name, tt.in, err, tt.reason)
		}
	}
}

func TestBuild(t *testing.T) {
	m := Merchant{GUID: "A000000333", MerchantID: "898310148160568", MCC: "5812", Currency: "156", Exponent: 2,
		Country: "CN", Name: "POSFW TEST SHOP", City: "SHANGHAI"}
	got, err := Build(m, Order{Amount: 2372, BillNumber: "20261205000123", TerminalLabel: "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	// Written out by hand from the specification's layout; the CRC is checked by Parse
	// below and by the Annex B test against the specification's own.
	want := "000201" + "010212" + "2633" + "0010A000000333" + "0115898310148160568" + "52045812" + "5303156" +
		"540523.72" + "5802CN" + "5915POSFW TEST SHOP" + "6008SHANGHAI" + "6230" + "011420261205000123" + "070812345678" + "6304"
	if got[:len(got)-4] != want {
		t.Errorf("Build =\n%s; want\n%sXXXX", got, want)
	}
	p, err := Parse(got)
	if err != nil {
		t.Fatalf("Parse(Build) = %v", err)
	}
	if p.Get(IDInitiation) != InitiationDynamic || p.Sub(IDAdditional, AddBillNumber) != "20261205000123" || p.Sub("26", "01") != "898310148160568" {
		t.Errorf("Parse(Build) = %+v; want the dynamic code of the order", p.Objects)
	}

	// Chinese names count in characters.
	zh := m
	zh.Name, zh.City = "最佳运输", "北京"
	s, err := Build(zh, Order{Amount: 1, BillNumber: "1"})
	if err != nil || !strings.Contains(s, "5904最佳运输6002北京") || !strings.Contains(s, "54040.01") {
		t.Errorf("Build(Chinese names, 1 fen) = %q, %v; want 5904最佳运输6002北京 and 54040.01", s, err)
	}

	for _, tt := range []struct {
		name   string
		edit   func(*Merchant, *Order)
		reason string
	}{
		{"zero amount", func(m *Merchant, o *Order) { o.Amount = 0 }, "amount 0 is not positive"},
		{"no bill number", func(m *Merchant, o *Order) { o.BillNumber = "" }, "needs a bill number"},
		{"account ID 52", func(m *Merchant, o *Order) { m.AccountID = "52" }, "is not 26 to 51"},
		{"no GUID", func(m *Merchant, o *Order) { m.GUID = "" }, "needs a GUID"},
		{"long name", func(m *Merchant, o *Order) { m.Name = strings.Repeat("x", 26) }, "merchant name (59) is not 1 to 25"},
		{"MCC letters", func(m *Merchant, o *Order) { m.MCC = "58A2" }, "merchant category code (52) is not four digits"},
		{"control character", func(m *Merchant, o *Order) { m.City = "BEI\nJING" }, "control character"},
		{"empty city", func(m *Merchant, o *Order) { m.City = "" }, "data object 60 is empty"},
		{"long bill", func(m *Merchant, o *Order) { o.BillNumber = strings.Repeat("1", 100) }, "more than 99"},
	} {
		mm, o := m, Order{Amount: 100, BillNumber: "B1"}
		tt.edit(&mm, &o)
		if s, err := Build(mm, o); err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: Build = %q, %v; want an error with %q", tt.name, s, err, tt.reason)
		}
	}
}

func TestAmounts(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		exp   int
		want  string
	}{
		{2372, 2, "23.72"}, {1, 2, "0.01"}, {100, 2, "1.00"}, {99999999999, 2, "999999999.99"}, {5, 0, "5"}, {1234, 3, "1.234"},
	} {
		if got := FormatAmount(tt.minor, tt.exp); got != tt.want {
			t.Errorf("FormatAmount(%d, %d) = %q; want %q", tt.minor, tt.exp, got, tt.want)
		}
		if back, err := ParseAmount(tt.want, tt.exp); err != nil || back != tt.minor {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d", tt.want, tt.exp, back, err, tt.minor)
		}
	}
	for _, bad := range []string{"", ".", "1.2.3", "1,00", "-1", "0.00", "1.234", "12345678901234"} {
		if n, err := ParseAmount(bad, 2); err == nil {
			t.Errorf("ParseAmount(%q, 2) = %d; want refused", bad, n)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		code string
		want Wallet
	}{
		{"134567890123456789", WeChat},       // 13 + 16 digits
		{"104567890123456789", WeChat},       // 10
		{"154567890123456789", WeChat},       // 15
		{"284567890123456789", Alipay},       // 28, 18 digits
		{"2545678901234567", Alipay},         // 25 + 14 digits: the shortest
		{"304567890123456789012345", Alipay}, // 30 + 22 digits: the longest
		{"6212345678901234567", UnionPay},    // 62 + 17 digits
		{"164567890123456789", ""},           // 16: no wallet
		{"13456789012345678", ""},            // WeChat prefix, 17 digits
		{"1345678901234567890", ""},          // WeChat prefix, 19 digits
		{"254567890123456", ""},              // Alipay prefix, 15 digits
		{"3045678901234567890123456", ""},    // Alipay prefix, 25 digits
		{"621234567890123456", ""},           // UnionPay prefix, 18 digits
		{"62123456789012345678", ""},         // UnionPay prefix, 20 digits
		{"6312345678901234567", ""},          // 63
		{"13456789012345678X", ""},           // a letter
		{" 134567890123456789", ""},          // a space
		{"https://qr.alipay.com/abc", ""},    // a URL is the merchant's code, not the customer's
		{"", ""},
		{"1", ""},
	} {
		got, err := Classify(tt.code)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("Classify(%q) = %q, %v; want %q", tt.code, got, err, tt.want)
		}
		if err != nil && len(tt.code) > 4 && strings.Contains(err.Error(), tt.code[2:]) {
			t.Errorf("Classify(%q) error %q holds the code", tt.code, err)
		}
	}
}

func TestMaskCode(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"134567890123456789", "1345**********6789"}, {"12345678", "****"}, {"", "****"},
	} {
		if got := MaskCode(tt.in); got != tt.want {
			t.Errorf("MaskCode(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(annexB)
	f.Add("000201010212263300")
	f.Add("0002016304FFFF")
	f.Add("00020101021126160012com.test.pay5204581253031565802CN5903ABC6007BEIJING6304")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, ErrCRC) {
				t.Fatalf("Parse(%q) = %v; want an *Error or ErrCRC", s, err)
			}
			return
		}
		// Whatever parses re-encodes to itself.
		var b strings.Builder
		for _, o := range p.Objects {
			fmt.Fprintf(&b, "%s%02d%s", o.ID, utf8.RuneCountInString(o.Value), o.Value)
		}
		if b.String() != s {
			t.Fatalf("objects of %q re-encode to %q", s, b.String())
		}
		if p.Objects[0].ID != IDFormat || p.Objects[len(p.Objects)-1].ID != IDCRC {
			t.Fatalf("Parse(%q) accepted objects %v", s, p.Objects)
		}
	})
}

func FuzzClassify(f *testing.F) {
	f.Add("134567890123456789")
	f.Add("6212345678901234567")
	f.Fuzz(func(t *testing.T, code string) {
		w, err := Classify(code)
		if (w == "") != (err != nil) {
			t.Fatalf("Classify(%q) = %q, %v", code, w, err)
		}
		if w != "" && !digits(code) {
			t.Fatalf("Classify(%q) = %q for a code that is not all digits", code, w)
		}
	})
}
