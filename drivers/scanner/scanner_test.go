package scanner

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseLine(t *testing.T) {
	long := strings.Repeat("7", MaxCode)
	for _, tt := range []struct {
		name, line, want, err string
	}{
		{"WeChat code, CR LF", "134567890123456789\r\n", "134567890123456789", ""},
		{"CR only", "283456789012345678\r", "283456789012345678", ""},
		{"no suffix", "ABC-123", "ABC-123", ""},
		{"spaces kept", " A B ", " A B ", ""},
		{"UTF-8 QR payload", "商户 12\r\n", "商户 12", ""},
		{"longest", long + "\r\n", long, ""},
		{"empty", "\r\n", "", "empty line"},
		{"too long", long + "8\r\n", "", "7090 bytes, longer than 7089"},
		{"BEL", "12\a34\r\n", "", "control character U+0007 at byte 2"},
		{"GS separator", "01\x1d10\r\n", "", "control character U+001D at byte 2"},
		{"DEL", "12\x7f\r\n", "", "control character U+007F at byte 2"},
		{"C1", "1\u008534", "", "control character U+0085 at byte 1"},
		{"CR inside", "12\r34\r\n", "", "control character U+000D at byte 2"},
		{"bad UTF-8", "12\xff34", "", "byte 2 (0xFF) is not UTF-8"},
	} {
		got, err := ParseLine([]byte(tt.line))
		if tt.err != "" {
			var ce *CodeError
			if !errors.As(err, &ce) || ce.Reason != tt.err {
				t.Errorf("%s: ParseLine(%q) = %q, %v; want *CodeError %q", tt.name, tt.line, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseLine(%q) = %q, %v; want %q", tt.name, tt.line, got, err, tt.want)
		}
	}
}

func TestParseTrigger(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Trigger
		ok   bool
	}{
		{"", TriggerNone, true}, {"none", TriggerNone, true}, {"honeywell", TriggerHoneywell, true},
		{"newland", TriggerNewland, true}, {"Honeywell", "", false}, {"zebra", "", false},
	} {
		got, err := ParseTrigger(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseTrigger(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		t       Trigger
		on, off string
	}{
		{TriggerHoneywell, "\x16T\r", "\x16U\r"},
		{TriggerNewland, "~\x010000#SCNTRG1;\x03", "~\x010000#SCNTRG0;\x03"},
		{TriggerNone, "", ""},
	} {
		on, off := tt.t.Commands()
		if string(on) != tt.on || string(off) != tt.off {
			t.Errorf("%s.Commands() = %q, %q; want %q, %q", tt.t, on, off, tt.on, tt.off)
		}
	}
}

// chunks reads s n bytes at a time, then io.EOF.
type chunks struct {
	s string
	n int
}

func (c *chunks) Read(b []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := min(c.n, len(b), len(c.s))
	copy(b, c.s[:k])
	c.s = c.s[k:]
	return k, nil
}

// lines runs a framer over in and returns each code, "!" for each refusal.
func lines(in string, n int) []string {
	f := newFramer()
	r := &chunks{in, n}
	var out []string
	for {
		code, err := f.next(r)
		switch {
		case errors.Is(err, io.EOF):
			if f.pending() {
				out = append(out, "!")
			}
			return out
		case err != nil:
			out = append(out, "!")
		default:
			out = append(out, code)
		}
	}
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("9", MaxCode+1)
	for _, tt := range []struct {
		name string
		in   string
		want []string
	}{
		{"two codes", "123\r\n456\r\n", []string{"123", "456"}},
		{"CR only and LF only", "123\r456\n789\r\n", []string{"123", "456", "789"}},
		{"blank lines skipped", "\r\n\r\n123\r\n\n", []string{"123"}},
		{"control character refused, next read", "1\x072\r\n345\r\n", []string{"!", "345"}},
		{"overlong refused whole", long + "\r\n345\r\n", []string{"!", "345"}},
		{"Newland answer dropped", "~\x010000#SCNTRG1\x06;\x03" + "6223\r\n", []string{"6223"}},
		{"answer after a code", "12\r\n~\x010000#SCNTRG0\x06;\x03", []string{"12"}},
		{"tilde code kept", "~ABC\r\n", []string{"~ABC"}},
		{"answer cut short", "~\x010000#SCN\r\n123\r\n", []string{"123"}},
		{"partial line", "123", []string{"!"}},
	} {
		for _, n := range []int{1, 3, 1000} {
			got := lines(tt.in, n)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("%s, %d-byte reads: lines = %q; want %q", tt.name, n, got, tt.want)
			}
		}
	}
}

// TestErrorsHoldNoCode: a refused line's error says why, never what it held.
func TestErrorsHoldNoCode(t *testing.T) {
	secret := "134567890123456789"
	for _, line := range []string{secret + "\a", secret + "\xff", secret + strings.Repeat("1", MaxCode)} {
		_, err := ParseLine([]byte(line))
		if err == nil || strings.Contains(err.Error(), secret[:6]) {
			t.Errorf("ParseLine(%.20q...) = %v; want an error without the code", line, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"134567890123456789\r\n", "\r\n", "a\x00b", "商户\r", "\xff\xfe", "~\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		code, err := ParseLine(line)
		if err != nil {
			var ce *CodeError
			if !errors.As(err, &ce) || code != "" {
				t.Fatalf("ParseLine(%q) = %q, %v; want \"\" and a *CodeError", line, code, err)
			}
			return
		}
		checkCode(t, code)
	})
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte("123\r\n456\r\n"), byte(1))
	f.Add([]byte("~\x010000#SCNTRG1\x06;\x03"+"6223\r\n"), byte(3))
	f.Add([]byte("\r\r\n\n\x01~\x03"), byte(0))
	f.Fuzz(func(t *testing.T, in []byte, size byte) {
		fr := newFramer()
		r := &chunks{string(in) + "\r\nLAST\r\n", int(size%16) + 1}
		var last string
		for {
			code, err := fr.next(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var ce *CodeError
				if !errors.As(err, &ce) {
					t.Fatalf("framer error %v is not a *CodeError", err)
				}
				last = "!"
				continue
			}
			checkCode(t, code)
			last = code
		}
		if last != "LAST" {
			t.Fatalf("after %q the last line was %q; want LAST: the framer lost its place", in, last)
		}
		if cap(fr.line) != MaxCode {
			t.Fatalf("line buffer grew to %d", cap(fr.line))
		}
	})
}

// checkCode fails t unless code is a code ParseLine accepts.
func checkCode(t *testing.T, code string) {
	t.Helper()
	if code == "" || len(code) > MaxCode || !utf8.ValidString(code) || strings.ContainsFunc(code, unicode.IsControl) {
		t.Fatalf("accepted code %q", code)
	}
}
