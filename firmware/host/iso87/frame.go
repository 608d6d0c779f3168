package iso87

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the largest message a 2-byte length header can describe.
const MaxFrame = 0xFFFF

var (
	// ErrEmptyFrame is returned for a frame whose header says 0 bytes.
	ErrEmptyFrame = errors.New("iso87: empty frame")
	// ErrFrameTooLarge is returned for a message longer than the limit.
	ErrFrameTooLarge = errors.New("iso87: frame too large")
)

// WriteFrame writes msg preceded by its length as 2 bytes, big-endian.
//
// Header and message go out in a single Write, so that they leave in one
// TCP segment and a failed write never leaves a header without its body
// for another writer to interleave with.
func WriteFrame(w io.Writer, msg []byte) error {
	if len(msg) == 0 {
		return ErrEmptyFrame
	}
	if len(msg) > MaxFrame {
		return fmt.Errorf("%w: %d bytes, at most %d fit a 2-byte header", ErrFrameTooLarge, len(msg), MaxFrame)
	}
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	if err != nil {
		return fmt.Errorf("iso87: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame and returns the message in it. max bounds the
// message length the caller is willing to buffer (at most MaxFrame).
//
// io.EOF is returned unwrapped when r ends cleanly between frames (the
// host closed the connection); an end inside a frame is
// io.ErrUnexpectedEOF, wrapped. After ErrEmptyFrame or ErrFrameTooLarge the
// stream is out of step and the connection should be closed.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	if max < 1 {
		return nil, fmt.Errorf("iso87: read frame: limit %d is not positive", max)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("iso87: read frame header: %w", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 {
		return nil, ErrEmptyFrame
	}
	if n > max {
		return nil, fmt.Errorf("%w: header says %d bytes, limit is %d", ErrFrameTooLarge, n, max)
	}
	msg := make([]byte, n)
	if got, err := io.ReadFull(r, msg); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("iso87: short frame: got %d of %d bytes: %w", got, n, err)
	}
	return msg, nil
}
