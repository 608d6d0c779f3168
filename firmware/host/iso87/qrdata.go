package iso87

import "strconv"

// RedactQRData shows field 63 of a QR message (tag, 3-digit length, value, repeated:
// host.QRData) with the customer's payment code (tag PC) masked to its first and last
// four digits, as the journal keeps it: a log must not hold a code that could be
// replayed. A field 63 that is not tagged values (settlement totals, an operator) is
// shown as it is.
func RedactQRData(v []byte) string {
	out := append([]byte(nil), v...)
	for i := 0; i+5 <= len(out); {
		n, err := strconv.Atoi(string(out[i+2 : i+5]))
		if err != nil || n < 0 || i+5+n > len(out) {
			return printable(string(v))
		}
		if string(out[i:i+2]) == "PC" {
			val := out[i+5 : i+5+n]
			for j := range val {
				if j >= 4 && j < len(val)-4 || len(val) <= 8 {
					val[j] = '*'
				}
			}
		}
		i += 5 + n
	}
	return printable(string(out))
}
