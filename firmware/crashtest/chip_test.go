package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"posfw/drivers/emv/cardsim"
	"posfw/firmware/emv"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// killChip is a chip card's part of an online sale, with a step (a possible kill)
// after the host answered and before the card's second GENERATE AC: the power cut
// between the issuer's approval and the card's. The record is still pending then, so
// the restart must reverse it.
type killChip struct {
	tx *emv.Transaction
	s  *steps
}

func (k killChip) Complete(answered bool, resp txn.Response) txn.ChipVerdict {
	// The parent learns which step is the card's, to check what a kill there leaves.
	os.WriteFile(filepath.Join(os.Getenv("CRASH_DIR"), chipStepFile), []byte(strconv.Itoa(k.s.n+1)), 0o600)
	k.s.step()
	if !answered {
		r := k.tx.Abort()
		return txn.ChipVerdict{ICC: r.Field55}
	}
	icc, _ := emv.ParseHostICC([]byte(resp.ICC))
	r := k.tx.Complete(emv.HostResult{Answered: true, ResponseCode: resp.Code, ICC: icc})
	return txn.ChipVerdict{Accepted: r.Outcome == emv.Approved, ICC: r.Field55, Reason: r.Reason}
}

// chipCard runs the test card "chip" through the kernel up to its ARQC and returns it
// as the engine sends it.
func chipCard(s *steps, amount int64) (*txn.Card, error) {
	card, err := cardsim.Open("chip")
	if err != nil {
		return nil, err
	}
	tx, res := (&emv.Kernel{P: emv.DefaultParams()}).Contact(card, emv.Txn{Amount: amount})
	if res.Outcome != emv.Online {
		return nil, fmt.Errorf("chip card: %s; want online", res)
	}
	return &txn.Card{PAN: bytes.Clone(res.Card.PAN), Expiry: res.Card.Expiry[:4], EntryMode: txn.Chip,
		PSN: res.Card.PSN, ICC: res.Field55, Chip: killChip{tx, s}}, nil
}

// chipStepFile holds the number of the step at which the chip card was asked to
// complete, written by the child.
const chipStepFile = "chip-step"

// checkChipKill: a life killed while the card completes (the host approved, the card
// had not) leaves no approved chip sale: the restart reversed it.
func checkChipKill(t *testing.T, k int, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, chipStepFile))
	if n, _ := strconv.Atoi(string(b)); err != nil || n != k {
		return
	}
	j, err := journal.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.Find(context.Background(), journal.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.EntryMode == txn.Chip && r.Status != txn.Reversed {
			t.Errorf("life killed during the card's second GENERATE AC (step %d): chip sale %s; want reversed", k, r.Status)
		}
	}
	t.Logf("step %d: killed while the card completed; the chip sale was reversed", k)
}
