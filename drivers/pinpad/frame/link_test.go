package frame

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"posfw/drivers/testkit"
)

// peer is the far end of a Link under test, driven byte by byte by the test.
type peer struct {
	t    *testing.T
	conn net.Conn
	in   chan byte
	dec  Decoder
}

func newPeer(t *testing.T, c LinkConfig) (*Link, *peer) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	p := &peer{t: t, conn: b, in: make(chan byte, 4096)}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := b.Read(buf)
			for _, c := range buf[:n] {
				p.in <- c
			}
			if err != nil {
				close(p.in)
				return
			}
		}
	}()
	return NewLink(a, c), p
}

func (p *peer) write(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("peer write: %v", err)
	}
}

// next returns the next event the link sent, or false if it sent none in time.
func (p *peer) next(wait time.Duration) (Event, bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case c, ok := <-p.in:
			if !ok {
				return Event{}, false
			}
			if ev, ok := p.dec.Step(c); ok {
				return ev, true
			}
		case <-t.C:
			return Event{}, false
		}
	}
}

func (p *peer) expect(kind Kind) Event {
	p.t.Helper()
	ev, ok := p.next(2 * time.Second)
	if !ok || ev.Kind != kind {
		p.t.Fatalf("the link sent %v (%v); want %v", ev.Kind, ok, kind)
	}
	return ev
}

func sendAsync(l *Link, payload []byte) chan error {
	done := make(chan error, 1)
	go func() { done <- l.Send(context.Background(), payload) }()
	return done
}

func TestLinkSendAcked(t *testing.T) {
	l, p := newPeer(t, LinkConfig{AckTimeout: time.Second})
	done := sendAsync(l, []byte{0x10, 0x01})
	if ev := p.expect(Frame); !bytes.Equal(ev.Payload, []byte{0x10, 0x01}) {
		t.Errorf("link sent payload % x; want 10 01", ev.Payload)
	}
	p.write([]byte{ACK})
	if err := <-done; err != nil {
		t.Errorf("Send = %v; want nil once ACKed", err)
	}
}

func TestLinkResendOnNAK(t *testing.T) {
	l, p := newPeer(t, LinkConfig{AckTimeout: time.Second})
	done := sendAsync(l, []byte{0x10, 0x01})
	first := p.expect(Frame)
	p.write([]byte{NAK})
	again := p.expect(Frame)
	if !bytes.Equal(first.Payload, again.Payload) {
		t.Errorf("resent payload % x; want % x", again.Payload, first.Payload)
	}
	p.write([]byte{ACK})
	if err := <-done; err != nil {
		t.Errorf("Send after NAK then ACK = %v; want nil", err)
	}
}

// TestLinkNoAck: one attempt and three resends, then ErrNoAck.
func TestLinkNoAck(t *testing.T) {
	l, p := newPeer(t, LinkConfig{AckTimeout: 50 * time.Millisecond})
	done := sendAsync(l, []byte{0x13, 0x01})
	frames := 0
	for {
		ev, ok := p.next(300 * time.Millisecond)
		if !ok {
			break
		}
		if ev.Kind == Frame {
			frames++
		}
	}
	if err := <-done; !errors.Is(err, ErrNoAck) {
		t.Errorf("Send to a silent peer = %v; want ErrNoAck", err)
	}
	if frames != 1+DefaultRetries {
		t.Errorf("silent peer saw %d frames; want %d", frames, 1+DefaultRetries)
	}
}

func TestLinkReceive(t *testing.T) {
	l, p := newPeer(t, LinkConfig{})
	for _, tc := range []struct {
		name   string
		in     string
		answer Kind
		frame  string // payload delivered, if any
	}{
		{"good frame", "02 00 02 90 01 03 90", Ack, "90 01"},
		{"bad LRC", "02 00 02 90 01 03 91", Nak, ""},
		{"noise before STX", "ff 00 0d 0a 02 00 02 90 02 03 93", Ack, "90 02"},
		{"length above the bound", "02 7f ff", Nak, ""},
	} {
		p.write(testkit.Unhex(t, tc.in))
		if ev, ok := p.next(2 * time.Second); !ok || ev.Kind != tc.answer {
			t.Errorf("%s: link answered %v (%v); want %v", tc.name, ev.Kind, ok, tc.answer)
		}
		if tc.frame == "" {
			continue
		}
		select {
		case got := <-l.Frames():
			if !bytes.Equal(got, testkit.Unhex(t, tc.frame)) {
				t.Errorf("%s: Frames() gave % x; want %s", tc.name, got, tc.frame)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: no frame delivered", tc.name)
		}
	}
}

// TestLinkInterByteTimeout: a frame whose bytes stop is dropped unanswered, and the
// resend that follows is taken whole.
func TestLinkInterByteTimeout(t *testing.T) {
	l, p := newPeer(t, LinkConfig{InterByteTimeout: 50 * time.Millisecond})
	p.write(testkit.Unhex(t, "02 00 02 90"))
	if ev, ok := p.next(150 * time.Millisecond); ok {
		t.Fatalf("link answered %v to half a frame; want silence", ev.Kind)
	}
	p.write(testkit.Unhex(t, "02 00 02 90 01 03 90"))
	p.expect(Ack)
	if got := <-l.Frames(); !bytes.Equal(got, []byte{0x90, 0x01}) {
		t.Errorf("Frames() gave % x; want 90 01", got)
	}
}

func TestLinkDown(t *testing.T) {
	l, p := newPeer(t, LinkConfig{})
	p.conn.Close()
	select {
	case <-l.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Done not closed after the stream failed")
	}
	if err := l.Err(); !errors.Is(err, ErrLinkDown) {
		t.Errorf("Err() = %v; want ErrLinkDown", err)
	}
	if err := l.Send(context.Background(), []byte{0x10, 0x01}); !errors.Is(err, ErrLinkDown) {
		t.Errorf("Send on a dead link = %v; want ErrLinkDown", err)
	}
}
