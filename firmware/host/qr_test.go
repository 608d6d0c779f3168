package host

import (
	"errors"
	"strings"
	"testing"

	"posfw/firmware/host/cup"
	"posfw/firmware/txn"
)

func TestQRData(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want QRData
		ok   bool
	}{
		{"", QRData{}, true},
		{"ON003123OO000", QRData{"ON": "123", "OO": ""}, true},
		{"ON003123ST001P", QRData{"ON": "123", "ST": "P"}, true},
		{"ON003123ON0011", nil, false}, // a tag twice
		{"on003123", nil, false},       // lower case tag
		{"ON0a3123", nil, false},       // length not digits
		{"ON009123", nil, false},       // longer than the field
		{"ON00", nil, false},           // truncated
		{"ON003\x01bc", nil, false},    // not printable
		{"PC" + "999" + strings.Repeat("1", 999), nil, false},
	} {
		got, err := ParseQRData(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseQRData(%q) = %v; want ok %v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "123") {
			t.Errorf("ParseQRData(%q) error %q holds the field's content", tc.in, err)
		}
		if tc.ok && (len(got) != len(tc.want) || got.String() != tc.want.String()) {
			t.Errorf("ParseQRData(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
	d := QRData{TagOrder: "26120500000001", TagCode: "134567890123456789", TagOrig: "x"}
	if got, err := ParseQRData(d.String()); err != nil || got.String() != d.String() {
		t.Errorf("round trip of %v = %v, %v", d, got, err)
	}
}

// TestQRMessagesInCUP: a QR message goes out as CUP writes it — 60.1 the QR type, 3 a
// purchase's or a refund's code, the order in 63 — and comes back as it was sent.
func TestQRMessagesInCUP(t *testing.T) {
	d, err := NewCUP(CUPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range QRMessages {
		f := Fields{3: m.Proc, 4: "1000", 11: "000001", 12: "120000", 13: "1205", 25: "00", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "000001", 63: QRData{TagOrder: "1"}.String()}
		b, err := d.Encode(m.MTI, f, nil, Crypto{})
		if err != nil {
			t.Fatalf("%s: %v", m.Op, err)
		}
		msg, _, _, err := d.codec.Unpack(b)
		if err != nil {
			t.Fatal(err)
		}
		w := fieldsOf(msg).Fields
		f60, err := cup.ParseField60(w[60])
		wantProc := "000000"
		if m.Op == txn.QRRefund {
			wantProc = "200000"
		}
		if err != nil || f60.Type != m.Type || w[3] != wantProc || w[63] != f[63] {
			t.Errorf("%s on the wire: 3=%q 60=%q 63=%q; want 3=%s 60.1=%s and the order", m.Op, w[3], w[60], w[63], wantProc, m.Type)
		}
		back, err := d.Decode(b)
		if err != nil || back.Get(3) != m.Proc || back.Get(63) != f[63] {
			t.Errorf("%s decoded: 3=%q 63=%q, %v; want %s and the order", m.Op, back.Get(3), back.Get(63), err, m.Proc)
		}
	}
}

func TestQRAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields Fields
		want   txn.QRAnswer
		bad    bool
	}{
		{"paid", Fields{39: "00", 63: QRData{TagOrder: "7", TagState: "P", TagWallet: "wechat", TagWalletTxn: "W"}.String()}, txn.QRAnswer{Code: "00", State: txn.QRStatePaid, Wallet: "wechat", WalletTxn: "W"}, false},
		{"refused without 63", Fields{39: "51"}, txn.QRAnswer{Code: "51"}, false},
		{"approved without 63", Fields{39: "00"}, txn.QRAnswer{}, true},
		{"another order", Fields{39: "00", 63: QRData{TagOrder: "8", TagState: "P"}.String()}, txn.QRAnswer{}, true},
		{"unknown state", Fields{39: "00", 63: QRData{TagOrder: "7", TagState: "Z"}.String()}, txn.QRAnswer{}, true},
		{"garbage 63", Fields{39: "00", 63: "ON9"}, txn.QRAnswer{}, true},
	} {
		got, err := qrAnswer(&Decoded{Fields: tc.fields}, "7")
		if tc.bad != errors.Is(err, txn.ErrBadAnswer) || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, bad answer %v", tc.name, got, err, tc.want, tc.bad)
		}
	}
}

func FuzzParseQRData(f *testing.F) {
	f.Add("ON003123ST001P")
	f.Add("PC018134567890123456789ON01426120500000001")
	f.Add("ON00")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseQRData(s)
		if err != nil {
			return
		}
		// What parses encodes back to something that parses to the same values.
		again, err := ParseQRData(d.String())
		if err != nil || again.String() != d.String() {
			t.Fatalf("ParseQRData(%q) = %v; encoded %q parses to %v, %v", s, d, d.String(), again, err)
		}
	})
}

// FuzzQRAnswerFrame: any frame, decoded by either dialect and read as the answer to a
// QR message, gives an answer or an error, never a panic.
func FuzzQRAnswerFrame(f *testing.F) {
	c, err := NewCUP(CUPConfig{})
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range []Dialect{ISO87{}, c} {
		b, err := d.Encode("0210", Fields{3: "930000", 4: "1000", 11: "000001", 39: "00", 41: "TERM0001", 42: "MERCHANT0000001", 60: "000001",
			63: QRData{TagOrder: "7", TagState: "U"}.String()}, nil, Crypto{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, d.Name() == "cup")
	}
	f.Fuzz(func(t *testing.T, b []byte, isCUP bool) {
		var d Dialect = ISO87{}
		if isCUP {
			d = c
		}
		msg, err := d.Decode(b)
		if err != nil {
			return
		}
		a, err := qrAnswer(msg, "7")
		if err == nil && a.State != "" {
			if _, err := ParseQRState(string(a.State)); err != nil {
				t.Fatalf("answer with state %q accepted", a.State)
			}
		}
	})
}

// TestQRDescribeMasksCode: a pay request logged (Describe, both dialects) shows the
// payment code masked, as the journal keeps it, never whole.
func TestQRDescribeMasksCode(t *testing.T) {
	c, err := NewCUP(CUPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const code = "134567890123456789"
	for _, d := range []Dialect{ISO87{}, c} {
		b, err := d.Encode("0200", Fields{3: "930000", 4: "1000", 11: "000001", 12: "120000", 13: "1205", 25: "00", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "000001", 63: QRData{TagOrder: "26120500000001", TagCode: code}.String()}, nil, Crypto{})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := d.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		s := msg.LogValue().String()
		if strings.Contains(s, code) || !strings.Contains(s, "1345**********6789") || !strings.Contains(s, "26120500000001") {
			t.Errorf("%s: the logged request:\n%s\nwant the code masked and the order", d.Name(), s)
		}
	}
}
