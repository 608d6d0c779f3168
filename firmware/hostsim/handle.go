package hostsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"posfw/firmware/host"
	"posfw/firmware/host/cup"
	"posfw/firmware/host/iso87"
)

// serveConn reads requests from one connection and answers them as the
// fault in force says.
func (s *Server) serveConn(raw net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, raw)
		s.mu.Unlock()
		raw.Close()
	}()
	conn := raw
	if s.cfg.TLS != nil {
		conn = tls.Server(raw, s.cfg.TLS)
	}
	for {
		frame, err := iso87.ReadFrame(conn, iso87.MaxFrame)
		if err != nil {
			return
		}
		mti := s.peekMTI(frame)
		f := s.faultFor(mti)
		b := behaviours[f.Mode]
		if !b.process {
			s.log.Info("hostsim: request read and ignored", "fault", f.String())
			hold(conn)
			return
		}
		a := s.handle(frame, f)
		switch a.act {
		case actClose:
			return
		case actSilent:
			hold(conn)
			return
		}
		if b.badMAC && a.mac {
			corruptMAC(a.frame)
		}
		if b.delay && !s.sleep(f.Delay) {
			return
		}
		switch {
		case b.garbage:
			junk := make([]byte, 32)
			io.ReadFull(s.cfg.Rand, junk)
			conn.Write(junk)
			return
		case b.hold:
			s.log.Info("hostsim: processed and not answering", "fault", f.String())
			hold(conn)
			return
		case b.cut:
			var whole bytes.Buffer
			iso87.WriteFrame(&whole, a.frame)
			conn.Write(whole.Bytes()[:whole.Len()/2])
			return
		}
		for range b.answers {
			if err := iso87.WriteFrame(conn, a.frame); err != nil {
				return
			}
		}
		if b.answers == 0 {
			return // drop-after-request: processed, and the line goes dead
		}
	}
}

// signer MACs with a terminal's clear MAK by the dialect's algorithm.
func (s *Server) signer(key []byte) host.Signer {
	_, f := s.cfg.Dialect.MAC()
	return host.KeySigner(f, key)
}

// peekMTI reads the MTI of a request frame without decoding it, for the faults
// limited to one MTI: ASCII at the start (iso87), BCD after TPDU and header (CUP).
func (s *Server) peekMTI(frame []byte) string {
	if s.cfg.Dialect.Name() == "cup" {
		if len(frame) < cup.PrefixLen+2 {
			return ""
		}
		return fmt.Sprintf("%02X%02X", frame[cup.PrefixLen], frame[cup.PrefixLen+1])
	}
	if len(frame) < 4 {
		return ""
	}
	return string(frame[:4])
}

// altered is another value of the same length: its last digit moved on by
// one (an echo fault changes only fields the answer repeats).
func altered(v string) string {
	b := []byte(v)
	if last := &b[len(b)-1]; *last >= '0' && *last <= '8' {
		*last++
	} else {
		*last = '0'
	}
	return string(b)
}

// hold keeps a connection open without answering until the peer (or Close)
// closes it.
func hold(conn net.Conn) { io.Copy(io.Discard, conn) }

// sleep waits d, or less if the server closes; it reports whether the full
// time passed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// corruptMAC changes the last hex digit of the MAC that ends frame.
func corruptMAC(frame []byte) {
	if i := len(frame) - 1; i >= 0 {
		if frame[i] == '0' {
			frame[i] = '1'
		} else {
			frame[i] = '0'
		}
	}
}

// action is what becomes of a request once handled.
type action int

const (
	actAnswer action = iota // write the answer
	actSilent               // never answer (amounts ending .98): keep the line open
	actClose                // unreadable: close the connection
)

// answer is the outcome of handling one frame.
type answer struct {
	frame []byte
	mac   bool // frame ends with a MAC
	act   action
}

// request is a decoded request.
type request struct {
	mti      string
	msg      *host.Decoded
	f        host.Fields // every field present, neutral; binary ones as raw bytes
	terminal string
	stan     int64
}

func (r *request) get(id int) string { return r.f[id] }

// outcome is what a handler decided.
type outcome struct {
	code   string      // field 39
	extra  host.Fields // fields of the answer besides the echoed ones
	silent bool        // never answer
}

// handlers answer each request MTI of the dialect (host.Messages).
var handlers = map[string]func(*Server, *request) (outcome, error){
	"0800": (*Server).networkOrEMV,
	"0820": (*Server).emvQuery,
	"0200": (*Server).financialOrQR,
	"0220": (*Server).financialOrQR,
	"0400": (*Server).reversal,
	"0401": (*Server).reversal,
	"0500": (*Server).settle,
	"0320": (*Server).upload,
}

// echoed are the request fields an answer repeats.
var echoed = []int{3, 4, 7, 11, 41, 42, 49, 60, 70, 90}

// Format errors and the like, answered without touching the ledger.
const (
	codeFormat    = "30"
	codeDuplicate = "94"
	codeSystem    = "96"
)

// handle decodes one request frame, applies it to the ledger and returns
// the answer. It never panics: an unreadable frame closes the connection.
func (s *Server) handle(frame []byte, fault Fault) answer {
	msg, err := s.cfg.Dialect.Decode(frame)
	if err != nil {
		s.log.Warn("hostsim: unreadable request; closing the connection", "bytes", len(frame), "error", err)
		return answer{act: actClose}
	}
	mti := msg.MTI
	m, ok := host.LookupMessage(mti)
	h := handlers[mti]
	if !ok || h == nil {
		s.log.Warn("hostsim: not a request of the dialect; closing the connection", "message", msg)
		return answer{act: actClose}
	}
	s.log.Debug("hostsim: request", "message", msg)
	r := newRequest(msg)
	if r.terminal == "" || r.stan == 0 {
		return s.reply(r, m, outcome{code: codeFormat}, nil, fault)
	}
	var key []byte
	if m.MAC {
		key = s.macKey(r.terminal)
		defer clear(key)
		if key == nil || msg.Verify(s.signer(key)) != nil {
			s.log.Warn("hostsim: MAC check failed", "mti", mti, "terminal", r.terminal, "stan", r.stan)
			return s.reply(r, m, outcome{code: host.CodeMACError}, nil, fault)
		}
	}
	if !s.clearTrack(r) {
		s.log.Warn("hostsim: track data does not decrypt under the terminal's TDK", "mti", mti, "terminal", r.terminal, "stan", r.stan)
		return s.reply(r, m, outcome{code: codeFormat}, key, fault)
	}
	s.work.Lock()
	out, err := h(s, r)
	s.work.Unlock()
	if err != nil {
		s.log.Error("hostsim: ledger", "error", err)
		out = outcome{code: codeSystem}
	}
	if out.silent {
		s.log.Info("hostsim: not answering", "mti", mti, "terminal", r.terminal, "stan", r.stan)
		return answer{act: actSilent}
	}
	return s.reply(r, m, out, key, fault)
}

func newRequest(msg *host.Decoded) *request {
	r := &request{mti: msg.MTI, msg: msg, f: msg.Fields}
	r.terminal = r.f[41]
	r.stan, _ = strconv.ParseInt(r.f[11], 10, 64)
	return r
}

// reply builds the answer: the echoed fields, the host's local time in 12
// and 13, the outcome's fields, and a MAC when key is given; then what the
// fault changes in it (a field, the code, the MAC left out).
func (s *Server) reply(r *request, m host.Message, out outcome, key []byte, fault Fault) answer {
	f := host.Fields{39: out.code}
	for _, id := range echoed {
		if v, ok := r.f[id]; ok {
			f[id] = v
		}
	}
	now := s.cfg.Now().In(s.cfg.Location)
	f[12], f[13] = now.Format("150405"), now.Format("0102")
	for id, v := range out.extra {
		f[id] = v
	}
	switch {
	case fault.Mode == Echo && f[fault.Field] != "":
		f[fault.Field] = altered(f[fault.Field])
	case fault.Mode == Code:
		f[39] = fault.Code
	case fault.Mode == Unsigned:
		key = nil
	}
	s.log.Info("hostsim: answer", "mti", m.Response, "terminal", r.terminal, "stan", r.stan, "code", out.code)
	var sign host.Signer
	if key != nil && m.MAC {
		sign = s.signer(key)
	}
	d := s.cfg.Dialect.Answering(r.msg)
	b, err := d.Encode(m.Response, f, nil, host.Crypto{Sign: sign})
	if err != nil {
		s.log.Error("hostsim: cannot build the answer; closing the connection", "error", err)
		return answer{act: actClose}
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		if dec, err := d.Decode(b); err == nil {
			s.log.Debug("hostsim: answer", "message", dec)
		}
	}
	return answer{frame: b, mac: sign != nil}
}
