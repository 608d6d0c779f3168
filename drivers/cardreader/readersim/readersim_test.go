package readersim

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/cardreader/testcards"
	"posfw/drivers/serialport"
)

func TestSwipe(t *testing.T) {
	// The "ok" frame is the golden frame of package iso7813's documentation,
	// whose LRCs were computed apart from the code.
	golden := "%B6222021234567894^ZHANG/SAN^4912101000001230000?L;6222021234567894=49121010000012300?4\r\n"
	s := New()
	var line bytes.Buffer
	s.Attach(&line)
	for _, name := range testcards.Names() {
		line.Reset()
		if err := s.Swipe(name); err != nil {
			t.Errorf("Swipe(%q) = %v", name, err)
		}
		if want := testcards.Frame(name); !bytes.Equal(line.Bytes(), want) {
			t.Errorf("Swipe(%q) sent %q; want %q", name, line.Bytes(), want)
		}
		if name == "ok" && line.String() != golden {
			t.Errorf("Swipe(ok) sent %q; want %q", line.Bytes(), golden)
		}
	}

	line.Reset()
	if err := s.Swipe("gold"); err == nil || !strings.Contains(err.Error(), `"gold"`) || line.Len() != 0 {
		t.Errorf("Swipe(gold) = %v, sent %q; want an error naming the card and nothing sent", err, line.Bytes())
	}

	chip, _ := testcards.Lookup("ok2")
	chip.ServiceCode = "201"
	if err := s.SwipeCard(chip); err != nil || !bytes.Equal(line.Bytes(), iso7813.Encode(chip)) {
		t.Errorf("SwipeCard(chip card) = %v, sent %q; want %q", err, line.Bytes(), iso7813.Encode(chip))
	}
}

func TestGarbage(t *testing.T) {
	s := New()
	var line bytes.Buffer
	s.Attach(&line)
	s.SetGarbage(true)
	for range 50 {
		line.Reset()
		if err := s.Swipe("ok"); err != nil {
			t.Fatalf("Swipe(ok) with garbage on = %v", err)
		}
		b := line.Bytes()
		if n := len(b); n < 26 || n > 73 || !bytes.HasSuffix(b, []byte("\r\n")) || bytes.Count(b, []byte("\n")) != 1 {
			t.Errorf("garbage swipe sent %q; want 24 to 71 bytes and one CR LF at the end", b)
		}
		if _, err := iso7813.Parse(b); err == nil {
			t.Errorf("garbage swipe %q parses as a card", b)
		}
	}
	s.SetGarbage(false)
	line.Reset()
	if s.Swipe("ok"); !bytes.Equal(line.Bytes(), testcards.Frame("ok")) {
		t.Errorf("Swipe(ok) with garbage off sent %q; want the frame", line.Bytes())
	}
}

func TestNotConnected(t *testing.T) {
	s := New()
	if err := s.Swipe("ok"); !errors.Is(err, ErrNotServing) {
		t.Errorf("Swipe before Attach = %v; want %v", err, ErrNotServing)
	}
	s.Attach(io.Discard)
	s.Close()
	if err := s.Swipe("ok"); !errors.Is(err, ErrNotServing) {
		t.Errorf("Swipe after Close = %v; want %v", err, ErrNotServing)
	}
}

// TestServeEnds: Serve returns when its PTY is gone (at the next swipe) and
// when the reader is closed.
func TestServeEnds(t *testing.T) {
	pty, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	s := New()
	done := make(chan error, 1)
	go func() { done <- s.Serve(pty) }()
	for s.Swipe("ok") != nil { // until Serve attached
		time.Sleep(time.Millisecond)
	}
	pty.Close()
	if err := s.Swipe("ok"); err == nil {
		t.Error("Swipe on a closed PTY succeeded; want an error")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Serve on a closed PTY returned nil; want the write error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its PTY closed")
	}

	go func() { done <- s.Serve(io.Discard) }()
	for s.Swipe("ok") != nil {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after Close = %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}
