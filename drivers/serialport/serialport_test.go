package serialport

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

func openPair(t *testing.T, c Config) (*PTY, Port) {
	t.Helper()
	p, err := OpenPTY()
	if err != nil {
		t.Fatalf("OpenPTY: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	port, err := Open(p.Path(), c)
	if err != nil {
		t.Fatalf("Open(%s): %v", p.Path(), err)
	}
	t.Cleanup(func() { port.Close() })
	return p, port
}

// TestBothWays pushes every byte value through a real PTY in both directions: raw mode
// must neither echo nor translate CR/LF, XON/XOFF or NUL.
func TestBothWays(t *testing.T) {
	sim, port := openPair(t, Config{Baud: 115200, ReadTimeout: 2 * time.Second})
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}

	if _, err := port.Write(all); err != nil {
		t.Fatalf("firmware write: %v", err)
	}
	got := make([]byte, len(all))
	if _, err := io.ReadFull(sim, got); err != nil {
		t.Fatalf("simulator read: %v", err)
	}
	if !bytes.Equal(got, all) {
		t.Errorf("simulator got % x; want % x", got, all)
	}

	if _, err := sim.Write(all); err != nil {
		t.Fatalf("simulator write: %v", err)
	}
	got = make([]byte, len(all))
	if _, err := io.ReadFull(port, got); err != nil {
		t.Fatalf("firmware read: %v", err)
	}
	if !bytes.Equal(got, all) {
		t.Errorf("firmware got % x; want % x", got, all)
	}
}

func TestReadTimeout(t *testing.T) {
	_, port := openPair(t, Config{Baud: 9600, ReadTimeout: 50 * time.Millisecond})
	n, err := port.Read(make([]byte, 8))
	if n != 0 || !errors.Is(err, ErrTimeout) {
		t.Errorf("Read on a silent line = %d, %v; want 0, ErrTimeout", n, err)
	}
}

// TestCloseUnblocksRead is the tarm/serial failure that made us choose go.bug.st/serial:
// closing a port must release a reader blocked without a timeout.
func TestCloseUnblocksRead(t *testing.T) {
	_, port := openPair(t, Config{Baud: 9600})
	done := make(chan error, 1)
	go func() {
		_, err := port.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	port.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("pending Read after Close returned %v; want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock a pending Read")
	}
}

func TestDeviceGone(t *testing.T) {
	sim, port := openPair(t, Config{Baud: 9600, ReadTimeout: 2 * time.Second})
	sim.Close()
	_, err := port.Read(make([]byte, 8))
	if err == nil || errors.Is(err, ErrTimeout) {
		t.Errorf("Read after the device end vanished = %v; want an error other than a timeout", err)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{Baud: 12345},
		{Baud: 9600, DataBits: 9},
		{Baud: 9600, Parity: "mark"},
		{Baud: 9600, StopBits: 3},
		{Baud: 9600, ReadTimeout: -time.Second},
	} {
		if _, err := Open("/dev/null", c); err == nil {
			t.Errorf("Open with %+v succeeded; want an error", c)
		}
	}
	if _, err := Open("/dev/does-not-exist", Config{Baud: 9600}); err == nil {
		t.Error("Open of a missing device succeeded; want an error")
	}
}

// TestPTYCloseUnblocksSimulator: a simulator blocked reading its end is released by
// Close, and the firmware's side sees the device gone.
func TestPTYCloseUnblocksSimulator(t *testing.T) {
	sim, port := openPair(t, Config{Baud: 9600, ReadTimeout: 2 * time.Second})
	done := make(chan error, 1)
	go func() {
		_, err := sim.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	sim.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("simulator Read after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the simulator's pending Read")
	}
	if _, err := port.Read(make([]byte, 8)); err == nil || errors.Is(err, ErrTimeout) {
		t.Errorf("firmware Read after the PTY closed = %v; want device gone", err)
	}
}
