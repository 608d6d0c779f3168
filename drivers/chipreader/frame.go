// Package chipreader drives a chip card reader — contact (ISO/IEC 7816-3) or
// contactless (ISO/IEC 14443) — that sits on a serial line and carries ISO/IEC 7816-4
// APDUs in frames. Terminals whose readers are USB CCID devices reach them through PC/SC
// instead; this is the serial reader of the simulated board, and of boards whose reader
// module speaks a framed serial protocol.
//
// The frame is this project's own, in the manner of the PIN pad's:
//
//	STX 0x02 | LEN (2 bytes, big-endian: the bytes of CMD and DATA) | CMD | DATA | ETX 0x03 | LRC
//
// where LRC is the XOR of every byte from LEN through ETX. The terminal sends a request
// and waits for its answer, one at a time; the reader answers with the request's CMD
// with the high bit set, DATA being a status byte and the payload. Besides answers the
// reader sends events (CMD 'E') when a card arrives or leaves.
//
//	'P' power on              answer: status, ATR
//	'T' transmit DATA (APDU)  answer: status, the response APDU (data and SW1 SW2)
//	'O' power off             answer: status
//	'E' event (reader → terminal only): 'I' card inserted, 'T' card tapped, 'R' removed
package chipreader

import (
	"errors"
	"fmt"
)

// Frame bytes and commands.
const (
	stx = 0x02
	etx = 0x03

	CmdPowerOn  = 'P'
	CmdTransmit = 'T'
	CmdPowerOff = 'O'
	CmdEvent    = 'E'
	// Answer is the bit set in an answer's CMD.
	Answer = 0x80

	// MaxData bounds DATA: a short command APDU (5 + 255 + Le) or a response (256 + SW1
	// SW2) after its status byte. EMV uses no extended APDUs, and a bound this small
	// lets a length read from line noise be refused at once: with 64 KiB the decoder
	// would wait for bytes that never come while real answers pile up behind them.
	MaxData = 262
)

// Statuses of an answer.
const (
	StatusOK      = 0
	StatusNoCard  = 1 // no card in the field or the slot
	StatusMute    = 2 // the card did not answer (removed, broken)
	StatusBad     = 3 // the reader could not read the request
	StatusPowered = 4 // transmit to a card not powered on
)

// Events a reader reports.
const (
	EventInserted Event = 'I'
	EventTapped   Event = 'T'
	EventRemoved  Event = 'R'
)

// Encode frames cmd and data.
func Encode(cmd byte, data []byte) ([]byte, error) {
	if len(data) > MaxData {
		return nil, fmt.Errorf("chipreader: %d data bytes is more than a frame holds (%d)", len(data), MaxData)
	}
	n := len(data) + 1
	f := make([]byte, 0, n+6)
	f = append(f, stx, byte(n>>8), byte(n), cmd)
	f = append(f, data...)
	f = append(f, etx)
	return append(f, lrc(f[1:])), nil
}

func lrc(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// ErrFrame is a frame that is not one: a bad length, a missing ETX, a wrong LRC.
var ErrFrame = errors.New("chipreader: bad frame")

// Decoder takes bytes as they come off the line and returns whole frames; bytes before
// an STX are noise and are dropped.
type Decoder struct {
	buf []byte
}

// Feed adds b and returns the frames (cmd, data) it completed, and an error for each
// malformed one (the decoder resynchronises on the next STX).
func (d *Decoder) Feed(b []byte) (frames [][]byte, errs []error) {
	d.buf = append(d.buf, b...)
	for {
		i := indexByte(d.buf, stx)
		if i < 0 {
			d.buf = d.buf[:0]
			return
		}
		d.buf = d.buf[i:]
		if len(d.buf) < 3 {
			return
		}
		n := int(d.buf[1])<<8 | int(d.buf[2])
		if n < 1 || n > MaxData+1 {
			errs = append(errs, fmt.Errorf("%w: length %d", ErrFrame, n))
			d.buf = d.buf[1:]
			continue
		}
		if len(d.buf) < n+5 {
			return
		}
		f := d.buf[:n+5]
		if f[n+3] != etx || lrc(f[1:n+4]) != f[n+4] {
			errs = append(errs, fmt.Errorf("%w: no ETX or a wrong LRC", ErrFrame))
			d.buf = d.buf[1:]
			continue
		}
		frames = append(frames, append([]byte(nil), f[3:n+3]...))
		d.buf = d.buf[n+5:]
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
