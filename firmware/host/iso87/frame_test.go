package iso87

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestWriteFrame(t *testing.T) {
	for _, tt := range []struct {
		msg  []byte
		want []byte
	}{
		{[]byte("0800"), []byte("\x00\x040800")},
		{bytes.Repeat([]byte{'x'}, 300), append([]byte{0x01, 0x2C}, bytes.Repeat([]byte{'x'}, 300)...)},
		{bytes.Repeat([]byte{'x'}, MaxFrame), append([]byte{0xFF, 0xFF}, bytes.Repeat([]byte{'x'}, MaxFrame)...)},
	} {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, tt.msg); err != nil {
			t.Errorf("WriteFrame(%d bytes) = %v", len(tt.msg), err)
			continue
		}
		if !bytes.Equal(buf.Bytes(), tt.want) {
			t.Errorf("WriteFrame(%d bytes) wrote % X...; want % X...", len(tt.msg), first(buf.Bytes()), first(tt.want))
		}
	}
}

func first(b []byte) []byte { return b[:min(len(b), 8)] }

func TestWriteFrameErrors(t *testing.T) {
	for _, tt := range []struct {
		msg  []byte
		want error
	}{
		{nil, ErrEmptyFrame},
		{make([]byte, MaxFrame+1), ErrFrameTooLarge},
	} {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, tt.msg); !errors.Is(err, tt.want) {
			t.Errorf("WriteFrame(%d bytes) = %v; want %v", len(tt.msg), err, tt.want)
		}
		if buf.Len() != 0 {
			t.Errorf("WriteFrame(%d bytes) wrote %d bytes on error", len(tt.msg), buf.Len())
		}
	}
	if err := WriteFrame(errWriter{}, []byte("0800")); err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("WriteFrame(failing writer) = %v; want the write error", err)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestFrameRoundTrip writes the golden 0200 and reads it back, also through
// a reader that returns one byte at a time (TCP may split a frame anywhere).
func TestFrameRoundTrip(t *testing.T) {
	sale := goldens[0].bytes()
	var buf bytes.Buffer
	for range 2 {
		if err := WriteFrame(&buf, sale); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := buf.Len(), 2*(2+len(sale)); got != want {
		t.Fatalf("two frames are %d bytes; want %d", got, want)
	}
	r := iotest.OneByteReader(&buf)
	for i := range 2 {
		got, err := ReadFrame(r, 4096)
		if err != nil || !bytes.Equal(got, sale) {
			t.Fatalf("ReadFrame() #%d = %d bytes, %v; want the 0200 (%d bytes)", i, len(got), err, len(sale))
		}
	}
	if _, err := ReadFrame(r, 4096); err != io.EOF {
		t.Errorf("ReadFrame() at a clean end = %v; want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		max  int
		want error  // matched with errors.Is
		text string // and the error text contains this
	}{
		{"one header byte", "\x00", 100, io.ErrUnexpectedEOF, "header"},
		{"header only", "\x00\x04", 100, io.ErrUnexpectedEOF, "got 0 of 4 bytes"},
		{"short body", "\x00\x0408", 100, io.ErrUnexpectedEOF, "got 2 of 4 bytes"},
		{"zero length", "\x00\x000800", 100, ErrEmptyFrame, "empty"},
		{"over the limit", "\x00\x05" + "08000", 4, ErrFrameTooLarge, "header says 5 bytes, limit is 4"},
		{"largest header", "\xFF\xFF", 4096, ErrFrameTooLarge, "65535"},
	} {
		got, err := ReadFrame(strings.NewReader(tt.in), tt.max)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: ReadFrame(%q, %d) = %q, %v; want %v containing %q", tt.name, tt.in, tt.max, got, err, tt.want, tt.text)
		}
	}
	if _, err := ReadFrame(strings.NewReader("\x00\x010"), 0); err == nil {
		t.Errorf("ReadFrame(limit 0) = nil error; want an error")
	}
	// An I/O error other than EOF comes through, wrapped.
	if _, err := ReadFrame(iotest.ErrReader(io.ErrClosedPipe), 100); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("ReadFrame(failing reader) = %v; want io.ErrClosedPipe", err)
	}
	// A timeout in the middle of the body is not mistaken for a clean end.
	r := io.MultiReader(strings.NewReader("\x00\x0408"), iotest.ErrReader(iotest.ErrTimeout))
	if _, err := ReadFrame(r, 100); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("ReadFrame(timeout mid-body) = %v; want iotest.ErrTimeout", err)
	}
}
