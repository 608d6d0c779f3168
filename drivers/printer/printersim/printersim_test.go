package printersim

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// script is a stream that yields in, one piece per Read, then io.EOF, and
// records what the printer writes back.
type script struct {
	in  [][]byte
	out bytes.Buffer
}

func (s *script) Read(b []byte) (int, error) {
	if len(s.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b, s.in[0])
	if s.in[0] = s.in[0][n:]; len(s.in[0]) == 0 {
		s.in = s.in[1:]
	}
	return n, nil
}

func (s *script) Write(b []byte) (int, error) { return s.out.Write(b) }

// TestReplies checks the status bytes byte for byte (Epson ESC/POS, DLE
// EOT): 0x12 is "all clear"; paper out is 0x72 on the paper sensor, with the
// paper-end stop (0x32) and off line (0x1A) that it implies.
func TestReplies(t *testing.T) {
	all := []byte{0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 3, 0x10, 4, 4}
	tests := []struct {
		name  string
		setup func(*Sim)
		in    [][]byte
		want  []byte
	}{
		{"ready", func(*Sim) {}, [][]byte{all}, []byte{0x12, 0x12, 0x12, 0x12}},
		{"paper out", func(s *Sim) { s.SetPaperOut(true) }, [][]byte{all}, []byte{0x1A, 0x32, 0x12, 0x72}},
		{"cover open", func(s *Sim) { s.SetCoverOpen(true) }, [][]byte{all}, []byte{0x1A, 0x16, 0x12, 0x12}},
		{"request split across reads", func(*Sim) {}, [][]byte{{0x10}, {4}, {4}}, []byte{0x12}},
		{"stray bytes first", func(s *Sim) { s.SetStray([]byte{0, 'X'}) }, [][]byte{{0x10, 4, 4}}, []byte{0, 'X', 0x12}},
		{"inside a QR code's data: no reply", func(*Sim) {}, [][]byte{[]byte("\x1d(k\x06\x001P0\x10\x04\x04")}, nil},
		{"DLE EOT 7 (ink): no reply", func(*Sim) {}, [][]byte{{0x10, 4, 7, 1}}, nil},
	}
	for _, tt := range tests {
		s := New()
		tt.setup(s)
		rw := &script{in: tt.in}
		if err := s.Serve(rw); err != io.EOF {
			t.Errorf("%s: Serve = %v; want io.EOF at the end of the stream", tt.name, err)
		}
		if !bytes.Equal(rw.out.Bytes(), tt.want) {
			t.Errorf("%s: replies % x; want % x", tt.name, rw.out.Bytes(), tt.want)
		}
	}
}

// TestPaperOutDropsPrinting: what arrives while the paper is out is lost;
// printing resumes with a new roll.
func TestPaperOutDropsPrinting(t *testing.T) {
	s := New()
	s.Serve(&script{in: [][]byte{[]byte("ONE\n")}})
	s.SetPaperOut(true)
	s.Serve(&script{in: [][]byte{[]byte("TWO\n")}})
	s.SetPaperOut(false)
	s.Serve(&script{in: [][]byte{[]byte("\xc8\xfd\n")}}) // 三 in GB18030
	if got, want := s.Text(), "ONE\n三\n"; got != want {
		t.Errorf("Text() = %q; want %q", got, want)
	}
	if got := s.Received(); got != 11 {
		t.Errorf("Received() = %d; want 11", got)
	}
	s.Clear()
	if got := s.Text(); got != "" {
		t.Errorf("Text() after Clear = %q; want nothing", got)
	}
}

// TestLineRate: paced at 10,000 bytes/s, 2,000 bytes take 200 ms.
func TestLineRate(t *testing.T) {
	s := New()
	s.SetLineRate(10000)
	start := time.Now()
	s.Serve(&script{in: [][]byte{bytes.Repeat([]byte("0123456789ABCDE\n"), 125)}})
	if d := time.Since(start); d < 200*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("2000 bytes at 10000 B/s took %v; want 200ms", d)
	}
	if got := len(s.Paper().Lines); got != 125 {
		t.Errorf("printed %d lines; want 125", got)
	}
}
