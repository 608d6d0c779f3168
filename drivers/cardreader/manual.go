package cardreader

import (
	"fmt"

	"posfw/drivers/cardreader/iso7813"
)

// Manual returns the presentation of a card keyed by hand, for the fallback
// when the reader cannot read a card. pan must be 12 to 19 digits passing the
// Luhn check (ISO/IEC 7812-1) and expiry YYMM with a month 01 to 12; whether
// the card has expired is for the rules above to decide.
//
// pan may be a string or a byte slice; the Presentation holds its own copy,
// so a caller keeping the keyed digits in a byte slice can clear them at once.
// The caller must Wipe the Presentation. Errors name the problem, not the
// digits.
func Manual[T ~string | ~[]byte](pan T, expiry string) (Presentation, error) {
	if n := len(pan); n < 12 || n > 19 || !allDigits(pan) {
		return Presentation{}, manualError(iso7813.ErrBadPAN)
	}
	if !iso7813.Luhn(pan) {
		return Presentation{}, manualError(iso7813.ErrLuhn)
	}
	if !validExpiry(expiry) {
		return Presentation{}, manualError(iso7813.ErrBadExpiry)
	}
	// append, not []byte(pan), which would share a []byte argument.
	card := iso7813.Card{PAN: append(make([]byte, 0, len(pan)), pan...), Expiry: expiry}
	return Presentation{Kind: Keyed, Card: card}, nil
}

func manualError(reason error) error { return fmt.Errorf("cardreader: manual entry: %w", reason) }

func allDigits[T ~string | ~[]byte](s T) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validExpiry reports whether s is YYMM with a month 01 to 12.
func validExpiry(s string) bool {
	if len(s) != 4 || !allDigits(s) {
		return false
	}
	m := (s[2]-'0')*10 + s[3] - '0'
	return m >= 1 && m <= 12
}
