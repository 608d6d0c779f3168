package cardreader

import (
	"errors"
	"testing"

	"posfw/drivers/cardreader/iso7813"
)

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		k               Kind
		name, entryMode string
	}{
		{Swiped, "swipe", "90"},
		{Keyed, "manual", "01"},
		{Inserted, "chip", "05"},
		{Tapped, "contactless", "07"},
		{0, "unknown", "00"},
		{-1, "unknown", "00"},
		{99, "unknown", "00"},
	} {
		if got := tc.k.String(); got != tc.name {
			t.Errorf("Kind(%d).String() = %q; want %q", int(tc.k), got, tc.name)
		}
		if got := tc.k.EntryMode(); got != tc.entryMode {
			t.Errorf("Kind(%d).EntryMode() = %q; want %q", int(tc.k), got, tc.entryMode)
		}
	}
}

func TestManual(t *testing.T) {
	for _, tc := range []struct {
		pan, expiry string
		want        error
	}{
		{"6222021234567894", "4912", nil},
		{"123456789015", "2501", nil},        // 12 digits, the shortest PAN
		{"6222021234567890128", "3012", nil}, // 19 digits, the longest
		{"12345678903", "2501", iso7813.ErrBadPAN},
		{"62220212345678901280", "2501", iso7813.ErrBadPAN},
		{"6222 0212 3456 7894", "4912", iso7813.ErrBadPAN},
		{"622202123456789A", "4912", iso7813.ErrBadPAN},
		{"", "4912", iso7813.ErrBadPAN},
		{"6222021234567895", "4912", iso7813.ErrLuhn},
		{"6222021234567894", "4913", iso7813.ErrBadExpiry},
		{"6222021234567894", "4900", iso7813.ErrBadExpiry},
		{"6222021234567894", "491", iso7813.ErrBadExpiry},
		{"6222021234567894", "12/49", iso7813.ErrBadExpiry},
		{"6222021234567894", "49a2", iso7813.ErrBadExpiry},
	} {
		p, err := Manual(tc.pan, tc.expiry)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("Manual(%q, %q) = %v; want %v", tc.pan, tc.expiry, err, tc.want)
			continue
		}
		if err != nil {
			if leaks(err, []byte(tc.pan)) {
				t.Errorf("Manual(%q, %q): the error %q shows the PAN", tc.pan, tc.expiry, err)
			}
			continue
		}
		if p.Kind != Keyed || p.Kind.EntryMode() != "01" || string(p.Card.PAN) != tc.pan || p.Card.Expiry != tc.expiry || p.ICC != nil {
			t.Errorf("Manual(%q, %q) = kind %v, entry mode %s, expiry %s; want manual, 01, %s", tc.pan, tc.expiry,
				p.Kind, p.Kind.EntryMode(), p.Card.Expiry, tc.expiry)
		}
	}
}

// TestManualCopies: digits keyed into a byte slice can be cleared at once
// without harming the presentation.
func TestManualCopies(t *testing.T) {
	keyed := []byte("6222021234567894")
	p, err := Manual(keyed, "4912")
	clear(keyed)
	if err != nil || string(p.Card.PAN) != "6222021234567894" {
		t.Errorf("Manual([]byte) then clearing the input = %q, %v; want the PAN kept", p.Card.PAN, err)
	}
	if leaks(p, p.Card.PAN) {
		t.Errorf("formatting a manual presentation shows the PAN")
	}
	if got := p.String(); got != "manual 622202******7894" {
		t.Errorf("String() = %q; want %q", got, "manual 622202******7894")
	}
}
