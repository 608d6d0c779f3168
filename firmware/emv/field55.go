package emv

import (
	"fmt"

	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
)

// Field55Tags are the ICC data elements the host gets in field 55, in this order
// (UnionPay's and the usual acquirers' list). Sensitive elements are never sent here
// whatever this list says.
var Field55Tags = []tlv.Tag{
	0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82,
	0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x5F34, 0x9F63,
	0x9F74, 0x9F66, 0x9F6C, 0x8A, 0x9F5B,
}

// field55 builds the ICC data from the data store in the table's order.
func (t *Transaction) field55() []byte {
	if t.data[0x9F36] == nil { // no cryptogram yet: nothing for the host
		return nil
	}
	var l tlv.List
	for _, tag := range Field55Tags {
		if emvtag.Sensitive(tag) {
			continue
		}
		var v []byte
		var ok bool
		if tag == 0x9F5B {
			v, ok = t.res.Scripts, len(t.res.Scripts) > 0
		} else {
			v, ok = t.get(tag)
		}
		if ok && v != nil {
			l = append(l, tlv.New(tag, v))
		}
	}
	return l.Bytes()
}

// HostICC is what the host's field 55 carries for the card.
type HostICC struct {
	ARC        string   // 8A
	IssuerAuth []byte   // 91, 8 to 16 bytes
	Scripts71  []Script // issuer scripts before the second GENERATE AC
	Scripts72  []Script // after it
}

// ParseHostICC reads the host's field 55 of an answer. Unknown objects are skipped; a
// malformed one is an error (the app then treats the answer as without ICC data).
func ParseHostICC(b []byte) (HostICC, error) {
	var h HostICC
	l, err := tlv.Parse(b)
	if err != nil {
		return h, fmt.Errorf("field 55: %w", err)
	}
	for _, o := range l {
		switch o.Tag {
		case 0x8A:
			if len(o.Value) != 2 {
				return HostICC{}, fmt.Errorf("field 55: 8A of %d bytes", len(o.Value))
			}
			h.ARC = string(o.Value)
		case 0x91:
			if len(o.Value) < 8 || len(o.Value) > 16 {
				return HostICC{}, fmt.Errorf("field 55: 91 of %d bytes", len(o.Value))
			}
			h.IssuerAuth = o.Value
		case 0x71, 0x72:
			s, err := ParseScript(o.Value)
			if err != nil {
				return HostICC{}, fmt.Errorf("field 55: %w", err)
			}
			if o.Tag == 0x71 {
				h.Scripts71 = append(h.Scripts71, s)
			} else {
				h.Scripts72 = append(h.Scripts72, s)
			}
		}
	}
	return h, nil
}

// Bytes is the host side's field 55 of an answer (for the host simulator and tests).
func (h HostICC) Bytes() []byte {
	var l tlv.List
	if len(h.IssuerAuth) > 0 {
		l = append(l, tlv.New(0x91, h.IssuerAuth))
	}
	for _, group := range []struct {
		tag tlv.Tag
		s   []Script
	}{{0x71, h.Scripts71}, {0x72, h.Scripts72}} {
		for _, s := range group.s {
			var c []tlv.TLV
			if len(s.ID) > 0 {
				c = append(c, tlv.New(0x9F18, s.ID))
			}
			for _, cmd := range s.Commands {
				c = append(c, tlv.New(0x86, cmd))
			}
			l = append(l, tlv.Template(group.tag, c...))
		}
	}
	if h.ARC != "" {
		l = append(l, tlv.New(0x8A, []byte(h.ARC)))
	}
	return l.Bytes()
}
