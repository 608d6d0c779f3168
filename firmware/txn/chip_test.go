package txn_test

import (
	"context"
	"testing"

	"posfw/firmware/txn"
	"posfw/firmware/txn/txntest"
)

// card is a chip card that accepts or refuses the host's answer as told, and remembers
// what it was given.
type chipCard struct {
	accept   bool
	answered []bool
	pending  []txn.Status // the record's status in the journal while the card works
	j        interface {
		Last(context.Context) (*txn.Record, error)
	}
}

func (c *chipCard) Complete(answered bool, resp txn.Response) txn.ChipVerdict {
	c.answered = append(c.answered, answered)
	if r, err := c.j.Last(context.Background()); err == nil {
		c.pending = append(c.pending, r.Status)
	}
	icc := []byte{0x9F, 0x27, 0x01, 0x40} // TC
	if !c.accept || !answered || resp.Code != "00" {
		icc = []byte{0x9F, 0x27, 0x01, 0x00} // AAC
	}
	return txn.ChipVerdict{Accepted: c.accept && answered, ICC: icc}
}

// TestChipHasTheLastWord: the card gets the host's answer while the record is still
// pending (its reversal armed), and an approval the card refuses is reversed with
// reason 06; the card's final cryptogram replaces the request's on the record.
func TestChipHasTheLastWord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   txntest.Answer
		accept   bool
		want     txn.Status
		answered bool
		icc      string
		reversed bool
	}{
		{"host and card approve", txntest.Answer{Code: "00"}, true, txn.Approved, true, "9F270140", false},
		{"host approves, card declines", txntest.Answer{Code: "00"}, false, txn.ReversalPending, true, "9F270100", true},
		{"host declines", txntest.Answer{Code: "51"}, true, txn.Declined, true, "9F270100", false},
		{"no answer", txntest.Answer{Err: txn.ErrNoResponse}, true, txn.ReversalPending, false, "9F270100", true},
		{"not sent", txntest.Answer{Err: txn.ErrNotSent}, true, txn.NotSent, false, "9F270100", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.host.Script(tc.answer)
			c := card(panOK)
			c.EntryMode, c.PSN, c.ICC = txn.Chip, "01", []byte{0x9F, 0x27, 0x01, 0x80} // ARQC
			chip := &chipCard{accept: tc.accept, j: r.j}
			c.Chip = chip
			rec, err := r.e.Sale(context.Background(), txn.SaleRequest{Amount: 1234, Card: c, Operator: "01"})
			if err != nil {
				t.Fatalf("Sale: %v", err)
			}
			if rec.Status != tc.want {
				t.Errorf("status %s; want %s", rec.Status, tc.want)
			}
			if len(chip.answered) != 1 || chip.answered[0] != tc.answered {
				t.Errorf("card completed %v; want once, answered %v", chip.answered, tc.answered)
			}
			if len(chip.pending) != 1 || chip.pending[0] != txn.Pending {
				t.Errorf("record while the card worked: %v; want pending", chip.pending)
			}
			if rec.ICC != tc.icc || rec.PSN != "01" {
				t.Errorf("record ICC %q PSN %q; want %q, 01", rec.ICC, rec.PSN, tc.icc)
			}
			if got, _ := r.j.Get(context.Background(), rec.ID); got.ICC != tc.icc {
				t.Errorf("journal ICC %q; want %q", got.ICC, tc.icc)
			}
			if sent := r.host.Sends[0].Card; string(sent.ICC) != "\x9F\x27\x01\x80" {
				t.Errorf("request ICC % X; want the ARQC's", sent.ICC)
			}
			r.e.FlushReversals(context.Background())
			if got := len(r.host.Reversals) == 1; got != tc.reversed {
				t.Fatalf("reversals %d; want reversed %v", len(r.host.Reversals), tc.reversed)
			}
			if tc.reversed && tc.answered && r.host.Reversals[0].Reason != txn.ReasonCardDeclined {
				t.Errorf("reversal reason %q; want %q", r.host.Reversals[0].Reason, txn.ReasonCardDeclined)
			}
			if tc.reversed && r.host.Reversals[0].Orig.ICC != tc.icc {
				t.Errorf("reversal carries ICC %q; want the card's final %q", r.host.Reversals[0].Orig.ICC, tc.icc)
			}
		})
	}
}

// TestTCUpload: after a settlement the acquirer agreed with, a host that wants the chip
// records' TCs gets each approved chip and contactless record once (not the swiped
// one, not the voided one); a host that does not, none; and a batch uploaded because
// the acquirer disagreed is not uploaded again.
func TestTCUpload(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wants      bool
		unbalanced bool
		uploads    int // what Upload carried
	}{
		{"CUP, balanced: the TCs", true, false, 2},
		{"iso87, balanced: nothing", false, false, 0},
		{"CUP, unbalanced: the whole batch once", true, true, 4}, // 2 chip sales, the void, the swipe
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.host.TCUpload, r.host.Unbalanced = tc.wants, tc.unbalanced
			ctx := context.Background()
			for i, mode := range []txn.EntryMode{txn.Chip, txn.Tapped, txn.Chip} {
				c := card(panOK)
				c.EntryMode, c.ICC = mode, []byte{0x9F, 0x27, 0x01, 0x80}
				c.Chip = &chipCard{accept: true, j: r.j}
				if _, err := r.e.Sale(ctx, txn.SaleRequest{Amount: int64(1000 + i), Card: c, Operator: "01", ConfirmDuplicate: true}); err != nil {
					t.Fatal(err)
				}
			}
			voided, _ := r.j.Last(ctx)
			if _, err := r.e.Void(ctx, txn.VoidRequest{STAN: voided.STAN, Operator: "01", Supervisor: "00", SupervisorOK: true}); err != nil {
				t.Fatal(err)
			}
			r.sale(t, 500, panOK2) // swiped
			s, err := r.e.Settle(ctx, "00")
			if err != nil {
				t.Fatal(err)
			}
			if len(r.host.Uploads) != tc.uploads || s.Uploaded != tc.uploads {
				t.Errorf("uploads %d (reported %d); want %d", len(r.host.Uploads), s.Uploaded, tc.uploads)
			}
			if !tc.unbalanced {
				for _, u := range r.host.Uploads {
					if u.ICC != "9F270140" || (u.EntryMode != txn.Chip && u.EntryMode != txn.Tapped) || u.Status != txn.Approved {
						t.Errorf("uploaded %s %s %s ICC %q; want approved chip records with their TC", u.Type, u.EntryMode, u.Status, u.ICC)
					}
				}
			}
		})
	}
}

// TestRecordKeepsPIN: a record says whether a PIN block went with its request, in the
// journal too, so that its reversal repeats field 22 as the request had it.
func TestRecordKeepsPIN(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.host.Script(txntest.Answer{Err: txn.ErrNoResponse}, txntest.Answer{Code: "00"})
	c := card(panOK)
	c.PINBlock = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	pinned, err := r.e.Sale(ctx, txn.SaleRequest{Amount: 700, Card: c, Operator: "01"})
	if err != nil {
		t.Fatal(err)
	}
	plain := r.sale(t, 800, panOK2)
	for _, tc := range []struct {
		rec  *txn.Record
		want bool
	}{{pinned, true}, {plain, false}} {
		got, err := r.j.Get(ctx, tc.rec.ID)
		if err != nil || tc.rec.PIN != tc.want || got.PIN != tc.want {
			t.Errorf("sale %d: PIN %v, in the journal %v (%v); want %v", tc.rec.Amount, tc.rec.PIN, got.PIN, err, tc.want)
		}
	}
	r.e.FlushReversals(ctx)
	if len(r.host.Reversals) != 1 || !r.host.Reversals[0].Orig.PIN {
		t.Errorf("reversals %+v; want the PIN sale's, saying a PIN went with it", r.host.Reversals)
	}
}
