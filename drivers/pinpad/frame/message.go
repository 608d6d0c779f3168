package frame

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Command is a message's command code (a request's; its response sets ResponseBit).
type Command byte

// Commands of the PIN pad (see the package doc).
const (
	CmdInfo    Command = 0x10
	CmdDisplay Command = 0x11
	CmdGetPIN  Command = 0x12
	CmdCancel  Command = 0x13
	CmdLoadKey Command = 0x14
	// The PIN pad's own keys (generated inside it, never sent): card hashes and the
	// journal's sealed head.
	CmdCardHash  Command = 0x15
	CmdSeal      Command = 0x16
	CmdAnchor    Command = 0x17
	CmdCheckSeal Command = 0x18
)

// ResponseBit is set in the command byte of a response.
const ResponseBit = 0x80

// Tag names a field of a message.
type Tag byte

// Field tags (see the package doc).
const (
	TagModel     Tag = 0x01
	TagSerial    Tag = 0x02
	TagFirmware  Tag = 0x03
	TagKSN       Tag = 0x04
	TagLine1     Tag = 0x10
	TagLine2     Tag = 0x11
	TagPANDigits Tag = 0x20
	TagAmount    Tag = 0x21
	TagMinLen    Tag = 0x22
	TagMaxLen    Tag = 0x23
	TagTimeout   Tag = 0x24
	TagFlags     Tag = 0x25
	TagPINBlock  Tag = 0x30
	TagIPEK      Tag = 0x31
	TagPAN       Tag = 0x26
	TagCardHash  Tag = 0x32
	TagEventID   Tag = 0x40
	TagChainHash Tag = 0x41
	TagSealMAC   Tag = 0x42
)

// FlagBypass in the flags field allows PIN bypass: ENTER with no digits.
const FlagBypass = 0x01

// Status is the outcome a response reports.
type Status byte

// Statuses (see the package doc).
const (
	StatusOK             Status = 0x00
	StatusCancelled      Status = 0x01
	StatusTimeout        Status = 0x02
	StatusBypass         Status = 0x03
	StatusBusy           Status = 0x04
	StatusBadRequest     Status = 0x05
	StatusUnknownCommand Status = 0x06
	StatusNoKey          Status = 0x07
	StatusNotPermitted   Status = 0x08
	StatusBadSeal        Status = 0x09
	StatusSealConflict   Status = 0x0A
)

var statusNames = map[Status]string{
	StatusOK:             "done",
	StatusCancelled:      "cancelled",
	StatusTimeout:        "timed out",
	StatusBypass:         "PIN bypassed",
	StatusBusy:           "busy with a PIN entry",
	StatusBadRequest:     "bad request",
	StatusUnknownCommand: "unknown command",
	StatusNoKey:          "no usable key",
	StatusNotPermitted:   "not permitted",
	StatusBadSeal:        "seal does not verify",
	StatusSealConflict:   "seal conflicts with the anchor",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status %02X", byte(s))
}

// kind is how a field's value is checked.
type kind uint8

const (
	binary kind = iota // any bytes
	text               // UTF-8 without control characters
	digits             // ASCII 0-9
)

// tagSpec is one row of the field table.
type tagSpec struct {
	name     string
	min, max int // value length in bytes
	kind     kind
	// secret fields are never printed: Message.String shows their length only.
	secret bool
}

// tags is the field table of the package doc.
var tags = map[Tag]tagSpec{
	TagModel:     {"model", 1, 32, text, false},
	TagSerial:    {"serial", 1, 32, text, false},
	TagFirmware:  {"firmware", 1, 32, text, false},
	TagKSN:       {"KSN", 10, 10, binary, false},
	TagLine1:     {"line1", 0, 64, text, false},
	TagLine2:     {"line2", 0, 64, text, false},
	TagPANDigits: {"PAN digits", 12, 12, digits, true},
	TagAmount:    {"amount", 12, 12, digits, false},
	TagMinLen:    {"min length", 1, 1, binary, false},
	TagMaxLen:    {"max length", 1, 1, binary, false},
	TagTimeout:   {"timeout", 2, 2, binary, false},
	TagFlags:     {"flags", 1, 1, binary, false},
	TagPINBlock:  {"PIN block", 8, 8, binary, true},
	TagIPEK:      {"IPEK", 16, 16, binary, true},
	TagPAN:       {"PAN", 12, 19, digits, true},
	TagCardHash:  {"card hash", 32, 32, binary, false},
	TagEventID:   {"event id", 8, 8, binary, false},
	TagChainHash: {"chain hash", 32, 32, binary, false},
	TagSealMAC:   {"seal MAC", 32, 32, binary, false},
}

func (t Tag) String() string {
	if s, ok := tags[t]; ok {
		return s.name
	}
	return fmt.Sprintf("tag %02X", byte(t))
}

// commandSpec is one row of the command table: the fields each direction requires.
type commandSpec struct {
	name              string
	request, response []Tag
}

// commands is the command table of the package doc.
var commands = map[Command]commandSpec{
	CmdInfo:    {"info", nil, []Tag{TagModel, TagSerial, TagFirmware, TagKSN}},
	CmdDisplay: {"display", []Tag{TagLine1, TagLine2}, nil},
	CmdGetPIN: {"get PIN",
		[]Tag{TagPANDigits, TagAmount, TagMinLen, TagMaxLen, TagTimeout, TagFlags},
		[]Tag{TagPINBlock, TagKSN}},
	CmdCancel:    {"cancel", nil, nil},
	CmdLoadKey:   {"load key", []Tag{TagIPEK, TagKSN}, []Tag{TagKSN}},
	CmdCardHash:  {"card hash", []Tag{TagPAN}, []Tag{TagCardHash}},
	CmdSeal:      {"seal", []Tag{TagEventID, TagChainHash}, []Tag{TagSealMAC}},
	CmdAnchor:    {"anchor", nil, []Tag{TagEventID, TagChainHash, TagSealMAC}},
	CmdCheckSeal: {"check seal", []Tag{TagEventID, TagChainHash, TagSealMAC}, nil},
}

func (c Command) String() string {
	if s, ok := commands[c]; ok {
		return s.name
	}
	return fmt.Sprintf("command %02X", byte(c))
}

// Field is one TAG LEN VALUE field.
type Field struct {
	Tag   Tag
	Value []byte
}

// Message is the payload of a frame: a request, or the response to one.
type Message struct {
	Command  Command // without ResponseBit
	Response bool
	Seq      byte
	Status   Status // responses only
	Fields   []Field
}

// Errors of Marshal and ParseMessage; the error returned wraps one of them and names
// the command and field, never a field's value.
var (
	ErrShort          = errors.New("frame: message too short")
	ErrUnknownCommand = errors.New("frame: unknown command")
	ErrField          = errors.New("frame: bad field")
)

// Get returns the value of field t, or nil when the message has none.
func (m *Message) Get(t Tag) []byte {
	for _, f := range m.Fields {
		if f.Tag == t {
			return f.Value
		}
	}
	return nil
}

// Uint returns field t read as a big-endian unsigned number (0 when absent).
func (m *Message) Uint(t Tag) int {
	n := 0
	for _, c := range m.Get(t) {
		n = n<<8 | int(c)
	}
	return n
}

// Uint64 is Uint for fields up to eight bytes on any word size (event ids).
func (m *Message) Uint64(t Tag) uint64 {
	var n uint64
	for _, c := range m.Get(t) {
		n = n<<8 | uint64(c)
	}
	return n
}

// Text returns field t as a string ("" when absent).
func (m *Message) Text(t Tag) string { return string(m.Get(t)) }

// Bytes returns a field holding v.
func Bytes(t Tag, v []byte) Field { return Field{Tag: t, Value: v} }

// Text returns a field holding s.
func Text(t Tag, s string) Field { return Field{Tag: t, Value: []byte(s)} }

// Uint8 returns a one-byte field.
func Uint8(t Tag, v uint8) Field { return Field{Tag: t, Value: []byte{v}} }

// Uint64 returns an eight-byte big-endian field.
func Uint64(t Tag, v uint64) Field {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return Field{Tag: t, Value: b}
}

// Uint16 returns a two-byte big-endian field.
func Uint16(t Tag, v uint16) Field { return Field{Tag: t, Value: []byte{byte(v >> 8), byte(v)}} }

// Wipe zeroes every field value: messages carry PIN blocks and keys.
func (m *Message) Wipe() {
	for _, f := range m.Fields {
		wipe(f.Value)
	}
}

// required lists the fields m must carry.
func (m *Message) required(spec commandSpec) []Tag {
	switch {
	case !m.Response:
		return spec.request
	case m.Status == StatusOK:
		return spec.response
	}
	return nil
}

// Marshal appends m's encoding to dst after checking it against the tables.
func (m *Message) Marshal(dst []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return dst, err
	}
	c := byte(m.Command)
	if m.Response {
		c |= ResponseBit
	}
	dst = append(dst, c, m.Seq)
	if m.Response {
		dst = append(dst, byte(m.Status))
	}
	for _, f := range m.Fields {
		dst = append(dst, byte(f.Tag), byte(len(f.Value)))
		dst = append(dst, f.Value...)
	}
	return dst, nil
}

// ParseMessage decodes a frame's payload. The fields share p's memory. On
// ErrUnknownCommand the returned Message still carries the command and sequence
// number, so that a PIN pad can answer "unknown command".
func ParseMessage(p []byte) (Message, error) {
	var m Message
	if len(p) < 2 {
		return m, ErrShort
	}
	m.Command, m.Seq = Command(p[0]&^ResponseBit), p[1]
	m.Response = p[0]&ResponseBit != 0
	rest := p[2:]
	if m.Response {
		if len(rest) < 1 {
			return m, fmt.Errorf("%w: %v response has no status", ErrShort, m.Command)
		}
		m.Status, rest = Status(rest[0]), rest[1:]
	}
	for len(rest) > 0 {
		if len(rest) < 2 {
			return m, fmt.Errorf("%w: %v: field header cut short", ErrField, m.Command)
		}
		t, n := Tag(rest[0]), int(rest[1])
		if len(rest) < 2+n {
			return m, fmt.Errorf("%w: %v: %v is cut short", ErrField, m.Command, t)
		}
		m.Fields = append(m.Fields, Field{Tag: t, Value: rest[2 : 2+n : 2+n]})
		rest = rest[2+n:]
	}
	if err := m.check(); err != nil {
		return m, err
	}
	return m, nil
}

// check validates m against the command and field tables.
func (m *Message) check() error {
	spec, ok := commands[m.Command]
	if !ok {
		if m.Response && m.Status == StatusUnknownCommand && len(m.Fields) == 0 {
			return nil // the answer to a command this end does not know
		}
		return fmt.Errorf("%w %02X", ErrUnknownCommand, byte(m.Command))
	}
	dir := "request"
	if m.Response {
		dir = "response"
	}
	for i, f := range m.Fields {
		if len(f.Value) > 255 {
			return fmt.Errorf("%w: %v %s: %v longer than 255 bytes", ErrField, m.Command, dir, f.Tag)
		}
		for _, g := range m.Fields[:i] {
			if g.Tag == f.Tag {
				return fmt.Errorf("%w: %v %s: %v appears twice", ErrField, m.Command, dir, f.Tag)
			}
		}
		ts, known := tags[f.Tag]
		if !known {
			continue // a newer peer's field: skipped, as the protocol says
		}
		if err := ts.check(f.Value); err != nil {
			return fmt.Errorf("%w: %v %s: %v %v", ErrField, m.Command, dir, f.Tag, err)
		}
	}
	for _, t := range m.required(spec) {
		if !m.Has(t) {
			return fmt.Errorf("%w: %v %s: %v missing", ErrField, m.Command, dir, t)
		}
	}
	return nil
}

// Has reports whether m carries field t.
func (m *Message) Has(t Tag) bool {
	for _, f := range m.Fields {
		if f.Tag == t {
			return true
		}
	}
	return false
}

// check says what is wrong with a value, without quoting it.
func (s tagSpec) check(v []byte) error {
	if len(v) < s.min || len(v) > s.max {
		if s.min == s.max {
			return fmt.Errorf("must be %d bytes, got %d", s.min, len(v))
		}
		return fmt.Errorf("must be %d to %d bytes, got %d", s.min, s.max, len(v))
	}
	switch s.kind {
	case text:
		if !utf8.Valid(v) || strings.ContainsFunc(string(v), isControl) {
			return errors.New("is not printable UTF-8")
		}
	case digits:
		for _, c := range v {
			if c < '0' || c > '9' {
				return errors.New("is not all digits")
			}
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) }

// String describes m for logs: command, sequence, status and fields, with the values
// of secret fields (PAN digits, PIN block, key) replaced by their length.
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v", m.Command)
	if m.Response {
		fmt.Fprintf(&b, " response #%d %v", m.Seq, m.Status)
	} else {
		fmt.Fprintf(&b, " request #%d", m.Seq)
	}
	for _, f := range m.Fields {
		ts, known := tags[f.Tag]
		switch {
		case !known || ts.secret:
			fmt.Fprintf(&b, " %v=(%d bytes)", f.Tag, len(f.Value))
		case ts.kind == binary:
			fmt.Fprintf(&b, " %v=%X", f.Tag, f.Value)
		default:
			fmt.Fprintf(&b, " %v=%q", f.Tag, f.Value)
		}
	}
	return b.String()
}
