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
