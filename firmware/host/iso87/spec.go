package iso87

import (
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Spec is the iso87 message layout. Each entry names the jPOS field packager
// it mirrors (ISO87APackagerBBitmap), so the table can be diffed against
// jPOS's source line by line.
//
// Only the fields the terminal sends or expects are defined: a message with
// any other bit set is refused by Unpack ("no specification found").
var Spec = &iso8583.MessageSpec{
	Name: "ISO 8583:1987 ASCII with binary bitmap (jPOS ISO87APackagerBBitmap)",
	Fields: map[int]field.Field{
		0: ifaNumeric(4, "Message Type Indicator"),
		1: field.NewBitmap(&field.Spec{
			Length:      8, // per bitmap; bit 1 announces the secondary one
			Description: "Bitmap",
			Enc:         encoding.Binary,
			Pref:        prefix.Binary.Fixed,
		}),
		2:   ifaLLNumBytes(19, "Primary Account Number", digits),
		3:   ifaNumeric(6, "Processing Code"),
		4:   ifaNumericInt(12, "Amount, Transaction"),
		7:   ifaNumeric(10, "Transmission Date and Time"),
		11:  ifaNumeric(6, "System Trace Audit Number"),
		12:  ifaNumeric(6, "Time, Local Transaction"),
		13:  ifaNumeric(4, "Date, Local Transaction"),
		14:  ifaNumeric(4, "Date, Expiration"),
		22:  ifaNumeric(3, "POS Entry Mode"),
		23:  ifaNumeric(3, "Card Sequence Number"),
		25:  ifaNumeric(2, "POS Condition Code"),
		35:  ifaLLNumBytes(37, "Track 2 Data", track2),
		37:  ifChar(12, "Retrieval Reference Number"),
		38:  ifChar(6, "Authorization Identification Response"),
		39:  ifChar(2, "Response Code"),
		41:  ifChar(8, "Card Acceptor Terminal Identification"),
		42:  ifChar(15, "Card Acceptor Identification Code"),
		49:  ifaNumeric(3, "Currency Code, Transaction"), // jPOS: IF_CHAR; same bytes for a valid code
		52:  ifaBinary(8, "PIN Data"),
		53:  ifaNumeric(16, "Security Related Control Information"),
		55:  ifaLLLBinary(999, "ICC System Related Data"), // jPOS: IFA_LLLCHAR, whose ISO-8859-1 carries the bytes as they are
		60:  ifaLLLChar(999, "Reserved Private 60"),
		62:  ifaLLLChar(999, "Reserved Private 62"),
		63:  ifaLLLChar(999, "Reserved Private 63"),
		64:  ifaBinary(8, "Message Authentication Code"),
		70:  ifaNumeric(3, "Network Management Information Code"),
		90:  ifaNumeric(42, "Original Data Elements"),
		128: ifaBinary(8, "Message Authentication Code 2"),
	},
}

// The constructors below are named after the jPOS field packagers whose
// wire format they reproduce.

// ifaNumeric is jPOS IFA_NUMERIC: fixed-length ASCII digits. The value is a
// string so that leading zeros (STAN "000123", processing code "000000")
// survive a round trip.
func ifaNumeric(length int, desc string) field.Field {
	return field.NewString(&field.Spec{
		Length:      length,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
		Packer:      digits,
		Unpacker:    digits,
	})
}

// ifaNumericInt is IFA_NUMERIC holding an integer (amounts in minor units),
// zero-padded on the left as jPOS does.
func ifaNumericInt(length int, desc string) field.Field {
	return field.NewNumeric(&field.Spec{
		Length:      length,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
		Pad:         padding.Left('0'),
		Packer:      digits,
		Unpacker:    digits,
	})
}

// ifaLLNum is jPOS IFA_LLNUM: two ASCII length digits, then the value.
func ifaLLNum(max int, desc string, cs charset) field.Field {
	return field.NewString(&field.Spec{
		Length:      max,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.LL,
		Packer:      cs,
		Unpacker:    cs,
	})
}

// ifaLLNumBytes is IFA_LLNUM for card data: the same bytes on the wire, but the
// field holds the caller's []byte (moov's Binary keeps the slice it is given)
// instead of a Go string, so that the terminal can wipe the PAN and track 2
// once the request is packed.
func ifaLLNumBytes(max int, desc string, cs charset) field.Field {
	return field.NewBinary(&field.Spec{
		Length:      max,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.LL,
		Packer:      cs,
		Unpacker:    cs,
	})
}

// ifChar is jPOS IF_CHAR: fixed-length text, right-padded with spaces (and
// the spaces trimmed again on unpack).
func ifChar(length int, desc string) field.Field {
	return field.NewString(&field.Spec{
		Length:      length,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
		Pad:         padding.Right(' '),
	})
}

// ifaLLLChar is jPOS IFA_LLLCHAR: three ASCII length digits, then text.
func ifaLLLChar(max int, desc string) field.Field {
	return field.NewString(&field.Spec{
		Length:      max,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.LLL,
	})
}

// ifaLLLBinary is jPOS IFA_LLLCHAR holding binary data (EMV BER-TLV in field 55): three
// ASCII length digits counting bytes, then the bytes as they are. jPOS reads and writes
// IFA_LLLCHAR through ISO-8859-1, one byte per character, so the same bytes go on the
// wire; moov-io's ASCII encoding would refuse bytes above 0x7F.
func ifaLLLBinary(max int, desc string) field.Field {
	return field.NewBinary(&field.Spec{
		Length:      max,
		Description: desc,
		Enc:         encoding.Binary,
		Pref:        prefix.ASCII.LLL,
	})
}

// ifaBinary is jPOS IFA_BINARY: length bytes of binary data sent as
// 2*length upper-case ASCII hex digits (AsciiHexInterpreter). An 8-byte PIN
// block or MAC is therefore 16 characters on the wire.
func ifaBinary(length int, desc string) field.Field {
	return field.NewBinary(&field.Spec{
		Length:      length,
		Description: desc,
		Enc:         encoding.BytesToASCIIHex,
		Pref:        prefix.ASCII.Fixed,
	})
}

// charset is a field.Packer and field.Unpacker that works like moov-io's
// default one and also refuses characters outside the field's ISO 8583
// attribute. moov-io (like jPOS) accepts any ASCII in a numeric field; a
// letter in an amount is a dialect mismatch or corruption, and must not
// reach the transaction logic.
type charset struct {
	attr  string // ISO 8583 attribute for error messages: "n", "z"
	valid func(c byte) bool
}

var (
	// digits is attribute n: 0-9.
	digits = charset{"n", func(c byte) bool { return '0' <= c && c <= '9' }}
	// track2 is attribute z (ISO 7813 track 2 in ASCII): digits and the
	// field separator, written '=' or 'D' depending on the reader.
	track2 = charset{"z", func(c byte) bool { return '0' <= c && c <= '9' || c == '=' || c == 'D' }}
)

// check names the position of a bad character, never the character: the
// field may hold a PAN or track data.
func (cs charset) check(v []byte) error {
	for i, c := range v {
		if !cs.valid(c) {
			return fmt.Errorf("character %d is not allowed in an %q field", i+1, cs.attr)
		}
	}
	return nil
}

// Pack pads, checks, encodes and prefixes value.
func (cs charset) Pack(value []byte, spec *field.Spec) ([]byte, error) {
	if spec.Pad != nil {
		value = spec.Pad.Pad(value, spec.Length)
	}
	if err := cs.check(value); err != nil {
		return nil, err
	}
	enc, err := spec.Enc.Encode(value)
	if err != nil {
		return nil, fmt.Errorf("failed to encode content: %w", err)
	}
	pref, err := spec.Pref.EncodeLength(spec.Length, len(value))
	if err != nil {
		return nil, fmt.Errorf("failed to encode length: %w", err)
	}
	return append(pref, enc...), nil
}

// Unpack decodes the length and value, checks the value and strips padding.
func (cs charset) Unpack(data []byte, spec *field.Spec) ([]byte, int, error) {
	n, plen, err := spec.Pref.DecodeLength(spec.Length, data)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to decode length: %w", err)
	}
	v, read, err := spec.Enc.Decode(data[plen:], n)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to decode content: %w", err)
	}
	if err := cs.check(v); err != nil {
		return nil, 0, err
	}
	if spec.Pad != nil {
		v = spec.Pad.Unpad(v)
	}
	return v, plen + read, nil
}
