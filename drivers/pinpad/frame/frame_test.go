package frame

import (
	"bytes"
	"errors"
	"testing"

	"posfw/drivers/testkit"
)

// TestEncode checks frames byte for byte against the layout of the package doc.
func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    string
	}{
		{"info request", "10 01", "02 00 02 10 01 03 10"},
		{"STX inside the payload", "02", "02 00 01 02 03 00"},
		{"ACK and NAK inside the payload", "06 15", "02 00 02 06 15 03 12"},
		{"get PIN cancelled", "92 07 01", "02 00 03 92 07 01 03 94"},
	} {
		got, err := Encode(testkit.Unhex(t, tc.payload))
		if err != nil || !bytes.Equal(got, testkit.Unhex(t, tc.want)) {
			t.Errorf("%s: Encode(% X) = % X, %v; want %s", tc.name, testkit.Unhex(t, tc.payload), got, err, tc.want)
		}
	}

	// LEN is big-endian: 256 bytes is 01 00.
	got, err := Encode(make([]byte, 256))
	if err != nil || !bytes.Equal(got[:3], []byte{STX, 0x01, 0x00}) || !bytes.Equal(got[len(got)-2:], []byte{ETX, 0x02}) {
		t.Errorf("Encode(256 zero bytes) starts % X, ends % X, %v; want 02 01 00 ... 03 02", got[:3], got[len(got)-2:], err)
	}

	for _, n := range []int{0, MaxPayload + 1} {
		if _, err := Encode(make([]byte, n)); !errors.Is(err, ErrLength) {
			t.Errorf("Encode(%d bytes) = %v; want ErrLength", n, err)
		}
	}
	if _, err := Encode(make([]byte, MaxPayload)); err != nil {
		t.Errorf("Encode(%d bytes) = %v; want a frame", MaxPayload, err)
	}
}

// TestEncodeMessages checks whole requests and responses, message and frame, byte for
// byte: a get PIN request and its answer carrying the X9.24 test vector block.
func TestEncodeMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		want string
	}{
		{
			"get PIN request",
			Message{Command: CmdGetPIN, Seq: 7, Fields: []Field{
				Text(TagPANDigits, "401234567890"),
				Text(TagAmount, "000000001234"),
				Uint8(TagMinLen, 4),
				Uint8(TagMaxLen, 12),
				Uint16(TagTimeout, 300),
				Uint8(TagFlags, 0),
			}},
			"02 00 2b 12 07 20 0c 34 30 31 32 33 34 35 36 37 38 39 30 21 0c 30 30 30 30 30 30 30 30 31 32 33 34" +
				"22 01 04 23 01 0c 24 02 01 2c 25 01 00 03 1b",
		},
		{
			"get PIN response",
			Message{Command: CmdGetPIN, Response: true, Seq: 7, Status: StatusOK, Fields: []Field{
				Bytes(TagPINBlock, testkit.Unhex(t, "1B9C1845EB993A7A")),
				Bytes(TagKSN, testkit.Unhex(t, "FFFF9876543210E00001")),
			}},
			"02 00 19 92 07 00 30 08 1b 9c 18 45 eb 99 3a 7a 04 0a ff ff 98 76 54 32 10 e0 00 01 03 28",
		},
		{
			"get PIN cancelled",
			Message{Command: CmdGetPIN, Response: true, Seq: 7, Status: StatusCancelled},
			"02 00 03 92 07 01 03 94",
		},
	} {
		p, err := tc.m.Marshal(nil)
		if err != nil {
			t.Errorf("%s: Marshal: %v", tc.name, err)
			continue
		}
		got, err := Encode(p)
		if err != nil || !bytes.Equal(got, testkit.Unhex(t, tc.want)) {
			t.Errorf("%s: frame = % x, %v; want %s", tc.name, got, err, tc.want)
		}
		back, err := ParseMessage(p)
		if err != nil || back.String() != tc.m.String() {
			t.Errorf("%s: ParseMessage(Marshal) = %v, %v; want %v", tc.name, back, err, tc.m)
		}
	}
}

type want struct {
	kind    Kind
	payload string
	err     error
}

func decodeAll(in []byte) ([]Event, int) {
	var d Decoder
	var evs []Event
	for _, c := range in {
		if ev, ok := d.Step(c); ok {
			evs = append(evs, ev)
		}
	}
	return evs, d.Noise
}

func TestDecoder(t *testing.T) {
	good := "02 00 02 10 01 03 10"
	for _, tc := range []struct {
		name  string
		in    string
		want  []want
		noise int
	}{
		{"one frame", good, []want{{Frame, "10 01", nil}}, 0},
		{"noise before STX", "ff 00 41 42 0d 0a" + good, []want{{Frame, "10 01", nil}}, 6},
		{"ACK and NAK between frames", "06" + good + "15", []want{{Ack, "", nil}, {Frame, "10 01", nil}, {Nak, "", nil}}, 0},
		{"ACK and NAK inside a frame are data", "02 00 02 06 15 03 12", []want{{Frame, "06 15", nil}}, 0},
		{"bad LRC", "02 00 02 10 01 03 11", []want{{Damaged, "", ErrBadLRC}}, 0},
		{"bad LRC, then the resend", "02 00 02 10 01 03 11" + good, []want{{Damaged, "", ErrBadLRC}, {Frame, "10 01", nil}}, 0},
		{"no ETX", "02 00 02 10 01 04 10", []want{{Damaged, "", ErrNoETX}}, 2},
		{"frame lost its ETX and LRC, the next one starts where ETX should be",
			"02 00 02 10 01" + good,
			[]want{{Damaged, "", ErrNoETX}, {Frame, "10 01", nil}}, 0},
		{"zero length", "02 00 00 03 03", []want{{Damaged, "", ErrLength}}, 2},
		{"length above the bound", "02 04 01 00", []want{{Damaged, "", ErrLength}}, 1},
		{"unfinished frame", "02 00 05 10 01", nil, 0},
	} {
		evs, noise := decodeAll(testkit.Unhex(t, tc.in))
		ok := len(evs) == len(tc.want) && noise == tc.noise
		for i := 0; ok && i < len(evs); i++ {
			ok = evs[i].Kind == tc.want[i].kind &&
				bytes.Equal(evs[i].Payload, testkit.Unhex(t, tc.want[i].payload)) &&
				errors.Is(evs[i].Err, tc.want[i].err) && (evs[i].Err == nil) == (tc.want[i].err == nil)
		}
		if !ok {
			t.Errorf("%s: decoding %s = %v, noise %d; want %v, noise %d", tc.name, tc.in, evs, noise, tc.want, tc.noise)
		}
	}
}

// TestDecoderReset: a frame whose bytes stopped is dropped, and the next one decodes.
func TestDecoderReset(t *testing.T) {
	var d Decoder
	for _, c := range testkit.Unhex(t, "02 00 05 10 01") {
		d.Step(c)
	}
	if !d.InFrame() {
		t.Fatal("InFrame() = false in the middle of a frame")
	}
	d.Reset()
	var got []Event
	for _, c := range testkit.Unhex(t, "02 00 02 10 01 03 10") {
		if ev, ok := d.Step(c); ok {
			got = append(got, ev)
		}
	}
	if len(got) != 1 || got[0].Kind != Frame || !bytes.Equal(got[0].Payload, []byte{0x10, 0x01}) {
		t.Errorf("after Reset, decoding a good frame = %v; want the frame 10 01", got)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Frame: "frame", Damaged: "damaged frame", Ack: "ACK", Nak: "NAK", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", uint8(k), got, want)
		}
	}
}

// FuzzDecoder feeds arbitrary bytes: the decoder must not panic, every frame it
// reports must be within bounds and re-encode to a frame that decodes to the same
// payload, and after a Reset it must decode a good frame whatever came before.
func FuzzDecoder(f *testing.F) {
	f.Add(testkit.Unhex(f, "02 00 02 10 01 03 10"))
	f.Add(testkit.Unhex(f, "ff 06 02 00 02 10 01 03 11 15 02 00 03 10 01 02 00 01 02 03 00"))
	f.Add(testkit.Unhex(f, "02 04 01 00 02 00 00 03 03"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d Decoder
		for _, c := range in {
			ev, ok := d.Step(c)
			if !ok {
				continue
			}
			switch ev.Kind {
			case Frame:
				if len(ev.Payload) == 0 || len(ev.Payload) > MaxPayload {
					t.Fatalf("decoded a %d-byte payload; want 1..%d", len(ev.Payload), MaxPayload)
				}
				enc, err := Encode(ev.Payload)
				if err != nil {
					t.Fatalf("Encode(decoded payload) = %v", err)
				}
				back, _ := decodeAll(enc)
				if len(back) != 1 || back[0].Kind != Frame || !bytes.Equal(back[0].Payload, ev.Payload) {
					t.Fatalf("re-encoded frame decodes to %v; want the payload % X", back, ev.Payload)
				}
			case Damaged:
				if ev.Err == nil {
					t.Fatal("damaged frame without a reason")
				}
			case Ack, Nak:
			default:
				t.Fatalf("unknown event kind %v", ev.Kind)
			}
		}
		d.Reset()
		var got []Event
		for _, c := range testkit.Unhex(t, "02 00 02 10 01 03 10") {
			if ev, ok := d.Step(c); ok {
				got = append(got, ev)
			}
		}
		if len(got) != 1 || got[0].Kind != Frame {
			t.Fatalf("after Reset a good frame decodes to %v", got)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	p := make([]byte, 64)
	buf := make([]byte, 0, len(p)+Overhead)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		buf, _ = Append(buf[:0], p)
	}
}

func BenchmarkDecoder(b *testing.B) {
	f, _ := Encode(make([]byte, 64))
	var d Decoder
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		for _, c := range f {
			d.Step(c)
		}
	}
}
