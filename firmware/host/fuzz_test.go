package host

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"posfw/drivers/emv/tlv"
	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// FuzzParseResponse feeds arbitrary frames to the client's answer parsing.
// It must never panic; an answer it accepts must be the one wanted, with a
// response code, a valid MAC and the request's echoed fields; a refusal must
// be a mismatch or exactly one txn error.
func FuzzParseResponse(f *testing.F) {
	key := unhex(f, testMAK)
	want := match{mti: "0210", stan: "000123", tid: "TERM0001", mac: true,
		echo: Fields{4: "5000", 11: "000123", 41: "TERM0001"}}
	req, _ := Build("0200", Fields{4: "5000", 11: "000123", 41: "TERM0001"})
	f.Add(reply(req, "00", key, Fields{37: "041215300123", 38: "AB12"}))
	f.Add(reply(req, "00", unhex(f, testTMK), nil))
	f.Add(reply(req, "A0", nil, nil))
	f.Add(reply(req, "00", key, Fields{11: "000124"}))
	f.Add(reply(req, "00", key, Fields{4: "5001"}))
	f.Add(reply(req, "00", key, Fields{90: OriginalData{MTI: "0200", STAN: 123}.String()}))
	f.Add(reply(req, "00", key, Fields{55: "\x91\x0A\x01\x02\x03\x04\x05\x06\x07\x08\x30\x30\x8A\x02\x30\x30"}))
	f.Add(reply(req, "00", key, Fields{4: "5001", 55: "\x8A\x02\x30\x30"}))
	f.Add([]byte("0210\x00"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		msg, err := parseResponse(ISO87{}, frame, want, KeySigner(mac.X919, key))
		switch {
		case err == nil:
			if msg.MTI != want.mti || msg.Get(11) != want.stan || msg.Get(41) != want.tid {
				t.Fatalf("parseResponse(%q) accepted an answer to another request", frame)
			}
			code := msg.Get(39)
			if len(code) != 2 {
				t.Fatalf("parseResponse(%q) accepted an answer without a response code", frame)
			}
			if err := msg.Verify(KeySigner(mac.X919, key)); err != nil {
				t.Fatalf("parseResponse(%q) accepted an answer whose MAC fails: %v", frame, err)
			}
			if msg.Get(4) != "5000" {
				t.Fatalf("parseResponse(%q) accepted an answer for amount %q", frame, msg.Get(4))
			}
		case errors.Is(err, errMismatch):
			if msg == nil {
				t.Fatalf("parseResponse(%q) = mismatch without the message to log", frame)
			}
		case classes(err) != 1 || errors.Is(err, txn.ErrNotSent):
			t.Fatalf("parseResponse(%q) = %v; want ErrNoResponse, ErrBadMAC or ErrBadAnswer", frame, err)
		}
	})
}

// FuzzSelectICC: a record's chip data of any content never panics the reversal's and
// upload's selection, and what is selected is a subset of it, in the tags' order.
func FuzzSelectICC(f *testing.F) {
	f.Add(strings.ReplaceAll(testICCHex, " ", ""))
	f.Add("9F2608A1")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		all, err := SelectICC(s, nil)
		if err != nil {
			return
		}
		sel, err := SelectICC(s, ReversalTags)
		if err != nil {
			t.Fatalf("SelectICC(%q, ReversalTags) = %v after SelectICC(nil) took it", s, err)
		}
		l, err := tlv.Parse(sel)
		if err != nil {
			t.Fatalf("selection %X does not parse: %v", sel, err)
		}
		whole, _ := tlv.Parse(all)
		last := -1
		for _, o := range l {
			i := slices.Index(ReversalTags, o.Tag)
			if i <= last {
				t.Fatalf("selection %X: tag %s out of order or not asked for", sel, o.Tag)
			}
			last = i
			if w, ok := whole.Find(o.Tag); !ok || !bytes.Equal(w.Value, o.Value) {
				t.Fatalf("selection %X: %s is not the record's", sel, o.Tag)
			}
		}
	})
}

// FuzzParseKeyBlocks: no panic, and what is accepted encodes back to the
// input.
func FuzzParseKeyBlocks(f *testing.F) {
	kb, _ := SealKey(unhex(f, testTMK), unhex(f, testMAK))
	f.Add(kb.String())
	f.Add(kb.String() + kb.String())
	f.Add("0123")
	f.Fuzz(func(t *testing.T, s string) {
		kbs, err := ParseKeyBlocks(s)
		if err != nil {
			return
		}
		var back string
		for _, kb := range kbs {
			back += kb.String()
			if k, err := kb.Open(unhex(t, testTMK)); err == nil && len(k) != KeySize {
				t.Fatalf("Open() = %d bytes", len(k))
			}
		}
		if back != s {
			t.Fatalf("ParseKeyBlocks(%q) encodes back to %q", s, back)
		}
	})
}

// FuzzParseOriginalData: no panic, and round trip.
func FuzzParseOriginalData(f *testing.F) {
	f.Add(OriginalData{"0200", 123, "0412153000"}.String())
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOriginalData(s)
		if err != nil {
			return
		}
		if back := o.String(); back[:20] != s[:20] || len(back) != 42 {
			t.Fatalf("ParseOriginalData(%q).String() = %q", s, back)
		}
	})
}

// FuzzParseTotals: no panic, and round trip.
func FuzzParseTotals(f *testing.F) {
	s, _ := EncodeTotals(txn.Totals{Sales: txn.Total{Count: 3, Amount: 12345}})
	f.Add(s)
	f.Add("1")
	f.Fuzz(func(t *testing.T, s string) {
		tot, err := ParseTotals(s)
		if err != nil {
			return
		}
		back, err := EncodeTotals(tot)
		if err != nil || back != s {
			t.Fatalf("EncodeTotals(ParseTotals(%q)) = %q, %v", s, back, err)
		}
	})
}

// TestGoldenAnswersParse runs the seeds through the real unpacker once, so
// that a seed that stopped being a valid message is noticed.
func TestGoldenAnswersParse(t *testing.T) {
	req, _ := Build("0200", Fields{4: "5000", 11: "000123", 41: "TERM0001"})
	if _, err := iso87.Unpack(reply(req, "00", unhex(t, testMAK), nil)); err != nil {
		t.Errorf("the fuzz seed answer does not unpack: %v", err)
	}
}

// FuzzParseResponseCUP is FuzzParseResponse in the CUP dialect: an accepted answer is
// the one wanted, with a code, a CUP ECB MAC that verifies and the echoed fields.
func FuzzParseResponseCUP(f *testing.F) {
	d, err := NewCUP(CUPConfig{})
	if err != nil {
		f.Fatal(err)
	}
	key := unhex(f, "0123456789ABCDEF")
	sign := KeySigner(mac.CUPECB, key)
	want := match{mti: "0210", stan: "000123", tid: "TERM0001", mac: true,
		echo: echoOf(d.Canon("0200", Fields{3: "000000", 4: "5000", 11: "000123", 41: "TERM0001", 60: "000001"}))}
	for _, tc := range []struct {
		f    Fields
		sign Signer
	}{
		{Fields{3: "000000", 4: "5000", 11: "000123", 41: "TERM0001", 60: "000001", 39: "00", 37: "041215300123"}, sign},
		{Fields{3: "000000", 4: "5000", 11: "000123", 41: "TERM0001", 60: "000001", 39: "A0"}, nil},
		{Fields{3: "000000", 4: "5001", 11: "000123", 41: "TERM0001", 60: "000001", 39: "00"}, sign},
		// A chip answer: issuer authentication data and a script in 55.
		{Fields{3: "000000", 4: "5000", 11: "000123", 41: "TERM0001", 60: "000001", 39: "00",
			55: "\x91\x0A\x01\x02\x03\x04\x05\x06\x07\x08\x30\x30\x72\x0A\x86\x08\x84\xDA\x9F\x79\x03\x01\x02\x03"}, sign},
	} {
		b, err := d.Encode("0210", tc.f, nil, Crypto{Sign: tc.sign})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		msg, err := parseResponse(d, frame, want, sign)
		switch {
		case err == nil:
			if msg.MTI != want.mti || msg.Get(11) != want.stan || msg.Get(41) != want.tid || len(msg.Get(39)) != 2 {
				t.Fatalf("parseResponse(%X) accepted an answer to another request", frame)
			}
			if err := msg.Verify(sign); err != nil {
				t.Fatalf("parseResponse(%X) accepted an answer whose MAC fails: %v", frame, err)
			}
			if msg.Get(4) != "5000" {
				t.Fatalf("parseResponse(%X) accepted an answer for amount %q", frame, msg.Get(4))
			}
		case errors.Is(err, errMismatch):
			if msg == nil {
				t.Fatalf("parseResponse(%X) = mismatch without the message to log", frame)
			}
		case classes(err) != 1 || errors.Is(err, txn.ErrNotSent):
			t.Fatalf("parseResponse(%X) = %v; want ErrNoResponse, ErrBadMAC or ErrBadAnswer", frame, err)
		}
	})
}
