// Package cup is the China UnionPay (CUP) POS dialect of ISO 8583 (中国银联 POS
// 终端报文), built on github.com/moov-io/iso8583 as spec-as-data, beside package
// iso87 (DESIGN.md §6).
//
// A message on a TCP link is, byte by byte:
//
//	2 bytes   length of what follows, big-endian binary (iso87.WriteFrame)
//	5 bytes   TPDU: ID (0x60), destination address (2), source address (2); the
//	          host answers with destination and source swapped
//	6 bytes   header: application type, version, terminal status and processing
//	          request (e.g. 60 31 00 31 00 00)
//	2 bytes   MTI, BCD
//	8 bytes   bitmap, binary (no secondary bitmap: CUP uses fields 1-64 only)
//	...       fields in order
//
// TPDU and header are per-acquirer configuration (Codec). Fields:
//
//   - fixed numerics (3, 4, 11 ...): BCD, right-aligned (a leading 0 nibble when odd);
//   - field 22 (three digits): left- or right-aligned as the acquirer wants (Field22);
//   - LLVAR/LLLVAR numerics (2, 32, 48, 60, 61): a 1- or 2-byte BCD length in digits,
//     then the digits BCD, left-aligned with a trailing 0 nibble when odd;
//   - track data (35, 36): the same, with the field separator '=' as the nibble D;
//   - text (37, 38, 39, 41, 42, 49, 44, 63): ASCII, fixed ones right-padded with spaces;
//   - binary (52, 64: 8 bytes; 55, 62: a 2-byte BCD length in bytes, then the bytes).
//
// The MAC (field 64) is the CUP ECB MAC (package mac, CUPECB) over the message from
// the MTI up to the last byte of the field before 64, the TPDU and header excluded
// (MACData); its 8 bytes are the first 8 hex characters of the result, in ASCII.
//
// The sub-fields of 48, 60, 61, 62 and 63 are in fields.go. Pack and Unpack wrap
// moov-io so that malformed input, even input that makes the library panic, comes back
// as an error; Unpack accepts only the canonical encoding. Describe renders a message
// for logs without card data or keys.
package cup

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/moov-io/iso8583"
)

// Lengths of the routing prefix of every message.
const (
	TPDULen   = 5
	HeaderLen = 6
	// PrefixLen is what comes before the MTI.
	PrefixLen = TPDULen + HeaderLen
	// MACLen is the length of field 64.
	MACLen = 8
)

// TPDU is the transport protocol data unit before every message.
type TPDU [TPDULen]byte

// Swapped is the TPDU of the answer: destination and source exchanged.
func (t TPDU) Swapped() TPDU {
	return TPDU{t[0], t[3], t[4], t[1], t[2]}
}

// Header is the 6-byte application header after the TPDU.
type Header [HeaderLen]byte

// Codec packs and unpacks messages for one acquirer: its TPDU, header and field 22
// alignment.
type Codec struct {
	TPDU    TPDU
	Header  Header
	Field22 Field22
}

// Spec is the codec's message layout.
func (c Codec) Spec() *iso8583.MessageSpec { return Spec(c.Field22) }

// NewMessage returns an empty message of the codec's layout.
func (c Codec) NewMessage() *iso8583.Message { return iso8583.NewMessage(c.Spec()) }

// Pack returns TPDU, header and msg, which must have been made with NewMessage.
func (c Codec) Pack(msg *iso8583.Message) ([]byte, error) {
	if msg == nil {
		return nil, errors.New("cup: pack: nil message")
	}
	var body []byte
	err := safely("pack", func() error {
		var err error
		body, err = msg.Pack()
		return err
	})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, PrefixLen+len(body))
	b = append(append(append(b, c.TPDU[:]...), c.Header[:]...), body...)
	return b, nil
}

// Unpack decodes one message (TPDU, header, message; no length prefix) and returns
// it with its TPDU and header. Like iso87.Unpack it accepts only the canonical
// encoding: the message must pack back to the same bytes, so that a MAC computed by
// the receiver covers exactly what the sender MACed.
func (c Codec) Unpack(b []byte) (*iso8583.Message, TPDU, Header, error) {
	var t TPDU
	var h Header
	if len(b) <= PrefixLen {
		return nil, t, h, fmt.Errorf("cup: unpack: %d bytes is too short for TPDU, header and MTI", len(b))
	}
	copy(t[:], b)
	copy(h[:], b[TPDULen:])
	body := b[PrefixLen:]
	msg := c.NewMessage()
	err := safely("unpack", func() error {
		if err := msg.Unpack(body); err != nil {
			return err
		}
		again, err := msg.Pack()
		if err != nil {
			return fmt.Errorf("message does not re-pack: %v", err)
		}
		return sameEncoding(again, body)
	})
	if err != nil {
		return nil, t, h, err
	}
	return msg, t, h, nil
}

// MACData returns the part of b (TPDU, header, message with field 64 last) that the
// MAC covers: from the MTI to the byte before field 64. b must end with field 64.
func MACData(b []byte) ([]byte, error) {
	if len(b) < PrefixLen+MACLen {
		return nil, errors.New("cup: message too short to carry a MAC")
	}
	return b[PrefixLen : len(b)-MACLen], nil
}

// safely runs f, a call into moov-io, and flattens its error to text (moov's
// UnpackError keeps the raw message, card data included); a panic becomes an error.
func safely(op string, f func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if re, ok := r.(runtime.Error); ok {
			err = fmt.Errorf("cup: %s: malformed message (%v)", op, re)
			return
		}
		err = fmt.Errorf("cup: %s: malformed message", op)
	}()
	if err := f(); err != nil {
		return fmt.Errorf("cup: %s: %v", op, err)
	}
	return nil
}

func sameEncoding(c, b []byte) error {
	n := min(len(c), len(b))
	for i := 0; i < n; i++ {
		if c[i] != b[i] {
			return fmt.Errorf("non-canonical encoding at offset %d", PrefixLen+i)
		}
	}
	if len(b) > len(c) {
		return fmt.Errorf("%d unexpected bytes after the last field", len(b)-len(c))
	}
	if len(b) < len(c) {
		return fmt.Errorf("non-canonical encoding at offset %d", PrefixLen+len(b))
	}
	return nil
}
