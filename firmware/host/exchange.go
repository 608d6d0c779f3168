package host

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

// match is what identifies the answer to a request.
type match struct {
	mti  string // the response MTI
	stan string // field 11
	tid  string // field 41
	mac  bool   // the answer must carry a valid MAC
	echo Fields // the request's fields that the answer repeats (Echoes)
}

// errMismatch marks a well-formed answer to some other request.
var errMismatch = errors.New("answer does not match the request")

// exchange sends one request on a connection of its own and returns its
// answer. Its errors wrap exactly one of txn.ErrNotSent (nothing left the
// terminal), txn.ErrNoResponse (the request may have left; no valid answer),
// txn.ErrBadMAC (an answer without a MAC that verifies, whatever its response
// code) and txn.ErrBadAnswer (a signed answer that does not repeat the request).
func (c *Client) exchange(ctx context.Context, mti string, f Fields, card CardFields) (*Decoded, error) {
	if c.err != nil {
		return nil, fmt.Errorf("%w: %v", txn.ErrNotSent, c.err)
	}
	m, ok := LookupMessage(mti)
	if !ok {
		return nil, fmt.Errorf("%w: MTI %s is not in the dialect", txn.ErrNotSent, mti)
	}
	sign, err := c.signer(ctx, m)
	if err != nil {
		return nil, err
	}
	d := c.cfg.Dialect
	b, err := d.Encode(mti, f, card, Crypto{Sign: sign, Track: c.tracker(ctx, card)})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", txn.ErrNotSent, mti, err)
	}
	defer clear(b) // it holds the PAN, track 2 and PIN block
	want := match{mti: m.Response, stan: f[11], tid: c.cfg.TerminalID, mac: m.MAC, echo: echoOf(d.Canon(mti, f))}

	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", txn.ErrNotSent, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(c.cfg.ResponseTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	// A cancelled context interrupts a blocked read or write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if c.log.Enabled(ctx, slog.LevelDebug) {
		if dec, err := d.Decode(b); err == nil {
			c.log.Debug("host: request", "message", dec)
		}
	}
	if err := iso87.WriteFrame(conn, b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", txn.ErrNoResponse, mti, ioProblem(ctx, err))
	}
	for {
		frame, err := iso87.ReadFrame(conn, iso87.MaxFrame)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", txn.ErrNoResponse, mti, ioProblem(ctx, err))
		}
		resp, err := parseResponse(d, frame, want, sign)
		if errors.Is(err, errMismatch) {
			c.log.Warn("host: discarded an answer that is not for this request",
				"want_mti", want.mti, "want_stan", want.stan, "message", resp)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mti, err)
		}
		c.log.Debug("host: answer", "message", resp)
		return resp, nil
	}
}

// tracker returns the PIN pad's track encryption under the TDK when the request
// carries track data and the last sign-on gave the pad a TDK.
func (c *Client) tracker(ctx context.Context, card CardFields) func([]byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(card[35]) == 0 || !c.tdk || c.keys == nil {
		return nil
	}
	keys := c.keys
	return func(tdb []byte) ([]byte, error) { return keys.EncryptTrack(ctx, tdb) }
}

// signer returns the PIN pad's MAC under the working keys when m needs one.
func (c *Client) signer(ctx context.Context, m Message) (Signer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, fmt.Errorf("%w: client closed", txn.ErrNotSent)
	case !m.MAC:
		return nil, nil
	case !c.signedOn || c.keys == nil:
		return nil, fmt.Errorf("%w: not signed on (no MAC key in the PIN pad)", txn.ErrNotSent)
	}
	keys := c.keys
	alg, _ := c.cfg.Dialect.MAC()
	return func(data []byte) ([mac.Size]byte, error) {
		m, err := keys.MAC(ctx, alg, data)
		if errors.Is(err, pinpad.ErrNoKey) {
			// The pad lost its working keys (power cycled, replaced): until a new
			// sign-on, nothing can be MACed.
			c.mu.Lock()
			c.signedOn = false
			c.mu.Unlock()
			err = fmt.Errorf("the PIN pad holds no working keys (sign on again): %w", err)
		}
		return m, err
	}, nil
}

// dial connects, and shakes hands when the link is TLS, within the connect
// timeout.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	if c.cfg.TLS != nil {
		d := tls.Dialer{Config: c.cfg.TLS}
		return d.DialContext(ctx, "tcp", c.cfg.Address)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", c.cfg.Address)
}

// ioProblem names what went wrong on the connection in words a technician
// can act on.
func ioProblem(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("no answer within the response timeout")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the host closed the connection")
	}
	return err
}

// echoOf is the part of a request's fields an answer must repeat. It holds no
// card data: none of Echoes is a card field.
func echoOf(f Fields) Fields {
	e := Fields{}
	for _, row := range Echoes {
		if v, ok := f[row.Field]; ok {
			e[row.Field] = v
		}
	}
	return e
}

// parseResponse decodes a frame read in answer to a request and checks that
// it is the answer wanted: the MTI, trace and terminal pick it out among
// strays; then its MAC must verify (when the request carried one, whatever
// the response code: an unsigned A0 or 97 is no answer either) and every
// echoed field must repeat the request. A well-formed answer to another
// request comes back with errMismatch (and the message, for the log); other
// errors wrap txn.ErrNoResponse, txn.ErrBadMAC or txn.ErrBadAnswer.
func parseResponse(d Dialect, frame []byte, want match, sign Signer) (*Decoded, error) {
	msg, err := d.Decode(frame)
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable answer: %v", txn.ErrNoResponse, err)
	}
	if msg.MTI != want.mti || msg.Get(11) != want.stan || msg.Get(41) != want.tid {
		return msg, errMismatch
	}
	if r := d.AnswerRoute(); r != nil && !bytes.Equal(msg.Route, r) {
		// Our trace and terminal, but not routed back to us: not an answer to trust.
		return nil, fmt.Errorf("%w: answer routed % X, want % X", txn.ErrBadAnswer, msg.Route, r)
	}
	code := msg.Get(39)
	if want.mac {
		switch err := msg.Verify(sign); {
		case err == nil:
		case errors.Is(err, ErrNoMAC):
			return nil, fmt.Errorf("%w: answer %q has no MAC", txn.ErrBadMAC, code)
		case errors.Is(err, mac.ErrMismatch):
			return nil, fmt.Errorf("%w: answer %q", txn.ErrBadMAC, code)
		default:
			// The pad could not compute the MAC (gone, no key): the answer is
			// unverified, so it is none.
			return nil, fmt.Errorf("%w: answer %q not checked: %v", txn.ErrNoResponse, code, err)
		}
	}
	if len(code) != 2 {
		return nil, fmt.Errorf("%w: answer without a response code", txn.ErrNoResponse)
	}
	got := Fields{}
	for id := range want.echo {
		if v, ok := msg.Fields[id]; ok {
			got[id] = v
		}
	}
	if err := CheckEcho(want.echo, got); err != nil {
		return nil, fmt.Errorf("%w: %v", txn.ErrBadAnswer, err)
	}
	return msg, nil
}
