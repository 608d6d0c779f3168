package hostsim

import (
	"fmt"
	"strconv"
	"testing"

	"posfw/drivers/testkit"
	"posfw/firmware/host"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// fuzzServer is a simulator with an in-memory ledger and terminal testTID
// signed on; it returns the terminal's MAC key.
func fuzzServer(tb testing.TB) (*Server, []byte) {
	tb.Helper()
	srv, err := New(Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	a := srv.handle(frame(tb, "0800", host.Fields{11: "000001", 41: testTID, 70: host.NetSignOn}, nil), Fault{Mode: OK})
	resp, err := iso87.Unpack(a.frame)
	if err != nil {
		tb.Fatal(err)
	}
	f62, _ := resp.GetString(62)
	kbs, err := host.ParseKeyBlocks(f62)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := kbs[0].Open(testkit.Unhex(tb, DefaultMasterKey))
	if err != nil {
		tb.Fatal(err)
	}
	return srv, key
}

// frame packs a request, MACed under key unless key is nil.
func frame(tb testing.TB, mti string, f host.Fields, key []byte) []byte {
	msg, err := host.Build(mti, f)
	if err != nil {
		tb.Fatal(err)
	}
	var b []byte
	if key != nil {
		b, err = host.PackMAC(msg, key)
	} else {
		b, err = iso87.Pack(msg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkAnswer asserts what handle must do with any frame: close the
// connection only for a frame that is not a request of the dialect; stay
// silent only for a financial amount ending in .98; otherwise answer with
// the request's response MTI, STAN and terminal id, and a known code.
func checkAnswer(t *testing.T, in []byte, a answer) {
	t.Helper()
	req, err := iso87.Unpack(in)
	var m host.Message
	if err == nil {
		mti, _ := req.GetMTI()
		m, _ = host.LookupMessage(mti)
	}
	switch a.act {
	case actClose:
		if m.MTI != "" {
			t.Fatalf("handle(%q) closed the connection on a request of the dialect", in)
		}
		return
	case actSilent:
		amount, _ := req.GetString(4)
		if n, _ := strconv.ParseInt(amount, 10, 64); n%100 != 98 {
			t.Fatalf("handle(%q) did not answer an amount of %s", in, amount)
		}
		return
	}
	if m.MTI == "" {
		t.Fatalf("handle(%q) answered a frame that is no request of the dialect", in)
	}
	resp, err := iso87.Unpack(a.frame)
	if err != nil {
		t.Fatalf("handle(%q) answered %q, which does not unpack: %v", in, a.frame, err)
	}
	mti, _ := resp.GetMTI()
	code, _ := resp.GetString(39)
	stan, _ := req.GetString(11)
	rstan, _ := resp.GetString(11)
	if mti != m.Response || rstan != stan || len(code) != 2 {
		t.Fatalf("handle(%q) answered MTI %s STAN %q code %q; want %s %q", in, mti, rstan, code, m.Response, stan)
	}
	if _, known := codes[code]; !known {
		t.Fatalf("handle(%q) answered code %q, which is not in txn.Codes", in, code)
	}
}

var codes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range txn.Codes {
		m[c.Code] = true
	}
	m[host.CodeUnbalanced] = true
	return m
}()

// checkLedger asserts the ledger's bookkeeping: every sale's refunded amount
// is the sum of its standing refunds and within its amount, and every
// standing void's original is voided.
func checkLedger(t *testing.T, l *Ledger) {
	t.Helper()
	rows, err := l.List("")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Auth{}
	refunds := map[int64]int64{}
	for _, a := range rows {
		byID[a.ID] = a
		if a.Type == txn.Refund && a.Status == Authorised {
			refunds[a.OrigID] += a.Amount
		}
	}
	for _, a := range rows {
		switch {
		case a.Type == txn.Sale && (a.Refunded != refunds[a.ID] || a.Refunded < 0 || a.Refunded > a.Amount):
			t.Fatalf("sale %d has %d refunded; its standing refunds sum to %d, its amount is %d", a.ID, a.Refunded, refunds[a.ID], a.Amount)
		case a.Type == txn.Void && a.Status == Authorised && byID[a.OrigID].Status != Voided:
			t.Fatalf("void %d stands but its original %d is %s", a.ID, a.OrigID, byID[a.OrigID].Status)
		}
	}
}

// FuzzHandle feeds arbitrary frames to the simulator's request handling.
func FuzzHandle(f *testing.F) {
	srv, key := fuzzServer(f)
	sale := host.Fields{
		2: "6222021234567894", 3: "000000", 4: "1000", 7: "0412153000", 11: "000002", 12: "153000",
		13: "0412", 22: "022", 41: testTID, 49: "156", 60: "000001",
	}
	f.Add(frame(f, "0200", sale, key))
	f.Add(frame(f, "0200", sale, nil))
	f.Add(frame(f, "0800", host.Fields{11: "000003", 41: testTID, 70: host.NetEcho}, nil))
	f.Add(frame(f, "0400", host.Fields{3: "000000", 4: "1000", 11: "000002", 41: testTID,
		90: host.OriginalData{MTI: "0200", STAN: 2, DateTime: "0412153000"}.String()}, key))
	f.Add(frame(f, "0210", host.Fields{11: "000002", 41: testTID, 39: "00"}, nil))
	f.Add(frame(f, "0200", chipSeed(f, "000004", false), key))
	f.Add(frame(f, "0200", chipSeed(f, "000005", true), key))
	f.Add([]byte("0200\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAnswer(t, in, srv.handle(in, Fault{Mode: OK}))
		checkLedger(t, srv.Ledger())
	})
}

// FuzzFinancial drives the rules with well-formed, correctly MACed
// requests built from fuzzed values, so that the fuzzer explores the
// ledger's states rather than MAC failures.
func FuzzFinancial(f *testing.F) {
	srv, key := fuzzServer(f)
	f.Add(uint8(0), uint32(1), int64(1000), uint8(0), uint8(0), "0412")
	f.Add(uint8(1), uint32(2), int64(1000), uint8(0), uint8(1), "0412")
	f.Add(uint8(2), uint32(3), int64(400), uint8(0), uint8(1), "0412")
	f.Add(uint8(3), uint32(4), int64(1000), uint8(0), uint8(1), "0412")
	f.Add(uint8(4), uint32(5), int64(1000), uint8(0), uint8(0), "")
	f.Fuzz(func(t *testing.T, kind uint8, stan uint32, amount int64, card uint8, orig uint8, date string) {
		pans := []string{"6222021234567894", "4000001234567899", "6222025555000013", "4111111111111112"}
		fs := host.Fields{
			2: pans[int(card)%len(pans)], 7: "0412153000", 11: fmt.Sprintf("%06d", stan%999_999+1),
			12: "153000", 13: "0412", 22: "022", 41: testTID, 49: "156", 60: "000001",
			4: strconv.FormatInt(max(amount, 0)%1_000_000, 10),
		}
		// The original: one of the first rows of the ledger, by RRN and STAN.
		if rows, _ := srv.Ledger().List(testTID); len(rows) > 0 {
			o := rows[int(orig)%len(rows)]
			if o.RRN != "" {
				fs[37] = o.RRN
			}
			dt := o.Date + o.Time
			if len(date) == 4 {
				dt = date + "000000"
			}
			fs[90] = host.OriginalData{MTI: "0200", STAN: o.STAN, DateTime: dt}.String()
			if kind%5 == 3 { // reversal of the original
				fs[11] = fmt.Sprintf("%06d", o.STAN)
				fs[4] = strconv.FormatInt(o.Amount, 10)
			}
		}
		var mti string
		switch kind % 5 {
		case 0:
			mti, fs[3] = "0200", "000000"
		case 1:
			mti, fs[3] = "0200", "020000"
		case 2:
			mti, fs[3] = "0220", "200000"
		case 3:
			mti, fs[3] = "0400", "000000"
		case 4:
			mti, fs[3] = "0401", "000000"
		}
		msg, err := host.Build(mti, fs)
		if err != nil {
			return
		}
		in, err := host.PackMAC(msg, key)
		if err != nil {
			return // a value the dialect cannot carry
		}
		checkAnswer(t, in, srv.handle(in, Fault{Mode: OK}))
		checkLedger(t, srv.Ledger())
	})
}

// FuzzParseFault: no panic, and a fault accepted reads back from its String.
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"ok", "slow:0.5", "echo:4@0200", "code:Z9@0220#2", "hold@0500#1", "cut", "down@0200", "slow:1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFault(s)
		if err != nil {
			return
		}
		again, err := ParseFault(got.String())
		if err != nil || again != got {
			t.Fatalf("ParseFault(%q) = %+v, but its String %q reads back as %+v, %v", s, got, got.String(), again, err)
		}
	})
}
