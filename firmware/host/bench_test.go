package host

import (
	"testing"

	"posfw/drivers/pinpad/mac"
	"posfw/firmware/txn"
)

// BenchmarkPackSale is the terminal's cost of a sale request: building the
// 0200 and packing it with its X9.19 MAC (computed here with the clear key).
func BenchmarkPackSale(b *testing.B) {
	c := testClient(b, "127.0.0.1:1", day1)
	req := txn.Request{Type: txn.Sale, STAN: 123, Batch: 1, Amount: 12345, Card: testCard(), At: day1}
	sign := KeySigner(mac.X919, unhex(b, testMAK)) // the pad's round trip is not the terminal's packing
	b.ReportAllocs()
	for b.Loop() {
		mti, f, card, err := c.financial(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (ISO87{}).Encode(mti, f, card, Crypto{Sign: sign}); err != nil {
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
		if _, err := parseResponse(ISO87{}, frame, want, KeySigner(mac.X919, key)); err != nil {
			b.Fatal(err)
		}
	}
}
