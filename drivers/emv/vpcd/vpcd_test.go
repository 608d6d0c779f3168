package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
)

// reader is the vpcd side of a connection, speaking as vsmartcard 3.3's vpcd.c does:
// the length and the data in two writes.
type reader struct {
	t    *testing.T
	conn net.Conn
}

func (r reader) send(msg ...byte) {
	r.t.Helper()
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(msg)))
	if _, err := r.conn.Write(n[:]); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(msg); err != nil {
		r.t.Fatal(err)
	}
}

func (r reader) recv() []byte {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var n [2]byte
	if _, err := io.ReadFull(r.conn, n[:]); err != nil {
		r.t.Fatalf("no answer: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r.conn, b); err != nil {
		r.t.Fatalf("answer cut: %v", err)
	}
	return b
}

// plug starts a fake vpcd on TCP and inserts the test card name into it.
func plug(t *testing.T, name string) (reader, context.CancelFunc, chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	card, err := cardsim.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Insert(ctx, l.Addr().String(), card) }()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); conn.Close() })
	return reader{t, conn}, cancel, done
}

func atrOf(t *testing.T, name string) []byte {
	c, err := cardsim.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	atr, err := c.PowerOn()
	if err != nil {
		t.Fatal(err)
	}
	return atr
}

// The controls and APDUs as vpcd sends them: the ATR asked for before power on (vpcd's
// presence check), power on and off unanswered, APDUs answered by the card.
func TestProtocol(t *testing.T) {
	r, cancel, done := plug(t, "chip")
	selectPSE := apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes()

	r.send(ctrlATR)
	if got, want := r.recv(), atrOf(t, "chip"); !bytes.Equal(got, want) {
		t.Fatalf("ATR = % X; want % X", got, want)
	}
	r.send(ctrlOn) // no answer: the next answer is the ATR's
	r.send(ctrlATR)
	if got := r.recv(); !bytes.Equal(got, atrOf(t, "chip")) {
		t.Fatalf("after power on the answer is % X; want the ATR (power on is not answered)", got)
	}
	r.send(selectPSE...)
	resp, err := apdu.ParseResponse(r.recv())
	if err != nil || resp.SW != apdu.SWOK || resp.Data[0] != 0x6F {
		t.Fatalf("SELECT PSE = %+v, %v; want an FCI and 9000", resp, err)
	}
	r.send(ctrlOff)
	r.send(selectPSE...)
	if got := r.recv(); !bytes.Equal(got, swNoDiagnosis) {
		t.Errorf("SELECT of a card powered off = % X; want 6F00 (power off is not answered)", got)
	}
	r.send(ctrlReset)
	r.send(selectPSE...)
	if resp, _ := apdu.ParseResponse(r.recv()); resp.SW != apdu.SWOK {
		t.Errorf("SELECT after reset = %04X; want 9000", resp.SW)
	}
	r.send() // an empty message is nothing
	r.send(ctrlATR)
	if got := r.recv(); !bytes.Equal(got, atrOf(t, "chip")) {
		t.Errorf("ATR after an empty message = % X", got)
	}

	// Taking the card out ends the connection: vpcd sees EOF.
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Insert after the card was taken out = %v; want nil", err)
	}
	r.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("vpcd's read after the card left = %v; want EOF", err)
	}
}

// A chip that does not answer reset stays in the reader with an ATR no reader takes.
func TestMuteCard(t *testing.T) {
	r, _, _ := plug(t, "fallback")
	r.send(ctrlATR)
	if got := r.recv(); !bytes.Equal(got, mute) {
		t.Fatalf("ATR of an unreadable chip = % X; want % X", got, mute)
	}
	r.send(0x00, 0xA4, 0x04, 0x00, 0x00)
	if got := r.recv(); !bytes.Equal(got, swNoDiagnosis) {
		t.Errorf("APDU to an unreadable chip = % X; want 6F00", got)
	}
}

// vpcd going away (pcscd stopped) ends Insert with a reason.
func TestReaderGone(t *testing.T) {
	r, _, done := plug(t, "chip")
	r.conn.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "closed the connection") {
			t.Errorf("Insert = %v; want the reader closed the connection", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Insert did not end when vpcd went")
	}
	if err := Insert(context.Background(), "127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "no virtual reader at 127.0.0.1:1") {
		t.Errorf("Insert with nothing listening = %v; want no virtual reader", err)
	}
}

// FuzzServe: any byte stream from vpcd gets well-framed answers or the end of the
// connection, never a panic.
func FuzzServe(f *testing.F) {
	f.Add([]byte{0, 1, 4, 0, 1, 1, 0, 5, 0, 0xA4, 4, 0, 0, 0, 1, 0})
	f.Add([]byte{0xFF, 0xFF, 1})
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, stream []byte) {
		card, err := cardsim.Open("chip")
		if err != nil {
			t.Fatal(err)
		}
		a, b := socketPair(t)
		defer b.Close()
		done := make(chan error, 1)
		go func() { done <- New(card).Serve(context.Background(), a) }()
		go func() { b.Write(stream); b.CloseWrite() }()
		// Read the answers until Serve hangs up; each must be framed.
		var answers bytes.Buffer
		io.Copy(&answers, b)
		<-done
		rest := answers.Bytes()
		for len(rest) > 0 {
			if len(rest) < 2 || int(binary.BigEndian.Uint16(rest)) > len(rest)-2 {
				t.Fatalf("answer stream % X is not length-prefixed messages", answers.Bytes())
			}
			rest = rest[2+int(binary.BigEndian.Uint16(rest)):]
		}
	})
}

// socketPair is a connected pair of Unix stream sockets: unlike net.Pipe, one side can
// close its writing half and still read what the other answers.
func socketPair(t *testing.T) (net.Conn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return conn(fds[0]), conn(fds[1]).(*net.UnixConn)
}
