// Package vpcd puts a chip card (any apdu.Card, such as a cardsim card) into a virtual
// PC/SC reader: it is the card side ("virtual ICC") of vsmartcard's vpcd, the IFD
// handler for pcscd that Debian packages as vsmartcard-vpcd. vpcd listens on TCP
// (35963 for its reader "Virtual PCD 00 00", 35964 for "... 00 01"); a card program
// connects, and the card is in the reader while the connection lasts.
//
// The protocol, as virtualsmartcard/src/vpcd/vpcd.c of vsmartcard 3.3 speaks it: each
// message either way is a 2-byte big-endian length and that many bytes. From vpcd, a
// 1-byte message is a control: 0x00 power off, 0x01 power on, 0x02 reset (no answer to
// these three), 0x04 "send the ATR" (answered with the ATR); any longer message is a
// command APDU, answered with the response APDU.
package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"posfw/drivers/emv/apdu"
)

// DefaultAddr is vpcd's first reader ("Virtual PCD 00 00") on this machine.
const DefaultAddr = "127.0.0.1:35963"

// Controls (VPCD_CTRL_*).
const (
	ctrlOff   = 0x00
	ctrlOn    = 0x01
	ctrlReset = 0x02
	ctrlATR   = 0x04
)

// mute is the ATR given for a card whose chip does not answer reset: vpcd takes an
// empty answer for a card taken out, so the card stays in the reader with an ATR no
// reader accepts, as a broken chip is to a real reader.
var mute = []byte{0x00}

// swNoDiagnosis answers a command the card failed on (ISO/IEC 7816-4 6F00).
var swNoDiagnosis = []byte{0x6F, 0x00}

// maxMessage bounds what is read of one message: vpcd sends short and extended APDUs.
const maxMessage = 1<<16 - 1

// Card serves one card to vpcd.
type Card struct {
	card apdu.Card
	atr  []byte
	on   bool
	// Trace, when set, gets each message as it passes (controls and APDUs in hex).
	Trace func(dir string, b []byte)
}

// New returns the vpcd side of card.
func New(card apdu.Card) *Card { return &Card{card: card} }

// Serve answers vpcd on conn until the connection ends or ctx is done: then the card
// is out of the reader and Serve returns nil for ctx, else why the connection ended.
func (c *Card) Serve(ctx context.Context, conn net.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	for {
		msg, err := readMessage(conn)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return errors.New("vpcd: the reader closed the connection (pcscd stopped?)")
			}
			return fmt.Errorf("vpcd: %w", err)
		}
		if c.Trace != nil {
			c.Trace(">", msg)
		}
		answer, reply := c.handle(msg)
		if !reply {
			continue
		}
		if c.Trace != nil {
			c.Trace("<", answer)
		}
		if err := writeMessage(conn, answer); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vpcd: %w", err)
		}
	}
}

// handle answers one message from vpcd; reply is false for the controls vpcd expects
// no answer to.
func (c *Card) handle(msg []byte) (answer []byte, reply bool) {
	if len(msg) != 1 {
		if len(msg) == 0 {
			return nil, false
		}
		resp, err := c.card.Transmit(msg)
		if err != nil || len(resp) < 2 {
			return swNoDiagnosis, true
		}
		return resp, true
	}
	switch msg[0] {
	case ctrlOff:
		c.card.PowerOff()
		c.on = false
	case ctrlOn:
		c.powerOn()
	case ctrlReset:
		c.card.PowerOff()
		c.powerOn()
	case ctrlATR:
		// vpcd asks for the ATR to know the card is still there, also before it powers
		// the card: a card just inserted is powered to learn it, as a reader does.
		if c.atr == nil {
			c.powerOn()
		}
		return c.atr, true
	}
	return nil, false
}

func (c *Card) powerOn() {
	atr, err := c.card.PowerOn()
	if err != nil || len(atr) == 0 {
		c.atr, c.on = mute, false
		return
	}
	c.atr, c.on = atr, true
}

// Insert connects to vpcd at addr (DefaultAddr when empty) and serves card there until
// ctx is done (the card is taken out: nil) or the connection ends (why).
func Insert(ctx context.Context, addr string, card apdu.Card) error {
	if addr == "" {
		addr = DefaultAddr
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	conn, err := d.DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return fmt.Errorf("vpcd: no virtual reader at %s (is pcscd running with vsmartcard-vpcd?): %w", addr, err)
	}
	return New(card).Serve(ctx, conn)
}

// readMessage reads one length-prefixed message. vpcd 3.3 writes the length and the
// data in two segments: acknowledging at once (TCP_QUICKACK, which Linux clears again
// by itself) keeps each APDU from waiting out the delayed ACK (~40 ms).
func readMessage(conn net.Conn) ([]byte, error) {
	quickAck(conn)
	var n [2]byte
	if _, err := io.ReadFull(conn, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	quickAck(conn)
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, fmt.Errorf("message cut short: %w", err)
	}
	return msg, nil
}

// writeMessage writes one message in a single segment.
func writeMessage(conn net.Conn, msg []byte) error {
	if len(msg) > maxMessage {
		return fmt.Errorf("message of %d bytes", len(msg))
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	_, err := conn.Write(append(b, msg...))
	return err
}

func quickAck(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
