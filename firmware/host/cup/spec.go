package cup

import (
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Field22 says how the three digits of field 22 (POS entry mode) sit in their two
// BCD bytes: acquirers differ (DESIGN.md §6).
type Field22 int

const (
	// Left22 is "021" sent as 02 10 (the usual China UnionPay POS layout).
	Left22 Field22 = iota
	// Right22 is "021" sent as 00 21 (plain ISO 8583 BCD).
	Right22
)

// ParseField22 reads the config's spelling, "left" or "right".
func ParseField22(s string) (Field22, error) {
	switch s {
	case "", "left":
		return Left22, nil
	case "right":
		return Right22, nil
	}
	return 0, fmt.Errorf("field 22 alignment %q: want left or right", s)
}

// specLeft22 and specRight22 are built once: moov-io specs are read-only.
var (
	specLeft22  = newSpec(Left22)
	specRight22 = newSpec(Right22)
)

// Spec returns the CUP message layout with field 22 aligned as a says.
func Spec(a Field22) *iso8583.MessageSpec {
	if a == Right22 {
		return specRight22
	}
	return specLeft22
}

// newSpec is the CUP POS layout (中国银联 POS 终端 8583 报文): BCD numerics, binary
// bitmap, ASCII text, BCD length prefixes. Only the fields a terminal of this family
// sends or receives are defined: any other bit set is refused by Unpack.
func newSpec(a Field22) *iso8583.MessageSpec {
	f22 := nRight(3, "POS Entry Mode")
	if a == Left22 {
		f22 = nLeftFixed(3, "POS Entry Mode")
	}
	return &iso8583.MessageSpec{
		Name: "China UnionPay POS (BCD, binary bitmap)",
		Fields: map[int]field.Field{
			0: nRight(4, "Message Type Indicator"),
			1: field.NewBitmap(&field.Spec{
				Length:      8,
				Description: "Bitmap",
				Enc:         encoding.Binary,
				Pref:        prefix.Binary.Fixed,
			}),
			2:  llBytes(19, "Primary Account Number", digitsBCD),
			3:  nRight(6, "Processing Code"),
			4:  nAmount(12, "Amount, Transaction"),
			11: nRight(6, "System Trace Audit Number"),
			12: nRight(6, "Time, Local Transaction"),
			13: nRight(4, "Date, Local Transaction"),
			14: nRight(4, "Date, Expiration"),
			15: nRight(4, "Date, Settlement"),
			22: f22,
			23: nRight(3, "Card Sequence Number"),
			25: nRight(2, "POS Condition Code"),
			26: nRight(2, "POS PIN Capture Code"),
			32: llNum(11, "Acquiring Institution Identification Code"),
			35: llBytes(37, "Track 2 Data", track2BCD),
			36: lllBytes(104, "Track 3 Data", track2BCD),
			37: ans(12, "Retrieval Reference Number"),
			38: ans(6, "Authorization Identification Response"),
			39: ans(2, "Response Code"),
			41: ans(8, "Card Acceptor Terminal Identification"),
			42: ans(15, "Card Acceptor Identification Code"),
			44: llText(25, "Additional Response Data"),
			48: lllNum(322, "Additional Data - Private"),
			49: ans(3, "Currency Code, Transaction"),
			52: binary(8, "PIN Data"),
			53: nRight(16, "Security Related Control Information"),
			55: lllBinary(255, "ICC System Related Data"),
			60: lllNum(17, "Reserved Private 60"),
			61: lllNum(29, "Original Message"),
			62: lllBinary(512, "Reserved Private 62"),
			63: lllText(163, "Reserved Private 63"),
			64: binary(8, "Message Authentication Code"),
		},
	}
}

// nRight is a fixed numeric, BCD, right-aligned (a leading 0 nibble when odd).
func nRight(n int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: bcdRight, Pref: prefix.BCD.Fixed})
}

// nLeftFixed is a fixed numeric, BCD, left-aligned (a trailing 0 nibble when odd).
func nLeftFixed(n int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: digitsBCD, Pref: prefix.BCD.Fixed})
}

// nAmount is an amount in minor units, zero-padded on the left.
func nAmount(n int, desc string) field.Field {
	return field.NewNumeric(&field.Spec{Length: n, Description: desc, Enc: bcdRight, Pref: prefix.BCD.Fixed, Pad: padding.Left('0')})
}

// llNum and lllNum are variable numerics: the length in digits as 1 or 2 BCD bytes,
// then the digits BCD, left-aligned.
func llNum(max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: digitsBCD, Pref: prefix.BCD.LL})
}

func lllNum(max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: digitsBCD, Pref: prefix.BCD.LLL})
}

// llBytes and lllBytes are card data (PAN, tracks): numerics like llNum, held as the
// caller's bytes (moov's Binary keeps the slice), so that the terminal can wipe them.
func llBytes(max int, desc string, e encoding.Encoder) field.Field {
	return field.NewBinary(&field.Spec{Length: max, Description: desc, Enc: e, Pref: prefix.BCD.LL})
}

func lllBytes(max int, desc string, e encoding.Encoder) field.Field {
	return field.NewBinary(&field.Spec{Length: max, Description: desc, Enc: e, Pref: prefix.BCD.LLL})
}

// ans is fixed ASCII text, right-padded with spaces.
func ans(n int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.BCD.Fixed, Pad: padding.Right(' ')})
}

// llText and lllText are variable ASCII text with a BCD length in characters.
func llText(max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: encoding.ASCII, Pref: prefix.BCD.LL})
}

func lllText(max int, desc string) field.Field {
	return field.NewString(&field.Spec{Length: max, Description: desc, Enc: encoding.ASCII, Pref: prefix.BCD.LLL})
}

// binary is fixed binary data (PIN block, MAC), as raw bytes.
func binary(n int, desc string) field.Field {
	return field.NewBinary(&field.Spec{Length: n, Description: desc, Enc: encoding.Binary, Pref: prefix.BCD.Fixed})
}

// lllBinary is variable binary data with a BCD length in bytes.
func lllBinary(max int, desc string) field.Field {
	return field.NewBinary(&field.Spec{Length: max, Description: desc, Enc: encoding.Binary, Pref: prefix.BCD.LLL})
}

// bcd is an encoding.Encoder of digits (and, for track data, the separator '=' as
// the nibble D) packed two to a byte. left puts an odd digit count's pad nibble at the
// end (CUP variable numerics), otherwise at the start (fixed numerics). Decoding is
// strict: a pad nibble must be 0, and a nibble outside the field's alphabet is an
// error that names its position, never its value (it may be card data).
type bcd struct {
	left  bool
	track bool // '=' is the nibble D
	attr  string
}

var (
	bcdRight  = bcd{attr: "n"}
	digitsBCD = bcd{left: true, attr: "n"}
	track2BCD = bcd{left: true, track: true, attr: "z"}
)

func (e bcd) nibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case e.track && (c == '=' || c == 'D'):
		return 0xD, true
	case e.track && 'A' <= c && c <= 'F':
		return c - 'A' + 10, true // an encrypted track's data block (EncryptTrack)
	}
	return 0, false
}

// Encode packs src; an odd count gets a 0 nibble on the side alignment says.
func (e bcd) Encode(src []byte) ([]byte, error) {
	n := len(src)
	out := make([]byte, (n+1)/2)
	pad := 0
	if n%2 == 1 && !e.left {
		pad = 1
	}
	for i, c := range src {
		v, ok := e.nibble(c)
		if !ok {
			return nil, fmt.Errorf("character %d is not allowed in an %q field", i+1, e.attr)
		}
		j := i + pad
		if j%2 == 0 {
			out[j/2] |= v << 4
		} else {
			out[j/2] |= v
		}
	}
	return out, nil
}

// Decode reads length digits from src and returns them as ASCII ('=' for D).
func (e bcd) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, errors.New("negative length")
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("not enough data to decode: want %d bytes, have %d", read, len(src))
	}
	pad := 0
	if length%2 == 1 && !e.left {
		pad = 1
	}
	out := make([]byte, length)
	for i := range out {
		j := i + pad
		v := src[j/2] >> 4
		if j%2 == 1 {
			v = src[j/2] & 0x0F
		}
		switch {
		case v <= 9:
			out[i] = '0' + v
		case v == 0xD && e.track:
			out[i] = '='
		case e.track:
			out[i] = 'A' + v - 10
		default:
			return nil, 0, fmt.Errorf("nibble %d is not allowed in an %q field", i+1, e.attr)
		}
	}
	if length%2 == 1 {
		var p byte
		if e.left {
			p = src[read-1] & 0x0F
		} else {
			p = src[0] >> 4
		}
		if p != 0 {
			return nil, 0, errors.New("pad nibble is not 0")
		}
	}
	return out, read, nil
}
