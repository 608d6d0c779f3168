package chipreader_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/chipreader/chipsim"
	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/serialport"
)

// rig is a simulated reader on a replugging PTY and the driver on its path.
type rig struct {
	t   *testing.T
	sim *chipsim.Sim
	h   *serialport.Hotplug
	r   *chipreader.Reader
}

func newRig(t *testing.T) *rig {
	t.Helper()
	g := &rig{t: t, sim: chipsim.New(), h: serialport.NewHotplug(t.TempDir() + "/chip")}
	g.plug()
	g.r = chipreader.New(serialport.PathOpener(g.h.Path(), serialport.Config{Baud: 115200}), chipreader.Options{AnswerTimeout: time.Second})
	t.Cleanup(func() { g.r.Close(); g.h.Unplug() })
	return g
}

func (g *rig) plug() {
	g.t.Helper()
	p, err := g.h.Plug()
	if err != nil {
		g.t.Fatal(err)
	}
	go g.sim.Serve(p)
}

// present puts a test card in the reader once the driver listens, and checks the event.
func (g *rig) present(name string, how chipreader.Event) *cardsim.Card {
	g.t.Helper()
	card, err := cardsim.Open(name)
	if err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got := make(chan chipreader.Event, 1)
	go func() {
		e, _ := g.r.Wait(ctx)
		got <- e
	}()
	// The driver opens the line in Wait; the reader reports to whoever is connected.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if err := g.sim.Present(card, how); err == nil {
			break
		} else if time.Now().After(deadline) {
			g.t.Fatalf("presenting %s: %v", name, err)
		}
	}
	if e := <-got; e != how {
		g.t.Fatalf("event after presenting %s = %q; want %q", name, e, how)
	}
	return card
}

// TestSelectPSE powers a chip card through the reader and selects the payment system
// environment: the answer is the card's, byte for byte as the card gives it directly.
func TestSelectPSE(t *testing.T) {
	g := newRig(t)
	g.present("chip", chipreader.EventInserted)
	atr, err := g.r.PowerOn()
	if err != nil || len(atr) < 2 || atr[0] != 0x3B {
		t.Fatalf("PowerOn = % X, %v; want an ATR starting 3B", atr, err)
	}
	sel := apdu.SelectByName([]byte("1PAY.SYS.DDF01"), false).Bytes()
	got, err := apdu.Exchange(g.r, sel)
	if err != nil || !got.OK() {
		t.Fatalf("SELECT PSE through the reader = %+v, %v; want 9000", got, err)
	}
	direct, _ := cardsim.Open("chip")
	direct.PowerOn()
	want, _ := apdu.Exchange(direct, sel)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("SELECT PSE through the reader = % X; the card itself answers % X", got.Bytes(), want.Bytes())
	}
	if err := g.r.PowerOff(); err != nil {
		t.Errorf("PowerOff = %v", err)
	}
}

// TestCardPulledOut: a card taken out mid-transaction ends the next command with
// ErrNoCard (and the terminal hears EventRemoved); a reader without a card says so.
func TestCardPulledOut(t *testing.T) {
	g := newRig(t)
	if _, err := g.r.PowerOn(); !errors.Is(err, chipreader.ErrNoCard) {
		t.Errorf("PowerOn with no card = %v; want ErrNoCard", err)
	}
	g.present("tap", chipreader.EventTapped)
	if _, err := g.r.PowerOn(); err != nil {
		t.Fatal(err)
	}
	g.sim.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if e, err := g.r.Wait(ctx); err != nil || e != chipreader.EventRemoved {
		t.Errorf("Wait after the card left = %q, %v; want EventRemoved", e, err)
	}
	sel := apdu.SelectByName([]byte("2PAY.SYS.DDF01"), false).Bytes()
	if _, err := g.r.Transmit(sel); !errors.Is(err, chipreader.ErrNoCard) {
		t.Errorf("Transmit after the card left = %v; want ErrNoCard", err)
	}
}

// TestReplug: the reader unplugged fails the request with ErrDeviceGone; plugged back
// in, the next request works without reopening the driver.
func TestReplug(t *testing.T) {
	g := newRig(t)
	g.present("chip", chipreader.EventInserted)
	if _, err := g.r.PowerOn(); err != nil {
		t.Fatal(err)
	}
	g.h.Unplug()
	if _, err := g.r.PowerOn(); !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("PowerOn while unplugged = %v; want ErrDeviceGone", err)
	}
	g.plug()
	g.present("chip", chipreader.EventInserted)
	if atr, err := g.r.PowerOn(); err != nil || len(atr) == 0 {
		t.Errorf("PowerOn after the replug = % X, %v; want the ATR", atr, err)
	}
}

func TestFrames(t *testing.T) {
	f, err := chipreader.Encode('T', []byte{0x00, 0xA4})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x02, 0x00, 0x03, 'T', 0x00, 0xA4, 0x03, 0x00 ^ 0x03 ^ 'T' ^ 0x00 ^ 0xA4 ^ 0x03}
	if !bytes.Equal(f, want) {
		t.Errorf("Encode = % X; want % X", f, want)
	}
	var d chipreader.Decoder
	// Noise, a frame split in two, a frame with a bad LRC, a good one.
	bad := append([]byte(nil), f...)
	bad[len(bad)-1] ^= 0xFF
	in := append(append(append([]byte{0xFF, 0x00}, f[:4]...), f[4:]...), append(bad, f...)...)
	var got [][]byte
	var errs []error
	for _, c := range [][]byte{in[:5], in[5:]} {
		fs, es := d.Feed(c)
		got, errs = append(got, fs...), append(errs, es...)
	}
	if len(got) != 2 || !bytes.Equal(got[0], []byte{'T', 0x00, 0xA4}) || len(errs) != 1 {
		t.Errorf("Feed = %q, %v; want two frames and one error", got, errs)
	}
}

func FuzzDecoder(f *testing.F) {
	good, _ := chipreader.Encode('P', nil)
	f.Add(good)
	f.Add([]byte{0x02, 0xFF, 0xFF})
	f.Add([]byte{0x02, 0x00, 0x00, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d chipreader.Decoder
		frames, _ := d.Feed(b)
		for _, fr := range frames {
			if len(fr) == 0 {
				t.Fatalf("Feed(% X) gave an empty frame", b)
			}
			again, err := chipreader.Encode(fr[0], fr[1:])
			if err != nil || !bytes.Contains(b, again) {
				t.Fatalf("frame % X is not in its input % X", fr, b)
			}
		}
	})
}
