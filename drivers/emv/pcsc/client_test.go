package pcsc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/drivers/chipreader"
)

// fakePcscd is a pcscd that answers by a script, for the answers a real one does not
// give: garbage, cut messages, silence. The handshake is answered as pcscd 1.9.9 does
// unless the script answers cmdVersion itself.
type fakePcscd struct {
	socket string
	// answer returns the bytes to send for a request (nil: none), and whether to hang
	// up after them.
	answer func(cmd uint32, body []byte) ([]byte, bool)
	// changes, when set, holds back the signal after each CMD_WAIT_READER_STATE_CHANGE
	// until something is sent on it.
	changes chan struct{}
}

func startFake(t *testing.T, answer func(cmd uint32, body []byte) ([]byte, bool)) *fakePcscd {
	t.Helper()
	f := &fakePcscd{socket: filepath.Join(t.TempDir(), "pcscd.comm"), answer: answer}
	l, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(conn)
		}
	}()
	return f
}

func (f *fakePcscd) serve(conn net.Conn) {
	defer conn.Close()
	for {
		var h [8]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			return
		}
		size, cmd := binary.LittleEndian.Uint32(h[:]), binary.LittleEndian.Uint32(h[4:])
		body := make([]byte, size)
		if _, err := io.ReadFull(conn, body); err != nil {
			return
		}
		if cmd == cmdTransmit && len(body) == transmitSize {
			if _, err := io.CopyN(io.Discard, conn, int64(u32(body, 3))); err != nil {
				return
			}
		}
		a, hangup := f.answer(cmd, body)
		if a == nil && !hangup {
			a, hangup = pcscd199(cmd, body)
		}
		conn.Write(a)
		if hangup {
			return
		}
		if cmd == cmdWaitReaderState && f.changes != nil {
			<-f.changes // an event: the signal, as pcscd's EHSignalEventToClients
			conn.Write(u32s(0, 0))
		}
	}
}

// pcscd199 answers as a well pcscd 1.9.9 with one reader and a card in it does.
func pcscd199(cmd uint32, body []byte) ([]byte, bool) {
	switch cmd {
	case cmdVersion:
		return u32s(ProtocolMajor, ProtocolMinor, 0), false
	case cmdEstablishContext:
		return u32s(u32(body, 0), 7, 0), false
	case cmdGetReadersState, cmdWaitReaderState:
		return encodeReaderStates([]ReaderState{{Name: "Fake Reader 00 00", Events: 1, State: StatePresent | StatePowered, ATR: []byte{0x3B, 0x02, 0x14, 0x50}, Protocol: ProtocolT0}}), false
	case cmdConnect:
		a := bytes.Clone(body)
		copy(a[4+maxReaderName+8:], u32s(0x1234, ProtocolT0, 0))
		return a, false
	case cmdStatus:
		return u32s(u32(body, 0), 0), false
	case cmdTransmit:
		return append(u32s(u32(body, 0), ProtocolT0, 8, u32(body, 3), ProtocolT0, 8, 2, 0), 0x90, 0x00), false
	case cmdDisconnect:
		return u32s(u32(body, 0), u32(body, 1), 0), false
	case cmdReleaseContext:
		return u32s(u32(body, 0), 0), false
	}
	return nil, true
}

// TestFake proves the fake answers as the client expects, so that the failures below
// are the garbage's.
func TestFake(t *testing.T) {
	f := startFake(t, func(uint32, []byte) ([]byte, bool) { return nil, false })
	r := New("Fake", Options{Socket: f.socket})
	defer r.Close()
	atr, err := r.PowerOn()
	if err != nil || !bytes.Equal(atr, []byte{0x3B, 0x02, 0x14, 0x50}) {
		t.Fatalf("PowerOn = % X, %v; want 3B 02 14 50", atr, err)
	}
	resp, err := r.Transmit([]byte{0x00, 0xA4, 0x04, 0x00, 0x00})
	if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("Transmit = % X, %v; want 90 00", resp, err)
	}
	if err := r.PowerOff(); err != nil {
		t.Fatalf("PowerOff: %v", err)
	}
}

// A garbage answer from pcscd is an error (the connection is dropped and dialed again
// at the next request), never a panic or a hang.
func TestGarbageFromPcscd(t *testing.T) {
	states := func(s ...ReaderState) []byte { return encodeReaderStates(s) }
	longATR := states(ReaderState{Name: "Fake Reader 00 00", State: StatePresent})
	binary.LittleEndian.PutUint32(longATR[176:], 200)
	noNUL := states()
	copy(noNUL, bytes.Repeat([]byte{'x'}, readerStateSize))

	for _, tt := range []struct {
		name   string
		cmd    uint32
		answer []byte
		hangup bool
		want   error // besides chipreader.ErrDeviceGone
	}{
		{"protocol mismatch", cmdVersion, u32s(4, 3, uint32(ErrServiceStopped)), false, ErrServiceStopped},
		{"version answer cut", cmdVersion, []byte{4, 0}, true, nil},
		{"no context", cmdEstablishContext, u32s(2, 0, uint32(ErrNoService)), false, ErrNoService},
		{"reader table cut", cmdGetReadersState, make([]byte, 100), true, nil},
		{"ATR of 200 bytes", cmdGetReadersState, longATR, false, ErrProtocol},
		{"reader name without NUL", cmdGetReadersState, noNUL, false, ErrProtocol},
		{"connect: unknown protocol", cmdConnect, append(make([]byte, 4+maxReaderName+12), u32s(0x99, 0)...), false, ErrProtocol},
		{"connect answer cut", cmdConnect, make([]byte, 20), true, nil},
		{"status: reader gone", cmdStatus, u32s(0x1234, uint32(ErrReaderUnavailable)), false, ErrReaderUnavailable},
		{"transmit: 70000 bytes", cmdTransmit, u32s(0x1234, 1, 8, 5, 1, 8, 70000, 0), false, ErrProtocol},
		{"transmit: 1 byte", cmdTransmit, append(u32s(0x1234, 1, 8, 5, 1, 8, 1, 0), 0x90), false, ErrProtocol},
		{"transmit: data cut", cmdTransmit, append(u32s(0x1234, 1, 8, 5, 1, 8, 10, 0), 0x90), true, nil},
		{"transmit: random bytes", cmdTransmit, []byte("HTTP/1.1 400 Bad Request\r\n\r\n...."), true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(cmd uint32, _ []byte) ([]byte, bool) {
				if cmd == tt.cmd {
					return tt.answer, tt.hangup
				}
				return nil, false
			})
			r := New("Fake", Options{Socket: f.socket})
			defer r.Close()
			_, err := r.PowerOn()
			if err == nil {
				_, err = r.Transmit([]byte{0x00, 0xA4, 0x04, 0x00, 0x00})
			}
			if err == nil {
				t.Fatal("PowerOn and Transmit succeeded; want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v; want one matching %v", err, tt.want)
			}
			if tt.want != ErrProtocol && tt.want != nil {
				return // pcscd's own error code, on a good connection
			}
			if !errors.Is(err, chipreader.ErrDeviceGone) {
				t.Errorf("error %v; want one matching chipreader.ErrDeviceGone", err)
			}
		})
	}
}

// A pcscd that does not answer costs one timeout, not a hang.
func TestSilentPcscd(t *testing.T) {
	f := startFake(t, func(cmd uint32, _ []byte) ([]byte, bool) {
		if cmd == cmdGetReadersState {
			return []byte{}, false // nothing, connection kept
		}
		return nil, false
	})
	c, err := Dial(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = c.ReaderStates()
	if !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Fatalf("ReaderStates = %v; want an error matching chipreader.ErrDeviceGone", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ReaderStates took %v; want about the 200 ms timeout", d)
	}
	if _, err := c.ListReaders(); !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("after a timeout ListReaders = %v; want the connection dropped", err)
	}
}

// A USB reader unplugged with a card in it and plugged back, as pcscd shows it: the
// reader leaves the table and comes back. Wait tells the card removed, then the reader
// not connected; then the card in the reader that came back.
func TestReaderUnplugged(t *testing.T) {
	card := ReaderState{Name: "ACS ACR39U ICC Reader 00 00", Events: 1, State: StatePresent | StatePowered, ATR: []byte{0x3B, 0x02, 0x14, 0x50}}
	var mu sync.Mutex
	table := []ReaderState{card}
	f := startFake(t, func(cmd uint32, _ []byte) ([]byte, bool) {
		if cmd == cmdWaitReaderState || cmd == cmdGetReadersState {
			mu.Lock()
			defer mu.Unlock()
			return encodeReaderStates(table), false
		}
		return nil, false
	})
	f.changes = make(chan struct{})
	set := func(s ...ReaderState) {
		mu.Lock()
		table = s
		mu.Unlock()
		f.changes <- struct{}{}
	}
	r := New("ACR39U", Options{Socket: f.socket})
	defer r.Close()
	next := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e, err := r.Wait(ctx)
		switch {
		case errors.Is(err, ErrNotConnected):
			return "not connected"
		case err != nil:
			t.Fatalf("Wait: %v", err)
		}
		return string(e)
	}
	var got []string
	got = append(got, next())
	set() // unplugged
	got = append(got, next(), next())
	set(card) // back, the card still in it: "not connected" until the monitor has seen it
	e := next()
	for deadline := time.Now().Add(2 * time.Second); e == "not connected" && time.Now().Before(deadline); e = next() {
		time.Sleep(10 * time.Millisecond)
	}
	got = append(got, e)
	if want := []string{"I", "R", "not connected", "I"}; !slices.Equal(got, want) {
		t.Errorf("Wait gave %q; want %q", got, want)
	}
	if !strings.Contains(r.String(), card.Name) {
		t.Errorf("String() = %q; want the reader's full name", r.String())
	}
}

// FuzzClient puts any bytes where pcscd's answers go: every call returns, with an
// error or a result, never a panic.
func FuzzClient(f *testing.F) {
	ok, _ := pcscd199(cmdGetReadersState, nil)
	f.Add(ok)
	f.Add(u32s(0x1234, 1, 8, 5, 1, 8, 70000, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, garbage []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			defer server.Close()
			var h [8]byte
			for _, a := range [][]byte{u32s(ProtocolMajor, ProtocolMinor, 0), u32s(2, 7, 0)} {
				if _, err := io.ReadFull(server, h[:]); err != nil {
					return
				}
				io.CopyN(io.Discard, server, int64(binary.LittleEndian.Uint32(h[:])))
				server.Write(a)
			}
			go io.Copy(io.Discard, server) // the next request, whatever it is
			server.Write(garbage)
		}()
		c, err := newClient(client)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		c.Timeout, c.TransmitTimeout = 100*time.Millisecond, 100*time.Millisecond
		switch len(garbage) % 3 {
		case 0:
			c.ReaderStates()
		case 1:
			c.Transmit(Card{Handle: 1, Protocol: ProtocolT0}, []byte{0, 0xA4, 4, 0, 0})
		case 2:
			c.Connect("Fake Reader 00 00", ShareExclusive)
		}
	})
}
