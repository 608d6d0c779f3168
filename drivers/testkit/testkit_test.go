package testkit

import (
	"bytes"
	"testing"
)

func TestUnhex(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{}},
		{"02", []byte{0x02}},
		{"02 00 05", []byte{0x02, 0x00, 0x05}},
		{"0a0B\n\t ff", []byte{0x0a, 0x0b, 0xff}},
	} {
		if got := Unhex(t, tt.in); !bytes.Equal(got, tt.want) {
			t.Errorf("Unhex(%q) = % x; want % x", tt.in, got, tt.want)
		}
	}
}

// failed records whether the helper failed the test, without stopping this one.
type failed struct {
	testing.TB
	failed bool
}

func (f *failed) Helper()               {}
func (f *failed) Fatalf(string, ...any) { f.failed = true }

func TestUnhexBad(t *testing.T) {
	for _, in := range []string{"0", "zz", "0 2 0", "02 0x"} {
		f := &failed{TB: t}
		Unhex(f, in)
		if !f.failed {
			t.Errorf("Unhex(%q) did not fail the test; want a failure", in)
		}
	}
}

func TestMustUnhex(t *testing.T) {
	if got, want := MustUnhex("7A 7a\n00"), []byte{0x7a, 0x7a, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("MustUnhex = % x; want % x", got, want)
	}
	for _, in := range []string{"0", "zz", "02 0x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustUnhex(%q) did not panic; want a panic", in)
				}
			}()
			MustUnhex(in)
		}()
	}
}
