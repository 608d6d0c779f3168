package scanner

import (
	"fmt"
	"io"
	"time"
)

// framer cuts the scanner's byte stream into lines. A line ends at CR or LF
// (so CR LF, CR alone and LF alone all end one; the empty line between CR
// and LF is skipped). Its memory is fixed: a line longer than MaxCode is
// refused and the rest of it skipped, never buffered. A Newland command
// answer ("~ SOH ... ETX") at the start of a line is dropped. Consumed bytes
// are zeroed: a line may be a payment code.
type framer struct {
	line   []byte
	long   bool // line overflowed MaxCode; skipping to its end
	answer bool // inside a Newland command answer; skipping to ETX
	in     [256]byte
	pos    int
	end    int
	last   time.Time // when a byte last arrived
}

const (
	soh = 0x01
	etx = 0x03
)

func newFramer() *framer { return &framer{line: make([]byte, 0, MaxCode)} }

// next returns the next line's code, reading r as needed, or the *CodeError
// of a line that is not one. An error of r is returned as is, and the bytes
// before it are kept for the next call.
func (f *framer) next(r io.Reader) (string, error) {
	for empty := 0; ; {
		for f.pos < f.end {
			c := f.in[f.pos]
			f.in[f.pos] = 0
			f.pos++
			if code, err, done := f.add(c); done {
				return code, err
			}
		}
		n, err := r.Read(f.in[:])
		f.pos, f.end = 0, max(0, min(n, len(f.in)))
		if f.end > 0 {
			f.last, empty = time.Now(), 0
			continue // an error with data comes back on the next Read
		}
		if err != nil {
			return "", err
		}
		// io.Reader allows (0, nil) but not for ever, as bufio reasons.
		if empty++; empty == 100 {
			return "", io.ErrNoProgress
		}
	}
}

// add takes one byte; done is set when c ended a line, with its code or why
// it is not one.
func (f *framer) add(c byte) (code string, err error, done bool) {
	switch {
	case f.answer:
		// An answer holds no line end: one in it means the ETX was lost.
		f.answer = c != etx && c != '\r' && c != '\n'

	case c == '\r' || c == '\n':
		switch {
		case f.long:
			f.long = false
			return "", &CodeError{Reason: fmt.Sprintf("longer than %d bytes", MaxCode)}, true
		case len(f.line) == 0:
			return "", nil, false // the LF of a CR LF, or a blank line
		}
		code, err = ParseLine(f.line)
		f.reset()
		return code, err, true
	case f.long:
	case c == soh && len(f.line) == 1 && f.line[0] == '~':
		f.reset()
		f.answer = true
	case len(f.line) == MaxCode:
		f.reset()
		f.long = true
	default:
		f.line = append(f.line, c)
	}
	return "", nil, false
}

// pending reports whether part of a line has arrived.
func (f *framer) pending() bool { return len(f.line) > 0 || f.long }

// abandon ends a line that never got its suffix and says why it is refused.
func (f *framer) abandon() error {
	defer f.reset()
	if f.long {
		f.long = false
		return &CodeError{Reason: fmt.Sprintf("longer than %d bytes", MaxCode)}
	}
	return &CodeError{Reason: "no CR/LF after the code: set the scanner's suffix to CR LF"}
}

// reset zeroes and drops the line in progress.
func (f *framer) reset() {
	clear(f.line)
	f.line = f.line[:0]
}

// wipe drops everything, read or not, as when the port is reopened or a new
// Read starts.
func (f *framer) wipe() {
	f.reset()
	f.long, f.answer = false, false
	clear(f.in[:])
	f.pos, f.end = 0, 0
}
