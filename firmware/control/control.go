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
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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
	file os.FileInfo // the socket file Listen made: Close removes path only while it is this file
	h    Handler
	log  *slog.Logger
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// Option adjusts a Server.
type Option func(*Server)

// WithLogger logs what the server could not do (an accept that failed and is retried).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// Listen creates the socket at path, mode 0600. The socket is bound inside a new
// private (0700) directory beside path, made 0600 there and only then linked to path,
// so that there is no moment, whatever the process umask, when another user can
// connect to it. Listen never removes a file that is not a socket: only a socket left
// by a crashed simulator (nobody accepts on it) is replaced; one that a running
// simulator still answers on, and anything else at path, is refused.
func Listen(path string, h Handler, opts ...Option) (*Server, error) {
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, file, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, file: file, h: h, ctx: ctx, stop: stop, conns: map[net.Conn]bool{}}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// clearStale makes way for a new socket at path: nothing there, or a socket that
// nobody accepts on (removed). Anything else is an error naming what is there.
func clearStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: %s is there, not a socket; it is left alone (choose another --control path)", path, fileKind(st.Mode()))
	}
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s is in use by another simulator", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: cannot tell whether another simulator uses it (%v); remove it by hand if not", path, errors.Unwrap(err))
	}
	// Still the same socket file? Then it is the stale one: remove it.
	if again, err := os.Lstat(path); err != nil || !os.SameFile(st, again) {
		return fmt.Errorf("control socket %s changed while it was checked; try again", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control socket %s: stale socket cannot be removed: %w", path, err)
	}
	return nil
}

// fileKind names what a non-socket file is, for the refusal.
func fileKind(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case fs.ModeDir:
		return "a directory"
	case fs.ModeSymlink:
		return "a symbolic link"
	case fs.ModeNamedPipe:
		return "a named pipe"
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		return "a device"
	}
	return "a file of another kind"
}

// listenPrivate binds a unix socket inside a fresh 0700 directory beside path, sets it
// to 0600, then hard-links it to path (link, unlike rename, never replaces a file that
// appeared at path meanwhile) and removes the private directory.
func listenPrivate(path string) (*net.UnixListener, os.FileInfo, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".ctl")
	if err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the file is removed by Close, at path, if still ours
	fail := func(err error) (*net.UnixListener, os.FileInfo, error) {
		ln.Close()
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if err := os.Link(tmp, path); err != nil {
		return fail(errors.Unwrap(err))
	}
	st, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return ln, st, nil
}

// Path is the socket's file.
func (s *Server) Path() string { return s.path }

// accept serves connections until Close. An accept that fails for another reason than
// Close (EMFILE: the process is out of file descriptors, ENFILE, ENOBUFS, ...) is
// logged and retried after a pause doubling from 5 ms to 1 s, so that the socket serves
// again as soon as the cause is gone.
func (s *Server) accept() {
	defer s.wg.Done()
	var pause time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.log.Warn("control socket: accept failed, retrying", "err", err, "pause", pause)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
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
// removes the socket file, unless something else has taken its place.
func (s *Server) Close() error {
	s.stop()
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	// Remove the socket only if path is still the file Listen made.
	if st, serr := os.Lstat(s.path); serr == nil && os.SameFile(st, s.file) {
		os.Remove(s.path)
	}
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
