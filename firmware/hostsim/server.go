// Package hostsim is an acquirer simulator for sim mode and tests (DESIGN.md
// §3, §4, §6): a real TCP server (TLS optional) speaking the terminal's dialect,
// iso87 or CUP (Config.Dialect; a CUP answer carries the request's TPDU swapped),
// exactly as package host defines it, with its own SQLite ledger of
// what the acquirer believes, and fault modes that reproduce what goes wrong
// between a terminal and its acquirer.
//
// # Answers
//
// Requests are answered by the rules of rules.go, tables in the order they
// apply. In short: sign-on (0800, 70=001; CUP 60.3 001/003/004) issues fresh
// working keys under the master key shared with the terminal's PIN pad; every
// financial request must carry a valid MAC, X9.19 or CUP ECB (else A0, unsigned); amounts ending in .98 are never
// answered, .96 answer 96, a sale ending in .51 answers 51, a refund ending
// in .40 answers 40; the catalogue's test cards (testcards.ByPAN) answer as
// the catalogue says (nsf 51, expired 54), other Luhn-valid cards approve;
// the PIN of a card that has one is decrypted (DUKPT from the KSN in field 62,
// else the terminal's session PIN key) and checked (else 55). A request with
// the STAN (terminal, STAN, local date) of an earlier one gets the earlier
// answer again when its content is the same, and 94 when it is not.
// A request with chip data (field 55) is authorised as the card's issuer would
// (issuer.go): ARQC verified, answered with an ARPC, A7 when it does not verify.
//
// # Ledger
//
// One row per answered request (Auth), keyed by terminal id, STAN and local
// date, RRN unique, in status authorised, declined, voided or reversed, with
// the refunded amount of a sale and a settled flag. Voids, refunds, reversals
// and settlement change rows in one SQLite transaction each, before the
// answer is written: see fault.go for which faults answer after that.
//
// # Keys
//
// The simulator and its terminals share the terminal master key
// (Config.MasterKey, default DefaultMasterKey) and the DUKPT base derivation
// key (Config.BDK, default the ANSI X9.24-1 test BDK DefaultBDK). Working
// keys live in memory only: after a simulator restart terminals must sign on
// again (A0 until they do).
package hostsim

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"posfw/firmware/emvparam"
	"posfw/firmware/host"
)

// Default keys, for sim mode and tests only.
const (
	// DefaultMasterKey is the terminal master key of sim mode.
	DefaultMasterKey = "404142434445464748494A4B4C4D4E4F"
	// DefaultBDK is the DUKPT base derivation key: the ANSI X9.24-1:2009
	// test BDK, which the simulated PIN pad's IPEK derives from.
	DefaultBDK = "0123456789ABCDEFFEDCBA9876543210"
)

// Config configures a Server.
type Config struct {
	// Ledger is the path of the SQLite ledger ("ledger.db"); "" keeps it in
	// memory.
	Ledger string
	// MasterKey (TMK) and BDK are 16-byte double-length TDES keys; nil means
	// DefaultMasterKey and DefaultBDK.
	MasterKey, BDK []byte
	// Dialect is the one the simulator speaks (default host.ISO87): CUP swaps the
	// TPDU in its answers and checks the CUP ECB MAC.
	Dialect host.Dialect
	// TLS, when set, makes the server speak TLS.
	TLS *tls.Config
	// Logger receives one record per request (no card data). Default: none.
	Logger *slog.Logger
	// Now is the clock (default time.Now); Location the time zone of the
	// host's local time in answers (default time.Local).
	Now      func() time.Time
	Location *time.Location
	// Rand is the source of working keys (default crypto/rand).
	Rand io.Reader
	// Fault is the fault in force from the start (default OK).
	Fault Fault
	// ReadTimeout bounds the reading of one request, counted from the first
	// read after the connection opened or the last answer (default
	// DefaultReadTimeout); a client that has not sent a whole frame by then
	// is disconnected.
	ReadTimeout time.Duration
	// MaxConns is the most connections served at once (default
	// DefaultMaxConns); a connection beyond it is closed as soon as accepted.
	MaxConns int
}

// Server is the acquirer simulator.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ledger *Ledger
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	fault   Fault
	seen    map[string]int // requests read per MTI since the fault was set
	fired   map[string]int // requests a fault applied to, by fault, since the start
	ln      net.Listener
	addr    string
	changed chan struct{} // closed when SetFault replaces a closed listener
	closed  bool
	conns   map[net.Conn]struct{}
	keys    map[string]*workingKeys // by terminal id
	emv     *emvparam.Set           // the EMV parameter set served (emvparams.go); nil: DefaultEMVParams

	work sync.Mutex // one request at a time: the ledger has one writer
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("hostsim: server closed")

// New opens the ledger and returns a Server ready to Serve.
func New(cfg Config) (*Server, error) {
	var err error
	if cfg.MasterKey, err = keyOrDefault(cfg.MasterKey, DefaultMasterKey); err != nil {
		return nil, fmt.Errorf("hostsim: master key: %w", err)
	}
	if cfg.BDK, err = keyOrDefault(cfg.BDK, DefaultBDK); err != nil {
		return nil, fmt.Errorf("hostsim: BDK: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dialect == nil {
		cfg.Dialect = host.ISO87{}
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Fault.Mode == "" {
		cfg.Fault.Mode = OK
	}
	cfg.setLimits()
	if _, ok := behaviours[cfg.Fault.Mode]; !ok {
		return nil, fmt.Errorf("hostsim: unknown fault mode %q", cfg.Fault.Mode)
	}
	l, err := openLedger(cfg.Ledger)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, ledger: l, done: make(chan struct{}),
		fault: cfg.Fault, changed: make(chan struct{}),
		conns: map[net.Conn]struct{}{}, keys: map[string]*workingKeys{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func keyOrDefault(k []byte, def string) ([]byte, error) {
	if k == nil {
		return hex.DecodeString(def)
	}
	if len(k) != 16 {
		return nil, fmt.Errorf("want 16 bytes, got %d", len(k))
	}
	return append([]byte(nil), k...), nil
}

// Ledger returns the simulator's ledger, for tests and tools to query.
func (s *Server) Ledger() *Ledger { return s.ledger }

// Addr returns the address Serve listens on, "" before Serve.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Fault returns the fault in force.
func (s *Server) Fault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// faultFor counts a request of MTI mti and returns the fault that applies to
// it: the fault in force, or ok when the fault is limited to other requests.
func (s *Server) faultFor(mti string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[mti]++
	if !s.fault.applies(mti, s.seen[mti]) {
		return Fault{Mode: OK}
	}
	if s.fault.Mode != OK {
		if s.fired == nil {
			s.fired = map[string]int{}
		}
		s.fired[s.fault.String()]++
	}
	return s.fault
}

// Fired returns how many requests each fault has applied to since the start.
func (s *Server) Fired() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.fired)
}

// SetFault changes the fault at once. Going Down closes the listener, so
// that connecting fails; leaving Down listens again on the same address,
// before SetFault returns.
func (s *Server) SetFault(f Fault) error {
	if _, ok := behaviours[f.Mode]; !ok {
		return fmt.Errorf("hostsim: unknown fault mode %q", f.Mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.fault
	s.fault, s.seen = f, nil
	s.log.Info("hostsim: fault", "fault", f.String())
	if s.ln == nil || s.closed {
		return nil // Serve honours it when it starts
	}
	switch {
	case f.Mode == Down && was.Mode != Down:
		s.ln.Close()
	case f.Mode != Down && was.Mode == Down:
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			s.fault = was
			return fmt.Errorf("hostsim: listen again: %w", err)
		}
		s.ln = ln
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return nil
}

// Serve accepts connections on ln until Close. Each connection may carry
// any number of requests, one after the other.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.ln, s.addr = ln, ln.Addr().String()
	if s.fault.Mode == Down {
		ln.Close()
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		ln := s.ln
		s.mu.Unlock()
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed, current, down, changed := s.closed, s.ln, s.fault.Mode == Down, s.changed
			s.mu.Unlock()
			switch {
			case closed:
				return ErrClosed
			case current != ln:
				continue // SetFault listened again
			case down:
				select {
				case <-changed:
					continue
				case <-s.done:
					return ErrClosed
				}
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("hostsim: accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return ErrClosed
		}
		if len(s.conns) >= s.cfg.MaxConns {
			s.mu.Unlock()
			s.log.Warn("hostsim: connection closed: too many connections", "remote", conn.RemoteAddr().String(), "max", s.cfg.MaxConns)
			conn.Close()
			continue
		}
		dc := &deadlineConn{Conn: conn, timeout: s.cfg.ReadTimeout}
		s.conns[dc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(dc)
	}
}

// Close stops the server: the listener and every connection are closed, and
// the ledger once the requests in progress are done.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.ledger.Close()
}
