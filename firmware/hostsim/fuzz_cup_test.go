package hostsim

import (
	"strconv"
	"testing"

	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host"
)

// cupFuzzServer is a simulator speaking CUP with terminal testTID signed on; it returns
// the dialect and the terminal's MAK.
func cupFuzzServer(tb testing.TB) (*Server, host.CUP, []byte) {
	tb.Helper()
	d, err := host.NewCUP(host.CUPConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(Config{Dialect: d})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	b, err := d.Encode("0800", host.Fields{11: "000001", 41: testTID, 42: testMID, 70: host.NetSignOn}, nil, host.Crypto{})
	if err != nil {
		tb.Fatal(err)
	}
	if a := srv.handle(b, Fault{Mode: OK}); a.act != actAnswer {
		tb.Fatalf("CUP sign-on not answered")
	}
	return srv, d, srv.macKey(testTID)
}

// FuzzHandleCUP is FuzzHandle in the CUP dialect: any bytes, never a panic; a request
// of the dialect is answered with its response MTI, STAN and a known code (or, for an
// amount ending in .98, not at all); anything else closes the connection.
func FuzzHandleCUP(f *testing.F) {
	srv, d, key := cupFuzzServer(f)
	sign := host.KeySigner(mac.CUPECB, key)
	sale := host.Fields{
		2: "6222021234567894", 3: "000000", 4: "1000", 11: "000002", 12: "153000",
		13: "0412", 22: "022", 41: testTID, 42: testMID, 49: "156", 60: "000001",
	}
	for _, seed := range []struct {
		mti  string
		f    host.Fields
		sign host.Signer
	}{
		{"0200", sale, sign},
		{"0200", sale, nil},
		{"0200", chipSeed(f, "000005", false), sign},
		{"0200", chipSeed(f, "000006", true), sign},
		{"0800", host.Fields{11: "000003", 41: testTID, 70: host.NetEcho}, nil},
		{"0400", host.Fields{3: "000000", 4: "1000", 11: "000002", 41: testTID, 60: "000001",
			90: host.OriginalData{MTI: "0200", STAN: 2, DateTime: "0412000000"}.String()}, sign},
		{"0500", host.Fields{3: host.ProcSettle, 11: "000004", 41: testTID, 60: "000001",
			63: "000001000000001000000000000000000000" + "000000000000000000000000000000000000000000000000000000"}, sign},
	} {
		b, err := d.Encode(seed.mti, seed.f, nil, host.Crypto{Sign: seed.sign})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a := srv.handle(in, Fault{Mode: OK})
		req, err := d.Decode(in)
		var m host.Message
		if err == nil {
			m, _ = host.LookupMessage(req.MTI)
		}
		switch a.act {
		case actClose:
			if m.MTI != "" {
				t.Fatalf("handle(%X) closed the connection on a request of the dialect", in)
			}
			return
		case actSilent:
			if n, _ := strconv.ParseInt(req.Get(4), 10, 64); n%100 != 98 {
				t.Fatalf("handle(%X) did not answer an amount of %s", in, req.Get(4))
			}
			return
		}
		if m.MTI == "" {
			t.Fatalf("handle(%X) answered a frame that is no request of the dialect", in)
		}
		resp, err := d.Decode(a.frame)
		if err != nil {
			t.Fatalf("handle(%X) answered %X, which does not decode: %v", in, a.frame, err)
		}
		if code := resp.Get(39); resp.MTI != m.Response || resp.Get(11) != req.Get(11) || len(code) != 2 || !codes[code] {
			t.Fatalf("handle(%X) answered MTI %s STAN %q code %q; want %s %q", in, resp.MTI, resp.Get(11), code, m.Response, req.Get(11))
		}
		if a.frame[1] != in[3] || a.frame[2] != in[4] || a.frame[3] != in[1] || a.frame[4] != in[2] {
			t.Fatalf("handle(%X) answered with TPDU %X; want the request's swapped", in, a.frame[:5])
		}
		checkLedger(t, srv.Ledger())
	})
}
