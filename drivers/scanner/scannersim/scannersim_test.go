package scannersim

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// pipeLine is the terminal's side of a line: what it writes, the simulator
// reads; what the simulator writes comes out of out.
type pipeLine struct {
	io.Reader
	w io.Writer
}

func (p pipeLine) Write(b []byte) (int, error) { return p.w.Write(b) }

func serve(t *testing.T, s *Sim) (term io.Writer, out io.Reader) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Serve(pipeLine{inR, outW}) }()
	t.Cleanup(func() {
		s.Close()
		inW.Close()
		outR.Close()
		<-done
	})
	return inW, outR
}

func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes from the scanner: %v", n, err)
	}
	return string(b)
}

func TestTriggerCommands(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, on, off, answerOn, answerOff string
	}{
		{"honeywell", "\x16T\r", "\x16U\r", "", ""},
		{"newland", "~\x010000#SCNTRG1;\x03", "~\x010000#SCNTRG0;\x03", "~\x010000#SCNTRG1\x06;\x03", "~\x010000#SCNTRG0\x06;\x03"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			term, out := serve(t, s)
			if err := s.Show(ctx, "123", 50*time.Millisecond); !errors.Is(err, ErrNotTriggered) {
				t.Errorf("Show before any trigger = %v; want %v", err, ErrNotTriggered)
			}
			// Noise before the command is ignored; the command arrives split.
			go func() { term.Write([]byte("zz" + tt.on[:2])); term.Write([]byte(tt.on[2:])) }()
			if tt.answerOn != "" {
				if got := readN(t, out, len(tt.answerOn)); got != tt.answerOn {
					t.Errorf("answer to trigger on = %q; want %q", got, tt.answerOn)
				}
			}
			shown := make(chan error, 1)
			go func() { shown <- s.Show(ctx, "6212345678901234567", 2*time.Second) }()
			if got := readN(t, out, 21); got != "6212345678901234567\r\n" {
				t.Errorf("code sent = %q; want it with CR LF", got)
			}
			if err := <-shown; err != nil {
				t.Errorf("Show = %v", err)
			}
			if s.Triggered() {
				t.Error("still triggered after a good read")
			}
			go term.Write([]byte(tt.on))
			if tt.answerOn != "" {
				readN(t, out, len(tt.answerOn))
			}
			for deadline := time.Now().Add(time.Second); !s.Triggered() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			go term.Write([]byte(tt.off))
			if tt.answerOff != "" {
				if got := readN(t, out, len(tt.answerOff)); got != tt.answerOff {
					t.Errorf("answer to trigger off = %q; want %q", got, tt.answerOff)
				}
			}
			for deadline := time.Now().Add(time.Second); s.Triggered() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if s.Triggered() || s.Triggers() != 2 {
				t.Errorf("after on, read, on, off: triggered %v, %d triggers; want false, 2", s.Triggered(), s.Triggers())
			}
		})
	}
}

func TestShowRefuses(t *testing.T) {
	s := NewPresentation()
	ctx := context.Background()
	if err := s.Show(ctx, "123", 10*time.Millisecond); !errors.Is(err, ErrNotServing) {
		t.Errorf("Show unplugged = %v; want %v", err, ErrNotServing)
	}
	_, out := serve(t, s)
	for _, code := range []string{"", "12\r\n34"} {
		if err := s.Show(ctx, code, 10*time.Millisecond); err == nil {
			t.Errorf("Show(%q) = nil; want refused", code)
		}
	}
	go s.Show(ctx, "P", time.Second)
	if got := readN(t, out, 3); got != "P\r\n" {
		t.Errorf("presentation mode sent %q; want \"P\\r\\n\" without a trigger", got)
	}
}
