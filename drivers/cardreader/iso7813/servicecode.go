package iso7813

// serviceDigit is what one digit of the service code tells the terminal.
type serviceDigit struct {
	assigned bool // false: reserved for future use by ISO
	chip     bool // the card has an integrated circuit to be used when feasible
	pin      bool // the cardholder must enter a PIN
}

// serviceCode is ISO/IEC 7813's service code table: per position, the values
// assigned. A reserved value is rejected because the terminal could not know
// the rules (chip, PIN) the issuer meant the card to follow.
var serviceCode = [3][10]serviceDigit{
	{ // 1: interchange and technology
		1: {assigned: true},             // international interchange
		2: {assigned: true, chip: true}, // international interchange, with IC
		5: {assigned: true},             // national interchange only
		6: {assigned: true, chip: true}, // national interchange only, with IC
		7: {assigned: true},             // private: bilateral agreement only
		9: {assigned: true},             // test card
	},
	{ // 2: authorisation processing
		0: {assigned: true}, // normal rules
		2: {assigned: true}, // by the issuer, online
		4: {assigned: true}, // by the issuer, online, unless bilateral agreement
	},
	{ // 3: range of services and PIN requirements
		0: {assigned: true, pin: true}, // no restrictions, PIN required
		1: {assigned: true},            // no restrictions
		2: {assigned: true},            // goods and services only
		3: {assigned: true, pin: true}, // ATM only, PIN required
		4: {assigned: true},            // cash only
		5: {assigned: true, pin: true}, // goods and services only, PIN required
		// 6 and 7 ask for a PIN "where feasible"; this terminal always has
		// a PIN pad, so for it they mean PIN required.
		6: {assigned: true, pin: true}, // no restrictions, PIN where feasible
		7: {assigned: true, pin: true}, // goods and services only, PIN where feasible
	},
}

// serviceDigits looks up the three digits of code; ok is false unless code
// is exactly three assigned digits.
func serviceDigits[T ~string | ~[]byte](code T) (d [3]serviceDigit, ok bool) {
	if len(code) != 3 {
		return d, false
	}
	for i := range d {
		c := code[i] - '0'
		if c > 9 || !serviceCode[i][c].assigned {
			return d, false
		}
		d[i] = serviceCode[i][c]
	}
	return d, true
}
