// Package control is the simulator's control socket: a unix socket carrying one JSON
// object per line each way, so that scripts, tests and `posfw simctl` can read the
// screen, press keys, present cards and inject faults into a running `posfw sim`.
//
// A request is {"verb":"key","args":["1","ENTER"],"timeout":5}; the answer is
// {"ok":true,...} with the verb's result, or {"ok":false,"error":"one sentence"}.
// A connection may carry any number of requests; each is answered in order.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Request is one command.
type Request struct {
	Verb string   `json:"verb"`
	Args []string `json:"args,omitempty"`
	// Timeout in seconds, for verbs that wait.
	Timeout float64 `json:"timeout,omitempty"`
}

// Response is the answer to one Request.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Lines is the screen or printed text, one line per row.
	Lines []string `json:"lines,omitempty"`
	// State is the simulator's state (simctl state).
	State json.RawMessage `json:"state,omitempty"`
}

// Handler answers requests.
type Handler func(ctx context.Context, req Request) Response

// MaxLine bounds one request line.
const MaxLine = 64 << 10

// Fail is an error Response.
func Fail(format string, args ...any) Response {
	return Response{Error: fmt.Sprintf(format, args...)}
}

// Server is a listening control socket.
type Server struct {
	ln   net.Listener
	path string
	h    Handler
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// Listen creates the socket at path. A stale socket file left by a crashed simulator is
// replaced; one that a running simulator still answers on is refused.
func Listen(path string, h Handler) (*Server, error) {
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s is in use by another simulator", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	os.Chmod(path, 0o600)
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, h: h, ctx: ctx, stop: stop, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Path is the socket's file.
func (s *Server) Path() string { return s.path }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), MaxLine)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp = Fail("request is not a JSON object: %v", err)
		} else if req.Verb == "" {
			resp = Fail("request has no verb")
		} else {
			resp = s.h(s.ctx, req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		enc.Encode(Fail("request longer than %d bytes", MaxLine))
	}
}

// Close stops listening, ends open connections (cancelling waits in progress) and
// removes the socket file.
func (s *Server) Close() error {
	s.stop()
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	os.Remove(s.path)
	return err
}

// Call sends one request to the socket at path and returns the answer. The connection
// deadline allows for the request's own timeout.
func Call(path string, req Request) (Response, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return Response{}, fmt.Errorf("no simulator answers on %s (start one with `posfw sim`): %v", path, errors.Unwrap(err))
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10*time.Second + time.Duration(req.Timeout*float64(time.Second))))
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	var resp Response
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), 4<<20)
	if !sc.Scan() {
		if sc.Err() != nil {
			return Response{}, fmt.Errorf("control socket %s: %w", path, sc.Err())
		}
		return Response{}, fmt.Errorf("control socket %s closed without an answer", path)
	}
	if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
		return Response{}, fmt.Errorf("control socket %s: bad answer: %w", path, err)
	}
	return resp, nil
}
