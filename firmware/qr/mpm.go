// Package qr is the data of QR code payments, as pure logic: the merchant-presented
// code the terminal shows (EMV QR Code Specification for Payment Systems, Merchant-
// Presented Mode, "EMV QRCPS MPM" v1.1: its payload built and parsed) and the
// customer-presented payment code (付款码) the terminal scans, classified by wallet.
//
// # The MPM payload
//
// A payload is a run of data objects, each an ID (two digits), a length (two
// digits: the value's length in characters) and the value; templates (merchant
// account information 26–51, additional data 62, merchant information in an
// alternate language 64, unreserved templates 80–99) hold data objects of their own.
// Payload Format Indicator (00) comes first, the CRC (63) last: CRC-16/CCITT-FALSE
// (polynomial 0x1021, initial value 0xFFFF) over the UTF-8 bytes of the whole payload
// up to and including "6304", written as four upper-case hexadecimal digits. The
// specification's own example (Annex B) is this package's golden test.
package qr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IDs of the top-level data objects this package sets or checks.
const (
	IDFormat          = "00" // Payload Format Indicator, "01"
	IDInitiation      = "01" // Point of Initiation Method: "11" static, "12" dynamic
	IDMCC             = "52" // Merchant Category Code, ISO 18245
	IDCurrency        = "53" // Transaction Currency, ISO 4217 numeric
	IDAmount          = "54" // Transaction Amount
	IDCountry         = "58" // Country Code, ISO 3166-1 alpha 2
	IDMerchantName    = "59"
	IDMerchantCity    = "60"
	IDPostalCode      = "61"
	IDAdditional      = "62" // Additional Data Field Template
	IDCRC             = "63"
	IDAltLanguage     = "64" // Merchant Information — Language Template
	InitiationStatic  = "11"
	InitiationDynamic = "12"
)

// IDs within the Additional Data Field Template (62).
const (
	AddBillNumber    = "01"
	AddMobile        = "02"
	AddStoreLabel    = "03"
	AddLoyalty       = "04"
	AddReference     = "05"
	AddCustomerLabel = "06"
	AddTerminalLabel = "07"
	AddPurpose       = "08"
)

// MaxPayload is the longest payload taken, in characters (the specification's
// limit).
const MaxPayload = 512

// Object is one data object: its ID, its value, and for a template the data
// objects its value holds.
type Object struct {
	ID    string
	Value string
	Sub   []Object // set for templates
}

// Payload is a parsed MPM payload: its objects in order, CRC included.
type Payload struct {
	Objects []Object
}

// Get returns the value of top-level object id, "" when absent.
func (p *Payload) Get(id string) string {
	o := p.object(id)
	if o == nil {
		return ""
	}
	return o.Value
}

// Sub returns the value of object sub inside template id, "" when absent.
func (p *Payload) Sub(id, sub string) string {
	o := p.object(id)
	if o == nil {
		return ""
	}
	for _, s := range o.Sub {
		if s.ID == sub {
			return s.Value
		}
	}
	return ""
}

func (p *Payload) object(id string) *Object {
	for i := range p.Objects {
		if p.Objects[i].ID == id {
			return &p.Objects[i]
		}
	}
	return nil
}

// Accounts returns the merchant account information templates (IDs 02–51), in
// order: primitive (02–25, card scheme ids) or templates (26–51) with a globally
// unique identifier in their 00.
func (p *Payload) Accounts() []Object {
	var out []Object
	for _, o := range p.Objects {
		if n, _ := strconv.Atoi(o.ID); n >= 2 && n <= 51 {
			out = append(out, o)
		}
	}
	return out
}

// Error is a payload refused, with the reason; it holds nothing of a value but
// IDs and positions.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "EMV QR payload: " + e.Reason }

func errorf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// ErrCRC is the error of a payload whose CRC does not match its content.
var ErrCRC = errors.New("EMV QR payload: CRC does not match")

// CRC16 is CRC-16/CCITT-FALSE of b: polynomial 0x1021, initial value 0xFFFF,
// no reflection, no final XOR ("123456789" → 0x29B1).
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// isTemplate reports whether top-level object id holds data objects.
func isTemplate(id string) bool {
	n, _ := strconv.Atoi(id)
	return n >= 26 && n <= 51 || n == 62 || n == 64 || n >= 80 && n <= 99
}

// Parse reads and checks a payload: its structure (two-digit IDs and lengths,
// lengths in characters, templates well formed, no ID twice at one level),
// Payload Format Indicator first and "01", CRC last and right, the mandatory
// objects present (merchant account information, 52, 53, 58, 59, 60) and the
// formats of those this package knows. A payload that fails any check is an
// *Error, or ErrCRC.
func Parse(s string) (*Payload, error) {
	if !utf8.ValidString(s) {
		return nil, errorf("not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxPayload {
		return nil, errorf("%d characters, longer than %d", n, MaxPayload)
	}
	objs, err := parseObjects(s, true)
	if err != nil {
		return nil, err
	}
	p := &Payload{Objects: objs}
	if len(objs) == 0 || objs[0].ID != IDFormat {
		return nil, errorf("does not start with the Payload Format Indicator (00)")
	}
	if objs[0].Value != "01" {
		return nil, errorf("Payload Format Indicator is %q; want \"01\"", objs[0].Value)
	}
	last := objs[len(objs)-1]
	if last.ID != IDCRC {
		return nil, errorf("does not end with the CRC (63)")
	}
	if len(last.Value) != 4 || strings.ToUpper(last.Value) != last.Value {
		return nil, errorf("CRC is not four upper-case hexadecimal digits")
	}
	want, err := strconv.ParseUint(last.Value, 16, 16)
	if err != nil {
		return nil, errorf("CRC is not four upper-case hexadecimal digits")
	}
	if CRC16([]byte(s[:len(s)-4])) != uint16(want) {
		return nil, ErrCRC
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return p, nil
}

// parseObjects reads a run of data objects; top says whether templates are to be
// opened (one level of nesting, as the specification has).
func parseObjects(s string, top bool) ([]Object, error) {
	var objs []Object
	seen := map[string]bool{}
	for pos := 0; s != ""; {
		if len(s) < 4 || !digits(s[:4]) {
			return nil, errorf("data object at character %d: want a two-digit ID and a two-digit length", pos)
		}
		id, n := s[:2], int(s[2]-'0')*10+int(s[3]-'0')
		if n == 0 {
			return nil, errorf("data object %s at character %d has length 00", id, pos)
		}
		if seen[id] {
			return nil, errorf("data object %s appears twice", id)
		}
		seen[id] = true
		rest := s[4:]
		end := 0
		for i := 0; i < n; i++ {
			if end == len(rest) {
				return nil, errorf("data object %s at character %d: its length %02d runs past the end", id, pos, n)
			}
			_, size := utf8.DecodeRuneInString(rest[end:])
			end += size
		}
		o := Object{ID: id, Value: rest[:end]}
		if top && isTemplate(id) {
			sub, err := parseObjects(o.Value, false)
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					return nil, errorf("in template %s: %s", id, e.Reason)
				}
				return nil, err
			}
			o.Sub = sub
		}
		objs = append(objs, o)
		pos += 4 + n
		s = rest[end:]
	}
	return objs, nil
}

// check checks the mandatory objects and the formats this package knows.
func (p *Payload) check() error {
	if len(p.Accounts()) == 0 {
		return errorf("no merchant account information (02–51)")
	}
	for _, a := range p.Accounts() {
		if a.Sub != nil && (len(a.Sub) == 0 || a.Sub[0].ID != "00") {
			return errorf("merchant account information %s has no globally unique identifier (00) first", a.ID)
		}
	}
	for _, f := range []struct {
		id, what string
		ok       func(string) bool
	}{
		{IDInitiation, "11 or 12", func(v string) bool { return v == InitiationStatic || v == InitiationDynamic }},
		{IDMCC, "four digits", func(v string) bool { return len(v) == 4 && digits(v) }},
		{IDCurrency, "three digits (ISO 4217)", func(v string) bool { return len(v) == 3 && digits(v) }},
		{IDAmount, "an amount like 23.72", validAmount},
		{IDCountry, "two letters (ISO 3166-1)", func(v string) bool { return len(v) == 2 && upper(v) }},
		{IDMerchantName, "1 to 25 characters", func(v string) bool { return utf8.RuneCountInString(v) <= 25 }},
		{IDMerchantCity, "1 to 15 characters", func(v string) bool { return utf8.RuneCountInString(v) <= 15 }},
	} {
		v := p.Get(f.id)
		if v == "" {
			if f.id == IDInitiation || f.id == IDAmount {
				continue // optional
			}
			return errorf("no %s (%s)", name(f.id), f.id)
		}
		if !f.ok(v) {
			return errorf("%s (%s) is not %s", name(f.id), f.id, f.what)
		}
	}
	return nil
}

func name(id string) string {
	return map[string]string{IDInitiation: "point of initiation method", IDMCC: "merchant category code",
		IDCurrency: "transaction currency", IDAmount: "transaction amount", IDCountry: "country code",
		IDMerchantName: "merchant name", IDMerchantCity: "merchant city"}[id]
}

// validAmount: digits with at most one decimal point, up to 13 characters, not
// zero, as the specification writes an amount ("23.72", "98.3").
func validAmount(v string) bool {
	if len(v) > 13 || strings.Count(v, ".") > 1 || v == "." {
		return false
	}
	whole, frac, _ := strings.Cut(v, ".")
	if !digits(whole+frac) || whole == "" && frac == "" {
		return false
	}
	return strings.Trim(whole+frac, "0") != ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func upper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
