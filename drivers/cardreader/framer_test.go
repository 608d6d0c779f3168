package cardreader

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/cardreader/testcards"
)

// chunks is a reader that returns its chunks one Read at a time, then EOF,
// the way a serial port hands over whatever has arrived.
type chunks [][]byte

func (c *chunks) Read(b []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(b, (*c)[0])
	if (*c)[0] = (*c)[0][n:]; len((*c)[0]) == 0 {
		*c = (*c)[1:]
	}
	return n, nil
}

func split(s string, size int) *chunks {
	var c chunks
	for b := []byte(s); len(b) > 0; {
		n := min(size, len(b))
		c, b = append(c, b[:n]), b[n:]
	}
	return &c
}

// reasons names the framer's rejections in test output.
var reasons = []error{iso7813.ErrGarbage, iso7813.ErrTooLong, iso7813.ErrTruncated}

// lines runs a framer over r until r ends and returns each result: the frame,
// or "!" and the reason a line was rejected.
func lines(f *framer, r io.Reader) []string {
	var out []string
	for {
		frame, err := f.next(r)
		switch {
		case err == nil:
			out = append(out, string(frame))
			continue
		case errors.Is(err, io.EOF):
			return out
		}
		for _, reason := range reasons {
			if errors.Is(err, reason) {
				out = append(out, "!"+reason.Error())
			}
		}
	}
}

func TestFramer(t *testing.T) {
	ok, ok2 := string(testcards.Frame("ok")), string(testcards.Frame("ok2"))
	longest := "%" + strings.Repeat("A", maxFrame-3) + "\r\n"
	garbage, tooLong := "!"+iso7813.ErrGarbage.Error(), "!"+iso7813.ErrTooLong.Error()
	for _, tc := range []struct {
		name string
		in   string
		size int // bytes per Read
		want []string
	}{
		{"whole frame", ok, 64, []string{ok}},
		{"one byte per read", ok, 1, []string{ok}},
		{"two frames in one read", ok + ok2, 64, []string{ok, ok2}},
		{"noise just before a frame", "\x00\xff~=;" + ok, 64, []string{ok}},
		{"noise line", "hello\r\n" + ok, 3, []string{garbage, ok}},
		{"blank lines", "\r\n\n" + ok + "\r\n", 64, []string{ok}},
		{"aborted frame then a frame", ok[:30] + ok, 7, []string{ok}},
		{"longest frame", longest, 64, []string{longest}},
		{"one byte too long", "%A" + longest[1:], 64, []string{tooLong}},
		{"overlong line then a frame", "%" + strings.Repeat("A", 500) + "\r\n" + ok, 5, []string{tooLong, ok}},
		{"LF without CR is passed on", "%E?;E?\n", 64, []string{"%E?;E?\n"}},
	} {
		f := newFramer()
		got := lines(f, split(tc.in, tc.size))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: framer(%q) = %q; want %q", tc.name, tc.in, got, tc.want)
		}
		if cap(f.line) != maxFrame {
			t.Errorf("%s: line buffer grew to %d bytes; want %d", tc.name, cap(f.line), maxFrame)
		}
	}
}

// TestAbandon: what is left when the line goes quiet is reported once, for
// what it is.
func TestAbandon(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"%B6222021234", iso7813.ErrTruncated},
		{"ab\x00", iso7813.ErrGarbage},
		{"%" + strings.Repeat("7", 300), iso7813.ErrTooLong},
		{"", nil},
		{"\r", nil},
		{string(testcards.Frame("ok")), nil},
	} {
		f := newFramer()
		lines(f, split(tc.in, 16))
		if pending := f.pending(); pending != (tc.want != nil) {
			t.Errorf("after %q: pending() = %v; want %v", tc.in, pending, tc.want != nil)
		}
		if err := f.abandon(); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("after %q: abandon() = %v; want %v", tc.in, err, tc.want)
		}
		if f.pending() || len(f.line) != 0 {
			t.Errorf("after %q and abandon: still pending", tc.in)
		}
	}
}

// TestFramerWipes: track data does not stay in the framer's buffers once a
// frame was handed over and the next one asked for.
func TestFramerWipes(t *testing.T) {
	f := newFramer()
	frame := testcards.Frame("ok")
	got, err := f.next(bytes.NewReader(frame))
	if err != nil || !bytes.Equal(got, frame) {
		t.Fatalf("next = %q, %v; want the frame", got, err)
	}
	f.next(bytes.NewReader(nil))
	if pan := []byte("6222021234567894"); bytes.Contains(f.line[:cap(f.line)], pan[:8]) || bytes.Contains(f.in[:], pan[:8]) {
		t.Errorf("framer still holds the PAN: line %q, in %q", f.line[:cap(f.line)], f.in[:])
	}
}

// FuzzFramer feeds any bytes, in reads of any size, then LF and a good swipe:
// the framer must not panic, must keep its memory fixed, must hand over only
// lines from a start sentinel to LF, and must still find the good swipe.
func FuzzFramer(f *testing.F) {
	ok := testcards.Frame("ok")
	f.Add([]byte("%B6222^"), byte(0))
	f.Add(bytes.Repeat([]byte("%A"), 200), byte(3))
	f.Add([]byte("\r\n\n\r%%%;?"), byte(1))
	f.Add(testcards.Frame("bad-track"), byte(7))
	f.Fuzz(func(t *testing.T, noise []byte, size byte) {
		in := string(noise) + "\n" + string(ok)
		fr := newFramer()
		r := split(in, int(size%16)+1)
		var last string
		for {
			frame, err := fr.next(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if cap(fr.line) != maxFrame {
				t.Fatalf("line buffer grew to %d", cap(fr.line))
			}
			if err != nil {
				var e *iso7813.Error
				if !errors.As(err, &e) || e.Track != 0 {
					t.Fatalf("rejection %v is not a frame *iso7813.Error", err)
				}
				last = "!"
				continue
			}
			if len(frame) < 2 || len(frame) > maxFrame || frame[0] != '%' || frame[len(frame)-1] != '\n' {
				t.Fatalf("framer returned %q", frame)
			}
			last = string(frame)
		}
		if last != string(ok) {
			t.Fatalf("after %q the good swipe came out as %q", noise, last)
		}
		if slices.ContainsFunc(fr.in[:], func(b byte) bool { return b != 0 }) {
			t.Fatalf("consumed bytes left in the read buffer: %q", fr.in[:])
		}
	})
}

func BenchmarkReadSwipe(b *testing.B) {
	stream := bytes.Repeat(testcards.Frame("ok"), 100)
	f := newFramer()
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := bytes.NewReader(stream)
		for {
			frame, err := f.next(r)
			if err != nil {
				break
			}
			if _, err := iso7813.Parse(frame); err != nil {
				b.Fatal(err)
			}
		}
	}
}
