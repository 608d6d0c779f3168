package printer

import (
	"bytes"

	"posfw/drivers/printer/escpos"
)

// splitter finds the places in a receipt where a status request may go: just
// after a line feed that the printer takes as one. A 0x0A byte may also be
// a command's parameter (ESC d 10), part of a QR code's data or of an image;
// a DLE EOT put there would be read as data, or would split a command in
// two. Rather than keep a second table of command lengths, the splitter
// runs the stream through the escpos Decoder — the simulator's — and calls
// a 0x0A a line feed when, fed alone, it ends a line of text.
type splitter struct {
	b   []byte
	dec *escpos.Decoder
	fed int // bytes of b given to dec
}

func newSplitter(b []byte) *splitter {
	// One line kept is enough to count them (Paper.Torn counts the rest).
	return &splitter{b: b, dec: escpos.NewDecoder(escpos.Options{Chinese: true, MaxLines: 1})}
}

// next returns the first place at or after from where a status request may
// go, or len(b) if there is none. Places are asked in increasing order.
func (s *splitter) next(from int) int {
	for from < len(s.b) {
		start := max(from-1, s.fed)
		i := bytes.IndexByte(s.b[start:], '\n')
		if i < 0 {
			return len(s.b)
		}
		lf := start + i
		s.feed(lf)
		before := s.lines()
		s.feed(lf + 1)
		p := s.dec.Paper()
		if s.lines() > before && p.Lines[len(p.Lines)-1].Kind == escpos.KindText {
			return lf + 1
		}
		from = lf + 2
	}
	return len(s.b)
}

// feed gives the decoder the stream up to end.
func (s *splitter) feed(end int) {
	if end > s.fed {
		s.dec.Write(s.b[s.fed:end])
		s.fed = end
	}
}

// lines counts the lines printed so far.
func (s *splitter) lines() int {
	p := s.dec.Paper()
	return len(p.Lines) + p.Torn
}
