package testcards

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"posfw/drivers/cardreader/iso7813"
)

func TestNames(t *testing.T) {
	// DESIGN.md §4: these names are stable; scripts and tests use them.
	want := []string{"ok", "ok2", "pin", "nsf", "expired", "bad-track", "fallback"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q; want %q", got, want)
	}
}

func TestFramesParse(t *testing.T) {
	now := time.Now()
	for _, name := range Names() {
		frame := Frame(name)
		want, ok := Lookup(name)
		if !ok || frame == nil {
			t.Fatalf("Lookup(%q) = _, %v, Frame = %q; want a card", name, ok, frame)
		}
		got, err := iso7813.Parse(frame)
		if name == "bad-track" {
			if !errors.Is(err, iso7813.ErrBadLRC) {
				t.Errorf("Parse(Frame(%q)) = %v; want %v", name, err, iso7813.ErrBadLRC)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(Frame(%q)) = %v; want the card", name, err)
			continue
		}
		if !bytes.Equal(got.PAN, want.PAN) || got.Name != want.Name || got.Expiry != want.Expiry ||
			got.ServiceCode != want.ServiceCode || !bytes.Equal(got.Discretionary2, want.Discretionary2) {
			t.Errorf("Parse(Frame(%q)) = %q %q %q %q; want %q %q %q %q", name,
				got.PAN, got.Name, got.Expiry, got.ServiceCode, want.PAN, want.Name, want.Expiry, want.ServiceCode)
		}
		if !strings.HasPrefix(string(got.PAN), "62") && !strings.HasPrefix(string(got.PAN), "4") {
			t.Errorf("card %q PAN %s is not in the 62 or 4 range", name, got.Masked())
		}
		if got.ChipCard() != (name == "fallback") {
			t.Errorf("card %q ChipCard() = %v; want only the fallback card's stripe to say chip", name, got.ChipCard())
		}
		if exp := got.Expired(now); exp != (name == "expired") {
			t.Errorf("card %q Expired(now) = %v; want %v", name, exp, name == "expired")
		}
	}
}

func TestBadTrackOnlyLRC(t *testing.T) {
	card, _ := Lookup("bad-track")
	good, bad := iso7813.Encode(card), Frame("bad-track")
	if len(good) != len(bad) {
		t.Fatalf("Frame(bad-track) = %q; want %q with one LRC changed", bad, good)
	}
	var diff []int
	for i := range good {
		if good[i] != bad[i] {
			diff = append(diff, i)
		}
	}
	if want := []int{len(good) - 3}; !slices.Equal(diff, want) {
		t.Errorf("Frame(bad-track) differs from the good frame at %v; want only the track 2 LRC at %v", diff, want)
	}
	// The track 1 part must still be readable: only track 2 is broken.
	if _, err := iso7813.ParseTrack1(bad[:bytes.IndexByte(bad, ';')]); err != nil {
		t.Errorf("track 1 of Frame(bad-track) = %v; want it to parse", err)
	}
}

func TestDistinctPANs(t *testing.T) {
	ok, _ := Lookup("ok")
	ok2, _ := Lookup("ok2")
	if bytes.Equal(ok.PAN, ok2.PAN) {
		t.Errorf("ok and ok2 share PAN %s; want two different cards", ok.Masked())
	}
	seen := map[string]string{}
	for _, name := range Names() {
		c, _ := Lookup(name)
		if other, dup := seen[string(c.PAN)]; dup {
			t.Errorf("cards %q and %q share PAN %s", other, name, c.Masked())
		}
		seen[string(c.PAN)] = name
	}
}

func TestPINAndResponses(t *testing.T) {
	for _, tt := range []struct {
		name        string
		pinRequired bool
		pin         string
		response    string
	}{
		{"ok", false, "", "00"},
		{"ok2", false, "", "00"},
		{"pin", true, "1234", "00"},
		{"nsf", false, "", "51"},
		{"expired", false, "", "54"},
		{"bad-track", false, "", "00"},
	} {
		e, ok := Find(tt.name)
		if !ok {
			t.Errorf("Find(%q) = false", tt.name)
			continue
		}
		if got := e.Card.PINRequired(); got != tt.pinRequired {
			t.Errorf("card %q PINRequired() = %v; want %v", tt.name, got, tt.pinRequired)
		}
		if e.PIN != tt.pin || e.Response != tt.response {
			t.Errorf("Find(%q) PIN, Response = %q, %q; want %q, %q", tt.name, e.PIN, e.Response, tt.pin, tt.response)
		}
		if got, ok := ByPAN(e.Card.PAN); !ok || got.Name != tt.name {
			t.Errorf("ByPAN(%s) = %q, %v; want %q", e.Card.Masked(), got.Name, ok, tt.name)
		}
	}
}

func TestUnknown(t *testing.T) {
	if _, ok := Lookup("nope"); ok {
		t.Errorf("Lookup(%q) = _, true; want false", "nope")
	}
	if f := Frame("nope"); f != nil {
		t.Errorf("Frame(%q) = %q; want nil", "nope", f)
	}
	if _, ok := ByPAN([]byte("4012888888881881")); ok {
		t.Errorf("ByPAN(unknown) = _, true; want false")
	}
}

// TestLookupIsACopy: the terminal wipes the card after the host answers; the
// catalogue must not lose the card for the next swipe.
func TestLookupIsACopy(t *testing.T) {
	c, _ := Lookup("ok")
	pan := c.PAN
	c.Wipe()
	again, _ := Lookup("ok")
	if !bytes.Equal(again.PAN, []byte("6222021234567894")) {
		t.Errorf("after wiping a looked-up card, Lookup(ok) PAN = %q", again.PAN)
	}
	if bytes.Equal(pan, again.PAN) {
		t.Errorf("wiped card and catalogue share memory")
	}
	if _, err := iso7813.Parse(Frame("ok")); err != nil {
		t.Errorf("after wiping a looked-up card, Parse(Frame(ok)) = %v", err)
	}
}
