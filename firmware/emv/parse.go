package emv

import (
	"errors"
	"fmt"

	"posfw/drivers/emv/tlv"
)

// ErrCardData is the error of card answers the kernel cannot use (Book 3 §6.5, §10).
var ErrCardData = errors.New("emv: card data malformed")

// AFLEntry is one entry of the Application File Locator (Book 3 §10.2): records
// First..Last of file SFI, the first ODA of them taking part in offline data
// authentication.
type AFLEntry struct {
	SFI, First, Last, ODA byte
}

// ParseAFL reads an AFL: 4-byte entries, SFI 1–30, 1 ≤ first ≤ last, ODA records no
// more than the entry has. An empty AFL is allowed (qPBOC cards may send all in GPO).
func ParseAFL(b []byte) ([]AFLEntry, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: AFL of %d bytes", ErrCardData, len(b))
	}
	var out []AFLEntry
	for i := 0; i < len(b); i += 4 {
		e := AFLEntry{SFI: b[i] >> 3, First: b[i+1], Last: b[i+2], ODA: b[i+3]}
		switch {
		case b[i]&0x07 != 0 || e.SFI == 0 || e.SFI > 30:
			return nil, fmt.Errorf("%w: AFL entry %d: SFI byte %02X", ErrCardData, i/4+1, b[i])
		case e.First == 0 || e.Last < e.First:
			return nil, fmt.Errorf("%w: AFL entry %d: records %d to %d", ErrCardData, i/4+1, e.First, e.Last)
		case int(e.ODA) > int(e.Last-e.First)+1:
			return nil, fmt.Errorf("%w: AFL entry %d: %d ODA records of %d", ErrCardData, i/4+1, e.ODA, e.Last-e.First+1)
		}
		out = append(out, e)
	}
	return out, nil
}

// CVM methods (Book 3 Annex C3, low 6 bits of the first byte of a rule).
const (
	CVMFail          = 0x00
	CVMPlainPIN      = 0x01
	CVMOnlinePIN     = 0x02
	CVMPlainPINSig   = 0x03
	CVMEncPIN        = 0x04
	CVMEncPINSig     = 0x05
	CVMSignature     = 0x1E
	CVMNoCVM         = 0x1F
	cvmApplyNext     = 0x40
	cvmMethodMask    = 0x3F
	cvmRecognisedMax = 0x05
)

// CVMRule is one rule of a CVM list.
type CVMRule struct {
	Method    byte // low 6 bits of the code
	ApplyNext bool // apply the next rule when this one fails
	Cond      byte // condition code (Book 3 Annex C3 Table 40)
}

// CVMList is the card's Cardholder Verification Method list (8E).
type CVMList struct {
	X, Y  uint32 // amounts the conditions 06–09 compare with, in the application currency
	Rules []CVMRule
}

// ParseCVMList reads 8E: amounts X and Y (4 bytes each), then 2-byte rules. A list
// with an odd tail is malformed (Book 3 §10.5: the terminal treats it as missing).
func ParseCVMList(b []byte) (CVMList, error) {
	if len(b) < 8 || (len(b)-8)%2 != 0 {
		return CVMList{}, fmt.Errorf("%w: CVM list of %d bytes", ErrCardData, len(b))
	}
	l := CVMList{X: be32(b[0:4]), Y: be32(b[4:8])}
	for i := 8; i < len(b); i += 2 {
		l.Rules = append(l.Rules, CVMRule{Method: b[i] & cvmMethodMask, ApplyNext: b[i]&cvmApplyNext != 0, Cond: b[i+1]})
	}
	return l, nil
}

// Code is the rule's first byte as 9F34 carries it.
func (r CVMRule) Code() byte {
	c := r.Method
	if r.ApplyNext {
		c |= cvmApplyNext
	}
	return c
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// ParseCDOL reads a card's CDOL1/CDOL2 (or PDOL, DDOL) and refuses what a terminal must
// not build: a constructed tag, an entry longer than a value can be, or a DOL whose
// value would not fit in one command APDU.
func ParseCDOL(b []byte) (tlv.DOL, error) {
	d, err := tlv.ParseDOL(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCardData, err)
	}
	for _, e := range d {
		if e.Tag.Constructed() {
			return nil, fmt.Errorf("%w: DOL asks for template %s", ErrCardData, e.Tag)
		}
		if e.Len > 252 {
			return nil, fmt.Errorf("%w: DOL asks for %d bytes of %s", ErrCardData, e.Len, e.Tag)
		}
	}
	if d.Len() > 252 {
		return nil, fmt.Errorf("%w: DOL value of %d bytes does not fit a command", ErrCardData, d.Len())
	}
	return d, nil
}

// ACResponse is a GENERATE AC answer.
type ACResponse struct {
	CID  byte
	ATC  []byte
	AC   []byte // absent with CDA: it is inside SDAD
	IAD  []byte
	SDAD []byte   // 9F4B, when the card signed (CDA)
	Objs tlv.List // format 2: the objects of template 77, for CDA's hash
}

// ParseACResponse reads the answer to GENERATE AC in format 1 (80: CID, ATC, AC, IAD)
// or format 2 (77 with 9F27, 9F36, 9F26 or 9F4B, 9F10).
func ParseACResponse(b []byte) (ACResponse, error) {
	l, err := tlv.Parse(b)
	if err != nil || len(l) != 1 {
		return ACResponse{}, fmt.Errorf("%w: GENERATE AC answer is not one template", ErrCardData)
	}
	switch o := l[0]; o.Tag {
	case 0x80:
		v := o.Value
		if len(v) < 11 || len(v) > 11+32 {
			return ACResponse{}, fmt.Errorf("%w: GENERATE AC format 1 of %d bytes", ErrCardData, len(v))
		}
		return ACResponse{CID: v[0], ATC: v[1:3], AC: v[3:11], IAD: v[11:]}, nil
	case 0x77:
		r := ACResponse{ATC: o.Children.Value(0x9F36), AC: o.Children.Value(0x9F26), IAD: o.Children.Value(0x9F10),
			SDAD: o.Children.Value(0x9F4B), Objs: o.Children}
		cid := o.Children.Value(0x9F27)
		switch {
		case len(cid) != 1 || len(r.ATC) != 2:
			return ACResponse{}, fmt.Errorf("%w: GENERATE AC answer without CID or ATC", ErrCardData)
		case len(r.AC) != 8 && len(r.SDAD) == 0:
			return ACResponse{}, fmt.Errorf("%w: GENERATE AC answer without a cryptogram", ErrCardData)
		case len(r.AC) != 0 && len(r.AC) != 8:
			return ACResponse{}, fmt.Errorf("%w: cryptogram of %d bytes", ErrCardData, len(r.AC))
		}
		r.CID = cid[0]
		return r, nil
	}
	return ACResponse{}, fmt.Errorf("%w: GENERATE AC answer in template %s", ErrCardData, l[0].Tag)
}

// Script is one issuer script (template 71 or 72): its identifier and commands.
type Script struct {
	ID       []byte   // 9F18, 4 bytes, or nil
	Commands [][]byte // 86: command APDUs
}

// ParseScript reads the value of a 71/72 template.
func ParseScript(v []byte) (Script, error) {
	l, err := tlv.Parse(v)
	if err != nil {
		return Script{}, fmt.Errorf("issuer script: %w", err)
	}
	var s Script
	for _, o := range l {
		switch o.Tag {
		case 0x9F18:
			if len(o.Value) != 4 {
				return Script{}, fmt.Errorf("issuer script identifier of %d bytes", len(o.Value))
			}
			s.ID = o.Value
		case 0x86:
			if len(o.Value) < 4 {
				return Script{}, fmt.Errorf("issuer script command of %d bytes", len(o.Value))
			}
			s.Commands = append(s.Commands, o.Value)
		}
	}
	if len(s.Commands) == 0 {
		return Script{}, fmt.Errorf("issuer script without commands")
	}
	return s, nil
}
