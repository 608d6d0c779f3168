package iso7813

// Luhn reports whether digits, ASCII decimal digits ending in a check digit,
// pass the Luhn (mod 10) check of ISO/IEC 7812-1. Empty input or any
// non-digit fails. It takes []byte as well as string so that a PAN held in a
// wipeable byte slice need not be copied into an immutable string.
func Luhn[T ~string | ~[]byte](digits T) bool {
	if len(digits) == 0 {
		return false
	}
	sum, ok := luhnSum(digits, false)
	return ok && sum%10 == 0
}

// CheckDigit returns the ASCII Luhn check digit to append to payload (a PAN
// without its last digit), or false if payload is empty or not all digits.
func CheckDigit[T ~string | ~[]byte](payload T) (byte, bool) {
	if len(payload) == 0 {
		return 0, false
	}
	sum, ok := luhnSum(payload, true)
	if !ok {
		return 0, false
	}
	return '0' + byte((10-sum%10)%10), true
}

// luhnSum adds the digits from the right, doubling every second one;
// double says whether the rightmost digit is doubled (it is when the check
// digit is still to come).
func luhnSum[T ~string | ~[]byte](digits T, double bool) (int, bool) {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i]) - '0'
		if d < 0 || d > 9 {
			return 0, false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum, true
}
