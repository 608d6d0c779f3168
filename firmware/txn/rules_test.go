package txn

import (
	"testing"

	"github.com/mattn/go-runewidth"
)

// screenCols is the narrowest terminal line a refusal reason is shown on (sim board: 24).
const screenCols = 24

// ruleCase breaks exactly one rule of a good request.
type ruleCase[C any] struct {
	rule    string
	breakIt func(c *C)
}

// testRules checks that good passes every rule and that each case is refused by the
// rule it names — so deleting a rule from its table fails its case.
func testRules[C any](t *testing.T, rules []Rule[C], good func() C, cases []ruleCase[C]) {
	t.Helper()
	g := good()
	if ref := apply(rules, &g); ref != nil {
		t.Fatalf("the good request was refused by %q: %s", ref.Rule, ref.EN)
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		c := good()
		tc.breakIt(&c)
		ref := apply(rules, &c)
		switch {
		case ref == nil:
			t.Errorf("rule %q: request passed; want refused", tc.rule)
		case ref.Rule != tc.rule:
			t.Errorf("rule %q: refused by %q (%s); want %q", tc.rule, ref.Rule, ref.EN, tc.rule)
		case ref.EN == "" || ref.ZH == "":
			t.Errorf("rule %q: refusal lacks a reason in both languages: %+v", tc.rule, ref)
		case runewidth.StringWidth(ref.EN) > screenCols || runewidth.StringWidth(ref.ZH) > screenCols:
			t.Errorf("rule %q: reason %q / %q is wider than a %d-column screen line", tc.rule, ref.EN, ref.ZH, screenCols)
		}
		seen[tc.rule] = true
	}
	for _, r := range rules {
		if !seen[r.Name] {
			t.Errorf("rule %q has no test case", r.Name)
		}
	}
}

func TestSaleRules(t *testing.T) {
	good := func() SaleCheck { return SaleCheck{Amount: 100, MaxAmount: 99_999_999, HasCard: true} }
	testRules(t, SaleRules, good, []ruleCase[SaleCheck]{
		{"amount positive", func(c *SaleCheck) { c.Amount = 0 }},
		{"amount within maximum", func(c *SaleCheck) { c.Amount = 100_000_000 }},
		{"card presented", func(c *SaleCheck) { c.HasCard = false }},
		{"duplicate confirmed", func(c *SaleCheck) { c.Duplicate = &Record{STAN: 999999} }},
	})
	c := SaleCheck{Amount: 100, MaxAmount: 99_999_999, HasCard: true, Duplicate: &Record{STAN: 7}, Confirmed: true}
	if ref := apply(SaleRules, &c); ref != nil {
		t.Errorf("a confirmed duplicate was refused: %v", ref)
	}
}

func TestVoidRules(t *testing.T) {
	good := func() VoidCheck {
		return VoidCheck{
			Orig:         &Record{Type: Sale, Status: Approved, Batch: 3, CardHash: "aa"},
			CurrentBatch: 3, Supervisor: true, CardHash: "aa",
		}
	}
	testRules(t, VoidRules, good, []ruleCase[VoidCheck]{
		{"supervisor authorised", func(c *VoidCheck) { c.Supervisor = false }},
		{"original found", func(c *VoidCheck) { c.Orig = nil }},
		{"original is a sale or refund", func(c *VoidCheck) { c.Orig.Type = Void }},
		{"original not settled", func(c *VoidCheck) { c.Orig.Batch = 2 }},
		{"original not already voided", func(c *VoidCheck) { c.Orig.Status = Voided }},
		{"original has no refunds", func(c *VoidCheck) { c.Orig.Status = PartiallyRefunded }},
		{"original approved", func(c *VoidCheck) { c.Orig.Status = Declined }},
		{"same card", func(c *VoidCheck) { c.CardHash = "bb" }},
	})
	// A refund can be voided too, and no card presented is fine.
	c := good()
	c.Orig.Type, c.CardHash = Refund, ""
	if ref := apply(VoidRules, &c); ref != nil {
		t.Errorf("void of an approved refund without the card refused: %v", ref)
	}
}

func TestRefundRules(t *testing.T) {
	good := func() RefundCheck {
		return RefundCheck{
			Amount: 300, Ceiling: 1000, Supervisor: true, CardHash: "aa",
			Orig: &Record{Type: Sale, Status: PartiallyRefunded, Amount: 1000, Refunded: 700, CardHash: "aa"},
		}
	}
	testRules(t, RefundRules, good, []ruleCase[RefundCheck]{
		{"supervisor authorised", func(c *RefundCheck) { c.Supervisor = false }},
		{"amount positive", func(c *RefundCheck) { c.Amount = -1 }},
		{"amount within refund ceiling", func(c *RefundCheck) { c.Ceiling = 299; c.Amount = 300 }},
		{"original is a sale", func(c *RefundCheck) { c.Orig.Type = Refund }},
		{"original not voided", func(c *RefundCheck) { c.Orig.Status = Voided }},
		{"original approved", func(c *RefundCheck) { c.Orig.Status = ReversalPending }},
		{"refunds within original", func(c *RefundCheck) { c.Amount = 301; c.Orig.Amount, c.Orig.Refunded = 99_999_999, 99_999_699 }},
		{"original card", func(c *RefundCheck) { c.CardHash = "bb" }},
	})
	// Original not in the journal: left to the host within the ceiling.
	c := RefundCheck{Amount: 1000, Ceiling: 1000, Supervisor: true, CardHash: "cc"}
	if ref := apply(RefundRules, &c); ref != nil {
		t.Errorf("refund of an unknown original within the ceiling refused: %v", ref)
	}
}

func TestManualRefundRules(t *testing.T) {
	good := func() ManualRefundCheck {
		return ManualRefundCheck{Amount: 100, Ceiling: 500, Supervisor: true, Reason: "Card closed", OrigRRN: "123456789012",
			Orig: &Record{Type: Sale, Status: Approved, Amount: 100}}
	}
	testRules(t, ManualRefundRules, good, []ruleCase[ManualRefundCheck]{
		{"supervisor authorised", func(c *ManualRefundCheck) { c.Supervisor = false }},
		{"amount positive", func(c *ManualRefundCheck) { c.Amount = 0 }},
		{"amount within refund ceiling", func(c *ManualRefundCheck) { c.Amount = 501 }},
		{"reason given", func(c *ManualRefundCheck) { c.Reason = "" }},
		{"original reference given", func(c *ManualRefundCheck) { c.OrigRRN = "" }},
		{"within original", func(c *ManualRefundCheck) { c.Orig.Refunded = 1 }},
	})
}

func TestReversalRules(t *testing.T) {
	good := func() ReversalCheck { return ReversalCheck{} }
	testRules(t, ReversalRules, good, []ruleCase[ReversalCheck]{
		{"no pending reversals", func(c *ReversalCheck) { c.PendingReversals = 999 }},
	})
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to Status
		ok       bool
	}{
		{Pending, Approved, true}, {Pending, ReversalPending, true}, {Pending, NotSent, true},
		{ReversalPending, Reversed, true}, {Approved, Voided, true}, {Approved, PartiallyRefunded, true},
		{PartiallyRefunded, Refunded, true},
		{Approved, Pending, false}, {Voided, Approved, false}, {Reversed, Approved, false},
		{Declined, Approved, false}, {Refunded, Voided, false}, {Pending, Voided, false},
	} {
		if got := CanMove(tc.from, tc.to); got != tc.ok {
			t.Errorf("CanMove(%s, %s) = %v; want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{{0, "0.00"}, {5, "0.05"}, {1234, "12.34"}, {123456789, "1,234,567.89"}, {-100050, "-1,000.50"}} {
		if got := Money(tc.in); got != tc.want {
			t.Errorf("Money(%d) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskPAN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"6222021234567890123", "622202*********0123"}, {"4111111111111111", "411111******1111"}, {"1234", "****"},
	} {
		if got := MaskPAN([]byte(tc.in)); got != tc.want {
			t.Errorf("MaskPAN(%s) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Codes {
		if seen[c.Code] || c.EN == "" || c.ZH == "" || c.Action == "" {
			t.Errorf("code row %+v duplicated or incomplete", c)
		}
		seen[c.Code] = true
	}
	for code, want := range map[string]Action{"00": ActApproved, "51": ActDeclined, "96": ActRetry, "A0": ActReverse, "40": ActManualRoute, "Z9": ActUnknown, "94": ActTraceUsed, "97": ActReverse} {
		if got := LookupCode(code).Action; got != want {
			t.Errorf("LookupCode(%s).Action = %s; want %s", code, got, want)
		}
	}
}

func TestClearsReversal(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{"00", true}, // reversed
		{"12", true}, // invalid related transaction: the host has no original
		{"25", true}, // original not found
		{"", false},  // no answer
		{"06", false},
		{"96", false},
		{"A0", false},
		{"97", false},
		{"Z9", false},
	} {
		if got := ClearsReversal(tt.code); got != tt.want {
			t.Errorf("ClearsReversal(%q) = %v; want %v", tt.code, got, tt.want)
		}
	}
}
