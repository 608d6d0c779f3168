package host

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// Chip data of a test transaction, as the kernel's field 55 lists it (no PAN, track or
// PIN): 9F26 ARQC, 9F27, 9F10 IAD, 9F37, 9F36 ATC, 95 TVR, 9A, 9C, 9F02, 5F2A, 82 AIP,
// 9F1A, 9F03, 9F33, 9F34, 9F35, 9F1E IFD serial, 84, 5F34 PSN.
const testICCHex = "9F2608A1B2C3D4E5F60718" + "9F270180" + "9F100706011203A00000" + "9F370412345678" +
	"9F36020007" + "950500000080 00" + "9A03260412" + "9C0100" + "9F0206000000000100" + "5F2A020156" +
	"82027C00" + "9F1A020156" + "9F0306000000000000" + "9F3303E0F8C8" + "9F34031F0302" + "9F350122" +
	"9F1E083132333435363738" + "8408A000000333010101" + "5F340101"

// reversalICCHex is what a reversal of it carries: 95, 9F1E, 9F10, 9F36 (ReversalTags).
const reversalICCHex = "950500000080 00" + "9F1E083132333435363738" + "9F100706011203A00000" + "9F36020007"

func unhexSpaced(t testing.TB, s string) string {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// captureHost reads one request frame, hands it on and closes the connection: the
// request is what these tests look at.
func captureHost(t *testing.T) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	frames := make(chan []byte, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if f, err := iso87.ReadFrame(conn, iso87.MaxFrame); err == nil {
				frames <- f
			}
			conn.Close()
		}
	}()
	return ln.Addr().String(), frames
}

// wireFields decodes a request frame with the dialect's own layout (no neutral mapping):
// every field as its bytes.
func wireFields(t *testing.T, d Dialect, frame []byte) Fields {
	t.Helper()
	var msg *iso8583.Message
	var err error
	switch d := d.(type) {
	case CUP:
		msg, _, _, err = d.codec.Unpack(frame)
	default:
		msg, err = iso87.Unpack(frame)
	}
	if err != nil {
		t.Fatalf("%s: unpack the request: %v", d.Name(), err)
	}
	return fieldsOf(msg).Fields
}

func chipCard(mode txn.EntryMode, icc string, psn string) *txn.Card {
	return &txn.Card{PAN: []byte(testPAN), Track2: []byte(testTrack2), Expiry: "2912", EntryMode: mode,
		ICC: []byte(icc), PSN: psn}
}

// TestChipRequestsOnTheWire: what a chip, contactless and fallback request, and the
// reversal and upload of a chip record, put in fields 22, 23, 55 and (CUP) 60 of each
// dialect, read back from the wire with the dialect's own layout.
func TestChipRequestsOnTheWire(t *testing.T) {
	icc := unhexSpaced(t, testICCHex)
	record := txn.Record{Type: txn.Sale, Status: txn.Approved, STAN: 7, Batch: 1, Amount: 100, Currency: "156",
		RRN: "041215300007", AuthCode: "A1B2C3", EntryMode: txn.Chip, ICC: strings.ReplaceAll(testICCHex, " ", ""),
		PSN: "01", CreatedAt: day1}
	sale := func(card *txn.Card) func(c *Client) error {
		return func(c *Client) error {
			_, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 7, Batch: 1, Amount: 100, Card: card, At: day1})
			return err
		}
	}
	// The app's chip data ends with the slip's TSI (9B) and application label (50),
	// which the host is not sent.
	slipTail := unhexSpaced(t, "9B02E800"+"500E556E696F6E506179204465626974")
	reverse := func(c *Client) error {
		_, err := c.Reverse(context.Background(), txn.Reversal{Orig: record, Reason: "98"})
		return err
	}
	upload := func(c *Client) error { return c.Upload(context.Background(), record, 9) }
	const absent = "<absent>"
	for _, tt := range []struct {
		name    string
		dialect string
		call    func(c *Client) error
		want    map[int]string // wire values; absent: the field must not be there
	}{
		{"chip sale", "iso87", sale(chipCard(txn.Chip, icc, "01")),
			map[int]string{22: "052", 23: "001", 55: icc}},
		{"chip sale with the slip's tags", "iso87", sale(chipCard(txn.Chip, icc+slipTail, "01")),
			map[int]string{22: "052", 23: "001", 55: icc}},
		{"contactless sale", "iso87", sale(chipCard(txn.Tapped, icc, "")),
			map[int]string{22: "072", 23: absent, 55: icc}},
		{"fallback sale", "iso87", sale(chipCard(txn.Fallback, "", "")),
			map[int]string{22: "802", 23: absent, 55: absent}},
		{"swiped sale", "iso87", sale(chipCard(txn.Swiped, "", "")),
			map[int]string{22: "022", 23: absent, 55: absent}},
		{"reversal of a chip sale", "iso87", reverse,
			map[int]string{22: "052", 23: "001", 55: unhexSpaced(t, reversalICCHex)}},
		{"reversal of a swiped PIN sale", "iso87", func(c *Client) error {
			r := record
			r.EntryMode, r.PIN, r.ICC, r.PSN = txn.Swiped, true, "", ""
			_, err := c.Reverse(context.Background(), txn.Reversal{Orig: r, Reason: "98"})
			return err
		}, map[int]string{22: "021", 23: absent, 55: absent}},
		{"upload of a chip sale with the slip's tags", "iso87", func(c *Client) error {
			r := record
			r.ICC += "9B02E800" + "500E556E696F6E506179204465626974"
			return c.Upload(context.Background(), r, 9)
		}, map[int]string{23: "001", 55: icc}},
		{"upload of a chip sale", "iso87", upload,
			map[int]string{22: "052", 23: "001", 55: icc}},

		{"chip sale", "cup", sale(chipCard(txn.Chip, icc, "01")),
			map[int]string{22: "052", 23: "001", 55: icc, 60: "2200000100060"}},
		{"contactless sale", "cup", sale(chipCard(txn.Tapped, icc, "")),
			map[int]string{22: "072", 23: absent, 55: icc, 60: "2200000100060"}},
		{"fallback sale", "cup", sale(chipCard(txn.Fallback, "", "")),
			map[int]string{22: "802", 23: absent, 55: absent, 60: "2200000100062"}},
		{"swiped sale", "cup", sale(chipCard(txn.Swiped, "", "")),
			map[int]string{22: "022", 55: absent, 60: "22000001"}},
		{"reversal of a chip sale", "cup", reverse,
			map[int]string{22: "052", 23: "001", 55: unhexSpaced(t, reversalICCHex), 60: "2200000100060"}},
		{"upload of a chip sale", "cup", upload,
			map[int]string{23: "001", 55: icc, 60: "2200000120660"}},
	} {
		t.Run(tt.dialect+"/"+tt.name, func(t *testing.T) {
			d, err := ParseDialect(tt.dialect, CUPConfig{})
			if err != nil {
				t.Fatal(err)
			}
			addr, frames := captureHost(t)
			c := testClient(t, addr, day1)
			c.cfg.Dialect = d
			tt.call(c) // the capture host does not answer: only the request counts
			var frame []byte
			select {
			case frame = <-frames:
			case <-time.After(3 * time.Second):
				t.Fatal("no request reached the host")
			}
			got := wireFields(t, d, frame)
			for id, want := range tt.want {
				v, ok := got[id]
				switch {
				case want == absent && ok:
					t.Errorf("field %d = %X; want it absent", id, v)
				case want != absent && v != want:
					t.Errorf("field %d = %X; want %X", id, v, want)
				}
			}
		})
	}
}

// TestChipAnswer: the answer's field 55 comes back as Response.ICC, and an answer
// carrying one is still checked as strictly (55 is not an echoed field: its presence
// does not excuse a changed amount).
func TestChipAnswer(t *testing.T) {
	key := unhex(t, testMAK)
	hostICC := "\x91\x0A\x01\x02\x03\x04\x05\x06\x07\x08\x30\x30\x8A\x02\x30\x30"
	for _, tt := range []struct {
		name    string
		extra   Fields
		want    txn.Response
		wantErr error
	}{
		{"issuer authentication data", Fields{37: "041215300123", 38: "AB12", 12: "153001", 13: "0412", 55: hostICC},
			txn.Response{Code: "00", RRN: "041215300123", AuthCode: "AB12", HostTime: day1.Add(time.Second), ICC: hostICC}, nil},
		{"no chip data", Fields{37: "041215300123", 12: "153001", 13: "0412"},
			txn.Response{Code: "00", RRN: "041215300123", HostTime: day1.Add(time.Second)}, nil},
		{"another amount", Fields{4: "101", 55: hostICC}, txn.Response{}, txn.ErrBadAnswer},
	} {
		addr, _ := fakeHost(t, answerWith("00", key, tt.extra))
		c := testClient(t, addr, day1)
		resp, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 123, Amount: 100, At: day1,
			Card: chipCard(txn.Chip, unhexSpaced(t, testICCHex), "01")})
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: Send() = %+v, %v; want %v", tt.name, resp, err, tt.wantErr)
			}
			continue
		}
		if err != nil || resp != tt.want {
			t.Errorf("%s: Send() = %+v, %v; want %+v", tt.name, resp, err, tt.want)
		}
	}
}

// TestChipDataLeftOut: a record whose chip data does not parse is still reversed (55
// left out); a PSN that is not two digits is refused before anything is sent.
func TestChipDataLeftOut(t *testing.T) {
	addr, frames := captureHost(t)
	c := testClient(t, addr, day1)
	rec := txn.Record{Type: txn.Sale, STAN: 7, Batch: 1, Amount: 100, Currency: "156", EntryMode: txn.Chip,
		ICC: "9F2608A1", PSN: "01", CreatedAt: day1}
	c.Reverse(context.Background(), txn.Reversal{Orig: rec, Reason: "98"})
	got := wireFields(t, ISO87{}, <-frames)
	if _, ok := got[55]; ok {
		t.Errorf("reversal of a record with broken chip data carries 55 = %X; want it left out", got[55])
	}
	if got[23] != "001" {
		t.Errorf("reversal field 23 = %q; want 001", got[23])
	}
	_, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 8, Amount: 100, At: day1,
		Card: chipCard(txn.Chip, "\x9F\x36\x02\x00\x01", "1")})
	if !errors.Is(err, txn.ErrNotSent) {
		t.Errorf("Send(PSN \"1\") = %v; want ErrNotSent", err)
	}
}
