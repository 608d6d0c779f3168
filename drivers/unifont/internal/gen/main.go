// Command gen writes the subset of GNU Unifont that package unifont embeds.
//
// Unifont (https://unifoundry.com/unifont/) is an 8×16 / 16×16 bitmap font
// kept as "hex" text, one glyph a line: "XXXX:" and 32 hex digits (8 px
// wide) or 64 (16 px wide), rows top to bottom, most significant bit left.
// The subset keeps those lines, sorted, for the characters a receipt
// printer prints:
//
//   - printable ASCII, Latin-1, general punctuation, currency symbols,
//     box drawing, block elements, geometric shapes, CJK symbols and
//     punctuation, half- and full-width forms, U+FFFD;
//   - every character of GB 2312: what GB 18030, as the escpos decoder
//     reads it, makes of the two-byte codes 0xA1A1-0xF7FE (GB 2312's 7445
//     and the 35 that GBK added in those rows);
//   - the upper half of every ESC t code table the escpos decoder shows.
//
// It is gzipped with no name or time in the header, so that the same input
// gives the same bytes. Run it from the unifont directory after
// installing the Debian "unifont" package (apt-get install unifont):
//
//	go generate ./drivers/unifont
//
// or by hand:
//
//	go run ./internal/gen -hex /usr/share/unifont/unifont.hex -o unifont.hex.gz
//
// It fails if any GB 2312 or code-table character has no glyph.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// blocks are the Unicode ranges kept whole, where Unifont has them.
var blocks = [][2]rune{
	{0x0020, 0x007E}, // printable ASCII
	{0x00A0, 0x00FF}, // Latin-1 supplement
	{0x2000, 0x206F}, // general punctuation: — ‘ ’ “ ” … ‰
	{0x20A0, 0x20CF}, // currency symbols: €
	{0x2500, 0x257F}, // box drawing: receipt rules
	{0x2580, 0x259F}, // block elements
	{0x25A0, 0x25FF}, // geometric shapes
	{0x3000, 0x303F}, // CJK symbols and punctuation
	{0xFF00, 0xFFEF}, // half-width and full-width forms
	{0xFFFD, 0xFFFD}, // what the decoder prints for a byte it cannot read
}

// codePages must match the escpos decoder's ESC t tables.
var codePages = []*charmap.Charmap{
	charmap.CodePage437, charmap.CodePage850, charmap.CodePage860,
	charmap.CodePage863, charmap.CodePage865, charmap.Windows1252,
	charmap.CodePage866, charmap.CodePage852, charmap.CodePage858,
}

func main() {
	hexPath := flag.String("hex", "/usr/share/unifont/unifont.hex", "Unifont hex file, plain or .gz")
	out := flag.String("o", "unifont.hex.gz", "output file")
	flag.Parse()
	if err := run(*hexPath, *out); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

func run(hexPath, out string) error {
	f, err := openHex(hexPath)
	if err != nil {
		return err
	}
	defer f.Close()
	required, err := requiredRunes()
	if err != nil {
		return err
	}
	want := map[rune]bool{}
	for _, b := range blocks {
		for r := b[0]; r <= b[1]; r++ {
			want[r] = true
		}
	}
	for _, r := range required {
		want[r] = true
	}
	lines, err := subset(f, want)
	if err != nil {
		return fmt.Errorf("%s: %v", hexPath, err)
	}
	for _, r := range required {
		if _, ok := lines[r]; !ok {
			return fmt.Errorf("%s has no glyph for U+%04X %q", hexPath, r, r)
		}
	}
	data, err := compress(lines)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	log.Printf("gen: %d glyphs, %d bytes gzipped, to %s", len(lines), len(data), out)
	return nil
}

func openHex(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !strings.HasSuffix(path, ".gz") {
		f, err = os.Open(path + ".gz")
		path += ".gz"
	}
	if err != nil {
		return nil, fmt.Errorf("%v (apt-get install unifont)", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// requiredRunes returns the characters of GB 2312 and of the code tables:
// what the decoder can produce from one or two bytes.
func requiredRunes() ([]rune, error) {
	var rs []rune
	dec := simplifiedchinese.GB18030.NewDecoder()
	for hi := 0xA1; hi <= 0xF7; hi++ {
		for lo := 0xA1; lo <= 0xFE; lo++ {
			s, err := dec.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				return nil, fmt.Errorf("GB18030 %02X%02X: %v", hi, lo, err)
			}
			r, _ := utf8.DecodeRune(s)
			// GB 18030 maps GB 2312's empty cells to the private use area.
			if r == utf8.RuneError || r >= 0xE000 && r <= 0xF8FF {
				continue
			}
			rs = append(rs, r)
		}
	}
	// GB 2312's 7445 characters, and the 35 that GBK added in its rows
	// (small Roman numerals, vertical forms, pinyin letters).
	if n := len(rs); n != 7445+35 {
		return nil, fmt.Errorf("GB 2312 rows hold 7480 characters, decoded %d", n)
	}
	for _, cm := range codePages {
		for b := 0x80; b <= 0xFF; b++ {
			if r := cm.DecodeByte(byte(b)); r != utf8.RuneError {
				rs = append(rs, r)
			}
		}
	}
	return rs, nil
}

// subset returns the lines of the hex file for the wanted characters.
func subset(r io.Reader, want map[rune]bool) (map[rune]string, error) {
	lines := map[rune]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		code, bits, ok := strings.Cut(sc.Text(), ":")
		v, err := strconv.ParseUint(code, 16, 32)
		if !ok || err != nil || len(bits) != 32 && len(bits) != 64 {
			return nil, fmt.Errorf("line %d is not CODE:32 or 64 hex digits", n)
		}
		if want[rune(v)] {
			lines[rune(v)] = fmt.Sprintf("%04X:%s", v, strings.ToUpper(bits))
		}
	}
	return lines, sc.Err()
}

func compress(lines map[rune]string) ([]byte, error) {
	keys := make([]rune, 0, len(lines))
	for r := range lines {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	z, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	for _, r := range keys {
		fmt.Fprintln(z, lines[r])
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
