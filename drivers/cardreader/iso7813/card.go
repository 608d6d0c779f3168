package iso7813

import (
	"bytes"
	"fmt"
	"time"
)

// frameEnd ends every swipe the reader sends.
const frameEnd = "\r\n"

// Swipe is the tracks of one swipe. A nil track is one the reader could not
// read.
type Swipe struct {
	Track1 *Track1
	Track2 *Track2
}

// ParseSwipe parses one frame from the reader: track 1, track 2, CR LF. Each
// track read is fully checked (LRC, fields, Luhn); a track reported unread is
// left nil.
func ParseSwipe(frame []byte) (Swipe, error) {
	body, ok := bytes.CutSuffix(frame, []byte(frameEnd))
	if !ok {
		return Swipe{}, &Error{Err: ErrTruncated}
	}
	raw1, rest, err := track1Spec.cut(body)
	if err != nil {
		return Swipe{}, err
	}
	raw2, rest, err := track2Spec.cut(rest)
	if err != nil {
		return Swipe{}, err
	}
	if len(rest) != 0 {
		return Swipe{}, &Error{Err: ErrGarbage}
	}
	var s Swipe
	if raw1 != nil {
		t, err := parseTrack1(raw1)
		if err != nil {
			return Swipe{}, err
		}
		s.Track1 = &t
	}
	if raw2 != nil {
		t, err := parseTrack2(raw2)
		if err != nil {
			s.Wipe()
			return Swipe{}, err
		}
		s.Track2 = &t
	}
	return s, nil
}

// Card combines the tracks into the card they were read from. It needs track
// 2; when track 1 was read too, both must agree. The Card shares its byte
// slices with s.
func (s Swipe) Card() (Card, error) {
	t2 := s.Track2
	if t2 == nil {
		return Card{}, track2Spec.err(ErrUnreadable)
	}
	c := Card{
		PAN:            t2.PAN,
		Expiry:         t2.Expiry,
		ServiceCode:    t2.ServiceCode,
		Discretionary2: t2.Discretionary,
	}
	if t1 := s.Track1; t1 != nil {
		if !bytes.Equal(t1.PAN, t2.PAN) || t1.Expiry != t2.Expiry || t1.ServiceCode != t2.ServiceCode {
			return Card{}, &Error{Err: ErrTrackMismatch}
		}
		c.Name = t1.Name
		c.Discretionary1 = t1.Discretionary
	}
	return c, nil
}

// Encode returns the frame the reader sends for s.
func (s Swipe) Encode() []byte {
	// Both tracks at their maximum length, plus CR LF.
	dst := make([]byte, 0, track1Spec.maxLen+track2Spec.maxLen+len(frameEnd))
	if s.Track1 != nil {
		dst = s.Track1.appendTo(dst)
	} else {
		dst = track1Spec.appendUnread(dst)
	}
	if s.Track2 != nil {
		dst = s.Track2.appendTo(dst)
	} else {
		dst = track2Spec.appendUnread(dst)
	}
	return append(dst, frameEnd...)
}

// Wipe wipes both tracks.
func (s Swipe) Wipe() {
	if s.Track1 != nil {
		s.Track1.Wipe()
	}
	if s.Track2 != nil {
		s.Track2.Wipe()
	}
}

// String returns the masked PAN of each track, or "not read".
func (s Swipe) String() string {
	t1, t2 := "track 1 not read", "track 2 not read"
	if s.Track1 != nil {
		t1 = s.Track1.String()
	}
	if s.Track2 != nil {
		t2 = s.Track2.String()
	}
	return t1 + ", " + t2
}

// Format prints String for every verb.
func (s Swipe) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Card is a swiped card, as the transaction needs it.
//
// PAN and the discretionary data are byte slices, not strings, because a Go
// string cannot be overwritten: Wipe zeroes them in place once the host has
// answered, so that the full PAN and the card verification value do not stay
// in memory (or in a core dump) for the life of the process. Copies of a Card
// share these slices, so wiping one wipes them all. Name, expiry and service
// code are strings: the receipt and the rules need them, and they are not
// secrets on their own.
type Card struct {
	PAN            []byte // 12 to 19 ASCII digits
	Name           string // cardholder name from track 1; "" when track 1 was not read
	Expiry         string // YYMM
	ServiceCode    string // 3 digits
	Discretionary1 []byte // track 1 discretionary data
	Discretionary2 []byte // track 2 discretionary data
}

// Parse parses one frame from the reader into a Card. The caller should clear
// frame afterwards: Parse copies what it keeps.
func Parse(frame []byte) (Card, error) {
	s, err := ParseSwipe(frame)
	if err != nil {
		return Card{}, err
	}
	c, err := s.Card()
	if err != nil {
		s.Wipe()
		return Card{}, err
	}
	// c holds track 2's PAN; track 1's copy of it is no longer needed.
	if s.Track1 != nil {
		clear(s.Track1.PAN)
	}
	return c, nil
}

// Encode returns the frame the reader sends when c is swiped. It does not check
// c, so the simulator can make unreadable cards with it.
func Encode(c Card) []byte { return c.Swipe().Encode() }

// Swipe returns the tracks of c, sharing its slices. Track 1 is nil when c
// has no name, as when it was not read.
func (c Card) Swipe() Swipe {
	var s Swipe
	if c.Name != "" {
		s.Track1 = &Track1{PAN: c.PAN, Name: c.Name, Expiry: c.Expiry, ServiceCode: c.ServiceCode, Discretionary: c.Discretionary1}
	}
	s.Track2 = &Track2{PAN: c.PAN, Expiry: c.Expiry, ServiceCode: c.ServiceCode, Discretionary: c.Discretionary2}
	return s
}

// Track2Equivalent returns track 2 without sentinels and LRC, "PAN=YYMMSSS..."
// as ISO 8583 field 35 carries it. The caller owns the result and should clear
// it after use.
func (c Card) Track2Equivalent() []byte {
	b := make([]byte, 0, len(c.PAN)+8+len(c.Discretionary2))
	b = append(b, c.PAN...)
	b = append(b, track2Spec.separator)
	b = append(b, c.Expiry...)
	b = append(b, c.ServiceCode...)
	return append(b, c.Discretionary2...)
}

// Masked returns the PAN with all but its first 6 and last 4 digits as "*",
// the form receipts, screens and the journal may show.
func (c Card) Masked() string { return mask(c.PAN) }

// String returns the masked PAN, never the full one.
func (c Card) String() string { return c.Masked() }

// Format prints String for every verb, so that no fmt verb (%#v, %d, ...)
// prints the PAN or the discretionary data.
func (c Card) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// Expired reports whether the card has expired at now. A card is valid to the
// end of its expiry month, in now's time zone; YY is taken as 20YY. A card
// with no valid expiry counts as expired.
func (c Card) Expired(now time.Time) bool {
	if !validExpiry(c.Expiry) {
		return true
	}
	year := 2000 + int(c.Expiry[0]-'0')*10 + int(c.Expiry[1]-'0')
	month := time.Month(int(c.Expiry[2]-'0')*10 + int(c.Expiry[3]-'0'))
	y, m, _ := now.Date()
	return y > year || y == year && m > month
}

// ChipCard reports whether the service code says the card has a chip (first
// digit 2 or 6). Such a card must not be accepted by swipe: the terminal asks
// for the chip to be inserted instead.
func (c Card) ChipCard() bool {
	d, ok := serviceDigits(c.ServiceCode)
	return ok && d[0].chip
}

// PINRequired reports whether the service code asks for a PIN (third digit
// 0, 3 or 5, or 6 or 7: "PIN where feasible", and this terminal has a PIN pad).
// A card with no valid service code requires one.
func (c Card) PINRequired() bool {
	d, ok := serviceDigits(c.ServiceCode)
	return !ok || d[2].pin
}

// Wipe zeroes the PAN and discretionary data, in c and in every copy of c,
// and drops them. Call it once the host has answered.
func (c *Card) Wipe() {
	clear(c.PAN)
	clear(c.Discretionary1)
	clear(c.Discretionary2)
	c.PAN, c.Discretionary1, c.Discretionary2 = nil, nil, nil
}
