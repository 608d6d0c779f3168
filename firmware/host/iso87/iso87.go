// Package iso87 is the terminal's generic ISO 8583:1987 host dialect, built
// on github.com/moov-io/iso8583.
//
// The wire layout is that of jPOS's ISO87APackagerBBitmap, the usual
// ASCII interface of acquirer switches (DESIGN.md §6):
//
//   - MTI: 4 ASCII digits;
//   - bitmaps: binary, 8 bytes each (primary, plus secondary when bit 1 is set);
//   - numeric fields: fixed-length ASCII digits. The amount (field 4) is an
//     int64 in minor units, zero-padded on the left; the others are strings
//     given at full length, so that leading zeros survive a round trip;
//   - text fields: ASCII, right-padded with spaces;
//   - LLVAR/LLLVAR: 2 or 3 ASCII length digits, then the value;
//   - binary fields 52 (PIN block), 64 and 128 (MAC): 8 bytes, sent as 16
//     upper-case ASCII hex digits (jPOS IFA_BINARY).
//   - field 55 (ICC data, BER-TLV): 3 ASCII length digits counting bytes, then
//     the bytes as they are (jPOS IFA_LLLCHAR, which maps bytes 1:1 through
//     ISO-8859-1).
//
// On a TCP link each message travels in a frame: a 2-byte big-endian
// length header followed by the message (WriteFrame, ReadFrame).
//
// Pack and Unpack wrap moov-io so that malformed input of any kind, even
// input that makes the library panic, comes back as an error. Describe
// renders a message for logs without card data.
package iso87

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/moov-io/iso8583"
)

// Pack encodes msg, which must have been created from Spec.
func Pack(msg *iso8583.Message) ([]byte, error) {
	if msg == nil {
		return nil, errors.New("iso87: pack: nil message")
	}
	var b []byte
	err := safely("pack", func() error {
		var err error
		b, err = msg.Pack()
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Unpack decodes one message (without its frame header).
//
// It accepts only the canonical encoding: packing the result must give b
// back byte for byte. That rejects bytes after the last field, a tertiary
// bitmap, lower-case hex and "+5"-style lengths, all of which moov-io
// would silently tolerate, and which mean the host and the terminal do not
// agree on the dialect. It also guarantees that a MAC computed over a
// re-packed message equals one computed over the received bytes.
func Unpack(b []byte) (*iso8583.Message, error) {
	if len(b) == 0 {
		return nil, errors.New("iso87: unpack: empty message")
	}
	msg := iso8583.NewMessage(Spec)
	err := safely("unpack", func() error {
		if err := msg.Unpack(b); err != nil {
			return err
		}
		again, err := msg.Pack()
		if err != nil {
			return fmt.Errorf("message does not re-pack: %v", err)
		}
		return sameEncoding(again, b)
	})
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// safely runs f, a call into moov-io, and returns its error prefixed with
// the operation; a panic becomes an error too. The error is flattened to
// its text: moov-io's UnpackError keeps the raw message, PAN and track
// data included, and must not travel on to a log. (moov-io keeps its error
// texts free of field values.) Of a panic, only a runtime error is quoted
// (index out of range and the like carry no data; another panic value
// might).
func safely(op string, f func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if re, ok := r.(runtime.Error); ok {
			err = fmt.Errorf("iso87: %s: malformed message (%v)", op, re)
			return
		}
		err = fmt.Errorf("iso87: %s: malformed message", op)
	}()
	if err := f(); err != nil {
		return fmt.Errorf("iso87: %s: %v", op, err)
	}
	return nil
}

// sameEncoding explains how the received bytes b differ from the canonical
// encoding c of what was decoded from them.
func sameEncoding(c, b []byte) error {
	n := min(len(c), len(b))
	for i := 0; i < n; i++ {
		if c[i] != b[i] {
			return fmt.Errorf("non-canonical encoding at offset %d", i)
		}
	}
	if len(b) > len(c) {
		return fmt.Errorf("%d unexpected bytes after the last field", len(b)-len(c))
	}
	if len(b) < len(c) {
		return fmt.Errorf("non-canonical encoding at offset %d", len(b))
	}
	return nil
}
