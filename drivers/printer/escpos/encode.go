package escpos

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Align is the justification of a line (ESC a n).
type Align byte

// Justifications, numbered as ESC a numbers them.
const (
	Left Align = iota
	Center
	Right
)

// ECLevel is the error correction level of a QR code.
type ECLevel byte

// QR error correction levels: L recovers about 7 % of the symbol, M 15 %,
// Q 25 %, H 30 %.
const (
	ECL ECLevel = iota
	ECM
	ECQ
	ECH
)

// Limits the printer sets on command parameters.
const (
	// MaxQRData is the most a QR code can hold (7089 numeric characters);
	// GS ( k function 180 accepts no more.
	MaxQRData = 7089
	// maxCode128 is GS k 73's limit on n, code set prefix included.
	maxCode128 = 255
)

// Builder writes the ESC/POS byte stream of a receipt. Its methods append
// and return the Builder, so that a receipt reads top to bottom. As with
// bufio.Writer, the first error sticks and makes later calls do nothing:
// check Err (or the error of WriteTo) once at the end.
//
// The zero Builder is ready to use; start a receipt with Init.
type Builder struct {
	buf     []byte
	err     error
	chinese bool // FS & sent since the last ESC @
	midLine bool // text written since the last line feed
	gb      *encoding.Encoder
}

// Init resets the printer to its power-on modes (ESC @).
func (b *Builder) Init() *Builder {
	b.chinese, b.midLine = false, false
	return b.raw(esc, '@')
}

// Text writes s at the current print position. '\n' ends the line (LF).
// Every other control character, private-use characters and invalid UTF-8
// print as '?', so that no string (a merchant name, a host message) can
// smuggle a command to the printer. Text other than ASCII selects Chinese
// mode (FS &) once and is sent in GB18030, which covers all of Unicode.
func (b *Builder) Text(s string) *Builder {
	if b.err != nil || s == "" {
		return b
	}
	clean, ascii := sanitize(s)
	if ascii {
		b.buf = append(b.buf, clean...)
	} else {
		if !b.chinese {
			b.chinese = true
			b.buf = append(b.buf, fs, '&')
		}
		b.appendGB18030(clean)
	}
	b.midLine = clean[len(clean)-1] != '\n'
	return b
}

// sanitize returns s with control characters other than '\n' and invalid
// UTF-8 replaced by '?', and whether the result is all ASCII.
func sanitize(s string) (clean string, ascii bool) {
	ascii = true
	dirty := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		bad := unprintable(r, n)
		dirty = dirty || bad
		ascii = ascii && (r < utf8.RuneSelf || bad) // bad ones become '?'

	}
	if !dirty {
		return s, ascii
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unprintable(r, n) {
			r = '?'
		}
		sb.WriteRune(r)
	}
	return sb.String(), ascii
}

// unprintable reports whether the rune r, n bytes long in UTF-8, must not
// reach the printer as it is: a byte that is not UTF-8, a control character
// other than '\n', or a private-use character. No printer font has the
// latter, and x/text's GB18030 encoder turns part of them into other
// characters (golang/go#62063).
func unprintable(r rune, n int) bool {
	return (r == utf8.RuneError && n == 1) || (r != '\n' && unicode.IsControl(r)) || unicode.Is(unicode.Co, r)
}

// appendGB18030 appends s in GB18030. A UTF-8 rune never takes more than
// twice its length in GB18030 (2 → 4 bytes at worst), so one transform into
// a buffer of twice the size always completes.
func (b *Builder) appendGB18030(s string) {
	if b.gb == nil {
		b.gb = simplifiedchinese.GB18030.NewEncoder()
	}
	b.gb.Reset()
	n := len(b.buf)
	b.buf = slices.Grow(b.buf, 2*len(s))
	nDst, _, err := b.gb.Transform(b.buf[n:cap(b.buf)], []byte(s), true)
	if err != nil {
		b.buf = b.buf[:n]
		b.err = fmt.Errorf("escpos: encoding text as GB18030: %w", err)
		return
	}
	b.buf = b.buf[:n+nDst]
}

// Line writes s and ends the line.
func (b *Builder) Line(s string) *Builder { return b.Text(s).LF() }

// LF prints the line and feeds one line.
func (b *Builder) LF() *Builder {
	b.midLine = false
	return b.raw(lf)
}

// Feed prints the line and feeds n lines (ESC d n), 0 ≤ n ≤ 255.
func (b *Builder) Feed(n int) *Builder {
	if n < 0 || n > 255 {
		return b.fail(fmt.Errorf("escpos: feed of %d lines is outside 0-255", n))
	}
	b.midLine = false
	return b.raw(esc, 'd', byte(n))
}

// Bold turns emphasized printing on or off (ESC E n).
func (b *Builder) Bold(on bool) *Builder {
	return b.raw(esc, 'E', boolByte(on))
}

// Size sets the character magnification (GS ! n): w times as wide and
// h times as tall, each 1-8. Size(2, 2) is the usual "double size".
func (b *Builder) Size(w, h int) *Builder {
	if w < 1 || w > 8 || h < 1 || h > 8 {
		return b.fail(fmt.Errorf("escpos: character size %d×%d is outside 1-8", w, h))
	}
	return b.raw(gs, '!', byte(w-1)<<4|byte(h-1))
}

// Align sets the justification (ESC a n). The printer only accepts it at
// the start of a line, so Align ends an unfinished line first.
func (b *Builder) Align(a Align) *Builder {
	if a > Right {
		return b.fail(fmt.Errorf("escpos: alignment %d is not Left, Center or Right", a))
	}
	return b.lineStart().raw(esc, 'a', byte(a))
}

// Cut feeds the paper to the cutter and cuts it, leaving one point uncut
// (GS V 66 0), which is what receipt printers are asked to do.
func (b *Builder) Cut() *Builder { return b.lineStart().raw(gs, 'V', 66, 0) }

// FullCut feeds the paper to the cutter and cuts it through (GS V 65 0).
func (b *Builder) FullCut() *Builder { return b.lineStart().raw(gs, 'V', 65, 0) }

// QR prints data as a model 2 QR code with modules of module dots (1-16)
// and error correction ecc (GS ( k functions 165, 167, 169, 180, 181).
func (b *Builder) QR(data string, module int, ecc ECLevel) *Builder {
	switch {
	case b.err != nil:
		return b
	case data == "":
		return b.fail(errors.New("escpos: QR code with no data"))
	case len(data) > MaxQRData:
		return b.fail(fmt.Errorf("escpos: QR code data of %d bytes exceeds %d", len(data), MaxQRData))
	case module < 1 || module > 16:
		return b.fail(fmt.Errorf("escpos: QR module size %d is outside 1-16", module))
	case ecc > ECH:
		return b.fail(fmt.Errorf("escpos: QR error correction level %d is not L, M, Q or H", ecc))
	}
	b.lineStart()
	b.raw(gs, '(', 'k', 4, 0, 49, 65, 50, 0) // model 2
	b.raw(gs, '(', 'k', 3, 0, 49, 67, byte(module))
	b.raw(gs, '(', 'k', 3, 0, 49, 69, '0'+byte(ecc))
	n := len(data) + 3 // cn fn m, then the data
	b.raw(gs, '(', 'k', byte(n), byte(n>>8), 49, 80, '0')
	b.buf = append(b.buf, data...)
	return b.raw(gs, '(', 'k', 3, 0, 49, 81, '0')
}

// Code128 prints data as a CODE128 barcode with its digits written below
// (HRI, GS H 2), GS k 73. data is printable ASCII; all digits of even
// length go in code set C (two digits a bar pattern: an RRN fits a 58 mm
// roll), anything else in code set B.
func (b *Builder) Code128(data string) *Builder {
	if b.err != nil {
		return b
	}
	payload, err := code128Payload(data)
	if err != nil {
		return b.fail(err)
	}
	b.lineStart()
	b.raw(gs, 'H', 2)
	b.raw(gs, 'k', 73, byte(len(payload)))
	b.buf = append(b.buf, payload...)
	return b
}

// code128Payload returns the GS k 73 data for data: code set selection,
// then the symbol values.
func code128Payload(data string) ([]byte, error) {
	if data == "" {
		return nil, errors.New("escpos: CODE128 barcode with no data")
	}
	digits := len(data)%2 == 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c < 0x20 || c > 0x7E {
			return nil, fmt.Errorf("escpos: CODE128 data byte %d is not printable ASCII", i)
		}
		digits = digits && c >= '0' && c <= '9'
	}
	var p []byte
	if digits {
		p = append(p, '{', 'C')
		for i := 0; i < len(data); i += 2 {
			p = append(p, (data[i]-'0')*10+data[i+1]-'0')
		}
	} else {
		p = append(p, '{', 'B')
		for i := 0; i < len(data); i++ {
			if data[i] == '{' {
				p = append(p, '{') // "{{" is a literal '{'
			}
			p = append(p, data[i])
		}
	}
	if len(p) > maxCode128 {
		return nil, fmt.Errorf("escpos: CODE128 data of %d bytes is too long for one barcode", len(data))
	}
	return p, nil
}

// StatusRequest returns DLE EOT n, which asks the printer for one status
// byte of kind n; Status.Update reads the reply. The printer answers it
// at once, even while it is busy or off line.
func StatusRequest(n StatusKind) []byte { return []byte{dle, eot, byte(n)} }

// Bytes returns the stream written so far. It is not to be sent when
// Err is not nil.
func (b *Builder) Bytes() []byte { return b.buf }

// Err returns the first error met, if any.
func (b *Builder) Err() error { return b.err }

// Reset empties the Builder for the next receipt.
func (b *Builder) Reset() {
	b.buf, b.err, b.chinese, b.midLine = b.buf[:0], nil, false, false
}

// WriteTo writes the stream to w, unless an error stuck.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := w.Write(b.buf)
	return int64(n), err
}

// lineStart ends an unfinished line, for the commands that the printer
// only takes at the start of one.
func (b *Builder) lineStart() *Builder {
	if b.midLine {
		b.LF()
	}
	return b
}

func (b *Builder) raw(p ...byte) *Builder {
	if b.err == nil {
		b.buf = append(b.buf, p...)
	}
	return b
}

func (b *Builder) fail(err error) *Builder {
	if b.err == nil {
		b.err = err
	}
	return b
}

func boolByte(on bool) byte {
	if on {
		return 1
	}
	return 0
}
