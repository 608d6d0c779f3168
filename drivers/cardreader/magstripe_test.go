package cardreader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/drivers/cardreader/iso7813"
	"posfw/drivers/cardreader/readersim"
	"posfw/drivers/cardreader/testcards"
	"posfw/drivers/serialport"
)

// rig is a simulated reader on a real PTY, and a MagStripe that opens the
// PTY's device end through serialport as the firmware does. plug swaps in a
// new PTY, as when a USB reader is unplugged and plugged back.
type rig struct {
	t      *testing.T
	r      *MagStripe
	opened chan struct{} // a value each time r opened its port

	mu  sync.Mutex
	pty *serialport.PTY
	sim *readersim.Sim
}

func newRig(t *testing.T) *rig {
	t.Helper()
	g := &rig{t: t, opened: make(chan struct{}, 8)}
	g.plug()
	g.r = NewMagStripe(g.open)
	t.Cleanup(func() {
		g.r.Close()
		g.mu.Lock()
		g.pty.Close()
		g.mu.Unlock()
	})
	if err := g.r.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	<-g.opened
	return g
}

// plug connects a new simulated reader on a new PTY.
func (g *rig) plug() *readersim.Sim {
	pty, err := serialport.OpenPTY()
	if err != nil {
		g.t.Fatal(err)
	}
	sim := readersim.New()
	sim.Attach(pty)
	g.mu.Lock()
	g.pty, g.sim = pty, sim
	g.mu.Unlock()
	return sim
}

func (g *rig) open() (serialport.Port, error) {
	g.mu.Lock()
	path := g.pty.Path()
	g.mu.Unlock()
	p, err := serialport.Open(path, serialport.Config{Baud: 9600})
	if err == nil {
		g.opened <- struct{}{}
	}
	return p, err
}

// swipe swipes a catalogue card on the current simulator.
func (g *rig) swipe(name string) {
	g.t.Helper()
	g.mu.Lock()
	sim := g.sim
	g.mu.Unlock()
	if err := sim.Swipe(name); err != nil {
		g.t.Fatalf("Swipe(%q): %v", name, err)
	}
}

// read is Read with a deadline long enough for a loaded machine, so that a
// hung Read fails the test instead of hanging it.
func (g *rig) read() (Presentation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return g.r.Read(ctx)
}

// leaks reports whether any formatting of v shows the PAN.
func leaks(v any, pan []byte) bool {
	out := fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
	return len(pan) > 0 && strings.Contains(out, string(pan))
}

// TestCatalogue swipes every test card through the simulator and a real PTY.
func TestCatalogue(t *testing.T) {
	g := newRig(t)
	for _, name := range testcards.Names() {
		want, _ := testcards.Find(name)
		g.swipe(name)
		p, err := g.read()
		if want.BadLRC {
			var re *ReadError
			if !errors.As(err, &re) || !errors.Is(err, iso7813.ErrBadLRC) || err.Error() != iso7813.ReadErrorMessage {
				t.Errorf("Read of %q = %v (cause %v); want %q caused by %v", name, err, errors.Unwrap(err), iso7813.ReadErrorMessage, iso7813.ErrBadLRC)
			}
			if leaks(err, want.Card.PAN) || leaks(errors.Unwrap(err), want.Card.PAN) {
				t.Errorf("Read of %q: the error shows the PAN", name)
			}
			continue
		}
		if want.Card.ChipCard() != errors.Is(err, ErrUseChip) {
			t.Errorf("Read of %q = %v; want ErrUseChip exactly for a chip card's stripe (service code %s)", name, err, want.Card.ServiceCode)
		}
		if err != nil && !errors.Is(err, ErrUseChip) {
			t.Errorf("Read of %q = %v (cause %v); want the card", name, err, errors.Unwrap(err))
			continue
		}
		c, w := p.Card, want.Card
		if p.Kind != Swiped || p.Kind.EntryMode() != "90" || p.ICC != nil {
			t.Errorf("Read of %q: kind %v, entry mode %s, ICC %v; want swipe, 90, nil", name, p.Kind, p.Kind.EntryMode(), p.ICC)
		}
		if !bytes.Equal(c.PAN, w.PAN) || c.Name != w.Name || c.Expiry != w.Expiry || c.ServiceCode != w.ServiceCode ||
			!bytes.Equal(c.Discretionary1, w.Discretionary1) || !bytes.Equal(c.Discretionary2, w.Discretionary2) {
			t.Errorf("Read of %q = %q %q %q %q; want %q %q %q %q", name,
				c.PAN, c.Name, c.Expiry, c.ServiceCode, w.PAN, w.Name, w.Expiry, w.ServiceCode)
		}
		if leaks(p, w.PAN) {
			t.Errorf("formatting the presentation of %q shows the PAN", name)
		}
		pan := c.PAN
		p.Wipe()
		if p.Card.PAN != nil || !bytes.Equal(pan, make([]byte, len(pan))) {
			t.Errorf("Wipe left the PAN of %q: %q", name, pan)
		}
	}
}

func TestChipCardSwiped(t *testing.T) {
	g := newRig(t)
	chip, _ := testcards.Lookup("ok")
	chip.ServiceCode = "201" // international, with IC
	if err := g.sim.SwipeCard(chip); err != nil {
		t.Fatal(err)
	}
	p, err := g.read()
	if !errors.Is(err, ErrUseChip) || err.Error() != "insert chip" {
		t.Errorf("Read of a chip card = %v; want %v", err, ErrUseChip)
	}
	if p.Kind != Swiped || !bytes.Equal(p.Card.PAN, chip.PAN) {
		t.Errorf("Read of a chip card gave %v; want the swiped card, for fallback rules", p)
	}
}

func TestGarbageThenSwipe(t *testing.T) {
	g := newRig(t)
	g.sim.SetGarbage(true)
	for range 3 {
		g.swipe("ok")
		_, err := g.read()
		var re *ReadError
		var cause *iso7813.Error
		if !errors.As(err, &re) || !errors.As(err, &cause) || err.Error() != iso7813.ReadErrorMessage {
			t.Errorf("Read of garbage = %v (cause %v); want %q with an iso7813 cause", err, errors.Unwrap(err), iso7813.ReadErrorMessage)
		}
	}
	g.sim.SetGarbage(false)
	g.swipe("ok")
	if p, err := g.read(); err != nil || p.Card.Masked() != "622202******7894" {
		t.Errorf("Read after the garbage = %v, %v; want card 622202******7894", p, err)
	}
}

// TestSplitFrame: a frame arriving a byte at a time is one swipe; a frame cut
// short and followed by silence is a read error, and the next swipe reads.
func TestSplitFrame(t *testing.T) {
	g := newRig(t)
	frame := testcards.Frame("ok2")
	go func() {
		for i := range frame {
			g.pty.Write(frame[i : i+1])
			time.Sleep(time.Millisecond)
		}
	}()
	if p, err := g.read(); err != nil || p.Card.Masked() != "400000******7899" {
		t.Errorf("Read of a frame in 1-byte writes = %v, %v; want card 400000******7899", p, err)
	}

	g.pty.Write(frame[:40])
	if _, err := g.read(); !errors.Is(err, iso7813.ErrTruncated) {
		t.Errorf("Read of a frame cut short = %v (cause %v); want %v", err, errors.Unwrap(err), iso7813.ErrTruncated)
	}
	g.swipe("ok")
	if p, err := g.read(); err != nil || p.Card.Masked() != "622202******7894" {
		t.Errorf("Read after a cut frame = %v, %v; want card 622202******7894", p, err)
	}
}

func TestCancel(t *testing.T) {
	g := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := g.r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with ctx cancelled = %v; want %v", err, context.Canceled)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Read took %v to notice the cancel; want about %v", d, pollInterval)
	}
	if _, err := g.r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled ctx = %v; want %v", err, context.Canceled)
	}
	g.swipe("ok")
	if _, err := g.read(); err != nil {
		t.Errorf("Read after a cancelled Read = %v; want the card", err)
	}
}

// TestDeviceGone unplugs the reader during a Read, then plugs a new one in.
func TestDeviceGone(t *testing.T) {
	g := newRig(t)
	old := g.pty
	time.AfterFunc(100*time.Millisecond, func() { old.Close() })
	if _, err := g.read(); !errors.Is(err, ErrDeviceGone) {
		t.Fatalf("Read while the PTY closed = %v; want %v", err, ErrDeviceGone)
	}
	if _, err := g.read(); !errors.Is(err, ErrDeviceGone) {
		t.Errorf("Read with no device = %v; want %v", err, ErrDeviceGone)
	}

	sim := g.plug()
	go func() {
		<-g.opened
		sim.Swipe("ok2")
	}()
	if p, err := g.read(); err != nil || p.Card.Masked() != "400000******7899" {
		t.Errorf("Read after the reader came back = %v, %v; want card 400000******7899", p, err)
	}
}

func TestClose(t *testing.T) {
	g := newRig(t)
	time.AfterFunc(50*time.Millisecond, func() { g.r.Close() })
	if _, err := g.read(); !errors.Is(err, ErrClosed) {
		t.Errorf("Read while closed = %v; want %v", err, ErrClosed)
	}
	if _, err := g.read(); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v; want %v", err, ErrClosed)
	}
	if err := g.r.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
}
