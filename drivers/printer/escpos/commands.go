package escpos

import (
	"fmt"

	"golang.org/x/text/encoding/charmap"
)

// Control bytes and command prefixes.
const (
	nul = 0x00
	eot = 0x04
	enq = 0x05
	ht  = 0x09
	lf  = 0x0A
	ff  = 0x0C
	dle = 0x10
	dc4 = 0x14
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
)

// command is one ESC/POS command as the decoder sees it.
type command struct {
	// size returns how many bytes of the command exec needs (hdr) and how
	// long the whole command is (total ≥ hdr). A size larger than b means
	// "wait for more bytes". The bytes after hdr (image data) are stepped
	// over as they arrive, never held.
	size func(b []byte) (hdr int, total int64)
	// exec applies the command; nil for the many commands that change
	// nothing a person reads (line spacing, margins, fonts, ...).
	exec func(d *Decoder, c []byte)
}

// commands is the ESC/POS command set as data, keyed by prefix and
// command byte, with lengths from the Epson ESC/POS Command Reference
// (and FS commands of the Chinese models). Real-time DLE commands are here
// too: the decoder sees the stream in order, so it never mistakes image
// data for them as a printer can.
var commands = map[[2]byte]command{
	{esc, ff}:   {fixed(2), nil},                        // print in page mode
	{esc, ' '}:  {fixed(3), nil},                        // right-side character spacing
	{esc, '!'}:  {fixed(3), (*Decoder).printMode},       // print mode
	{esc, '$'}:  {fixed(4), nil},                        // absolute print position
	{esc, '%'}:  {fixed(3), nil},                        // user-defined character set
	{esc, '&'}:  {userChars, nil},                       // define user-defined characters
	{esc, '('}:  {parenSkip, nil},                       // ESC ( A, ESC ( Y: pL pH functions
	{esc, '*'}:  {bitImage, nil},                        // bit image (within a line)
	{esc, '-'}:  {fixed(3), nil},                        // underline
	{esc, '2'}:  {fixed(2), nil},                        // default line spacing
	{esc, '3'}:  {fixed(3), nil},                        // line spacing
	{esc, '<'}:  {fixed(2), nil},                        // return home
	{esc, '='}:  {fixed(3), nil},                        // select peripheral device
	{esc, '?'}:  {fixed(3), nil},                        // cancel user-defined character
	{esc, '@'}:  {fixed(2), (*Decoder).initialize},      // initialize printer
	{esc, 'D'}:  {tabStops, (*Decoder).setTabs},         // horizontal tab positions
	{esc, 'E'}:  {fixed(3), (*Decoder).emphasize},       // emphasized (bold)
	{esc, 'G'}:  {fixed(3), nil},                        // double-strike
	{esc, 'J'}:  {fixed(3), (*Decoder).printLine},       // print and feed n dots
	{esc, 'K'}:  {fixed(3), (*Decoder).printLine},       // print and reverse feed n dots
	{esc, 'L'}:  {fixed(2), nil},                        // page mode
	{esc, 'M'}:  {fixed(3), nil},                        // character font
	{esc, 'R'}:  {fixed(3), nil},                        // international character set
	{esc, 'S'}:  {fixed(2), nil},                        // standard mode
	{esc, 'T'}:  {fixed(3), nil},                        // print direction in page mode
	{esc, 'U'}:  {fixed(3), nil},                        // unidirectional printing
	{esc, 'V'}:  {fixed(3), nil},                        // 90° rotation
	{esc, 'W'}:  {fixed(10), nil},                       // print area in page mode
	{esc, '\\'}: {fixed(4), nil},                        // relative print position
	{esc, 'a'}:  {fixed(3), (*Decoder).justify},         // justification
	{esc, 'c'}:  {fixed(4), nil},                        // ESC c 3/4/5: paper sensors, panel keys
	{esc, 'd'}:  {fixed(3), (*Decoder).feedLines},       // print and feed n lines
	{esc, 'e'}:  {fixed(3), (*Decoder).printLine},       // print and reverse feed n lines
	{esc, 'i'}:  {fixed(2), (*Decoder).partialCut},      // partial cut (one point left)
	{esc, 'm'}:  {fixed(2), (*Decoder).partialCut},      // partial cut (three points left)
	{esc, 'p'}:  {fixed(5), nil},                        // drawer kick-out pulse
	{esc, 'r'}:  {fixed(3), nil},                        // print colour
	{esc, 't'}:  {fixed(3), (*Decoder).codeTable},       // character code table
	{esc, 'u'}:  {fixed(3), nil},                        // transmit peripheral status
	{esc, 'v'}:  {fixed(2), nil},                        // transmit paper sensor status
	{esc, '{'}:  {fixed(3), nil},                        // upside-down printing
	{gs, '!'}:   {fixed(3), (*Decoder).charSize},        // character size
	{gs, '$'}:   {fixed(4), nil},                        // absolute vertical position
	{gs, '('}:   {parenSize, (*Decoder).gsParen},        // GS ( x pL pH functions: QR code etc.
	{gs, '*'}:   {downloadedImage, nil},                 // define downloaded bit image
	{gs, '/'}:   {fixed(3), nil},                        // print downloaded bit image
	{gs, ':'}:   {fixed(2), nil},                        // macro definition
	{gs, '8'}:   {lenAt(3, 4, false), nil},              // GS 8 L: graphics, 4-byte length
	{gs, 'B'}:   {fixed(3), nil},                        // white/black reverse
	{gs, 'E'}:   {fixed(3), nil},                        // head control method
	{gs, 'H'}:   {fixed(3), nil},                        // HRI position
	{gs, 'I'}:   {fixed(3), nil},                        // transmit printer ID
	{gs, 'L'}:   {fixed(4), nil},                        // left margin
	{gs, 'P'}:   {fixed(4), nil},                        // motion units
	{gs, 'T'}:   {fixed(3), nil},                        // print position to line start
	{gs, 'V'}:   {cutSize, (*Decoder).cut},              // cut
	{gs, 'W'}:   {fixed(4), nil},                        // print area width
	{gs, '\\'}:  {fixed(4), nil},                        // relative vertical position
	{gs, '^'}:   {fixed(5), nil},                        // execute macro
	{gs, 'a'}:   {fixed(3), nil},                        // automatic status back
	{gs, 'b'}:   {fixed(3), nil},                        // smoothing
	{gs, 'c'}:   {fixed(2), nil},                        // print counter
	{gs, 'f'}:   {fixed(3), nil},                        // HRI font
	{gs, 'g'}:   {fixed(6), nil},                        // GS g 0, GS g 2: maintenance counters
	{gs, 'h'}:   {fixed(3), nil},                        // barcode height
	{gs, 'j'}:   {fixed(3), nil},                        // automatic status back (ink)
	{gs, 'k'}:   {barcodeSize, (*Decoder).barcode},      // print barcode
	{gs, 'r'}:   {fixed(3), nil},                        // transmit status
	{gs, 'v'}:   {rasterImage, (*Decoder).rasterImage},  // GS v 0: raster bit image
	{gs, 'w'}:   {fixed(3), nil},                        // barcode module width
	{gs, 'z'}:   {fixed(5), nil},                        // GS z 0: online recovery wait time
	{fs, '!'}:   {fixed(3), (*Decoder).kanjiMode},       // print mode of Chinese characters
	{fs, '&'}:   {fixed(2), (*Decoder).chineseOn},       // Chinese (Kanji) character mode
	{fs, '('}:   {parenSkip, nil},                       // FS ( x pL pH functions
	{fs, '-'}:   {fixed(3), nil},                        // underline of Chinese characters
	{fs, '.'}:   {fixed(2), (*Decoder).chineseOff},      // cancel Chinese character mode
	{fs, '2'}:   {fixed(76), nil},                       // define a user Chinese character (24×24)
	{fs, '?'}:   {fixed(4), nil},                        // cancel a user Chinese character
	{fs, 'C'}:   {fixed(3), nil},                        // Kanji code system
	{fs, 'S'}:   {fixed(4), nil},                        // Chinese character spacing
	{fs, 'W'}:   {fixed(3), (*Decoder).quadruple},       // quadruple-size Chinese characters
	{fs, 'g'}:   {nvUserMemory, nil},                    // FS g 1, FS g 2: NV user memory
	{fs, 'p'}:   {fixed(4), (*Decoder).nvImage},         // print NV bit image (logo)
	{dle, eot}:  {statusSize, (*Decoder).statusRequest}, // real-time status
	{dle, enq}:  {fixed(3), nil},                        // real-time request
	{dle, dc4}:  {dc4Size, nil},                         // real-time pulse, power off, buzzer, clear
}

// controls are the one-byte commands; other control bytes are ignored, as
// the printer ignores them.
var controls = [0x20]func(*Decoder){
	ht: (*Decoder).tab,
	lf: (*Decoder).endLine,
	ff: (*Decoder).flushText, // roll paper: print the line, as LF
	// CR is ignored: serial printers ship with "auto line feed" off.
}

// fixed is the size of a command of n bytes.
func fixed(n int) func([]byte) (int, int64) {
	return func([]byte) (int, int64) { return n, int64(n) }
}

// lenAt is the size of a command whose data length is a little-endian
// number of width bytes at b[at] (GS ( x pL pH, GS 8 L p1..p4). keep says
// that exec needs the data, which is then at most 65535 bytes.
func lenAt(at, width int, keep bool) func([]byte) (int, int64) {
	return func(b []byte) (int, int64) {
		h := at + width
		if len(b) < h {
			return h, int64(h)
		}
		var n int64
		for i := width - 1; i >= 0; i-- {
			n = n<<8 | int64(b[at+i])
		}
		if keep {
			return h + int(n), int64(h) + n
		}
		return h, int64(h) + n
	}
}

var (
	parenSkip = lenAt(3, 2, false)
	parenKeep = lenAt(3, 2, true)
)

// parenSize keeps the data of GS ( k (2D symbols) and steps over the rest.
func parenSize(b []byte) (int, int64) {
	if len(b) >= 3 && b[2] == 'k' {
		return parenKeep(b)
	}
	return parenSkip(b)
}

// bitImage is ESC * m nL nH d1...dk: k = n columns, three bytes a column
// in the 24-dot modes (m = 32, 33).
func bitImage(b []byte) (int, int64) {
	if len(b) < 5 {
		return 5, 5
	}
	n := int64(b[3]) | int64(b[4])<<8
	if b[2] == 32 || b[2] == 33 {
		n *= 3
	}
	return 5, 5 + n
}

// rasterImage is GS v 0 m xL xH yL yH d1...dk: k = x bytes × y rows.
func rasterImage(b []byte) (int, int64) {
	if len(b) < 8 {
		return 8, 8
	}
	x := int64(b[4]) | int64(b[5])<<8
	y := int64(b[6]) | int64(b[7])<<8
	return 8, 8 + x*y
}

// downloadedImage is GS * x y d1...dk: k = x × y × 8.
func downloadedImage(b []byte) (int, int64) {
	if len(b) < 4 {
		return 4, 4
	}
	return 4, 4 + int64(b[2])*int64(b[3])*8
}

// userChars is ESC & y c1 c2, then for each character c1..c2 its width x
// and y × x bytes of dots.
func userChars(b []byte) (int, int64) {
	if len(b) < 5 {
		return 5, 5
	}
	y, c1, c2 := int(b[2]), int(b[3]), int(b[4])
	n := 5
	for c := c1; c <= c2; c++ {
		if len(b) <= n {
			return n + 1, int64(n + 1)
		}
		n += 1 + y*int(b[n])
	}
	return n, int64(n)
}

// tabStops is ESC D n1...nk NUL. The list also ends, without consuming
// it, at a value not above the one before, or after 32 positions.
func tabStops(b []byte) (int, int64) {
	prev := 0
	for i := 2; ; i++ {
		switch {
		case i-2 == 32:
			return i, int64(i)
		case i >= len(b):
			return i + 1, int64(i + 1)
		case b[i] == nul:
			return i + 1, int64(i + 1)
		case int(b[i]) <= prev:
			return i, int64(i)
		}
		prev = int(b[i])
	}
}

// cutSize is GS V m, or GS V m n for the cuts that feed first.
func cutSize(b []byte) (int, int64) {
	if len(b) < 3 {
		return 3, 3
	}
	if _, ok := cutModes[b[2]]; ok && b[2] >= 65 {
		return 4, 4
	}
	return 3, 3
}

// cutModes maps GS V's m to whether the cut is partial. m of 65 and above
// carry a feed amount n.
var cutModes = map[byte]bool{
	0: false, 48: false, 1: true, 49: true, // function A: cut
	65: false, 66: true, // B: feed to the cutter + n, cut
	97: false, 98: true, // C: set a cut position
	103: false, 104: true, // D: feed, cut, back to the print start
}

// barcodeSize is GS k m d1...dk NUL (m ≤ 6) or GS k m n d1...dn (m ≥ 65).
func barcodeSize(b []byte) (int, int64) {
	if len(b) < 4 {
		return 4, 4
	}
	m := b[2]
	switch {
	case m <= 6:
		for i := 3; i < len(b) && i < 3+256; i++ {
			if b[i] == nul {
				return i + 1, int64(i + 1)
			}
		}
		if len(b) < 3+256 {
			return len(b) + 1, int64(len(b) + 1)
		}
	case m >= 65:
		n := 4 + int(b[3])
		return n, int64(n)
	}
	return 3, 3 // no NUL, or an unknown m: exec reports it
}

// barcodes names the symbologies of GS k's m.
var barcodes = map[byte]string{
	0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
	65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
	72: "CODE93", 73: "CODE128", 74: "GS1-128", 75: "GS1 DataBar Omnidirectional",
	76: "GS1 DataBar Truncated", 77: "GS1 DataBar Limited", 78: "GS1 DataBar Expanded",
	79: "CODE128 auto",
}

// statusSize is DLE EOT n, with one more byte a for n = 7, 8 and 18.
func statusSize(b []byte) (int, int64) {
	if len(b) >= 3 && (b[2] == 7 || b[2] == 8 || b[2] == 18) {
		return 4, 4
	}
	return 3, 3
}

// dc4Params is the number of bytes after DLE DC4 fn, by fn.
var dc4Params = map[byte]int{1: 2, 2: 2, 3: 5, 7: 1, 8: 7}

func dc4Size(b []byte) (int, int64) {
	if len(b) < 3 {
		return 3, 3
	}
	n := 3 + dc4Params[b[2]]
	return n, int64(n)
}

// nvUserMemory is FS g 1 m a1..a4 nL nH d1..dk (write) or FS g 2 m a1..a4
// nL nH (read).
func nvUserMemory(b []byte) (int, int64) {
	if len(b) < 10 {
		return 10, 10
	}
	if b[2] == '1' {
		return 10, 10 + (int64(b[8]) | int64(b[9])<<8)
	}
	return 10, 10
}

// codePages are the ESC t character code tables the decoder can show;
// others print '?' for bytes above 0x7F.
var codePages = map[byte]*charmap.Charmap{
	0:  charmap.CodePage437,
	2:  charmap.CodePage850,
	3:  charmap.CodePage860,
	4:  charmap.CodePage863,
	5:  charmap.CodePage865,
	16: charmap.Windows1252,
	17: charmap.CodePage866,
	18: charmap.CodePage852,
	19: charmap.CodePage858,
}

var prefixNames = map[byte]string{esc: "ESC", gs: "GS", fs: "FS", dle: "DLE"}
var codeNames = map[byte]string{eot: "EOT", enq: "ENQ", dc4: "DC4", ff: "FF", ' ': "SP"}

// commandName names a command for an error: "GS ( k", "ESC 0x0A".
func commandName(b []byte) string {
	s := prefixNames[b[0]]
	for i, c := range b[1:min(len(b), 3)] {
		switch {
		case codeNames[c] != "" && i == 0:
			s += " " + codeNames[c]
		case c > ' ' && c < 0x7F:
			s += " " + string(rune(c))
		default:
			s += fmt.Sprintf(" 0x%02X", c)
		}
		if i == 0 && c != '(' && !(b[0] == gs && c == '8') {
			break // the third byte names only GS ( k, GS 8 L and the like
		}
	}
	return s
}
