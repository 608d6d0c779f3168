package cup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"

	"posfw/firmware/host/iso87"
)

// redact says how Describe shows the fields that carry card or key material
// (DESIGN.md §5): the PAN masked, the rest by length only.
var redact = map[int]func(v []byte) string{
	2:  maskPAN,
	35: lengthOnly,         // track 2 (clear or encrypted)
	36: lengthOnly,         // track 3
	52: lengthOnly,         // PIN block
	55: lengthOnly,         // chip data (holds the track 2 equivalent)
	62: lengthOnly,         // working keys (0810), the KSN, the journal head
	63: iso87.RedactQRData, // QR messages: the payment code masked
	64: lengthOnly,         // MAC
}

// Describe renders msg for a log: the MTI, then one line per field in field order,
// "F<n> <description>: <value>", card data and keys redacted.
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
		if id > 1 {
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

func maskPAN(v []byte) string {
	if len(v) < 13 {
		return strings.Repeat("*", len(v))
	}
	return string(v[:6]) + strings.Repeat("*", len(v)-10) + string(v[len(v)-4:])
}

func lengthOnly(v []byte) string { return fmt.Sprintf("[%d bytes redacted]", len(v)) }

func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.Quote(s)
		}
	}
	return s
}
