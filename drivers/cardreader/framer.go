package cardreader

import (
	"io"
	"time"

	"posfw/drivers/cardreader/iso7813"
)

// maxFrame is the longest frame a reader sends: track 1 (79 characters) and
// track 2 (40) at their ISO/IEC 7813 maximum, then CR LF.
const maxFrame = 79 + 40 + 2

// startSentinel begins every frame: track 1's start sentinel, sent even when
// track 1 was not read. It cannot occur anywhere else in a valid frame, so
// the framer resynchronises on it.
const startSentinel = '%'

// framer cuts the reader's byte stream into frames. A frame runs from a start
// sentinel to LF; bytes before a start sentinel are line noise and dropped.
// Its memory is fixed: a frame longer than maxFrame is rejected and the rest
// of its line skipped, never buffered. Bytes are zeroed as soon as they are
// consumed, because they are track data.
type framer struct {
	line  []byte   // the frame being assembled, from its start sentinel
	long  bool     // line overflowed maxFrame; skipping to its end
	junk  bool     // non-frame bytes were seen since the last line end
	ready bool     // line is a complete frame handed to the caller
	in    [64]byte // bytes read from the port; in[pos:end] not yet looked at
	pos   int
	end   int
	last  time.Time // when a byte last arrived
}

func newFramer() *framer { return &framer{line: make([]byte, 0, maxFrame)} }

// next returns the next frame, read from r as needed: a line from its start
// sentinel through LF (iso7813.Parse checks the CR), or the reason a line is not one (*iso7813.Error:
// ErrGarbage, ErrTooLong). An error of r is returned as is, and the bytes
// before it are kept for the next call. The frame is valid until the next
// call or reset, which zero it.
func (f *framer) next(r io.Reader) ([]byte, error) {
	if f.ready {
		f.reset()
	}
	for empty := 0; ; {
		for f.pos < f.end {
			c := f.in[f.pos]
			f.in[f.pos] = 0
			f.pos++
			if frame, err := f.add(c); frame != nil || err != nil {
				return frame, err
			}
		}
		n, err := r.Read(f.in[:])
		f.pos, f.end = 0, max(0, min(n, len(f.in)))
		if f.end > 0 {
			f.last, empty = time.Now(), 0
			continue // an error with data comes back on the next Read
		}
		if err != nil {
			return nil, err
		}
		// io.Reader allows (0, nil) but not for ever, as bufio reasons.
		if empty++; empty == 100 {
			return nil, io.ErrNoProgress
		}
	}
}

// add takes one byte and returns a frame or a rejected line when c ends one.
func (f *framer) add(c byte) ([]byte, error) {
	switch {
	case c == startSentinel:
		// Whatever came before, noise or an aborted frame, is dropped.
		f.reset()
		f.junk = false
		f.line = append(f.line, c)
	case c == '\n':
		switch {
		case f.long:
			f.reset()
			return nil, &iso7813.Error{Err: iso7813.ErrTooLong}
		case len(f.line) > 0:
			f.line = append(f.line, c)
			f.ready = true
			return f.line, nil
		case f.junk:
			f.junk = false
			return nil, &iso7813.Error{Err: iso7813.ErrGarbage}
		}
		// A blank line: some readers end a frame with an extra CR LF.
	case f.long:
	case len(f.line) > 0:
		if len(f.line) == maxFrame-1 { // no room left for the LF
			f.reset()
			f.long = true
			return nil, nil
		}
		f.line = append(f.line, c)
	case c != '\r':
		f.junk = true
	}
	return nil, nil
}

// pending reports whether part of a line has arrived.
func (f *framer) pending() bool { return !f.ready && (len(f.line) > 0 || f.long || f.junk) }

// abandon ends the line in progress when the line went quiet, and returns why
// its bytes are not a frame (nil if there were none).
func (f *framer) abandon() error {
	var reason error
	switch {
	case f.ready:
	case f.long:
		reason = iso7813.ErrTooLong
	case len(f.line) > 0:
		reason = iso7813.ErrTruncated
	case f.junk:
		reason = iso7813.ErrGarbage
	}
	f.reset()
	f.junk = false
	if reason == nil {
		return nil
	}
	return &iso7813.Error{Err: reason}
}

// reset zeroes and drops the line in progress.
func (f *framer) reset() {
	clear(f.line)
	f.line = f.line[:0]
	f.long, f.ready = false, false
}

// wipe drops everything, read or not, as when the port is reopened.
func (f *framer) wipe() {
	f.reset()
	clear(f.in[:])
	f.pos, f.end, f.junk = 0, 0, false
}
