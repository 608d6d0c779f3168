package emv

import (
	"strings"
	"testing"
)

// TestReadCard: a void's or refund's read of a chip card gives its PAN and expiry and
// sends no GENERATE AC; a blocked application is refused as in a sale.
func TestReadCard(t *testing.T) {
	for _, tc := range []struct {
		card string
		want Outcome
	}{
		{"chip", CardRead},
		{"chip-pin", CardRead},
		{"chip-blocked", Refused},
		{"fallback", ChipError},
	} {
		var trace []string
		k := kernel(nil, Hooks{})
		k.Trace = func(l string) { trace = append(trace, l) }
		r := k.ReadCard(open(t, tc.card), Txn{Amount: 100, Type: 0x20})
		if r.Outcome != tc.want {
			t.Errorf("%s: ReadCard = %v (%s); want %v", tc.card, r.Outcome, r.Reason, tc.want)
			continue
		}
		for _, l := range trace {
			if strings.Contains(l, "80 AE") || strings.Contains(strings.ToUpper(l), "GENERATE AC") {
				t.Errorf("%s: ReadCard sent %q; want no GENERATE AC", tc.card, l)
			}
		}
		if tc.want == CardRead && (len(r.Card.PAN) < 12 || len(r.Card.Expiry) != 6) {
			t.Errorf("%s: card read %v, expiry %q; want a PAN and YYMMDD", tc.card, r.Card, r.Card.Expiry)
		}
	}
}
