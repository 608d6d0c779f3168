package pinpad_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
)

func chainHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestCardHash(t *testing.T) {
	ctx := context.Background()
	d, _ := simPad(t, padsim.New())
	other, _ := simPad(t, padsim.New())
	pan := []byte("6222021234567893214")
	h1, err := d.CardHash(ctx, pan)
	if err != nil {
		t.Fatal(err)
	}
	if string(pan) != "6222021234567893214" {
		t.Errorf("CardHash changed the caller's PAN to %q", pan)
	}
	for _, tc := range []struct {
		name  string
		pad   *pinpad.Driver
		pan   string
		equal bool
	}{
		{"same card, same pad", d, "6222021234567893214", true},
		{"other card, same pad", d, "6222021234567893222", false},
		{"same card, other pad", other, "6222021234567893214", false},
	} {
		h2, err := tc.pad.CardHash(ctx, []byte(tc.pan))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := h1 == h2; got != tc.equal || len(h2) != 64 {
			t.Errorf("%s: hash %s against %s: equal = %v; want %v (64 hex digits)", tc.name, h2, h1, got, tc.equal)
		}
	}
	for _, bad := range []string{"12345678901", "12345678901234567890", "6222021234567893a14"} {
		_, err := d.CardHash(ctx, []byte(bad))
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("CardHash(%q) = %v; want an error that does not quote the PAN", bad, err)
		}
	}
}

func TestSealAndAnchor(t *testing.T) {
	ctx := context.Background()
	nvram := filepath.Join(t.TempDir(), "pad.nvram")
	sim := padsim.New()
	sim.NVRAM = nvram
	d, _ := simPad(t, sim)

	if id, hash, _, err := d.Anchor(ctx); err != nil || id != 0 || !bytes.Equal(hash, make([]byte, 32)) {
		t.Fatalf("Anchor() of a new pad = %d, %x, %v; want 0 and a zero hash", id, hash, err)
	}
	steps := []struct {
		name       string
		id         int64
		hash       string
		wantErr    error
		wantAnchor int64
	}{
		{"first seal", 5, "e5", nil, 5},
		{"same seal again (a resend)", 5, "e5", nil, 5},
		{"newer head", 9, "e9", nil, 9},
		{"older head: MAC given, anchor stays", 7, "e7", nil, 9},
		{"the anchor's id with another hash", 9, "e9 rewritten", pinpad.ErrSealConflict, 9},
	}
	macs := map[int64][]byte{}
	for _, s := range steps {
		mac, err := d.Seal(ctx, s.id, chainHash(s.hash))
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: Seal(%d) = %v; want %v", s.name, s.id, err, s.wantErr)
		}
		if err == nil {
			if len(mac) != 32 {
				t.Fatalf("%s: MAC of %d bytes; want 32", s.name, len(mac))
			}
			macs[s.id] = mac
		}
		id, hash, amac, err := d.Anchor(ctx)
		if err != nil || id != s.wantAnchor {
			t.Fatalf("%s: Anchor() = %d, %v; want %d", s.name, id, err, s.wantAnchor)
		}
		if !bytes.Equal(amac, macs[id]) || !bytes.Equal(hash, chainHash("e"+string(rune('0'+id)))) {
			t.Errorf("%s: anchor hash/MAC %x/%x do not match the seal of %d", s.name, hash, amac, id)
		}
	}
	for _, tc := range []struct {
		name string
		id   int64
		hash string
		mac  []byte
		want bool
	}{
		{"its seal", 9, "e9", macs[9], true},
		{"an older seal", 7, "e7", macs[7], true},
		{"another event's MAC", 9, "e9", macs[5], false},
		{"another hash", 5, "e5 rewritten", macs[5], false},
		{"a short MAC", 5, "e5", macs[5][:16], false},
	} {
		if ok, err := d.CheckSeal(ctx, tc.id, chainHash(tc.hash), tc.mac); ok != tc.want || err != nil {
			t.Errorf("CheckSeal, %s = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}

	// The pad's memory outlives its power: a new simulator on the same NVRAM holds the
	// same keys and anchor. The file is the pad's alone (0600).
	card, err := d.CardHash(ctx, []byte("6222021234567893214"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(nvram); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("NVRAM file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	again := padsim.New()
	again.NVRAM = nvram
	d2, _ := simPad(t, again)
	if id, _, _, err := d2.Anchor(ctx); err != nil || id != 9 {
		t.Errorf("Anchor() after a power cycle = %d, %v; want 9", id, err)
	}
	if ok, err := d2.CheckSeal(ctx, 9, chainHash("e9"), macs[9]); !ok || err != nil {
		t.Errorf("CheckSeal after a power cycle = %v, %v; want true (the same journal key)", ok, err)
	}
	if c2, err := d2.CardHash(ctx, []byte("6222021234567893214")); err != nil || c2 != card {
		t.Errorf("CardHash after a power cycle = %s, %v; want %s (the same card key)", c2, err, card)
	}

	// A damaged NVRAM is a pad without keys: it refuses, it does not make new ones.
	os.WriteFile(nvram, []byte("{garbage"), 0o600)
	broken := padsim.New()
	broken.NVRAM = nvram
	d3, _ := simPad(t, broken)
	if _, _, _, err := d3.Anchor(ctx); !errors.Is(err, pinpad.ErrNoKey) {
		t.Errorf("Anchor() on a damaged NVRAM = %v; want ErrNoKey", err)
	}
}

// The keyed commands are answered during a PIN entry: the journal seals in the
// background while the next cardholder types.
func TestKeyedDuringPINEntry(t *testing.T) {
	ctx := context.Background()
	sim := padsim.New()
	d, _ := simPad(t, sim)
	done := make(chan error, 1)
	go func() {
		r, err := d.GetPIN(ctx, pinpad.PINRequest{PANDigits: accountDigits(t, testPAN), Amount: 100})
		r.Wipe()
		done <- err
	}()
	waitScreen(t, sim, "ENTER PIN")
	if _, err := d.Seal(ctx, 1, chainHash("e1")); err != nil {
		t.Errorf("Seal during a PIN entry = %v; want it answered", err)
	}
	if _, err := d.CardHash(ctx, []byte(testPAN)); err != nil {
		t.Errorf("CardHash during a PIN entry = %v; want it answered", err)
	}
	if err := sim.Type("1234"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("GetPIN = %v", err)
	}
}

// counting counts the card hashes a pad is asked for.
type counting struct {
	pinpad.CardHasher
	n int
}

func (c *counting) CardHash(ctx context.Context, pan []byte) (string, error) {
	c.n++
	return c.CardHasher.CardHash(ctx, pan)
}

// TestCardHashesPrepared: a card hashed when it is presented is not asked for again
// when the sale needs its hash; another card is.
func TestCardHashesPrepared(t *testing.T) {
	ctx := context.Background()
	d, _ := simPad(t, padsim.New())
	pad := &counting{CardHasher: d}
	c := &pinpad.CardHashes{Pad: pad}
	pan := []byte("6222021234567893214")
	want, err := d.CardHash(ctx, pan)
	if err != nil {
		t.Fatal(err)
	}
	c.Prepare(pan)
	for i := range 2 { // a void checks the card, then sends: both take the prepared hash
		if got, err := c.CardHash(ctx, pan); err != nil || got != want {
			t.Errorf("CardHash of the prepared card = %s, %v; want %s", got, err, want)
		}
		if pad.n != 1 {
			t.Errorf("call %d: the pad was asked %d times; want once, when the card was presented", i, pad.n)
		}
	}
	other := []byte("6222021234567893222")
	wantOther, _ := d.CardHash(ctx, other)
	if got, err := c.CardHash(ctx, other); err != nil || got != wantOther || pad.n != 2 {
		t.Errorf("CardHash of another card = %s, %v after %d questions; want %s asked of the pad", got, err, pad.n, wantOther)
	}
}
