package iso87

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// redact says how Describe shows the fields that carry card or key
// material (DESIGN.md §5: never log a full PAN, track data, PIN block).
// Fields not listed are shown as they are.
var redact = map[int]func(v []byte) string{
	2:   maskPAN,      // PAN: first 6 and last 4 digits
	35:  lengthOnly,   // track 2
	52:  lengthOnly,   // PIN block
	53:  lengthOnly,   // security control information (key set, KSN)
	55:  lengthOnly,   // chip data (a card's 57, track 2 equivalent, must never show)
	62:  lengthOnly,   // our dialect: working keys under the TMK (0810) or the DUKPT KSN
	63:  RedactQRData, // QR messages: the payment code masked (settlement totals pass)
	64:  lengthOnly,   // MAC
	128: lengthOnly,   // MAC
}

// Describe renders msg for a log: the MTI, then one line per field in
// field order, "F<n> <description>: <value>", with card data redacted (see
// redact). Values that are not printable ASCII are quoted.
func Describe(msg *iso8583.Message) string {
	if msg == nil {
		return "<nil message>"
	}
	var b strings.Builder
	mti, _ := msg.GetMTI()
	fmt.Fprintf(&b, "MTI  %s\n", printable(mti))

	fields := msg.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id > 1 { // MTI above; the bitmap is implied by the field list
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		f := fields[id]
		fmt.Fprintf(&b, "F%-3d %s: %s\n", id, f.Spec().Description, value(id, f))
	}
	return b.String()
}

func value(id int, f field.Field) string {
	if r, ok := redact[id]; ok {
		v, err := f.Bytes()
		if err != nil {
			return "<unreadable>"
		}
		return r(v)
	}
	if _, ok := f.(*field.Binary); ok {
		v, _ := f.Bytes()
		return fmt.Sprintf("%X", v)
	}
	s, err := f.String()
	if err != nil {
		return "<unreadable>"
	}
	return printable(s)
}

// maskPAN keeps the first 6 and last 4 digits, the most PCI DSS allows to
// be shown. A PAN too short to hide at least 3 digits that way (13 is the
// shortest card number in use) is masked entirely.
func maskPAN(v []byte) string {
	if len(v) < 13 {
		return strings.Repeat("*", len(v))
	}
	return string(v[:6]) + strings.Repeat("*", len(v)-10) + string(v[len(v)-4:])
}

func lengthOnly(v []byte) string {
	return fmt.Sprintf("[%d bytes redacted]", len(v))
}

// printable quotes s unless it is all printable ASCII, so that a hostile
// value cannot forge log lines.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.Quote(s)
		}
	}
	return s
}
