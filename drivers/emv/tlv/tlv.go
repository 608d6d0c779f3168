// Package tlv reads and writes BER-TLV as EMV uses it (EMV 4.4 Book 3 Annex B, which
// profiles ISO/IEC 8825-1): tags of one to three bytes, definite lengths in short form or
// long form (81 xx, 82 xx xx), constructed templates holding further objects, and the
// 00 or FF padding bytes a card may put between objects. It also reads Data Object
// Lists (PDOL, CDOL1/2, DDOL: Book 3 §5.4), which are tags and lengths without values.
//
// Every parser here takes bytes from a card or a host: bad input is an error, never a
// panic, and each is fuzzed.
package tlv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Tag is an EMV tag as its bytes read big-endian: 0x9F02 is "9F02", 0x5A is "5A".
type Tag uint32

// MaxDepth bounds how deeply templates may nest; EMV responses nest three or four deep
// (6F A5 BF0C 61), so a deeper input is malformed or hostile.
const MaxDepth = 8

// Errors a parser returns, wrapped with where it happened.
var (
	ErrTruncated = errors.New("tlv: data ends inside an object")
	ErrTag       = errors.New("tlv: malformed tag")
	ErrLength    = errors.New("tlv: malformed length")
	ErrDepth     = errors.New("tlv: templates nested too deep")
)

// Constructed reports whether the tag's first byte has the constructed bit (b6) set,
// that is whether its value is itself a sequence of objects (a template).
func (t Tag) Constructed() bool {
	b := t.Bytes()
	return len(b) > 0 && b[0]&0x20 != 0
}

// Bytes returns the tag's encoding.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFFFF:
		return []byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	default:
		return []byte{byte(t)}
	}
}

// String is the tag in upper-case hex, as EMV books write it ("9F02").
func (t Tag) String() string { return strings.ToUpper(hex.EncodeToString(t.Bytes())) }

// ParseTag reads one tag at the start of b and returns it with the bytes it used.
// A first byte with low five bits all set announces subsequent bytes; each subsequent
// byte with b8 set announces one more. EMV tags are at most three bytes.
func ParseTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		if i >= 3 {
			return 0, 0, fmt.Errorf("%w: longer than 3 bytes", ErrTag)
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
}

// ParseLength reads a definite length at the start of b: one byte below 0x80, or 0x81
// and 0x82 followed by one or two bytes. EMV has no longer objects, and the indefinite
// form (0x80) is not used.
func ParseLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	switch c := b[0]; {
	case c < 0x80:
		return int(c), 1, nil
	case c == 0x81:
		if len(b) < 2 {
			return 0, 0, ErrTruncated
		}
		return int(b[1]), 2, nil
	case c == 0x82:
		if len(b) < 3 {
			return 0, 0, ErrTruncated
		}
		return int(b[1])<<8 | int(b[2]), 3, nil
	default:
		return 0, 0, fmt.Errorf("%w: first byte %02X", ErrLength, c)
	}
}

// AppendLength appends the shortest encoding of n.
func AppendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	default:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
}

// TLV is one data object. A constructed object's Children are its parsed contents and
// its Value the raw bytes they came from; a primitive object has only a Value.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children List
}

// List is a sequence of data objects in the order they came.
type List []TLV

// Parse reads a sequence of objects, skipping the 00 and FF padding EMV allows
// between them (Book 3 Annex B), and parses constructed objects into their Children.
func Parse(b []byte) (List, error) { return parse(b, 0) }

func parse(b []byte, depth int) (List, error) {
	if depth > MaxDepth {
		return nil, ErrDepth
	}
	var out List
	for off := 0; off < len(b); {
		if b[off] == 0x00 || b[off] == 0xFF {
			off++
			continue
		}
		o, n, err := parseOne(b[off:], depth)
		if err != nil {
			return nil, fmt.Errorf("at byte %d: %w", off, err)
		}
		out = append(out, o)
		off += n
	}
	return out, nil
}

// ParseOne reads the single object at the start of b and returns it with the number of
// bytes it took; what follows is left to the caller (a card response's status word, for
// instance, is not part of the object).
func ParseOne(b []byte) (TLV, int, error) { return parseOne(b, 0) }

func parseOne(b []byte, depth int) (TLV, int, error) {
	t, tn, err := ParseTag(b)
	if err != nil {
		return TLV{}, 0, err
	}
	l, ln, err := ParseLength(b[tn:])
	if err != nil {
		return TLV{}, 0, fmt.Errorf("tag %s: %w", t, err)
	}
	start := tn + ln
	if l > len(b)-start {
		return TLV{}, 0, fmt.Errorf("tag %s: length %d, %d bytes left: %w", t, l, len(b)-start, ErrTruncated)
	}
	o := TLV{Tag: t, Value: b[start : start+l : start+l]}
	if t.Constructed() {
		if o.Children, err = parse(o.Value, depth+1); err != nil {
			return TLV{}, 0, fmt.Errorf("in %s: %w", t, err)
		}
	}
	return o, start + l, nil
}

// New returns a primitive object.
func New(t Tag, value []byte) TLV { return TLV{Tag: t, Value: value} }

// Template returns a constructed object holding children; its Value is their encoding.
func Template(t Tag, children ...TLV) TLV {
	return TLV{Tag: t, Value: List(children).Bytes(), Children: children}
}

// Append appends the object's encoding. A constructed object with Children is encoded
// from them; otherwise from Value.
func (o TLV) Append(dst []byte) []byte {
	v := o.Value
	if len(o.Children) > 0 {
		v = o.Children.Bytes()
	}
	dst = append(dst, o.Tag.Bytes()...)
	dst = AppendLength(dst, len(v))
	return append(dst, v...)
}

// Bytes is the object's encoding.
func (o TLV) Bytes() []byte { return o.Append(nil) }

// Bytes is the encoding of every object in turn.
func (l List) Bytes() []byte {
	var b []byte
	for _, o := range l {
		b = o.Append(b)
	}
	return b
}

// Find returns the first object with tag t, looking into templates depth first.
func (l List) Find(t Tag) (TLV, bool) {
	for _, o := range l {
		if o.Tag == t {
			return o, true
		}
		if f, ok := o.Children.Find(t); ok {
			return f, true
		}
	}
	return TLV{}, false
}

// Value returns the value of the first object with tag t (see Find), or nil.
func (l List) Value(t Tag) []byte {
	o, _ := l.Find(t)
	return o.Value
}

// Walk calls fn for every primitive object, in order, descending into templates.
func (l List) Walk(fn func(TLV)) {
	for _, o := range l {
		if o.Tag.Constructed() {
			o.Children.Walk(fn)
			continue
		}
		fn(o)
	}
}

// DOLEntry is one element of a Data Object List: a tag and the length the card wants.
type DOLEntry struct {
	Tag Tag
	Len int
}

// DOL is a Data Object List (PDOL, CDOL1, CDOL2, DDOL, TDOL).
type DOL []DOLEntry

// ParseDOL reads a Data Object List: tags each followed by a one-byte length (Book 3
// §5.4; a long-form length is accepted too, no card needs one).
func ParseDOL(b []byte) (DOL, error) {
	var d DOL
	for off := 0; off < len(b); {
		t, tn, err := ParseTag(b[off:])
		if err != nil {
			return nil, fmt.Errorf("DOL at byte %d: %w", off, err)
		}
		l, ln, err := ParseLength(b[off+tn:])
		if err != nil {
			return nil, fmt.Errorf("DOL tag %s: %w", t, err)
		}
		d = append(d, DOLEntry{Tag: t, Len: l})
		off += tn + ln
	}
	return d, nil
}

// Bytes is the DOL's encoding.
func (d DOL) Bytes() []byte {
	var b []byte
	for _, e := range d {
		b = append(b, e.Tag.Bytes()...)
		b = AppendLength(b, e.Len)
	}
	return b
}

// Len is the length of the value the DOL asks for: the sum of its lengths.
func (d DOL) Len() int {
	n := 0
	for _, e := range d {
		n += e.Len
	}
	return n
}

// Split cuts a value built from the DOL back into its elements (the card's side of a
// GPO or GENERATE AC). The value must be exactly as long as the DOL asks.
func (d DOL) Split(v []byte) (map[Tag][]byte, error) {
	if len(v) != d.Len() {
		return nil, fmt.Errorf("tlv: DOL value is %d bytes; the DOL asks for %d", len(v), d.Len())
	}
	m := make(map[Tag][]byte, len(d))
	off := 0
	for _, e := range d {
		m[e.Tag] = v[off : off+e.Len : off+e.Len]
		off += e.Len
	}
	return m, nil
}
