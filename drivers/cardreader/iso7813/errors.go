package iso7813

import (
	"errors"
	"strconv"
)

// ReadErrorMessage is what the cashier is told for any failed swipe. The
// distinct errors below are for logs and tests: at the counter the only useful
// action is the same for all of them.
const ReadErrorMessage = "read error, swipe again"

// Reasons a swipe is rejected. Match them with errors.Is.
var (
	ErrGarbage         = errors.New("unexpected character")
	ErrTruncated       = errors.New("frame truncated")
	ErrMissingSentinel = errors.New("start or end sentinel missing")
	ErrBadLRC          = errors.New("LRC mismatch")
	ErrTooLong         = errors.New("track longer than ISO/IEC 7813 allows")
	ErrFormatCode      = errors.New("format code is not B")
	ErrFieldSeparator  = errors.New("field separator missing")
	ErrBadPAN          = errors.New("PAN is not 12 to 19 digits")
	ErrLuhn            = errors.New("PAN check digit wrong")
	ErrBadName         = errors.New("cardholder name is not 2 to 26 characters")
	ErrBadExpiry       = errors.New("expiry date is not YYMM")
	ErrBadServiceCode  = errors.New("service code is not 3 valid digits")
	ErrUnreadable      = errors.New("track not read")
	ErrTrackMismatch   = errors.New("track 1 and track 2 disagree")
)

// Error is a rejected swipe: which track, and why. Its text never contains
// card data.
type Error struct {
	// Track is 1 or 2, or 0 when the problem is with the frame as a whole.
	Track int
	// Err is one of the Err* values.
	Err error
}

// Error returns "iso7813: track N: reason".
func (e *Error) Error() string {
	where := "frame"
	if e.Track != 0 {
		where = "track " + strconv.Itoa(e.Track)
	}
	return "iso7813: " + where + ": " + e.Err.Error()
}

// Unwrap returns the Err* reason, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }
