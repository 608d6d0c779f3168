package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

func echoHandler(ctx context.Context, req Request) Response {
	if req.Verb == "screen" {
		return Response{OK: true, Lines: append([]string{"screen"}, req.Args...)}
	}
	return Fail("unknown verb %q", req.Verb)
}

func TestCall(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sim.sock")
	s, err := Listen(p, echoHandler)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := Call(p, Request{Verb: "screen", Args: []string{"a", "b"}})
	if err != nil || !resp.OK || strings.Join(resp.Lines, ",") != "screen,a,b" {
		t.Errorf("Call(screen a b) = %+v, %v; want ok with lines screen,a,b", resp, err)
	}
	resp, err = Call(p, Request{Verb: "dance"})
	if err != nil || resp.OK || resp.Error != `unknown verb "dance"` {
		t.Errorf("Call(dance) = %+v, %v; want an error answer", resp, err)
	}
	if _, err := Listen(p, echoHandler); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen on a live socket = %v; want 'in use'", err)
	}
}

// TestLines: several requests on one connection, bad ones answered with an error and the
// connection kept.
func TestLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sim.sock")
	s, err := Listen(p, echoHandler)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("not json\n{}\n{\"verb\":\"screen\"}\n"))
	sc := bufio.NewScanner(c)
	var got []string
	for i := 0; i < 3 && sc.Scan(); i++ {
		got = append(got, sc.Text())
	}
	want := []string{`"ok":false,"error":"request is not a JSON object`, `{"ok":false,"error":"request has no verb"}`, `{"ok":true,"lines":["screen"]}`}
	for i := range want {
		if i >= len(got) || !strings.Contains(got[i], want[i]) {
			t.Errorf("answer %d = %q; want it to contain %q", i, got, want[i])
		}
	}
}

func TestStaleSocketReplacedAndRemoved(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sim.sock")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // leaves the file behind, as a crash would
	s, err := Listen(p, echoHandler)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s.Close()
	if _, err := Call(p, Request{Verb: "screen"}); err == nil || !strings.Contains(err.Error(), "posfw sim") {
		t.Errorf("Call after Close = %v; want a 'no simulator' error", err)
	}
}

// FuzzServe sends arbitrary bytes as request lines: every line gets exactly one JSON
// answer and the server survives.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"verb":"screen","args":["x"]}`))
	f.Add([]byte(`{"verb":1}`))
	f.Add([]byte("\x00\xff{"))
	p := filepath.Join(f.TempDir(), "sim.sock")
	s, err := Listen(p, echoHandler)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\n\r") || len(line) > 4096 {
			return
		}
		c, err := net.Dial("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(append(line, '\n'))
		sc := bufio.NewScanner(c)
		if !sc.Scan() {
			t.Fatalf("no answer to %q", line)
		}
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("answer %q to %q is not JSON: %v", sc.Text(), line, err)
		}
	})
}
