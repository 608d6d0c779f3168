package frame

import (
	"errors"
	"fmt"

	"posfw/drivers/pinpad/dukpt"
)

// Control characters of the link (ASCII, ANSI X3.4).
const (
	STX byte = 0x02 // start of a frame
	ETX byte = 0x03 // end of a frame's payload
	ACK byte = 0x06 // frame received well
	NAK byte = 0x15 // frame received damaged: resend it
)

// MaxPayload is the largest payload a frame carries. A receiver refuses a larger
// LEN at once rather than waiting for a kilobyte that will not come.
const MaxPayload = 1024

// Overhead is the number of bytes a frame adds to its payload: STX, LEN, ETX, LRC.
const Overhead = 5

// Errors a damaged frame is reported with (Event.Err), and Encode's.
var (
	ErrLength = fmt.Errorf("frame: length out of range 1..%d", MaxPayload)
	ErrNoETX  = errors.New("frame: no ETX where the length says the payload ends")
	ErrBadLRC = errors.New("frame: LRC mismatch")
)

// LRC is the check byte of a frame: the XOR of b, which is LEN, the payload and ETX.
func LRC(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// Append appends the frame carrying payload to dst.
func Append(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 || len(payload) > MaxPayload {
		return dst, ErrLength
	}
	start := len(dst)
	dst = append(dst, STX, byte(len(payload)>>8), byte(len(payload)))
	dst = append(dst, payload...)
	dst = append(dst, ETX)
	return append(dst, LRC(dst[start+1:])), nil
}

// Encode returns the frame carrying payload.
func Encode(payload []byte) ([]byte, error) {
	return Append(make([]byte, 0, len(payload)+Overhead), payload)
}

// Kind is what a Decoder recognised.
type Kind uint8

// Kinds of Event.
const (
	// Frame is a well-formed frame; the receiver answers ACK.
	Frame Kind = iota + 1
	// Damaged is a frame that failed a check; the receiver answers NAK.
	Damaged
	// Ack and Nak are the one-byte answers to a frame the other end received.
	Ack
	Nak
)

var kindNames = [...]string{Frame: "frame", Damaged: "damaged frame", Ack: "ACK", Nak: "NAK"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one thing a Decoder recognised in the byte stream.
type Event struct {
	Kind Kind
	// Payload of a Frame, in a slice of its own.
	Payload []byte
	// Err says why a frame is Damaged.
	Err error
}

// state is where the decoder is inside a frame.
type state uint8

const (
	hunt    state = iota // between frames: looking for STX, ACK or NAK
	lenHigh              // after STX
	lenLow
	payload
	etx
	lrc
)

// Decoder is a streaming frame decoder: it is fed the received bytes one at a time,
// in whatever chunks the serial port delivers them, and reports each frame, damaged
// frame, ACK and NAK as it completes. The zero value is ready to use.
type Decoder struct {
	st    state
	n     int
	buf   []byte
	check byte
	// Noise counts the bytes discarded between frames.
	Noise int
}

// Step consumes one byte and returns the event it completes, if any.
func (d *Decoder) Step(c byte) (Event, bool) {
	switch d.st {
	case hunt:
		switch c {
		case STX:
			d.st, d.check = lenHigh, 0
		case ACK:
			return Event{Kind: Ack}, true
		case NAK:
			return Event{Kind: Nak}, true
		default:
			d.Noise++
		}
	case lenHigh:
		d.n, d.check = int(c)<<8, c
		d.st = lenLow
	case lenLow:
		d.n |= int(c)
		d.check ^= c
		if d.n == 0 || d.n > MaxPayload {
			d.st = hunt
			return Event{Kind: Damaged, Err: ErrLength}, true
		}
		d.buf = make([]byte, 0, d.n)
		d.st = payload
	case payload:
		d.buf = append(d.buf, c)
		d.check ^= c
		if len(d.buf) == d.n {
			d.st = etx
		}
	case etx:
		if c != ETX {
			d.drop()
			// An STX here may begin the next frame (this one lost its ETX and
			// LRC): start on it rather than lose that frame too.
			if c == STX {
				d.st = lenHigh
			} else {
				d.Noise++
			}
			return Event{Kind: Damaged, Err: ErrNoETX}, true
		}
		d.check ^= c
		d.st = lrc
	case lrc:
		p := d.buf
		d.buf, d.st = nil, hunt
		if c != d.check {
			wipe(p)
			return Event{Kind: Damaged, Err: ErrBadLRC}, true
		}
		return Event{Kind: Frame, Payload: p}, true
	}
	return Event{}, false
}

// InFrame reports whether the decoder has begun a frame it has not finished.
func (d *Decoder) InFrame() bool { return d.st != hunt }

// Reset drops a frame in progress, as when its bytes stopped coming.
func (d *Decoder) Reset() { d.drop() }

func (d *Decoder) drop() {
	wipe(d.buf)
	d.buf, d.st = nil, hunt
}

// wipe zeroes a payload buffer: payloads carry PIN blocks and, when a key is loaded,
// a key in clear.
func wipe(b []byte) { dukpt.Wipe(b[:cap(b)]) }
