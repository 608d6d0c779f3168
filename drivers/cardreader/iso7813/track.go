package iso7813

import (
	"bytes"
	"fmt"
)

// trackSpec is one track's character set and size (ISO/IEC 7811-2, 7811-6,
// ISO/IEC 7813).
type trackSpec struct {
	num       int    // 1 or 2, for errors
	start     byte   // start sentinel
	separator byte   // field separator
	base      byte   // ASCII character of track code 0
	mask      byte   // the code's bits: 6-bit or 4-bit alphabet
	maxLen    int    // characters from start sentinel to LRC, inclusive
	unread    string // what follows the start sentinel when the reader could not read the track
}

const endSentinel = '?'

var (
	track1Spec = trackSpec{num: 1, start: '%', separator: '^', base: 0x20, mask: 0x3F, maxLen: 79, unread: "E?"}
	track2Spec = trackSpec{num: 2, start: ';', separator: '=', base: 0x30, mask: 0x0F, maxLen: 40, unread: "E?"}
)

// inAlphabet reports whether c is a character of the track's alphabet.
func (s *trackSpec) inAlphabet(c byte) bool {
	return c >= s.base && c-s.base <= s.mask
}

// lrc returns the LRC character of chars, the track from its start sentinel
// to its end sentinel. Characters outside the alphabet (only Encode lets
// them in) still give a character of the alphabet.
func (s *trackSpec) lrc(chars []byte) byte {
	var x byte
	for _, c := range chars {
		x ^= c - s.base
	}
	return s.base + (x & s.mask)
}

// appendUnread appends what the reader sends for a track it could not read.
func (s *trackSpec) appendUnread(dst []byte) []byte {
	return append(append(dst, s.start), s.unread...)
}

func (s *trackSpec) err(reason error) error { return &Error{Track: s.num, Err: reason} }

// cut splits the track at the start of b from what follows it. track runs
// from the start sentinel to the LRC character; it is nil, with no error,
// when the reader reports the track unread.
func (s *trackSpec) cut(b []byte) (track, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, s.err(ErrTruncated)
	}
	if b[0] != s.start {
		if s.inAlphabet(b[0]) {
			return nil, nil, s.err(ErrMissingSentinel)
		}
		return nil, nil, s.err(ErrGarbage)
	}
	if rest, ok := bytes.CutPrefix(b[1:], []byte(s.unread)); ok {
		return nil, rest, nil
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == endSentinel:
			if i+1 == len(b) {
				return nil, nil, s.err(ErrTruncated)
			}
			if !s.inAlphabet(b[i+1]) {
				return nil, nil, s.err(ErrGarbage)
			}
			return b[:i+2], b[i+2:], nil
		case c == s.start || !s.inAlphabet(c):
			return nil, nil, s.err(ErrGarbage)
		}
	}
	return nil, nil, s.err(ErrMissingSentinel)
}

// data checks a track's length and LRC and returns the characters between
// its sentinels.
func (s *trackSpec) data(track []byte) ([]byte, error) {
	if len(track) > s.maxLen {
		return nil, s.err(ErrTooLong)
	}
	n := len(track) - 1
	if s.lrc(track[:n]) != track[n] {
		return nil, s.err(ErrBadLRC)
	}
	return track[1 : n-1], nil
}

// pan splits "PAN separator rest" and checks the PAN.
func (s *trackSpec) pan(data []byte) (pan, rest []byte, err error) {
	pan, rest, ok := bytes.Cut(data, []byte{s.separator})
	if !ok {
		return nil, nil, s.err(ErrFieldSeparator)
	}
	if len(pan) < 12 || len(pan) > 19 || !allDigits(pan) {
		return nil, nil, s.err(ErrBadPAN)
	}
	if !Luhn(pan) {
		return nil, nil, s.err(ErrLuhn)
	}
	return pan, rest, nil
}

// tail splits "YYMM SSS discretionary" and checks expiry and service code.
func (s *trackSpec) tail(b []byte) (expiry, service string, disc []byte, err error) {
	if len(b) < 4 || !validExpiry(b[:4]) {
		return "", "", nil, s.err(ErrBadExpiry)
	}
	if len(b) < 7 {
		return "", "", nil, s.err(ErrBadServiceCode)
	}
	if _, ok := serviceDigits(b[4:7]); !ok {
		return "", "", nil, s.err(ErrBadServiceCode)
	}
	return string(b[:4]), string(b[4:7]), b[7:], nil
}

// wipeable copies pan and disc into one new buffer, so that the caller's
// frame can be cleared and Wipe has a single place to zero.
func wipeable(pan, disc []byte) ([]byte, []byte) {
	buf := make([]byte, len(pan)+len(disc))
	n := copy(buf, pan)
	copy(buf[n:], disc)
	return buf[:n:n], buf[n:]
}

// Track1 is the content of an ISO/IEC 7813 format B track 1.
type Track1 struct {
	PAN           []byte // 12 to 19 ASCII digits
	Name          string // cardholder name, 2 to 26 characters, e.g. "ZHANG/SAN"
	Expiry        string // YYMM
	ServiceCode   string // 3 digits
	Discretionary []byte // issuer data, may hold the card verification value
}

// ParseTrack1 parses one track 1 as the reader sends it, from "%" to the LRC
// character.
func ParseTrack1(b []byte) (Track1, error) {
	raw, rest, err := track1Spec.cut(b)
	switch {
	case err != nil:
		return Track1{}, err
	case len(rest) != 0:
		return Track1{}, track1Spec.err(ErrGarbage)
	case raw == nil:
		return Track1{}, track1Spec.err(ErrUnreadable)
	}
	return parseTrack1(raw)
}

func parseTrack1(raw []byte) (Track1, error) {
	s := &track1Spec
	data, err := s.data(raw)
	if err != nil {
		return Track1{}, err
	}
	if len(data) == 0 || data[0] != 'B' {
		return Track1{}, s.err(ErrFormatCode)
	}
	pan, rest, err := s.pan(data[1:])
	if err != nil {
		return Track1{}, err
	}
	name, rest, ok := bytes.Cut(rest, []byte{s.separator})
	if !ok {
		return Track1{}, s.err(ErrFieldSeparator)
	}
	if len(name) < 2 || len(name) > 26 {
		return Track1{}, s.err(ErrBadName)
	}
	expiry, service, disc, err := s.tail(rest)
	if err != nil {
		return Track1{}, err
	}
	t := Track1{Name: string(name), Expiry: expiry, ServiceCode: service}
	t.PAN, t.Discretionary = wipeable(pan, disc)
	return t, nil
}

// Encode returns the track as the reader sends it, with its LRC. It does not
// check the fields: the simulator uses it to make bad cards too.
func (t Track1) Encode() []byte { return t.appendTo(nil) }

func (t Track1) appendTo(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, track1Spec.start, 'B')
	dst = append(dst, t.PAN...)
	dst = append(dst, track1Spec.separator)
	dst = append(dst, t.Name...)
	dst = append(dst, track1Spec.separator)
	dst = append(dst, t.Expiry...)
	dst = append(dst, t.ServiceCode...)
	dst = append(dst, t.Discretionary...)
	dst = append(dst, endSentinel)
	return append(dst, track1Spec.lrc(dst[start:]))
}

// Wipe zeroes PAN and discretionary data and drops them.
func (t *Track1) Wipe() {
	clear(t.PAN)
	clear(t.Discretionary)
	t.PAN, t.Discretionary = nil, nil
}

// String returns "track 1 " and the masked PAN.
func (t Track1) String() string { return "track 1 " + mask(t.PAN) }

// Format prints String for every verb, so that no fmt verb (%#v, %d, ...)
// prints the PAN or the discretionary data.
func (t Track1) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// Track2 is the content of an ISO/IEC 7813 track 2.
type Track2 struct {
	PAN           []byte // 12 to 19 ASCII digits
	Expiry        string // YYMM
	ServiceCode   string // 3 digits
	Discretionary []byte // issuer data: digits and "=", may hold the card verification value
}

// ParseTrack2 parses one track 2 as the reader sends it, from ";" to the LRC
// character.
func ParseTrack2(b []byte) (Track2, error) {
	raw, rest, err := track2Spec.cut(b)
	switch {
	case err != nil:
		return Track2{}, err
	case len(rest) != 0:
		return Track2{}, track2Spec.err(ErrGarbage)
	case raw == nil:
		return Track2{}, track2Spec.err(ErrUnreadable)
	}
	return parseTrack2(raw)
}

func parseTrack2(raw []byte) (Track2, error) {
	s := &track2Spec
	data, err := s.data(raw)
	if err != nil {
		return Track2{}, err
	}
	pan, rest, err := s.pan(data)
	if err != nil {
		return Track2{}, err
	}
	expiry, service, disc, err := s.tail(rest)
	if err != nil {
		return Track2{}, err
	}
	// Of the 4-bit alphabet only digits and the separator are data; ":",
	// "<" and ">" are reserved for hardware control.
	for _, c := range disc {
		if !isDigit(c) && c != s.separator {
			return Track2{}, s.err(ErrGarbage)
		}
	}
	t := Track2{Expiry: expiry, ServiceCode: service}
	t.PAN, t.Discretionary = wipeable(pan, disc)
	return t, nil
}

// Encode returns the track as the reader sends it, with its LRC. It does not
// check the fields.
func (t Track2) Encode() []byte { return t.appendTo(nil) }

func (t Track2) appendTo(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, track2Spec.start)
	dst = append(dst, t.PAN...)
	dst = append(dst, track2Spec.separator)
	dst = append(dst, t.Expiry...)
	dst = append(dst, t.ServiceCode...)
	dst = append(dst, t.Discretionary...)
	dst = append(dst, endSentinel)
	return append(dst, track2Spec.lrc(dst[start:]))
}

// Wipe zeroes PAN and discretionary data and drops them.
func (t *Track2) Wipe() {
	clear(t.PAN)
	clear(t.Discretionary)
	t.PAN, t.Discretionary = nil, nil
}

// String returns "track 2 " and the masked PAN.
func (t Track2) String() string { return "track 2 " + mask(t.PAN) }

// Format prints String for every verb.
func (t Track2) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// validExpiry reports whether b is YYMM with a month 01 to 12.
func validExpiry[T ~string | ~[]byte](b T) bool {
	if len(b) != 4 {
		return false
	}
	for i := range 4 {
		if !isDigit(b[i]) {
			return false
		}
	}
	m := (b[2]-'0')*10 + b[3] - '0'
	return m >= 1 && m <= 12
}

// mask shows the first 6 and last 4 digits of pan, the rest as "*". A PAN
// shorter than 12 digits, which no valid card has, is masked whole.
func mask(pan []byte) string {
	out := bytes.Repeat([]byte{'*'}, len(pan))
	if len(pan) >= 12 {
		copy(out, pan[:6])
		copy(out[len(pan)-4:], pan[len(pan)-4:])
	}
	return string(out)
}
