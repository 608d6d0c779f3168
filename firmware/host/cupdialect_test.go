package host

import (
	"bytes"
	"context"
	"crypto/des"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/host/cup"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

func testCUP(t testing.TB, signOn string) CUP {
	t.Helper()
	d, err := NewCUP(CUPConfig{TPDU: "6000120034", Header: "603100310000", SignOn: signOn})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// cupHost is a fake CUP acquirer: it reads one request, hands it to answer decoded, and
// writes what answer returns, in the dialect with the TPDU swapped.
func cupHost(t *testing.T, d CUP, answer func(req *Decoded, raw []byte) []byte) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 8)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				frame, err := iso87.ReadFrame(conn, iso87.MaxFrame)
				if err != nil {
					return
				}
				frames <- frame
				req, err := d.Decode(frame)
				if err != nil {
					return
				}
				if b := answer(req, frame); b != nil {
					iso87.WriteFrame(conn, b)
				}
			}()
		}
	}()
	return ln.Addr().String(), frames
}

// cupReply answers req: the echoed fields, code, extra; MACed under key unless nil.
func cupReply(d CUP, req *Decoded, code string, key []byte, extra Fields) []byte {
	m, _ := LookupMessage(req.MTI)
	f := Fields{39: code}
	for _, e := range Echoes {
		if v, ok := req.Fields[e.Field]; ok {
			f[e.Field] = v
		}
	}
	for id, v := range extra {
		f[id] = v
	}
	var sign Signer
	if key != nil {
		sign = KeySigner(mac.CUPECB, key)
	}
	b, err := d.Answering(req).Encode(m.Response, f, nil, Crypto{Sign: sign})
	if err != nil {
		panic(err)
	}
	return b
}

// TestCUPSignOnAndSale: a CUP sign-on loads the host's keys into the pad (the MAK of
// E(MAK8) + zeros, checked by its check value), and the sale that follows goes out as
// CUP bytes with the pad's CUP ECB MAC; the answer, MACed by the host, is approved.
// A wrong check value refuses the keys; a bad MAC on the answer is no answer.
func TestCUPSignOnAndSale(t *testing.T) {
	d := testCUP(t, cup.NetSignOnDouble)
	tmk := unhex(t, testTMK)
	var hostMAK []byte
	badCheck := false
	addr, frames := cupHost(t, d, func(req *Decoded, raw []byte) []byte {
		switch req.MTI {
		case "0800":
			f62, issued, err := d.IssueKeys(tmk, bytes.NewReader(bytes.Repeat([]byte{0x5A, 0x33, 0x91}, 20)), req.Get(70))
			if err != nil {
				panic(err)
			}
			if badCheck {
				b := []byte(f62)
				b[len(b)-1] ^= 1 // the MAK's check value
				f62 = string(b)
			}
			hostMAK = issued.MAK
			return cupReply(d, req, "00", nil, Fields{62: f62})
		case "0200":
			if err := req.Verify(KeySigner(mac.CUPECB, hostMAK)); err != nil {
				return cupReply(d, req, "A0", nil, nil)
			}
			key := hostMAK
			if req.Get(4) == "666" {
				key = tmk[:8] // signed with another key
			}
			return cupReply(d, req, "00", key, Fields{37: "120510153001", 38: "A1B2C3", 12: "153001", 13: "0412"})
		}
		return nil
	})
	c := New(Config{Address: addr, ConnectTimeout: time.Second, ResponseTimeout: 2 * time.Second,
		TerminalID: "TERM0001", MerchantID: testMID, Keys: testKeys(t), Dialect: d,
		Now: func() time.Time { return day1 }, Location: time.UTC})
	ctx := context.Background()
	if err := c.SignOn(ctx, 1); err != nil || !c.SignedOn() {
		t.Fatalf("SignOn = %v, signed on %v", err, c.SignedOn())
	}
	signOn := <-frames
	if got := signOn[:cup.PrefixLen]; !bytes.Equal(got, unhex(t, "6000120034603100310000")) {
		t.Errorf("sign-on TPDU and header = %X; want 6000120034 603100310000", got)
	}
	msg, _, _, err := d.codec.Unpack(signOn)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := msg.GetString(60); v != "00000000003" {
		t.Errorf("sign-on field 60 = %q; want 00000000003 (type 00, batch 0, 60.3 = 003)", v)
	}

	resp, err := c.Send(ctx, txn.Request{Type: txn.Sale, STAN: 123, Batch: 42, Amount: 12345, Card: testCard(), At: day1})
	if err != nil || resp.Code != "00" || resp.RRN != "120510153001" {
		t.Fatalf("Send(sale) = %+v, %v; want approved with the host's RRN", resp, err)
	}
	sale := <-frames
	msg, _, _, err = d.codec.Unpack(sale)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]string{3: "000000", 22: "021", 26: "12", 53: "2600000000000000", 60: "22000042"} {
		if v, _ := msg.GetString(id); v != want {
			t.Errorf("sale field %d = %q; want %q", id, v, want)
		}
	}
	data, _ := cup.MACData(sale)
	want, _ := mac.CUPECB(hostMAK, data)
	if got := sale[len(sale)-8:]; !bytes.Equal(got, want[:]) {
		t.Errorf("sale MAC = %q; want %q (CUP ECB of MTI..field 62 under the MAK)", got, want[:])
	}

	// An answer signed with another key is no answer: reversal A0 and a new sign-on.
	_, err = c.Send(ctx, txn.Request{Type: txn.Sale, STAN: 124, Batch: 42, Amount: 666, At: day1})
	if !errors.Is(err, txn.ErrBadMAC) {
		t.Errorf("Send(answer with a bad MAC) = %v; want %v", err, txn.ErrBadMAC)
	}
	<-frames

	// A wrong check value refuses the keys: not signed on, nothing MACed.
	badCheck = true
	if err := c.SignOn(ctx, 2); !errors.Is(err, ErrKeyCheck) || c.SignedOn() {
		t.Errorf("SignOn(wrong check value) = %v, signed on %v; want %v, not signed on", err, c.SignedOn(), ErrKeyCheck)
	}
	<-frames
	if _, err := c.Send(ctx, txn.Request{Type: txn.Sale, STAN: 125, Amount: 100, At: day1}); !errors.Is(err, txn.ErrNotSent) {
		t.Errorf("Send after refused keys = %v; want %v", err, txn.ErrNotSent)
	}
}

// TestCUPCanon: what the client expects repeated (Canon) is what a CUP answer
// repeating the request decodes to, for every request of the dialect.
func TestCUPCanon(t *testing.T) {
	d := testCUP(t, cup.NetSignOnTDK)
	c := New(Config{Address: "127.0.0.1:1", TerminalID: "TERM0001", MerchantID: testMID, Dialect: d, Location: time.UTC})
	rec := txn.Record{Type: txn.Void, STAN: 7, Batch: 3, Amount: 500, RRN: "041215300123", CreatedAt: day1}
	up, _ := c.upload(rec, 9)
	rev, _ := c.reversal(txn.Record{Type: txn.Refund, STAN: 8, Batch: 3, Amount: 100, CreatedAt: day1}, "98")
	_, void, _, _ := c.financial(txn.Request{Type: txn.Void, STAN: 10, Batch: 3, Amount: 500, OrigSTAN: 7, OrigRRN: "041215300123", OrigDate: "0412", At: day1})
	for _, tc := range []struct {
		mti string
		f   Fields
	}{
		{"0800", Fields{11: "000001", 41: "TERM0001", 42: testMID, 70: NetSignOn}},
		{"0200", void},
		{"0400", rev},
		{"0320", up},
		{"0500", Fields{3: ProcSettleTrailer, 11: "000011", 41: "TERM0001", 42: testMID, 49: "156", 60: "000003",
			63: "000003000000012345000001000000000500" + "000000000000000000000000000000000000000000000000000000"}},
	} {
		b, err := d.Encode(tc.mti, tc.f, nil, Crypto{})
		if err != nil {
			t.Fatalf("%s: Encode = %v", tc.mti, err)
		}
		dec, err := d.Decode(b)
		if err != nil {
			t.Fatalf("%s: Decode = %v", tc.mti, err)
		}
		canon := d.Canon(tc.mti, tc.f)
		if err := CheckEcho(echoOf(canon), dec.Fields); err != nil {
			t.Errorf("%s: the decoded request does not repeat Canon: %v\ncanon %v\ngot   %v", tc.mti, err, canon, dec.Fields)
		}
		if tc.mti == "0400" && dec.Get(3) != "200000" {
			t.Errorf("reversal of a refund: field 3 = %q; want 200000", dec.Get(3))
		}
		if tc.mti == "0200" && dec.Get(3) != "020000" {
			t.Errorf("void: neutral field 3 = %q; want 020000 (void told by 60.1 = 23)", dec.Get(3))
		}
	}
}

// TestSignOnWithoutTMK: a pad that was never given a master key cannot take the keys:
// the sign-on says what the technician must do.
func TestSignOnWithoutTMK(t *testing.T) {
	d := testCUP(t, cup.NetSignOnDouble)
	tmk := unhex(t, testTMK)
	addr, _ := cupHost(t, d, func(req *Decoded, raw []byte) []byte {
		f62, _, err := d.IssueKeys(tmk, bytes.NewReader(bytes.Repeat([]byte{7}, 64)), req.Get(70))
		if err != nil {
			panic(err)
		}
		return cupReply(d, req, "00", nil, Fields{62: f62})
	})
	pad, stop, err := padsim.Connect(padsim.New()) // no TMK injected
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := New(Config{Address: addr, TerminalID: "TERM0001", MerchantID: testMID, Keys: pad, Dialect: d})
	if err := c.SignOn(context.Background(), 1); !errors.Is(err, ErrNoMasterKey) || !strings.Contains(err.Error(), "provision tmk") || c.SignedOn() {
		t.Errorf("SignOn with a pad without a TMK = %v; want %v", err, ErrNoMasterKey)
	}
}

// TestCUPTotals48: field 48 counts net (standing sales in debit, standing refunds in
// credit) or gross (voided sales stay in debit, voids in credit) as the acquirer wants.
func TestCUPTotals48(t *testing.T) {
	totals := txn.Totals{Batch: 1, Sales: txn.Total{Count: 2, Amount: 5300}, Refunds: txn.Total{Count: 1, Amount: 2000},
		Voids: txn.Total{Count: 1, Amount: 1234}}
	f63, err := EncodeTotals(totals)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode string
		want string // debit amount, count, credit amount, count, flag
	}{
		{"net", "000000005300" + "002" + "000000002000" + "001" + "0"},
		{"gross", "000000006534" + "003" + "000000003234" + "002" + "0"},
	} {
		d, err := NewCUP(CUPConfig{Totals: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Encode("0500", Fields{3: ProcSettle, 11: "000009", 41: "TERM0001", 42: testMID, 49: "156", 60: "000001", 63: f63}, nil, Crypto{})
		if err != nil {
			t.Fatal(err)
		}
		msg, _, _, err := d.codec.Unpack(b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := msg.GetString(48); got != tc.want+strings.Repeat("0", 31) {
			t.Errorf("%s: field 48 = %s; want %s + foreign zeros", tc.mode, got, tc.want)
		}
	}
	if _, err := NewCUP(CUPConfig{Totals: "both"}); err == nil {
		t.Errorf("NewCUP(totals both) succeeded; want an error")
	}
}

// TestPadLostKeys: a pad that lost its working keys (a power cycle) leaves the client
// not signed on, and the request is not sent.
func TestPadLostKeys(t *testing.T) {
	addr, frames := fakeHost(t, answerWith("00", unhex(t, testMAK), nil))
	sim := padsim.New()
	sim.InjectTMK(unhex(t, testTMK))
	pad, stop, err := padsim.Connect(sim)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := New(Config{Address: addr, TerminalID: "TERM0001", MerchantID: testMID, Keys: pad})
	c.signedOn = true // signed on once; the pad has since been power cycled (no MAK)
	_, err = c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 1, Amount: 100, At: day1})
	if !errors.Is(err, txn.ErrNotSent) || !strings.Contains(err.Error(), "sign on again") || c.SignedOn() {
		t.Errorf("Send with a pad without working keys = %v, signed on %v; want not sent, sign on again", err, c.SignedOn())
	}
	select {
	case <-frames:
		t.Errorf("a request went out without a MAC")
	default:
	}
}

// TestCUPRepeatReversal: a repeated reversal goes out as 0400 again (CUP has no 0401)
// and its 0410 is taken.
func TestCUPRepeatReversal(t *testing.T) {
	d := testCUP(t, cup.NetSignOnDouble)
	mak := unhex(t, "0123456789ABCDEF")
	addr, frames := cupHost(t, d, func(req *Decoded, raw []byte) []byte {
		return cupReply(d, req, "00", mak, nil)
	})
	pad := testKeys(t)
	sealed := ecbSeal(t, unhex(t, testTMK), mak)
	if err := pad.LoadWorkingKeys(context.Background(), pinpad.WorkingKeys{MAK: sealed, MAKCheck: ecbSeal(t, mak, make([]byte, 8))[:4]}); err != nil {
		t.Fatal(err)
	}
	c := New(Config{Address: addr, TerminalID: "TERM0001", MerchantID: testMID, Keys: pad, Dialect: d, Location: time.UTC})
	c.signedOn = true
	resp, err := c.Reverse(context.Background(), txn.Reversal{Orig: txn.Record{Type: txn.Sale, STAN: 5, Batch: 1, Amount: 100, CreatedAt: day1}, Reason: "98", Repeat: true})
	if err != nil || resp.Code != "00" {
		t.Fatalf("Reverse(repeat) = %+v, %v; want 00", resp, err)
	}
	if b := <-frames; b[cup.PrefixLen] != 0x04 || b[cup.PrefixLen+1] != 0x00 {
		t.Errorf("repeated reversal MTI = %X; want 0400", b[cup.PrefixLen:cup.PrefixLen+2])
	}
	testKeys(t) // the shared pad back on testMAK
}

// ecbSeal encrypts whole blocks under an 8- or 16-byte DES key.
func ecbSeal(t *testing.T, key, in []byte) []byte {
	var c interface{ Encrypt(dst, src []byte) }
	var err error
	if len(key) == 8 {
		c, err = des.NewCipher(key)
	} else {
		c, err = des.NewTripleDESCipher(append(append([]byte(nil), key...), key[:8]...))
	}
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(in))
	for i := 0; i < len(in); i += 8 {
		c.Encrypt(out[i:i+8], in[i:i+8])
	}
	return out
}

// TestCUPAnswerRoute: an answer with the terminal's trace and id counts only when its
// TPDU is the request's with destination and source swapped; one routed otherwise (the
// host did not swap, or it was meant for another node) is a bad answer, reversed.
func TestCUPAnswerRoute(t *testing.T) {
	d := testCUP(t, "003")
	f := Fields{11: "000123", 41: "SIM00001", 39: "00", 70: "003"}
	want := match{mti: "0810", stan: "000123", tid: "SIM00001"}
	swapped, err := d.Answering(&Decoded{Route: d.codec.TPDU[:]}).Encode("0810", f, nil, Crypto{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseResponse(d, swapped, want, nil); err != nil {
		t.Errorf("answer with the swapped TPDU = %v; want it taken", err)
	}
	same, err := d.Encode("0810", f, nil, Crypto{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseResponse(d, same, want, nil); !errors.Is(err, txn.ErrBadAnswer) {
		t.Errorf("answer with the request's own TPDU = %v; want ErrBadAnswer", err)
	}
}

// TestCUPField53: field 53 says the PIN key's algorithm as the sign-on delivered it —
// single DES (20…) after 001, triple DES (26…) after 003 and 004.
func TestCUPField53(t *testing.T) {
	for _, tc := range []struct{ signOn, want string }{
		{"001", "2000000000000000"}, {"003", "2600000000000000"},
	} {
		d, err := NewCUP(CUPConfig{SignOn: tc.signOn})
		if err != nil {
			t.Fatal(err)
		}
		w, err := d.toWire("0200", Fields{3: "000000", 4: "100", 11: "000001", 22: "021", 60: "000001"}, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if w[53] != tc.want {
			t.Errorf("sign-on %s: field 53 = %q; want %q", tc.signOn, w[53], tc.want)
		}
	}
}
