// Package pcsc drives USB CCID chip readers (and any other PC/SC reader) through
// pcscd, the PC/SC resource manager of Linux: a pure-Go client of pcscd's socket for
// the calls a payment terminal needs (the PC/SC Workgroup's Interoperability
// Specification part 5 API: SCardEstablishContext, SCardGetStatusChange,
// SCardConnect, SCardTransmit, SCardStatus, SCardDisconnect, SCardReleaseContext)
// over pcsc-lite's client/server messages (src/winscard_msg.h and winscard_svc.c of
// pcsc-lite 1.9.9, protocol 4.4), and Reader, a chipreader.Device of one named reader.
//
// It is its own client rather than github.com/gballet/go-libpcsclite: that library
// decodes the reader table at the offsets of its Go struct (a string where C has a
// 128-byte array), has no SCardGetStatusChange and reads without deadlines; cgo
// libpcsclite is out because the ARM binaries are static.
//
// A connection to pcscd is one PC/SC context, and pcscd answers its requests one at a
// time: a Reader keeps one for card requests and another that waits for card events.
package pcsc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"posfw/drivers/chipreader"
)

// DefaultSocket is where pcscd listens (PCSCLITE_CSOCK_NAME of Debian's build).
const DefaultSocket = "/run/pcscd/pcscd.comm"

// scopeSystem is SCARD_SCOPE_SYSTEM.
const scopeSystem = 2

// Client is one PC/SC context: a connection to pcscd. Its methods are safe for
// concurrent use and go one at a time, as pcscd serves them. After a failure of the
// connection itself (pcscd gone, a timeout, a malformed answer) every call fails with
// an error matching chipreader.ErrDeviceGone: dial again.
type Client struct {
	// Timeout bounds each request's answer; Transmit gets TransmitTimeout.
	Timeout, TransmitTimeout time.Duration

	mu     sync.Mutex
	conn   net.Conn
	ctx    uint32
	broken error
}

// Dial connects to pcscd's socket (DefaultSocket when empty), checks that it speaks
// protocol 4.4 and establishes a context.
func Dial(socket string) (*Client, error) {
	if socket == "" {
		socket = DefaultSocket
	}
	conn, err := net.DialTimeout("unix", socket, 3*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: pcscd: %v", chipreader.ErrDeviceGone, err)
	}
	return newClient(conn)
}

// newClient does the handshake on a connection to pcscd.
func newClient(conn net.Conn) (*Client, error) {
	c := &Client{Timeout: 5 * time.Second, TransmitTimeout: 15 * time.Second, conn: conn}
	if err := c.handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.call(cmdVersion, u32s(ProtocolMajor, ProtocolMinor, 0), 12, c.Timeout)
	if err != nil {
		return err
	}
	if rv := u32(a, 2); rv != 0 {
		if err := c.check(rv); errors.Is(err, ErrProtocol) {
			return err
		}
		return fmt.Errorf("%w: pcscd speaks protocol %d.%d, this client %d.%d: %w", chipreader.ErrDeviceGone,
			u32(a, 0), u32(a, 1), ProtocolMajor, ProtocolMinor, Code(rv))
	}
	a, err = c.call(cmdEstablishContext, u32s(scopeSystem, 0, 0), 12, c.Timeout)
	if err != nil {
		return err
	}
	if err := c.check(u32(a, 2)); err != nil {
		return fmt.Errorf("pcsc: establish context: %w", err)
	}
	c.ctx = u32(a, 1)
	return nil
}

// call sends one request and reads an answer of n bytes. The caller holds mu.
func (c *Client) call(cmd uint32, body []byte, n int, timeout time.Duration) ([]byte, error) {
	if err := c.send(cmd, body, nil, timeout); err != nil {
		return nil, err
	}
	return c.read(n, timeout)
}

// send writes a request and, for Transmit, the data after it.
func (c *Client) send(cmd uint32, body, extra []byte, timeout time.Duration) error {
	if c.broken != nil {
		return c.broken
	}
	msg := append(append(header(cmd, len(body)), body...), extra...)
	c.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.conn.Write(msg); err != nil {
		return c.fail(err)
	}
	return nil
}

// read reads exactly n bytes of answer; timeout 0 waits for ever.
func (c *Client) read(n int, timeout time.Duration) ([]byte, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	c.conn.SetReadDeadline(dl)
	b := make([]byte, n)
	if _, err := io.ReadFull(c.conn, b); err != nil {
		return nil, c.fail(err)
	}
	return b, nil
}

// fail marks the connection broken: after a failed or malformed exchange the next
// bytes on it belong to no known message.
func (c *Client) fail(err error) error {
	if c.broken == nil {
		if errors.Is(err, chipreader.ErrDeviceGone) {
			c.broken = err
		} else {
			c.broken = fmt.Errorf("%w: pcscd: %w", chipreader.ErrDeviceGone, err)
		}
		c.conn.Close()
	}
	return c.broken
}

// Broken reports whether the connection failed: every call fails from then on.
func (c *Client) Broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken != nil
}

// ReaderStates returns every reader pcscd knows and its card's state
// (CMD_GET_READERS_STATE, what SCardListReaders and SCardStatus read).
func (c *Client) ReaderStates() ([]ReaderState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.call(cmdGetReadersState, nil, readerStatesSize, c.Timeout)
	if err != nil {
		return nil, err
	}
	s, err := DecodeReaderStates(a)
	if err != nil {
		return nil, c.fail(err)
	}
	return s, nil
}

// ListReaders returns the names of the readers pcscd knows.
func (c *Client) ListReaders() ([]string, error) {
	states, err := c.ReaderStates()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.Name
	}
	return names, nil
}

// WaitChange is SCardGetStatusChange's wait: it returns the readers' states now and
// then, when changed is not nil, blocks in changed until pcscd signals a change of any
// reader (a card in or out, a reader plugged or unplugged) or wait passes (then false).
// Only one goroutine may wait on a Client, and it may not make other calls meanwhile.
func (c *Client) WaitChange(wait time.Duration) (states []ReaderState, changed func() (bool, error), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// CMD_WAIT_READER_STATE_CHANGE registers for the next event and answers with the
	// table at once; the event then arrives as a wait_reader_state_change struct.
	a, err := c.call(cmdWaitReaderState, nil, readerStatesSize, c.Timeout)
	if err != nil {
		return nil, nil, err
	}
	if states, err = DecodeReaderStates(a); err != nil {
		return nil, nil, c.fail(err)
	}
	return states, func() (bool, error) { return c.awaitSignal(wait) }, nil
}

// awaitSignal reads the event signal; after wait it asks pcscd to stop waiting, whose
// one answer is its reply or the signal that crossed the request.
func (c *Client) awaitSignal(wait time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return false, c.broken
	}
	c.conn.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, waitSize)
	n, err := io.ReadFull(c.conn, b)
	var ne net.Error
	switch {
	case err == nil:
		return true, c.signalled(b)
	case n == 0 && errors.As(err, &ne) && ne.Timeout():
		if _, err := c.call(cmdStopWaitingReaders, nil, waitSize, c.Timeout); err != nil {
			return false, err
		}
		return false, nil
	}
	return false, c.fail(err)
}

func (c *Client) signalled(b []byte) error {
	switch rv := u32(b, 1); Code(rv) {
	case 0, ErrCancelled, ErrTimeout:
		return nil
	default:
		if err := c.check(rv); errors.Is(err, ErrProtocol) {
			return err
		}
		return c.fail(Code(rv))
	}
}

// check turns a return value into an error, nil for SCARD_S_SUCCESS. A value outside
// PC/SC's 0x801000xx is not pcscd speaking: the connection is dropped. The caller
// holds mu.
func (c *Client) check(rv uint32) error {
	if rv != 0 && rv&0xFFFFFF00 != 0x80100000 {
		return c.fail(fmt.Errorf("%w: return value %#x", ErrProtocol, rv))
	}
	return result(rv)
}

// Card is a connection to the card in a reader (an SCARDHANDLE).
type Card struct {
	Handle   uint32
	Protocol uint32 // ProtocolT0 or ProtocolT1
	Reader   string
}

// Connect connects to the card in reader (SCardConnect), powering it if needed.
func (c *Client) Connect(reader string, share uint32) (Card, error) {
	if len(reader) >= maxReaderName {
		return Card{}, fmt.Errorf("pcsc: reader name of %d bytes", len(reader))
	}
	body := make([]byte, connectSize)
	copy(body[4:], reader)
	copy(body[4+maxReaderName:], u32s(share, ProtocolAny))
	c.mu.Lock()
	defer c.mu.Unlock()
	copy(body, u32s(c.ctx))
	a, err := c.call(cmdConnect, body, connectSize, c.TransmitTimeout)
	if err != nil {
		return Card{}, err
	}
	ans, err := decodeConnect(a)
	if err != nil {
		return Card{}, c.fail(err)
	}
	if err := c.check(ans.rv); err != nil {
		return Card{}, err
	}
	return Card{Handle: ans.card, Protocol: ans.protocol, Reader: reader}, nil
}

// Status checks that the connection to the card is good (SCardStatus) and returns the
// card's state and ATR as pcscd publishes them.
func (c *Client) Status(card Card) (ReaderState, error) {
	c.mu.Lock()
	a, err := c.call(cmdStatus, u32s(card.Handle, 0), 8, c.Timeout)
	c.mu.Unlock()
	if err != nil {
		return ReaderState{}, err
	}
	c.mu.Lock()
	err = c.check(u32(a, 1))
	c.mu.Unlock()
	if err != nil {
		return ReaderState{}, err
	}
	states, err := c.ReaderStates()
	if err != nil {
		return ReaderState{}, err
	}
	for _, s := range states {
		if s.Name == card.Reader {
			return s, nil
		}
	}
	return ReaderState{}, ErrReaderUnavailable
}

// Transmit sends a command APDU to the card and returns the response APDU
// (SCardTransmit).
func (c *Client) Transmit(card Card, apdu []byte) ([]byte, error) {
	if len(apdu) == 0 || len(apdu) > maxBufferExt {
		return nil, fmt.Errorf("pcsc: command APDU of %d bytes", len(apdu))
	}
	// ioSendPci and ioRecvPci are SCARD_IO_REQUESTs: the protocol and their size, 8.
	body := u32s(card.Handle, card.Protocol, 8, uint32(len(apdu)), ProtocolAny, 8, maxBufferExt, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.send(cmdTransmit, body, apdu, c.TransmitTimeout); err != nil {
		return nil, err
	}
	a, err := c.read(transmitSize, c.TransmitTimeout)
	if err != nil {
		return nil, err
	}
	ans, err := decodeTransmit(a)
	if err != nil {
		return nil, c.fail(err)
	}
	if err := c.check(ans.rv); err != nil {
		return nil, err
	}
	return c.read(int(ans.recvLen), c.TransmitTimeout)
}

// Disconnect ends the connection to the card, leaving it as disposition says
// (LeaveCard, ResetCard, UnpowerCard) (SCardDisconnect).
func (c *Client) Disconnect(card Card, disposition uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.call(cmdDisconnect, u32s(card.Handle, disposition, 0), 12, c.Timeout)
	if err != nil {
		return err
	}
	return c.check(u32(a, 2))
}

// Close releases the context (SCardReleaseContext) and the connection. It may be
// called while another goroutine waits in WaitChange's changed: that wait ends with an
// error.
func (c *Client) Close() error {
	// Closing first ends a blocked wait; pcscd releases the context of a closed
	// connection itself. A context of a connection still in use is released politely.
	if !c.mu.TryLock() {
		return c.conn.Close()
	}
	defer c.mu.Unlock()
	if c.broken == nil {
		c.call(cmdReleaseContext, u32s(c.ctx, 0), 8, time.Second)
	}
	c.broken = fmt.Errorf("%w: closed", chipreader.ErrClosed)
	return c.conn.Close()
}
