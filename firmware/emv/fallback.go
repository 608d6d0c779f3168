package emv

// SwipeDecision is what the terminal does with a magnetic stripe swipe.
type SwipeDecision int

// Swipe decisions.
const (
	SwipeAccept   SwipeDecision = iota // not a chip card: a magnetic stripe sale (entry 02)
	SwipeUseChip                       // a chip card (service code 2xx/6xx): "insert the card"
	SwipeFallback                      // the chip failed often enough: a fallback sale (entry 80)
)

// SwipeCheck is what the terminal knows when a card is swiped.
type SwipeCheck struct {
	ServiceCode   string // 3 digits from track 2
	ChipFailures  int    // chip read failures (ChipError results) of this card in this sale
	HasChipReader bool
}

// SwipeResult is the decision with what the host message must say about it.
type SwipeResult struct {
	Decision  SwipeDecision
	Rule      string // the name of the rule that decided
	EntryMode string // EntrySwipe or EntryFallback; "" for SwipeUseChip
	Fallback  bool   // the host dialects' fallback indicator (CUP 60.2.x, entry mode 80x)
}

// swipeRules is the fallback table, first match wins.
var swipeRules = []struct {
	name string
	when func(c SwipeCheck, p *Params) bool
	then SwipeDecision
}{
	{"not a chip card", func(c SwipeCheck, _ *Params) bool { return !chipServiceCode(c.ServiceCode) }, SwipeAccept},
	{"terminal without a chip reader", func(c SwipeCheck, _ *Params) bool { return !c.HasChipReader }, SwipeAccept},
	{"chip failed, fallback allowed", func(c SwipeCheck, p *Params) bool {
		return p.ChipFailuresBeforeFallback > 0 && c.ChipFailures >= p.ChipFailuresBeforeFallback
	}, SwipeFallback},
	{"chip card: use the chip", func(SwipeCheck, *Params) bool { return true }, SwipeUseChip},
}

// chipServiceCode: first digit 2 (international) or 6 (national) with a chip.
func chipServiceCode(sc string) bool { return len(sc) == 3 && (sc[0] == '2' || sc[0] == '6') }

// Swipe decides a swipe by the fallback table: a chip card's swipe asks for the chip
// until Params.ChipFailuresBeforeFallback chip reads of it failed; then the swipe is
// accepted and marked as a fallback.
func (p *Params) Swipe(c SwipeCheck) SwipeResult {
	for _, r := range swipeRules {
		if r.when(c, p) {
			res := SwipeResult{Decision: r.then, Rule: r.name}
			switch r.then {
			case SwipeAccept:
				res.EntryMode = EntrySwipe
			case SwipeFallback:
				res.EntryMode, res.Fallback = EntryFallback, true
			}
			return res
		}
	}
	return SwipeResult{Decision: SwipeUseChip, Rule: "chip card: use the chip"} // the last rule always matches
}
