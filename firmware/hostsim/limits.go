package hostsim

import (
	"net"
	"sync/atomic"
	"time"
)

// Limits of what one client may hold of the simulator (Config.ReadTimeout,
// Config.MaxConns), so that a stalled or hostile client cannot keep it busy.
const (
	// DefaultReadTimeout is longer than the longest response timeout a
	// terminal may be configured with (2 minutes), so that a request the
	// simulator never answers (amounts ending .98, the timeout fault) still
	// looks to the terminal like a silent host.
	DefaultReadTimeout = 3 * time.Minute
	// DefaultMaxConns is far more than the terminals of a test or a developer
	// open at once (one connection per request).
	DefaultMaxConns = 64
)

// setLimits puts the defaults into unset limits.
func (c *Config) setLimits() {
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
}

// deadlineConn gives each request a read deadline: from the first read after
// the connection opened or after an answer was written, the whole request must
// arrive within timeout. Reads do not move the deadline, so a client that
// trickles a frame byte by byte is dropped like one that stalls halfway.
// Waiting without answering (hold) ends at the same deadline.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	armed   atomic.Bool // a deadline is set for the request being read
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if !c.armed.Swap(true) {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.armed.Store(false)
	return c.Conn.Write(p)
}
