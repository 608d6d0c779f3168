package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/pcsc"
	"posfw/drivers/emv/pcsc/pcsctest"
	"posfw/drivers/emv/vpcd"
)

// inserted is a simulated card in vpcd's reader, with the controls vpcd sent it.
type inserted struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	ctrl   []byte
}

// insert puts the card called name into the virtual reader at addr.
func insert(t *testing.T, addr, name string) *inserted {
	t.Helper()
	card, err := cardsim.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("vpcd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &inserted{cancel: cancel, done: make(chan error, 1)}
	vc := vpcd.New(card)
	vc.Trace = func(dir string, b []byte) {
		if dir == ">" && len(b) == 1 {
			in.mu.Lock()
			in.ctrl = append(in.ctrl, b[0])
			in.mu.Unlock()
		}
	}
	go func() { in.done <- vc.Serve(ctx, conn) }()
	t.Cleanup(in.remove)
	return in
}

// remove takes the card out.
func (in *inserted) remove() {
	in.cancel()
	<-in.done
	in.done <- nil // for a second remove
}

// controls returns the controls vpcd sent since the last call.
func (in *inserted) controls() []byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.ctrl
	in.ctrl = nil
	return c
}

func wait(t *testing.T, r chipreader.Device, d time.Duration) (chipreader.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return r.Wait(ctx)
}

func atrOf(t *testing.T, name string) []byte {
	t.Helper()
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

// The card simulator behind pcscd's virtual reader, through the PC/SC driver: the
// arrival, the ATR, the directory SELECT answered 9000, power off, the removal.
func TestVirtualReader(t *testing.T) {
	env := pcsctest.Start(t)
	for _, tt := range []struct {
		card    string
		arrival chipreader.Event
		dir     string
	}{
		{"chip", chipreader.EventInserted, "1PAY.SYS.DDF01"},
		{"tap", chipreader.EventTapped, "2PAY.SYS.DDF01"},
	} {
		t.Run(tt.card, func(t *testing.T) {
			r := pcsc.New(env.Reader, pcsc.Options{Arrival: tt.arrival})
			defer r.Close()
			in := insert(t, env.Addr, tt.card)
			if e, err := wait(t, r, 5*time.Second); err != nil || e != tt.arrival {
				t.Fatalf("Wait = %q, %v; want %q", e, err, tt.arrival)
			}
			atr, err := r.PowerOn()
			if want := atrOf(t, tt.card); err != nil || !bytes.Equal(atr, want) {
				t.Fatalf("PowerOn = % X, %v; want the card's ATR % X", atr, err, want)
			}
			if s := r.String(); !strings.Contains(s, env.Reader) {
				t.Errorf("String() = %q; want the reader's name %q in it", s, env.Reader)
			}
			resp, err := apdu.Exchange(r, apdu.SelectByName([]byte(tt.dir), false).Bytes())
			if err != nil || resp.SW != apdu.SWOK || len(resp.Data) == 0 || resp.Data[0] != 0x6F {
				t.Fatalf("SELECT %s = %04X % X, %v; want an FCI (6F) and 9000", tt.dir, resp.SW, resp.Data, err)
			}
			in.controls()
			if err := r.PowerOff(); err != nil {
				t.Fatalf("PowerOff: %v", err)
			}
			// SCARD_UNPOWER_CARD reaches the card as vpcd's power-off control at once
			// (vpcd sends it without waiting for the card, so it may trail PowerOff by
			// a few ms); after SCARD_LEAVE_CARD pcscd powers an idle card off by itself,
			// but only ~800 ms later.
			var c []byte
			for deadline := time.Now().Add(400 * time.Millisecond); !bytes.Contains(c, []byte{0x00}) && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				c = append(c, in.controls()...)
			}
			if !bytes.Contains(c, []byte{0x00}) {
				t.Errorf("after PowerOff the card got controls % X; want a power off (00)", c)
			}
			if _, err := r.Transmit(apdu.SelectByName([]byte(tt.dir), false).Bytes()); !errors.Is(err, chipreader.ErrNoCard) {
				t.Errorf("Transmit after PowerOff = %v; want an error matching chipreader.ErrNoCard", err)
			}

			in.remove()
			if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventRemoved {
				t.Fatalf("Wait after the card left = %q, %v; want %q", e, err, chipreader.EventRemoved)
			}
			if _, err := r.PowerOn(); !errors.Is(err, chipreader.ErrNoCard) {
				t.Errorf("PowerOn without a card = %v; want an error matching chipreader.ErrNoCard", err)
			}
		})
	}
}

// A card pulled out in the middle of a transaction: the next command fails as a mute
// card does, never with an answer.
func TestCardPulledOut(t *testing.T) {
	env := pcsctest.Start(t)
	r := pcsc.New(env.Reader, pcsc.Options{})
	defer r.Close()
	in := insert(t, env.Addr, "chip")
	if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want %q", e, err, chipreader.EventInserted)
	}
	if _, err := r.PowerOn(); err != nil {
		t.Fatal(err)
	}
	in.remove()
	_, err := r.Transmit(apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes())
	if !errors.Is(err, chipreader.ErrMute) && !errors.Is(err, chipreader.ErrNoCard) {
		t.Fatalf("Transmit after the card left = %v; want an error matching chipreader.ErrMute or ErrNoCard", err)
	}
	if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventRemoved {
		t.Fatalf("Wait = %q, %v; want %q", e, err, chipreader.EventRemoved)
	}
}

// A reader pcscd does not list is "not connected", at once, for Wait and the card.
func TestReaderNotConnected(t *testing.T) {
	env := pcsctest.Start(t)
	r := pcsc.New("ACS ACR39U", pcsc.Options{Socket: env.Socket})
	defer r.Close()
	if _, err := wait(t, r, 5*time.Second); !errors.Is(err, pcsc.ErrNotConnected) || !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("Wait = %v; want ErrNotConnected (chipreader.ErrDeviceGone)", err)
	}
	if _, err := r.PowerOn(); !errors.Is(err, pcsc.ErrNotConnected) {
		t.Errorf("PowerOn = %v; want ErrNotConnected", err)
	}
}

// unplug is a socket in front of pcscd's that can be unplugged: every connection cut,
// new ones refused. It stands for pcscd (or the reader's USB link) going away.
type unplug struct {
	path, to string
	mu       sync.Mutex
	l        net.Listener
	conns    []net.Conn
}

func newUnplug(t *testing.T, to string) *unplug {
	u := &unplug{path: filepath.Join(t.TempDir(), "pcscd.comm"), to: to}
	u.plug(t)
	t.Cleanup(u.pull)
	return u
}

func (u *unplug) plug(t *testing.T) {
	l, err := net.Listen("unix", u.path)
	if err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	u.l = l
	u.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p, err := net.Dial("unix", u.to)
			if err != nil {
				c.Close()
				continue
			}
			u.mu.Lock()
			u.conns = append(u.conns, c, p)
			u.mu.Unlock()
			go func() { io.Copy(p, c); p.Close() }()
			go func() { io.Copy(c, p); c.Close() }()
		}
	}()
}

func (u *unplug) pull() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.l != nil {
		u.l.Close()
		u.l = nil
	}
	for _, c := range u.conns {
		c.Close()
	}
	u.conns = nil
}

// The reader goes away with a card in it: Wait says so (the card is gone with it, and
// the reader is not connected), requests fail; it comes back by itself, card and all.
func TestReaderGoneAndBack(t *testing.T) {
	env := pcsctest.Start(t)
	u := newUnplug(t, env.Socket)
	r := pcsc.New(env.Reader, pcsc.Options{Socket: u.path, Retry: 100 * time.Millisecond})
	defer r.Close()
	insert(t, env.Addr, "chip")
	if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want %q", e, err, chipreader.EventInserted)
	}
	if _, err := r.PowerOn(); err != nil {
		t.Fatal(err)
	}

	u.pull()
	if _, err := r.Transmit(apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes()); !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("Transmit while unplugged = %v; want an error matching chipreader.ErrDeviceGone", err)
	}
	// The removal of the card out of reach, then "not connected" until it is back.
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		e, err := wait(t, r, time.Second)
		if err != nil {
			if !errors.Is(err, pcsc.ErrNotConnected) {
				t.Fatalf("Wait while unplugged = %v; want ErrNotConnected", err)
			}
			got = append(got, "not connected")
			break
		}
		got = append(got, string(e))
	}
	if want := []string{"R", "not connected"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("while unplugged Wait gave %q; want %q", got, want)
	}
	if _, err := r.PowerOn(); !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("PowerOn while unplugged = %v; want an error matching chipreader.ErrDeviceGone", err)
	}

	u.plug(t)
	var e chipreader.Event
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if e, err = wait(t, r, time.Second); err == nil {
			break
		}
	}
	if err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait after the reader came back = %q, %v; want %q (the card still in it)", e, err, chipreader.EventInserted)
	}
	if atr, err := r.PowerOn(); err != nil || !bytes.Equal(atr, atrOf(t, "chip")) {
		t.Fatalf("PowerOn after the reader came back = % X, %v", atr, err)
	}
	resp, err := apdu.Exchange(r, apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes())
	if err != nil || resp.SW != apdu.SWOK {
		t.Fatalf("SELECT PSE after the reader came back = %04X, %v; want 9000", resp.SW, err)
	}
	r.PowerOff()
}

// An APDU through pcscd and vpcd costs well under a millisecond here; without
// TCP_QUICKACK on the card's side each would wait out the delayed ACK of vpcd's
// two-write messages (~40 ms; measured 46 ms), and a contact sale's ~15 APDUs would
// take over half a second.
func TestAPDULatency(t *testing.T) {
	env := pcsctest.Start(t)
	r := pcsc.New(env.Reader, pcsc.Options{})
	defer r.Close()
	insert(t, env.Addr, "chip")
	if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want %q", e, err, chipreader.EventInserted)
	}
	if _, err := r.PowerOn(); err != nil {
		t.Fatal(err)
	}
	const n = 20
	start := time.Now()
	for range n {
		if resp, err := apdu.Exchange(r, apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes()); err != nil || resp.SW != apdu.SWOK {
			t.Fatalf("SELECT PSE = %04X, %v", resp.SW, err)
		}
	}
	if per := time.Since(start) / n; per > 10*time.Millisecond {
		t.Errorf("an APDU took %v on average; want under 10 ms (the delayed ACK is back?)", per)
	}
	r.PowerOff()
}

// A chip that does not answer reset (the fallback test card) is in the reader, and
// powering it fails as a mute card: what the app counts towards fallback to the stripe.
func TestMuteChip(t *testing.T) {
	env := pcsctest.Start(t)
	r := pcsc.New(env.Reader, pcsc.Options{})
	defer r.Close()
	insert(t, env.Addr, "fallback")
	if e, err := wait(t, r, 5*time.Second); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want %q", e, err, chipreader.EventInserted)
	}
	if atr, err := r.PowerOn(); !errors.Is(err, chipreader.ErrMute) {
		t.Fatalf("PowerOn of an unreadable chip = % X, %v; want an error matching chipreader.ErrMute", atr, err)
	}
}
