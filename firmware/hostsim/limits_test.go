package hostsim

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"posfw/drivers/testkit"
	"posfw/firmware/host"
)

// closedWithin reports whether the server closes c within d (a read returns EOF or
// a reset), as opposed to keeping it open.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 64))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestReadDeadline: a client that sends part of a frame and stops, or trickles it
// slower than the read timeout allows, or sends nothing, is disconnected once the read
// timeout has passed; one that sends its frames in time is served, request after request.
func TestReadDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, addr := serve(t, Config{ReadTimeout: timeout})
	for _, tc := range []struct {
		name string
		send func(c net.Conn)
	}{
		{"nothing", func(net.Conn) {}},
		{"half a header", func(c net.Conn) { c.Write([]byte{0x00}) }},
		{"header and half the body", func(c net.Conn) { c.Write([]byte{0x00, 0x40, '0', '8', '0', '0', 0x82}) }},
		{"a byte every 100 ms", func(c net.Conn) {
			c.Write([]byte{0x00, 0x40})
			for range 20 {
				time.Sleep(100 * time.Millisecond)
				if _, err := c.Write([]byte{'0'}); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			go tc.send(c)
			if !closedWithin(c, 5*timeout) {
				t.Fatalf("connection still open %v after a stalled request; want it closed after the %v read timeout", time.Since(start).Round(time.Millisecond), timeout)
			}
			if took := time.Since(start); took < timeout*9/10 {
				t.Errorf("closed after %v; want not before the read timeout %v", took, timeout)
			}
		})
	}
	// A terminal that talks at a normal pace is unaffected: two sign-ons over one
	// client, longer together than the read timeout.
	c := host.New(host.Config{
		Address: addr, TerminalID: testTID, MerchantID: testMID,
		Keys: padWith(t, testkit.Unhex(t, DefaultMasterKey)), ResponseTimeout: time.Second,
	})
	defer c.Close()
	for i := range 2 {
		if err := c.SignOn(context.Background(), int64(i+1)); err != nil {
			t.Fatalf("sign-on %d with a %v read timeout: %v", i+1, timeout, err)
		}
		time.Sleep(timeout * 2 / 3)
	}
}

// TestConnectionCap: beyond MaxConns connections, a new one is closed at once; when
// one of the others ends, connections are taken again.
func TestConnectionCap(t *testing.T) {
	const max = 3
	_, addr := serve(t, Config{MaxConns: max, ReadTimeout: time.Minute})
	var held []net.Conn
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The server counts a connection when it accepts it: give it the time to.
	time.Sleep(100 * time.Millisecond)
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(extra, 2*time.Second) {
		t.Fatalf("connection %d of a simulator capped at %d stays open; want it closed", max+1, max)
	}
	for _, c := range held {
		if closedWithin(c, 50*time.Millisecond) {
			t.Errorf("a connection within the cap was closed")
		}
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond)
	again, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if closedWithin(again, 200*time.Millisecond) {
		t.Errorf("a connection after one of the others ended was closed; want it served")
	}
}
