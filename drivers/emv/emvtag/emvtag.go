// Package emvtag is the dictionary of EMV data elements as data (EMV 4.4 Book 3 Annex A,
// Book 4 Annex A and the qPBOC/PBOC elements China's cards carry): each tag's name,
// format, length, where it comes from, which template holds it and whether it is card
// data that must never be logged. The kernel builds Data Object List values from it
// (BuildDOL), logs describe TLV with it (Describe, which redacts sensitive elements),
// and the field 55 builder checks lengths against it.
package emvtag

import (
	"encoding/hex"
	"fmt"
	"strings"

	"posfw/drivers/emv/tlv"
)

// Format is the EMV data format of an element (Book 3 §4.3).
type Format uint8

// The EMV formats.
const (
	B   Format = iota // binary
	N                 // numeric, BCD, right-justified, leading zeros
	CN                // compressed numeric, BCD, left-justified, trailing F
	A                 // alphabetic
	AN                // alphanumeric
	ANS               // alphanumeric and special characters
)

var formatNames = [...]string{B: "b", N: "n", CN: "cn", A: "a", AN: "an", ANS: "ans"}

// String is the format's EMV abbreviation.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// Source says who provides an element.
type Source uint8

// The sources of data elements.
const (
	ICC      Source = iota // the card
	Terminal               // the terminal
	Issuer                 // the issuer, through the host's answer
)

// String names the source.
func (s Source) String() string {
	switch s {
	case ICC:
		return "ICC"
	case Terminal:
		return "terminal"
	case Issuer:
		return "issuer"
	}
	return fmt.Sprintf("Source(%d)", s)
}

// Element is one data element of the dictionary.
type Element struct {
	Tag       tlv.Tag
	Name      string
	Format    Format
	Min, Max  int    // length of the value in bytes
	Source    Source // who provides it
	Template  string // tags of the templates that hold it, space-separated; "" for none
	Sensitive bool   // card data: never in a log, receipt or file (DESIGN §5)
}

var byTag = func() map[tlv.Tag]Element {
	m := make(map[tlv.Tag]Element, len(elements))
	for _, e := range elements {
		m[e.Tag] = e
	}
	return m
}()

// Lookup returns the element with tag t.
func Lookup(t tlv.Tag) (Element, bool) {
	e, ok := byTag[t]
	return e, ok
}

// All returns the dictionary in tag order of the table.
func All() []Element { return append([]Element(nil), elements...) }

// Sensitive reports whether t is card data that must not be logged. Unknown tags are
// not known to be safe, but the dictionary holds every card-data tag EMV and PBOC
// define; proprietary tags of the issuer ranges are treated as sensitive.
func Sensitive(t tlv.Tag) bool {
	if e, ok := byTag[t]; ok {
		return e.Sensitive
	}
	return true
}

// CheckLength reports whether v has a length the dictionary allows for t; unknown tags
// are accepted.
func CheckLength(t tlv.Tag, v []byte) error {
	e, ok := byTag[t]
	if !ok {
		return nil
	}
	if len(v) < e.Min || len(v) > e.Max {
		return fmt.Errorf("emv: %s (%s) is %d bytes; want %d to %d", t, e.Name, len(v), e.Min, e.Max)
	}
	return nil
}

// Describe writes objects one a line, indented by template depth, for logs and traces:
// tag, name and value; a sensitive element's value is replaced by its length, so that a
// trace of a whole transaction can be shared.
func Describe(l tlv.List) string {
	var b strings.Builder
	describe(&b, l, 0)
	return b.String()
}

func describe(b *strings.Builder, l tlv.List, depth int) {
	for _, o := range l {
		e, known := byTag[o.Tag]
		name := e.Name
		if !known {
			name = "unknown"
		}
		fmt.Fprintf(b, "%s%s %s", strings.Repeat("  ", depth), o.Tag, name)
		switch {
		case o.Tag.Constructed():
			b.WriteString("\n")
			describe(b, o.Children, depth+1)
			continue
		case Sensitive(o.Tag):
			fmt.Fprintf(b, ": <redacted, %d bytes>", len(o.Value))
		case known && (e.Format == A || e.Format == AN || e.Format == ANS) && printable(o.Value):
			fmt.Fprintf(b, ": %q", o.Value)
		default:
			fmt.Fprintf(b, ": %s", strings.ToUpper(hex.EncodeToString(o.Value)))
		}
		b.WriteString("\n")
	}
}

func printable(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// BuildDOL builds the value a Data Object List asks for (Book 3 §5.4): each element
// from src at the length the DOL gives. A longer value is truncated (numeric: its
// leftmost bytes go; other formats: its rightmost), a shorter one padded (numeric:
// leading zeros; compressed numeric: trailing FF; others: trailing zeros), and an
// element src does not have, or a template, is sent as zeros.
func BuildDOL(d tlv.DOL, src func(tlv.Tag) ([]byte, bool)) []byte {
	out := make([]byte, 0, d.Len())
	for _, ent := range d {
		v, ok := src(ent.Tag)
		if !ok || ent.Tag.Constructed() {
			out = append(out, make([]byte, ent.Len)...)
			continue
		}
		f := B
		if e, known := byTag[ent.Tag]; known {
			f = e.Format
		}
		out = append(out, fit(v, ent.Len, f)...)
	}
	return out
}

func fit(v []byte, n int, f Format) []byte {
	if len(v) >= n {
		if f == N {
			return v[len(v)-n:]
		}
		return v[:n]
	}
	pad := make([]byte, n-len(v))
	switch f {
	case N:
		return append(pad, v...)
	case CN:
		for i := range pad {
			pad[i] = 0xFF
		}
	}
	return append(append([]byte(nil), v...), pad...)
}
