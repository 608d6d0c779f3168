package emv

import (
	"bytes"
	"strings"
	"testing"

	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
)

// TestReadCard: a void's or refund's read of a chip card gives its PAN and expiry and
// sends no GENERATE AC; a blocked application is refused as in a sale.
func TestReadCard(t *testing.T) {
	for _, tc := range []struct {
		card string
		want Outcome
	}{
		{"chip", CardRead},
		{"chip-pin", CardRead},
		{"chip-blocked", Refused},
		{"fallback", ChipError},
	} {
		var trace []string
		k := kernel(nil, Hooks{})
		k.Trace = func(l string) { trace = append(trace, l) }
		r := k.ReadCard(open(t, tc.card), Txn{Amount: 100, Type: 0x20})
		if r.Outcome != tc.want {
			t.Errorf("%s: ReadCard = %v (%s); want %v", tc.card, r.Outcome, r.Reason, tc.want)
			continue
		}
		for _, l := range trace {
			if strings.Contains(l, "80 AE") || strings.Contains(strings.ToUpper(l), "GENERATE AC") {
				t.Errorf("%s: ReadCard sent %q; want no GENERATE AC", tc.card, l)
			}
		}
		if tc.want == CardRead && (len(r.Card.PAN) < 12 || len(r.Card.Expiry) != 6) {
			t.Errorf("%s: card read %v, expiry %q; want a PAN and YYMMDD", tc.card, r.Card, r.Card.Expiry)
		}
	}
}

// TestWipe: after Wipe, the card number and track 2 the kernel read are zeroes, in the
// result it gave and in its own data; the transaction can still be completed.
func TestWipe(t *testing.T) {
	card := open(t, "chip")
	tx, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 100})
	if r.Outcome != Online || len(r.Card.PAN) == 0 || len(r.Card.Track2) == 0 {
		t.Fatalf("Contact = %s, PAN %d bytes, track 2 %d bytes; want online with both", r, len(r.Card.PAN), len(r.Card.Track2))
	}
	tx.Wipe()
	zero := func(b []byte) bool {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
		return true
	}
	if !zero(r.Card.PAN) || !zero(r.Card.Track2) {
		t.Errorf("after Wipe the result's PAN and track 2 are not zeroes")
	}
	for _, tag := range []tlv.Tag{0x5A, 0x57} {
		if v := tx.data[tag]; len(v) == 0 || !zero(v) {
			t.Errorf("after Wipe the kernel's %X = % X; want zeroes", tag, v)
		}
	}
	if r := tx.Abort(); r.Outcome != Declined {
		t.Errorf("Abort after Wipe = %s; want declined", r)
	}
}

// TestHostCodeAndARCDisagree: the host's field 39 decides, not the ARC (8A) of its field
// 55. A decline in 39 with 8A "00" must not get a TC from the card; an approval in 39
// with a declining 8A ends as an approval the card refused (reversed).
func TestHostCodeAndARCDisagree(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code, arc string
		want      Outcome
	}{
		{"39 declines, 8A approves", "51", "00", Declined},
		{"39 approves, 8A declines", "00", "51", ReverseApproved},
		{"both approve", "00", "00", Approved},
	} {
		card := open(t, "chip")
		tx, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 100})
		if r.Outcome != Online {
			t.Fatalf("%s: first result %s; want online", tc.name, r)
		}
		h := (&issuer{arc: tc.arc}).answer(t, card, r)
		h.ResponseCode = tc.code
		got := tx.Complete(h)
		if got.Outcome != tc.want {
			t.Errorf("%s: Complete = %s (CID %02X); want %s", tc.name, got, got.CID, tc.want)
		}
		if tc.want != Approved && got.CID&0xC0 == 0x40 {
			t.Errorf("%s: the card gave a TC", tc.name)
		}
	}
}

// TestDOLLeavesCardDataOut: a DOL that names the card's PAN or track 2 gets zeros, so
// no command (and no APDU trace) carries them; other data is filled.
func TestDOLLeavesCardDataOut(t *testing.T) {
	card := open(t, "chip")
	tx, r := kernel(nil, Hooks{}).Contact(card, Txn{Amount: 100})
	if r.Outcome != Online {
		t.Fatalf("Contact = %s; want online", r)
	}
	dol := tlv.DOL{{Tag: 0x5A, Len: 8}, {Tag: 0x57, Len: 4}, {Tag: 0x9F02, Len: 6}}
	got := emvtag.BuildDOL(dol, tx.dolGet)
	if want := make([]byte, 12); !bytes.Equal(got[:12], want) {
		t.Errorf("PAN and track 2 in a DOL = % X; want zeros", got[:12])
	}
	if !bytes.Equal(got[12:], []byte{0, 0, 0, 0, 1, 0}) {
		t.Errorf("amount in a DOL = % X; want 00 00 00 00 01 00", got[12:])
	}
	tx.Abort()
}
