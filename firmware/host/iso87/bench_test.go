package iso87

import (
	"testing"

	"github.com/moov-io/iso8583"
)

// The two benchmarks below pack and unpack the golden 0200; comparing them
// shows what the wrappers cost (recover, error flattening and, mostly, the
// canonical-encoding check in Unpack, which packs once more).

func BenchmarkPackUnpack0200(b *testing.B) {
	msg := goldens[0].build(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Pack(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Unpack(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackUnpack0200Moov(b *testing.B) {
	msg := goldens[0].build(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := msg.Pack()
		if err != nil {
			b.Fatal(err)
		}
		if err := iso8583.NewMessage(Spec).Unpack(p); err != nil {
			b.Fatal(err)
		}
	}
}
