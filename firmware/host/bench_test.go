package host

import (
	"testing"

	"posfw/firmware/txn"
)

// BenchmarkPackSale is the terminal's cost of a sale request: building the
// 0200 and packing it with its X9.19 MAC.
func BenchmarkPackSale(b *testing.B) {
	c := testClient(b, "127.0.0.1:1", day1)
	req := txn.Request{Type: txn.Sale, STAN: 123, Batch: 1, Amount: 12345, Card: testCard(), At: day1}
	b.ReportAllocs()
	for b.Loop() {
		mti, f, card, err := c.financial(req)
		if err != nil {
			b.Fatal(err)
		}
		msg, err := buildRequest(mti, f, card)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := PackMAC(msg, c.macKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseResponse is the cost of reading a 0210: unpacking,
// matching and checking its MAC.
func BenchmarkParseResponse(b *testing.B) {
	key := unhex(b, testMAK)
	req, _ := Build("0200", Fields{11: "000123", 41: "TERM0001"})
	frame := reply(req, "00", key, Fields{37: "041215300123", 38: "AB12", 12: "153001", 13: "0412"})
	want := match{mti: "0210", stan: "000123", tid: "TERM0001", mac: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseResponse(frame, want, key); err != nil {
			b.Fatal(err)
		}
	}
}
