package iso87

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to Unpack. It must never panic, and a
// message it accepts must pack back to the same bytes and unpack again to
// the same message.
func FuzzUnpack(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.bytes())
	}
	f.Add([]byte("0200\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m1, err := Unpack(b)
		if err != nil {
			return
		}
		p1, err := Pack(m1)
		if err != nil {
			t.Fatalf("Pack(Unpack(%q)) = %v", b, err)
		}
		if !bytes.Equal(p1, b) {
			t.Fatalf("Pack(Unpack(%q)) = %q; want the input", b, p1)
		}
		m2, err := Unpack(p1)
		if err != nil {
			t.Fatalf("Unpack(Pack(Unpack(%q))) = %v", b, err)
		}
		if d1, d2 := Describe(m1), Describe(m2); d1 != d2 {
			t.Fatalf("unpack, pack, unpack changed the message:\n%s\nbecame\n%s", d1, d2)
		}
		for id, f1 := range m1.GetFields() {
			v1, _ := f1.Bytes()
			v2, _ := m2.GetBytes(id)
			if !bytes.Equal(v1, v2) {
				t.Fatalf("field %d: %q became %q", id, v1, v2)
			}
		}
	})
}

// FuzzReadFrame reads frames from arbitrary bytes. It must never panic,
// never return more than the limit, and a frame it returns must be exactly
// what WriteFrame turns back into the bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("\x00\x040800"), 16)
	f.Add([]byte("\x00\x00"), 16)
	f.Add([]byte("\xff\xff"), MaxFrame)
	f.Add([]byte("\x00\x05080"), 16)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		r := bytes.NewReader(b)
		msg, err := ReadFrame(r, max)
		if err != nil {
			return
		}
		if len(msg) == 0 || len(msg) > max || len(msg) > MaxFrame {
			t.Fatalf("ReadFrame(%q, %d) returned %d bytes", b, max, len(msg))
		}
		consumed := len(b) - r.Len()
		if n := int(binary.BigEndian.Uint16(b)); consumed != 2+n {
			t.Fatalf("ReadFrame(%q) consumed %d bytes; header says 2+%d", b, consumed, n)
		}
		var out bytes.Buffer
		if err := WriteFrame(&out, msg); err != nil {
			t.Fatalf("WriteFrame(ReadFrame(%q)) = %v", b, err)
		}
		if !bytes.Equal(out.Bytes(), b[:consumed]) {
			t.Fatalf("WriteFrame(ReadFrame(%q)) = %q; want %q", b, out.Bytes(), b[:consumed])
		}
	})
}
