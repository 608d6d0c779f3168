package escpos

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// DefaultMaxLines is the paper a Decoder keeps unless told otherwise:
// more than a 50 m roll holds (about 12,000 lines).
const DefaultMaxLines = 20000

// Errors that the Decoder wraps in *Error.
var (
	ErrTruncated = errors.New("stream ends inside the command")
	ErrUnknown   = errors.New("unknown command")
)

// Error is a problem in an ESC/POS byte stream.
type Error struct {
	Offset  int64  // of the command's first byte in the stream
	Command string // "GS ( k", "ESC Z", "GS 0x0A"
	Err     error
}

func (e *Error) Error() string {
	return fmt.Sprintf("escpos: %s at offset %d: %v", e.Command, e.Offset, e.Err)
}

// Unwrap returns ErrTruncated, ErrUnknown or the specific problem.
func (e *Error) Unwrap() error { return e.Err }

// Options configure a Decoder.
type Options struct {
	// Chinese starts the printer in Chinese character mode, as most
	// Chinese-market printers power on (and return to on ESC @); Epson's
	// international models start without it and wait for FS &.
	Chinese bool
	// MaxLines bounds the paper kept: past it, the oldest lines are torn
	// off. 0 means DefaultMaxLines.
	MaxLines int
}

// Decoder reads an ESC/POS byte stream, as a printer does, into Paper.
// Bytes may arrive in pieces of any size (it is an io.Writer): a command
// split across writes is completed by the next one. Unknown commands are
// stepped over and reported by Err, as a printer ignores them; decoding
// never stops. A Decoder is not safe for concurrent use.
type Decoder struct {
	// OnStatus, when set, is called for each DLE EOT n as soon as it is
	// decoded, so that a simulator can send the status byte back.
	OnStatus func(n StatusKind)

	opt   Options
	lines []Line
	torn  int
	pend  []byte // an incomplete command, completed by the next Write
	skip  int64  // image data still to step over
	off   int64  // stream offset of the next byte to decode
	err   error
	mode  mode
	line  lineBuf
	gb    *encoding.Decoder
}

// mode is the printer's state that a command sets and text obeys.
type mode struct {
	chinese  bool
	align    Align
	bold     bool
	size     [2]int // alphanumeric magnification: width, height
	kanji    [2]int // Chinese characters' magnification
	codePage *charmap.Charmap
	tabs     []int // columns of the tab stops
	qr       []byte
	qrStored bool
	qrModule int // dots; 0 is the printer's default, DefaultQRModule
	qrECC    ECLevel
}

// DefaultQRModule is a QR code's module size, in dots, until GS ( k sets one:
// Epson's power-on value.
const DefaultQRModule = 3

// lineBuf is the printer's line buffer: text waiting for LF.
type lineBuf struct {
	spans []Span
	text  []byte // of the last span, still growing
	style Style
	cols  int // width so far, in columns
}

func (l *lineBuf) empty() bool { return len(l.spans) == 0 && len(l.text) == 0 }

// defaultTabs are the power-on tab stops: every 8 characters.
var defaultTabs = func() []int {
	var t []int
	for c := 8; c < 256; c += 8 {
		t = append(t, c)
	}
	return t
}()

// NewDecoder returns a Decoder of a printer just switched on.
func NewDecoder(opt Options) *Decoder {
	if opt.MaxLines <= 0 {
		opt.MaxLines = DefaultMaxLines
	}
	d := &Decoder{opt: opt, gb: simplifiedchinese.GB18030.NewDecoder()}
	d.mode = d.powerOn()
	return d
}

// Decode reads a whole stream with the default Options. The paper holds
// everything decoded, even when the error is not nil.
func Decode(stream []byte) (Paper, error) {
	d := NewDecoder(Options{})
	d.Write(stream)
	err := d.Close()
	return d.Paper(), err
}

func (d *Decoder) powerOn() mode {
	return mode{
		chinese:  d.opt.Chinese,
		size:     [2]int{1, 1},
		kanji:    [2]int{1, 1},
		codePage: codePages[0],
		tabs:     defaultTabs,
		qr:       d.mode.qr[:0],
	}
}

// Write decodes p. It always consumes all of p and returns no error:
// problems are kept for Err, as a printer keeps printing.
func (d *Decoder) Write(p []byte) (int, error) {
	n := len(p)
	if d.skip > 0 {
		k := min(d.skip, int64(len(p)))
		d.skip -= k
		d.off += k
		p = p[k:]
	}
	b := p
	if len(d.pend) > 0 {
		d.pend = append(d.pend, p...)
		b = d.pend
	}
	rest := b[d.run(b):]
	d.pend = append(d.pend[:0], rest...) // copy handles the overlap
	return n, nil
}

// run decodes what it can of b and returns how many bytes it used.
func (d *Decoder) run(b []byte) int {
	i := 0
	for i < len(b) {
		n := d.step(b[i:])
		if n == 0 {
			break // an incomplete command: wait for more
		}
		i += n
		d.off += int64(n)
	}
	return i
}

// step decodes the command or text at the start of b and returns its
// length, or 0 when b holds only part of it.
func (d *Decoder) step(b []byte) int {
	c := b[0]
	switch {
	case c >= ' ' && c < 0x7F:
		n := 1
		for n < len(b) && b[n] >= ' ' && b[n] < 0x7F {
			n++
		}
		d.put(b[:n], d.style(d.mode.size), n)
		return n
	case c >= 0x80:
		return d.highByte(b)
	case c == esc || c == gs || c == fs || c == dle:
		return d.command(b)
	case c < ' ' && controls[c] != nil:
		controls[c](d)
	}
	return 1 // other control bytes and DEL are ignored
}

func (d *Decoder) command(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	cmd, ok := commands[[2]byte{b[0], b[1]}]
	if !ok {
		d.fail(b[:2], ErrUnknown)
		if b[1] < ' ' {
			return 1 // a lone prefix: start again at the next control byte
		}
		return 2
	}
	hdr, total := cmd.size(b)
	if hdr > len(b) {
		return 0
	}
	if cmd.exec != nil {
		cmd.exec(d, b[:hdr])
	}
	n := min(total, int64(len(b)))
	d.skip = total - n
	return int(n)
}

// highByte decodes a byte above 0x7F: a GB18030 character in Chinese
// mode, else a character of the code table.
func (d *Decoder) highByte(b []byte) int {
	if !d.mode.chinese {
		r := utf8.RuneError
		if d.mode.codePage != nil {
			r = d.mode.codePage.DecodeByte(b[0])
		}
		d.putRune(r, d.style(d.mode.size))
		return 1
	}
	n := gbLen(b)
	switch {
	case n == 0:
		return 0
	case n < 0:
		// Not GB18030: the printer prints a substitute for the first
		// byte and reads the next as new data.
		d.putRune(utf8.RuneError, d.style(d.mode.kanji))
		return 1
	}
	d.putRune(d.decodeGB(b[:n]), d.style(d.mode.kanji))
	return n
}

// gbLen returns the length of the GB18030 character at the start of b: 2
// or 4, 0 if b is too short to tell, -1 if it is not one.
func gbLen(b []byte) int {
	if b[0] == 0x80 || b[0] == 0xFF {
		return -1
	}
	in := func(c, lo, hi byte) bool { return c >= lo && c <= hi }
	switch {
	case len(b) < 2:
		return 0
	case in(b[1], 0x40, 0x7E) || in(b[1], 0x80, 0xFE):
		return 2
	case !in(b[1], 0x30, 0x39):
		return -1
	case len(b) < 3:
		return 0
	case !in(b[2], 0x81, 0xFE):
		return -1
	case len(b) < 4:
		return 0
	case !in(b[3], 0x30, 0x39):
		return -1
	}
	return 4
}

func (d *Decoder) decodeGB(seq []byte) rune {
	var out [utf8.UTFMax * 2]byte
	d.gb.Reset()
	n, _, err := d.gb.Transform(out[:], seq, true)
	if err != nil || n == 0 {
		return utf8.RuneError
	}
	r, _ := utf8.DecodeRune(out[:n])
	return r
}

func (d *Decoder) style(size [2]int) Style {
	return Style{Bold: d.mode.bold, Width: size[0], Height: size[1]}
}

// put adds text of the given style and width in columns to the line.
func (d *Decoder) put(text []byte, st Style, cols int) {
	l := &d.line
	if len(l.text) > 0 && l.style != st {
		l.spans = append(l.spans, Span{Text: string(l.text), Style: l.style})
		l.text = l.text[:0]
	}
	l.style = st
	l.text = append(l.text, text...)
	l.cols += cols * st.Width
}

func (d *Decoder) putRune(r rune, st Style) {
	var buf [utf8.UTFMax]byte
	d.put(utf8.AppendRune(buf[:0], r), st, cells.RuneWidth(r))
}

// endLine prints the line buffer, even empty, as LF does.
func (d *Decoder) endLine() {
	l := &d.line
	if len(l.text) > 0 {
		l.spans = append(l.spans, Span{Text: string(l.text), Style: l.style})
	}
	d.emit(Line{Kind: KindText, Align: d.mode.align, Spans: l.spans})
	*l = lineBuf{text: l.text[:0]}
}

// flushText prints the line buffer if it holds anything: what the printer
// does before a cut, a symbol or an image, which start a line.
func (d *Decoder) flushText() {
	if !d.line.empty() {
		d.endLine()
	}
}

func (d *Decoder) emit(l Line) {
	d.lines = append(d.lines, l)
	// Tear off in batches, so that a long roll costs one copy per
	// MaxLines lines.
	if limit := d.opt.MaxLines; len(d.lines) >= 2*limit {
		drop := len(d.lines) - limit
		d.lines = d.lines[:copy(d.lines, d.lines[drop:])]
		d.torn += drop
	}
}

// Paper returns the paper printed so far. Text still in the line buffer
// (no LF yet) is not on it, as it is not on a printer's.
func (d *Decoder) Paper() Paper {
	lines, torn := d.lines, d.torn
	if over := len(lines) - d.opt.MaxLines; over > 0 {
		lines, torn = lines[over:], torn+over
	}
	return Paper{Lines: slices.Clone(lines), Torn: torn}
}

// Clear tears off the paper printed so far; the printer's modes stay.
func (d *Decoder) Clear() {
	d.lines, d.torn = d.lines[:0], 0
}

// Err returns the first problem met in the stream, or nil.
func (d *Decoder) Err() error { return d.err }

// Close ends the stream: text left in the line buffer is printed, and a
// command cut short is reported (wrapping ErrTruncated), unless an earlier
// problem was.
func (d *Decoder) Close() error {
	switch {
	case len(d.pend) > 0:
		what := "GB18030 character"
		if c := d.pend[0]; c == esc || c == gs || c == fs || c == dle {
			what = commandName(d.pend)
		}
		d.setErr(&Error{Offset: d.off, Command: what, Err: ErrTruncated})
	case d.skip > 0:
		d.setErr(&Error{Offset: d.off, Command: "image data", Err: ErrTruncated})
	}
	d.pend, d.skip = d.pend[:0], 0
	d.flushText()
	return d.err
}

// fail records a problem with the command at the start of b.
func (d *Decoder) fail(b []byte, err error) {
	d.setErr(&Error{Offset: d.off, Command: commandName(b), Err: err})
}

func (d *Decoder) setErr(err error) {
	if d.err == nil {
		d.err = err
	}
}

// The commands' effects, named after the Epson reference; c is the
// command's bytes as its size function delimits them.

func (d *Decoder) initialize(c []byte) {
	// ESC @ clears the line buffer too: unprinted text is lost.
	d.line = lineBuf{text: d.line.text[:0]}
	d.mode = d.powerOn()
}

// printMode is ESC ! n: bit 3 emphasized, bit 4 double height, bit 5
// double width, for alphanumeric characters.
func (d *Decoder) printMode(c []byte) {
	n := int(c[2])
	d.mode.bold = n&0x08 != 0
	d.mode.size = [2]int{1 + n>>5&1, 1 + n>>4&1}
}

func (d *Decoder) emphasize(c []byte) { d.mode.bold = c[2]&1 == 1 }

// charSize is GS ! n: width magnification in the high nibble, height in
// the low one, each 0-7 for 1-8 times; for all characters.
func (d *Decoder) charSize(c []byte) {
	w, h := int(c[2]>>4), int(c[2]&0x0F)
	if w > 7 || h > 7 {
		return // out of range: ignored
	}
	d.mode.size = [2]int{w + 1, h + 1}
	d.mode.kanji = d.mode.size
}

// kanjiMode is FS ! n: bit 2 double width, bit 3 double height, for
// Chinese characters.
func (d *Decoder) kanjiMode(c []byte) {
	n := int(c[2])
	d.mode.kanji = [2]int{1 + n>>2&1, 1 + n>>3&1}
}

func (d *Decoder) quadruple(c []byte) {
	m := 1 + int(c[2]&1)
	d.mode.kanji = [2]int{m, m}
}

func (d *Decoder) chineseOn([]byte)  { d.mode.chinese = true }
func (d *Decoder) chineseOff([]byte) { d.mode.chinese = false }

// justify is ESC a n (0/48 left, 1/49 centre, 2/50 right). The printer
// takes it only at the start of a line and ignores it elsewhere.
func (d *Decoder) justify(c []byte) {
	if !d.line.empty() {
		return
	}
	if a, ok := justifications[c[2]]; ok {
		d.mode.align = a
	}
}

var justifications = map[byte]Align{0: Left, 1: Center, 2: Right, '0': Left, '1': Center, '2': Right}

// feedLines is ESC d n: print the line and feed n lines, so the line and
// n-1 blank ones; n = 0 prints without feeding.
func (d *Decoder) feedLines(c []byte) {
	n := int(c[2])
	if n == 0 {
		d.flushText()
		return
	}
	d.endLine()
	for range n - 1 {
		d.endLine()
	}
}

// printLine is for the commands that print the line buffer and move the
// paper by dots: what they feed is not a line of text.
func (d *Decoder) printLine([]byte) { d.flushText() }

// tab is HT: move to the next tab stop beyond the print position (in
// columns); with none left it is ignored.
func (d *Decoder) tab() {
	for _, t := range d.mode.tabs {
		if t > d.line.cols {
			st := d.style(d.mode.size)
			st.Width = 1 // the gap is t columns wide whatever the size
			d.put(spaces[:t-d.line.cols], st, 0)
			d.line.cols = t
			return
		}
	}
}

var spaces = []byte(fmt.Sprintf("%256s", ""))

func (d *Decoder) setTabs(c []byte) {
	d.mode.tabs = nil
	for _, n := range c[2:] {
		if n == nul {
			break
		}
		d.mode.tabs = append(d.mode.tabs, int(n))
	}
}

func (d *Decoder) codeTable(c []byte) { d.mode.codePage = codePages[c[2]] }

func (d *Decoder) cut(c []byte) {
	partial, ok := cutModes[c[2]]
	if !ok {
		return // not a cut mode: ignored
	}
	d.flushText()
	d.emit(Line{Kind: KindCut, Partial: partial})
}

func (d *Decoder) partialCut([]byte) {
	d.flushText()
	d.emit(Line{Kind: KindCut, Partial: true})
}

// gsParen runs the GS ( k functions of the QR code (cn = 49): 180 stores
// the data, 181 prints it. The model, size and error correction functions
// and the other 2D symbologies change nothing a person reads.
func (d *Decoder) gsParen(c []byte) {
	if c[2] != 'k' || len(c) < 7 || c[5] != 49 {
		return
	}
	switch fn, p := c[6], c[7:]; fn {
	case 67: // module size: n = 1 to 16 dots; a printer ignores anything else
		if len(p) == 1 && p[0] >= 1 && p[0] <= 16 {
			d.mode.qrModule = int(p[0])
		}
	case 69: // error correction level: n = 48 (L) to 51 (H)
		if len(p) == 1 && p[0] >= 48 && p[0] <= 51 {
			d.mode.qrECC = ECLevel(p[0] - 48)
		}
	case 80: // store: m = 48, then the data
		if len(p) < 2 {
			return
		}
		if len(p)-1 > MaxQRData {
			d.fail(c, fmt.Errorf("QR code data of %d bytes exceeds %d", len(p)-1, MaxQRData))
			return
		}
		d.mode.qr = append(d.mode.qr[:0], p[1:]...)
		d.mode.qrStored = true
	case 81: // print
		if !d.mode.qrStored {
			return
		}
		d.flushText()
		module := d.mode.qrModule
		if module == 0 {
			module = DefaultQRModule
		}
		d.emit(Line{Kind: KindQR, Align: d.mode.align, Data: string(d.mode.qr), Module: module, ECC: d.mode.qrECC})
	}
}

func (d *Decoder) barcode(c []byte) {
	m := c[2]
	name, ok := barcodes[m]
	if !ok {
		d.fail(c, fmt.Errorf("unknown barcode system %d", m))
		return
	}
	var data []byte
	if m <= 6 {
		if len(c) < 4 || c[len(c)-1] != nul {
			d.fail(c, errors.New("barcode data has no NUL within 255 bytes"))
			return
		}
		data = c[3 : len(c)-1]
	} else {
		data = c[4:]
	}
	text := string(data)
	if m == 73 {
		t, err := code128Text(data)
		if err != nil {
			d.fail(c, err)
		} else {
			text = t
		}
	}
	d.flushText()
	d.emit(Line{Kind: KindBarcode, Align: d.mode.align, Data: text, Symbology: name})
}

// code128Text returns the human-readable text of GS k 73 data: a code set
// selection ({A, {B, {C}, then symbol values; "{" starts a special
// character: {S shift, {1-{4 FNC1-4, {{ a '{'.
func code128Text(d []byte) (string, error) {
	if len(d) < 2 || d[0] != '{' || d[1] < 'A' || d[1] > 'C' {
		return "", errors.New("CODE128 data does not start with a code set ({A, {B or {C)")
	}
	set, shift := d[1], false
	var out []byte
	for i := 2; i < len(d); i++ {
		c := d[i]
		if c == '{' { // never a value in code set C (0-99); "{{" in A and B
			if i+1 == len(d) {
				return "", errors.New("CODE128 data ends with '{'")
			}
			i++
			switch d[i] {
			case 'A', 'B', 'C':
				set = d[i]
			case 'S':
				shift = set != 'C'
			case '1', '2', '3', '4': // function characters have no text
			case '{':
				out = append(out, '{')
			default:
				return "", fmt.Errorf("CODE128 special character {%c is not defined", d[i])
			}
			continue
		}
		cur := set
		if shift {
			cur, shift = 'A'+'B'-set, false
		}
		switch {
		case cur == 'C' && c <= 99:
			out = append(out, '0'+c/10, '0'+c%10)
		case cur == 'A' && c <= 95, cur == 'B' && c >= 32 && c <= 127:
			out = append(out, c)
		default:
			return "", fmt.Errorf("CODE128 byte 0x%02X is not in code set %c", c, cur)
		}
	}
	return string(out), nil
}

// rasterImage is GS v 0 m xL xH yL yH: x bytes (8 dots each) by y rows.
func (d *Decoder) rasterImage(c []byte) {
	if c[2] != '0' {
		return
	}
	x := int(c[4]) | int(c[5])<<8
	y := int(c[6]) | int(c[7])<<8
	d.flushText()
	d.emit(Line{Kind: KindImage, Align: d.mode.align, Data: fmt.Sprintf("%dx%d", 8*x, y)})
}

// nvImage is FS p n m: print the logo stored as NV image n.
func (d *Decoder) nvImage(c []byte) {
	d.flushText()
	d.emit(Line{Kind: KindImage, Align: d.mode.align, Data: fmt.Sprintf("NV %d", c[2])})
}

func (d *Decoder) statusRequest(c []byte) {
	if d.OnStatus != nil {
		d.OnStatus(StatusKind(c[2]))
	}
}
