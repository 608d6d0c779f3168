package host

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// Test card data: a well-known Visa test PAN, never a real card.
const (
	testPAN    = "4761739001010119"
	testTrack2 = "4761739001010119=29122011143800000"
	testPIN    = "\x12\x34\x56\x78\x90\xAB\xCD\xEF" // an (encrypted) PIN block
	testKSN    = "\xFF\xFF\x98\x76\x54\x32\x10\xE0\x00\x01"
)

// answerer is how a fake host treats one request: it gets the request and
// its connection and writes what it likes.
type answerer func(req *iso8583.Message, conn net.Conn)

// fakeHost serves answer on a loopback listener and returns its address. Each
// request frame received is sent on the returned channel.
func fakeHost(t *testing.T, answer answerer) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveFake(t, ln, answer)
}

func serveFake(t *testing.T, ln net.Listener, answer answerer) (string, <-chan []byte) {
	frames := make(chan []byte, 16)
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
				select {
				case frames <- frame:
				default:
				}
				msg, err := iso87.Unpack(frame)
				if err != nil {
					return
				}
				answer(msg, conn)
			}()
		}
	}()
	return ln.Addr().String(), frames
}

// reply builds the answer to req: its response MTI, fields 11 and 41 echoed,
// code in 39, then extra (a "" value removes a field); MACed under key
// unless key is nil.
func reply(req *iso8583.Message, code string, key []byte, extra Fields) []byte {
	mti, _ := req.GetMTI()
	m, _ := LookupMessage(mti)
	f := Fields{39: code}
	for _, e := range Echoes {
		if v := str(req, e.Field); v != "" {
			f[e.Field] = v
		}
	}
	for id, v := range extra {
		f[id] = v
		if v == "" {
			delete(f, id)
		}
	}
	resp, err := Build(m.Response, f)
	if err != nil {
		panic(err)
	}
	if key != nil {
		b, err := PackMAC(resp, key)
		if err != nil {
			panic(err)
		}
		return b
	}
	b, err := iso87.Pack(resp)
	if err != nil {
		panic(err)
	}
	return b
}

func answerWith(code string, key []byte, extra Fields) answerer {
	return func(req *iso8583.Message, conn net.Conn) {
		iso87.WriteFrame(conn, reply(req, code, key, extra))
	}
}

var (
	day1    = time.Date(2026, 4, 12, 15, 30, 0, 0, time.UTC)
	testMID = "MERCHANT0000001"
)

// testClient returns a client of addr, signed on with testMAK.
func testClient(t testing.TB, addr string, now time.Time) *Client {
	t.Helper()
	c := New(Config{
		Address: addr, ConnectTimeout: time.Second, ResponseTimeout: 2 * time.Second,
		TerminalID: "TERM0001", MerchantID: testMID, Keys: testKeys(t),
		Now: func() time.Time { return now }, Location: time.UTC,
	})
	c.signedOn = true
	return c
}

func testCard() *txn.Card {
	return &txn.Card{
		PAN: []byte(testPAN), Track2: []byte(testTrack2), Expiry: "2912", EntryMode: txn.Swiped,
		PINBlock: []byte(testPIN), KSN: []byte(testKSN),
	}
}

// segment is one piece of an expected wire message.
type segment struct{ name, b string }

func bin(name, h string) segment {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return segment{name, string(b)}
}

// wireGolden is a request the client must put on the wire byte for byte,
// written out by hand; the MAC segment is computed by X9.19 over the
// segments before it.
type wireGolden struct {
	name string
	now  time.Time
	call func(c *Client) error
	wire []segment
}

var wireGoldens = []wireGolden{
	{
		name: "0200 sale with PIN",
		now:  day1,
		call: func(c *Client) error {
			_, err := c.Send(context.Background(), txn.Request{
				Type: txn.Sale, STAN: 123, Batch: 42, Amount: 12345, Card: testCard(), At: day1,
			})
			return err
		},
		wire: []segment{
			{"MTI", "0200"},
			// 2 3 4 7 | 11 12 13 14 | 22 | 25 | 35 | 41 42 | 49 52 | 60 62 64
			bin("bitmap", "723C048020C09015"),
			{"F2", "16" + testPAN},
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000123"},
			{"F12", "153000"},
			{"F13", "0412"},
			{"F14", "2912"},
			{"F22", "021"},
			{"F25", "00"},
			{"F35", "34" + testTrack2},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F52", "1234567890ABCDEF"},
			{"F60", "006000042"},
			{"F62", "020FFFF9876543210E00001"},
		},
	},
	{
		name: "0200 void",
		now:  day1,
		call: func(c *Client) error {
			_, err := c.Send(context.Background(), txn.Request{
				Type: txn.Void, STAN: 124, Batch: 42, Amount: 12345, At: day1,
				OrigSTAN: 123, OrigRRN: "041215300123", OrigAuthCode: "AB12", OrigDate: "0412",
			})
			return err
		},
		wire: []segment{
			{"MTI", "0200"},
			// 1 3 4 7 | 11 12 13 | - | 25 | 37 38 | 41 42 | 49 | 60 ; 90 128
			bin("primary bitmap", "B23800800CC08010"),
			bin("secondary bitmap", "0000004000000001"),
			{"F3", "020000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000124"},
			{"F12", "153000"},
			{"F13", "0412"},
			{"F25", "00"},
			{"F37", "041215300123"},
			{"F38", "AB12  "},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F60", "006000042"},
			{"F90", "0200" + "000123" + "0412000000" + "00000000000" + "00000000000"},
		},
	},
	{
		name: "0220 refund, keyed card",
		now:  day1.Add(18*time.Hour + 30*time.Minute),
		call: func(c *Client) error {
			_, err := c.Send(context.Background(), txn.Request{
				Type: txn.Refund, STAN: 125, Batch: 42, Amount: 500, Currency: "156",
				Card:     &txn.Card{PAN: []byte(testPAN), Expiry: "2912", EntryMode: txn.Keyed},
				OrigSTAN: 123, OrigRRN: "041215300123", OrigDate: "0412",
				At: time.Date(2026, 4, 13, 10, 0, 0, 0, time.UTC),
			})
			return err
		},
		wire: []segment{
			{"MTI", "0220"},
			// 1 2 3 4 7 | 11 12 13 14 | 22 | 25 | 37 | 41 42 | 49 | 60 ; 90 128
			bin("primary bitmap", "F23C048008C08010"),
			bin("secondary bitmap", "0000004000000001"),
			{"F2", "16" + testPAN},
			{"F3", "200000"},
			{"F4", "000000000500"},
			{"F7", "0413100000"},
			{"F11", "000125"},
			{"F12", "100000"},
			{"F13", "0413"},
			{"F14", "2912"},
			{"F22", "012"},
			{"F25", "00"},
			{"F37", "041215300123"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F60", "006000042"},
			{"F90", "0200" + "000123" + "0412000000" + "00000000000" + "00000000000"},
		},
	},
	{
		name: "0401 reversal repeat",
		now:  day1.Add(45 * time.Second),
		call: func(c *Client) error {
			_, err := c.Reverse(context.Background(), txn.Reversal{
				Orig: txn.Record{
					Type: txn.Sale, STAN: 123, Batch: 42, Amount: 12345, Currency: "CNY", CreatedAt: day1,
				},
				Reason: "98", Repeat: true,
			})
			return err
		},
		wire: []segment{
			{"MTI", "0401"},
			// 1 3 4 7 | 11 | - | 25 | 39 | 41 42 | 49 | 60 ; 90 128
			bin("primary bitmap", "B220008002C08010"),
			bin("secondary bitmap", "0000004000000001"),
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153045"},
			{"F11", "000123"},
			{"F25", "00"},
			{"F39", "98"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F60", "006000042"},
			{"F90", "0200" + "000123" + "0412153000" + "00000000000" + "00000000000"},
		},
	},
	{
		name: "0500 settlement",
		now:  time.Date(2026, 4, 12, 23, 0, 0, 0, time.UTC),
		call: func(c *Client) error {
			_, err := c.Settle(context.Background(), txn.Totals{
				Batch: 42, Sales: txn.Total{Count: 3, Amount: 12345}, Refunds: txn.Total{Count: 1, Amount: 500},
			}, 126, false)
			return err
		},
		wire: []segment{
			{"MTI", "0500"},
			// 3 7 | 11 | 41 42 | 49 | 60 63 64
			bin("bitmap", "2220000000C08013"),
			{"F3", "920000"},
			{"F7", "0412230000"},
			{"F11", "000126"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F60", "006000042"},
			{"F63", "090" + "000003000000012345" + "000001000000000500" + strings.Repeat("0", 54)},
		},
	},
	{
		name: "0320 batch upload",
		now:  time.Date(2026, 4, 12, 23, 0, 5, 0, time.UTC),
		call: func(c *Client) error {
			return c.Upload(context.Background(), txn.Record{
				Type: txn.Sale, STAN: 123, Batch: 42, Amount: 12345, RRN: "041215300123", AuthCode: "AB12",
				CreatedAt: day1,
			}, 127)
		},
		wire: []segment{
			{"MTI", "0320"},
			// 1 3 4 7 | 11 | - | - | 37 38 | 41 42 | 49 | 60 ; 90 128
			bin("primary bitmap", "B22000000CC08010"),
			bin("secondary bitmap", "0000004000000001"),
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412230005"},
			{"F11", "000127"},
			{"F37", "041215300123"},
			{"F38", "AB12  "},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F60", "006000042"},
			{"F90", "0200" + "000123" + "0412153000" + "00000000000" + "00000000000"},
		},
	},
	{
		name: "0800 echo",
		now:  time.Date(2026, 4, 12, 8, 0, 0, 0, time.UTC),
		call: func(c *Client) error { return c.Echo(context.Background(), 1) },
		wire: []segment{
			{"MTI", "0800"},
			// 1 7 | 11 | 41 42 ; 70
			bin("primary bitmap", "8220000000C00000"),
			bin("secondary bitmap", "0400000000000000"),
			{"F7", "0412080000"},
			{"F11", "000001"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F70", "301"},
		},
	},
}

// TestWireGolden checks what the client puts on the wire, segment by
// segment, against bytes written out by hand from the dialect's layout.
func TestWireGolden(t *testing.T) {
	key := unhex(t, testMAK)
	for _, g := range wireGoldens {
		addr, frames := fakeHost(t, func(req *iso8583.Message, conn net.Conn) {
			iso87.WriteFrame(conn, reply(req, "00", key, nil))
		})
		c := testClient(t, addr, g.now)
		if err := g.call(c); err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		got := <-frames
		var want []byte
		for _, s := range g.wire {
			want = append(want, s.b...)
		}
		wire := g.wire
		if m, _ := LookupMessage(g.wire[0].b); m.MAC {
			m, _ := mac.X919(key, want)
			s := segment{"MAC", strings.ToUpper(hex.EncodeToString(m[:]))}
			wire = append(wire[:len(wire):len(wire)], s)
			want = append(want, s.b...)
		}
		off := 0
		for _, s := range wire {
			end := min(off+len(s.b), len(got))
			if seg := got[off:end]; string(seg) != s.b {
				t.Errorf("%s: %s = %q (% X); want %q (% X)", g.name, s.name, seg, seg, s.b, s.b)
			}
			off += len(s.b)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d bytes on the wire; want %d", g.name, len(got), len(want))
		}
	}
}

// TestErrorClasses checks that every way an exchange can fail comes back as
// exactly one of the txn errors, the one that decides the record's fate.
func TestErrorClasses(t *testing.T) {
	key := unhex(t, testMAK)
	otherKey := unhex(t, testTMK)
	hang := func(req *iso8583.Message, conn net.Conn) { conn.Read(make([]byte, 1)) }
	for _, tt := range []struct {
		name   string
		answer answerer // nil: nothing listens
		want   error    // nil: an answer
		code   string
	}{
		{"nothing listens", nil, txn.ErrNotSent, ""},
		{"no answer", hang, txn.ErrNoResponse, ""},
		{"closed without answer", func(*iso8583.Message, net.Conn) {}, txn.ErrNoResponse, ""},
		{"half a frame", func(_ *iso8583.Message, conn net.Conn) { conn.Write([]byte{0, 40, '0', '2'}) }, txn.ErrNoResponse, ""},
		{"garbage frame", func(_ *iso8583.Message, conn net.Conn) { iso87.WriteFrame(conn, []byte("\x8bq\x00garbage")) }, txn.ErrNoResponse, ""},
		{"raw garbage", func(_ *iso8583.Message, conn net.Conn) { conn.Write([]byte("\xff\xff\xffHTTP/1.1 400")) }, txn.ErrNoResponse, ""},
		{"answer without 39", answerWith("00", key, Fields{39: ""}), txn.ErrNoResponse, ""},
		{"MAC under another key", answerWith("00", otherKey, nil), txn.ErrBadMAC, ""},
		{"approval without MAC", answerWith("00", nil, nil), txn.ErrBadMAC, ""},
		{"decline without MAC", answerWith("51", nil, nil), txn.ErrBadMAC, ""},
		{"A0 without MAC", answerWith("A0", nil, nil), txn.ErrBadMAC, ""},
		{"97 without MAC", answerWith("97", nil, nil), txn.ErrBadMAC, ""},
		{"30 without MAC", answerWith("30", nil, nil), txn.ErrBadMAC, ""},
		{"approval for another processing code", answerWith("00", key, Fields{3: "200000"}), txn.ErrBadAnswer, ""},
		{"approval for another amount", answerWith("00", key, Fields{4: "1"}), txn.ErrBadAnswer, ""},
		{"approval without the amount", answerWith("00", key, Fields{4: ""}), txn.ErrBadAnswer, ""},
		{"approval for another merchant", answerWith("00", key, Fields{42: "898000000000002"}), txn.ErrBadAnswer, ""},
		{"approval in another currency", answerWith("00", key, Fields{49: "840"}), txn.ErrBadAnswer, ""},
		{"approval without the currency", answerWith("00", key, Fields{49: ""}), nil, "00"},
		{"approval for another batch", answerWith("00", key, Fields{60: "000002"}), txn.ErrBadAnswer, ""},
		{"decline for another amount", answerWith("51", key, Fields{4: "1"}), txn.ErrBadAnswer, ""},
		{"A0 with a bad MAC", answerWith("A0", otherKey, nil), txn.ErrBadMAC, ""},
		{"decline", answerWith("51", key, nil), nil, "51"},
		{"answer for another STAN, then none", answerWith("00", key, Fields{11: "999999"}), txn.ErrNoResponse, ""},
		{"answer for another terminal, then none", answerWith("00", key, Fields{41: "TERM0002"}), txn.ErrNoResponse, ""},
		{"wrong MTI class, then none", func(req *iso8583.Message, conn net.Conn) {
			req.MTI("0400") // answered as if it were a reversal: 0410
			iso87.WriteFrame(conn, reply(req, "00", key, nil))
		}, txn.ErrNoResponse, ""},
		{"a stray answer, then the right one", func(req *iso8583.Message, conn net.Conn) {
			iso87.WriteFrame(conn, reply(req, "51", key, Fields{11: "000122"}))
			iso87.WriteFrame(conn, reply(req, "00", key, Fields{37: "000000000001"}))
		}, nil, "00"},
	} {
		addr := closedAddr(t)
		if tt.answer != nil {
			addr, _ = fakeHost(t, tt.answer)
		}
		c := testClient(t, addr, day1)
		c.cfg.ResponseTimeout = 300 * time.Millisecond
		resp, err := c.Send(context.Background(), txn.Request{
			Type: txn.Sale, STAN: 123, Batch: 1, Amount: 100, Card: testCard(), At: day1,
		})
		if tt.want == nil {
			if err != nil || resp.Code != tt.code {
				t.Errorf("%s: Send() = %+v, %v; want code %s", tt.name, resp, err, tt.code)
			}
			continue
		}
		if n := classes(err); n != 1 || !errors.Is(err, tt.want) {
			t.Errorf("%s: Send() = %v (%d txn error classes); want %v", tt.name, err, n, tt.want)
		}
	}
}

// classes counts the txn errors err wraps: a Host must return exactly one.
func classes(err error) int {
	n := 0
	for _, e := range []error{txn.ErrNotSent, txn.ErrNoResponse, txn.ErrBadMAC, txn.ErrBadAnswer} {
		if errors.Is(err, e) {
			n++
		}
	}
	return n
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestNotSentWithoutConnecting(t *testing.T) {
	connected := make(chan struct{}, 8)
	addr, _ := fakeHost(t, func(*iso8583.Message, net.Conn) { connected <- struct{}{} })
	sale := txn.Request{Type: txn.Sale, STAN: 1, Amount: 100, At: day1}
	for _, tt := range []struct {
		name  string
		setup func(c *Client)
		req   txn.Request
	}{
		{"not signed on", func(c *Client) { c.signedOn = false }, sale},
		{"no PIN pad", func(c *Client) { c.UseKeys(nil) }, sale},
		{"closed", func(c *Client) { c.Close() }, sale},
		{"manual refund", nil, txn.Request{Type: txn.ManualRefund, STAN: 1, Amount: 100}},
		{"STAN 0", nil, txn.Request{Type: txn.Sale, Amount: 100}},
		{"zero amount", nil, txn.Request{Type: txn.Sale, STAN: 1}},
		{"void without RRN", nil, txn.Request{Type: txn.Void, STAN: 1, Amount: 100}},
		{"short PIN block", nil, txn.Request{Type: txn.Sale, STAN: 1, Amount: 100,
			Card: &txn.Card{PAN: []byte(testPAN), EntryMode: txn.Swiped, PINBlock: []byte{1, 2}, KSN: []byte(testKSN)}}},
		{"letter in PAN", nil, txn.Request{Type: txn.Sale, STAN: 1, Amount: 100,
			Card: &txn.Card{PAN: []byte("47617390010A0119"), EntryMode: txn.Keyed}}},
	} {
		c := testClient(t, addr, day1)
		if tt.setup != nil {
			tt.setup(c)
		}
		_, err := c.Send(context.Background(), tt.req)
		if classes(err) != 1 || !errors.Is(err, txn.ErrNotSent) {
			t.Errorf("%s: Send() = %v; want %v", tt.name, err, txn.ErrNotSent)
		}
	}
	bad := New(Config{Address: addr, TerminalID: "TERMINAL9", MerchantID: testMID, Keys: testKeys(t)})
	if err := bad.Echo(context.Background(), 1); !errors.Is(err, txn.ErrNotSent) {
		t.Errorf("Echo() with a 9-character terminal id = %v; want %v", err, txn.ErrNotSent)
	}
	select {
	case <-connected:
		t.Errorf("a request that must not be sent reached the host")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestContextCancel(t *testing.T) {
	addr, _ := fakeHost(t, func(req *iso8583.Message, conn net.Conn) { conn.Read(make([]byte, 1)) })
	c := testClient(t, addr, day1)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Send(ctx, txn.Request{Type: txn.Sale, STAN: 1, Amount: 100, At: day1})
	if !errors.Is(err, txn.ErrNoResponse) || !errors.Is(err, context.Canceled) {
		t.Errorf("Send(cancelled while waiting) = %v; want %v and %v", err, txn.ErrNoResponse, context.Canceled)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send() returned %v after the cancel; want at once", d)
	}
}

func TestResponse(t *testing.T) {
	key := unhex(t, testMAK)
	addr, _ := fakeHost(t, answerWith("00", key, Fields{37: "041215300123", 38: "AB12", 12: "153001", 13: "0412"}))
	c := testClient(t, addr, day1)
	resp, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 123, Amount: 100, At: day1})
	want := txn.Response{Code: "00", RRN: "041215300123", AuthCode: "AB12", HostTime: day1.Add(time.Second)}
	if err != nil || resp != want {
		t.Errorf("Send() = %+v, %v; want %+v", resp, err, want)
	}
}

func TestHostTimeYear(t *testing.T) {
	c := New(Config{Location: time.UTC, Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC) }})
	for _, tt := range []struct {
		mmdd, hhmmss string
		want         time.Time
	}{
		{"1231", "235959", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"0101", "000010", time.Date(2027, 1, 1, 0, 0, 10, 0, time.UTC)},
		{"1331", "000000", time.Time{}},
		{"", "", time.Time{}},
	} {
		if got := c.hostTime(tt.mmdd, tt.hhmmss); !got.Equal(tt.want) {
			t.Errorf("hostTime(%q, %q) = %v; want %v", tt.mmdd, tt.hhmmss, got, tt.want)
		}
	}
}

func signOnAnswer(t *testing.T, keys string) answerer {
	return answerWith("00", nil, Fields{62: keys, 70: NetSignOn})
}

func TestSignOn(t *testing.T) {
	tmk, mak := unhex(t, testTMK), unhex(t, testMAK)
	pik := unhex(t, "89ABCDEF0123456776543210FEDCBA98")
	makBlock, _ := SealKey(tmk, mak)
	pikBlock, _ := SealKey(tmk, pik)
	damaged := makBlock
	damaged.Key[3] ^= 0x10
	for _, tt := range []struct {
		name    string
		answer  answerer
		wantErr error // nil: signed on
	}{
		{"MAC key", signOnAnswer(t, makBlock.String()), nil},
		{"MAC and PIN keys", signOnAnswer(t, makBlock.String()+pikBlock.String()), nil},
		{"damaged MAC key", signOnAnswer(t, damaged.String()), txn.ErrNoResponse},
		{"damaged PIN key", signOnAnswer(t, makBlock.String()+damaged.String()), txn.ErrNoResponse},
		{"no keys", signOnAnswer(t, ""), txn.ErrNoResponse},
		{"refused", answerWith("97", nil, nil), &RefusedError{}},
	} {
		addr, frames := fakeHost(t, tt.answer)
		c := testClient(t, addr, day1)
		c.signedOn = false
		err := c.SignOn(context.Background(), 7)
		if req, _ := iso87.Unpack(<-frames); str(req, 70) != NetSignOn || str(req, 11) != "000007" {
			t.Errorf("%s: sign-on request has 70=%q 11=%q", tt.name, str(req, 70), str(req, 11))
		}
		var refused *RefusedError
		switch {
		case tt.wantErr == nil:
			// the pad now MACs under the MAK of the answer
			got, merr := c.keys.MAC(context.Background(), pinpad.MACX919, []byte("data"))
			want, _ := mac.X919(mak, []byte("data"))
			if err != nil || !c.SignedOn() || merr != nil || got != want {
				t.Errorf("%s: SignOn() = %v; the pad's MAC %X, %v; want %X under the MAK", tt.name, err, got, merr, want)
			}
		case errors.As(tt.wantErr, &refused):
			if !errors.As(err, &refused) || refused.Code != "97" || c.SignedOn() {
				t.Errorf("%s: SignOn() = %v; want a refusal with code 97", tt.name, err)
			}
		default:
			if !errors.Is(err, tt.wantErr) || c.SignedOn() {
				t.Errorf("%s: SignOn() = %v, signed on %v; want %v", tt.name, err, c.SignedOn(), tt.wantErr)
			}
		}
	}
}

func TestCloseEnds(t *testing.T) {
	c := testClient(t, "127.0.0.1:1", day1)
	c.Close()
	_, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 1, Amount: 100, At: day1})
	if c.SignedOn() || !errors.Is(err, txn.ErrNotSent) {
		t.Errorf("after Close: signed on %v, Send = %v; want not signed on, %v", c.SignedOn(), err, txn.ErrNotSent)
	}
}

func TestSettleAnswers(t *testing.T) {
	key := unhex(t, testMAK)
	for _, tt := range []struct {
		code     string
		balanced bool
		refused  bool
	}{{"00", true, false}, {"95", false, false}, {"96", false, true}} {
		addr, _ := fakeHost(t, answerWith(tt.code, key, nil))
		c := testClient(t, addr, day1)
		balanced, err := c.Settle(context.Background(), txn.Totals{Batch: 1}, 9, false)
		var refused *RefusedError
		if balanced != tt.balanced || errors.As(err, &refused) != tt.refused || (!tt.refused && err != nil) {
			t.Errorf("Settle() answered %s = %v, %v; want %v, refused %v", tt.code, balanced, err, tt.balanced, tt.refused)
		}
	}
}

// TestNoCardDataOut makes requests fail in every way while logging at debug
// level, and checks that no PAN, track 2 or PIN block reaches the log or an
// error.
func TestNoCardDataOut(t *testing.T) {
	key := unhex(t, testMAK)
	var log bytes.Buffer
	var errs []string
	for _, answer := range []answerer{
		answerWith("00", key, Fields{2: testPAN, 35: testTrack2}),
		answerWith("00", key, Fields{11: "000999", 2: testPAN, 35: testTrack2, 52: testPIN}),
		answerWith("00", nil, Fields{2: testPAN}),
		func(_ *iso8583.Message, conn net.Conn) { iso87.WriteFrame(conn, []byte("0210"+testPAN)) },
	} {
		addr, _ := fakeHost(t, answer)
		c := testClient(t, addr, day1)
		c.cfg.ResponseTimeout = 200 * time.Millisecond
		c.log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		_, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 123, Amount: 100, Card: testCard(), At: day1})
		errs = append(errs, fmt.Sprint(err))
	}
	bad := &txn.Card{PAN: []byte("4761739001X10119"), Track2: []byte(testTrack2 + "X"), EntryMode: txn.Swiped}
	_, err := testClient(t, "127.0.0.1:1", day1).Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 1, Amount: 1, Card: bad})
	errs = append(errs, fmt.Sprint(err))
	out := log.String() + strings.Join(errs, "\n")
	if !strings.Contains(log.String(), "476173******0119") {
		t.Errorf("the debug log does not show the requests (masked PAN missing):\n%s", log.String())
	}
	for _, secret := range []string{testPAN, "4761739001X10119", testTrack2[17:], "1234567890ABCDEF", hex.EncodeToString([]byte(testPIN))} {
		if strings.Contains(strings.ToUpper(out), strings.ToUpper(secret)) {
			t.Errorf("card data %q in the log or errors:\n%s", secret, out)
		}
	}
}

// TestCardDataStaysInTheCardsBytes: the PAN, track 2 and PIN block of a request are
// never copied into Go strings (which cannot be wiped): the message's fields hold the
// card's own bytes, so wiping the card wipes them, and the other fields hold none of it.
func TestCardDataStaysInTheCardsBytes(t *testing.T) {
	c := testClient(t, "127.0.0.1:1", day1)
	card := testCard()
	mti, f, cf, err := c.financial(txn.Request{Type: txn.Sale, STAN: 1, Batch: 1, Amount: 100, Card: card, At: day1})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := buildRequest(mti, f, cf)
	if err != nil {
		t.Fatal(err)
	}
	for id, v := range f {
		if strings.Contains(v, testPAN) || strings.Contains(v, testTrack2) || strings.Contains(v, testPIN) {
			t.Errorf("field %d holds card data as a string", id)
		}
	}
	card.Wipe()
	for _, id := range []int{2, 35, 52} {
		b, err := msg.GetField(id).Bytes()
		if err != nil || len(b) == 0 || strings.Trim(string(b), "\x00") != "" {
			t.Errorf("field %d after the card was wiped = %q, %v; want its bytes wiped too", id, b, err)
		}
	}
}

// sharedPad is one simulated PIN pad for the package's tests, reached over a PTY
// as the terminal reaches its pad: TMK testTMK, MAK testMAK.
var sharedPad struct {
	once sync.Once
	d    *pinpad.Driver
	err  error
}

// testKeys is the shared pad, with testMAK loaded.
func testKeys(tb testing.TB) *pinpad.Driver {
	tb.Helper()
	sharedPad.once.Do(func() {
		sim := padsim.New()
		tmk, _ := hex.DecodeString(testTMK)
		if sharedPad.err = sim.InjectTMK(tmk); sharedPad.err != nil {
			return
		}
		sharedPad.d, _, sharedPad.err = padsim.Connect(sim)
	})
	if sharedPad.err != nil {
		tb.Fatal(sharedPad.err)
	}
	kb, _ := SealKey(unhex(tb, testTMK), unhex(tb, testMAK))
	if err := sharedPad.d.LoadWorkingKeys(context.Background(), pinpad.WorkingKeys{MAK: kb.Key[:], MAKCheck: kb.KCV[:]}); err != nil {
		tb.Fatal(err)
	}
	return sharedPad.d
}
