package emv

import (
	"bytes"
	"testing"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/cardsim"
)

// The parsers of what the card and the host send: never a panic, and what they accept
// is consistent.

func FuzzParseAFL(f *testing.F) {
	for _, s := range [][]byte{{0x08, 1, 1, 0, 0x10, 1, 1, 1, 0x18, 1, 2, 0}, {}, {0x08, 0, 1, 0}, {0x0F, 1, 1, 0}, {0x08, 2, 1, 0}, {0x08, 1, 1, 2}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := ParseAFL(b)
		if err != nil {
			return
		}
		if len(es) != len(b)/4 {
			t.Fatalf("%d entries of %d bytes", len(es), len(b))
		}
		for _, e := range es {
			if e.SFI < 1 || e.SFI > 30 || e.First < 1 || e.Last < e.First || int(e.ODA) > int(e.Last-e.First)+1 {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}

func FuzzParseCVMList(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x03, 0x5E, 0x03})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0x1F})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseCVMList(b)
		if err != nil {
			return
		}
		if len(l.Rules) != (len(b)-8)/2 {
			t.Fatalf("%d rules of %d bytes", len(l.Rules), len(b))
		}
		for i, r := range l.Rules {
			if r.Code() != b[8+2*i]&0x7F || r.Cond != b[9+2*i] {
				t.Fatalf("rule %d = %+v; bytes %X", i, r, b[8+2*i:10+2*i])
			}
		}
	})
}

func FuzzParseCDOL(f *testing.F) {
	f.Add(cardsim.CDOL1().Bytes())
	f.Add(cardsim.CDOL2().Bytes())
	f.Add([]byte{0x9F, 0x37, 0x04})
	f.Add([]byte{0x70, 0x04})
	f.Add([]byte{0x9F, 0x02, 0x81, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseCDOL(b)
		if err != nil {
			return
		}
		if d.Len() > 252 {
			t.Fatalf("accepted a DOL of %d bytes", d.Len())
		}
		for _, e := range d {
			if e.Tag.Constructed() {
				t.Fatalf("accepted template %s", e.Tag)
			}
		}
	})
}

func FuzzParseACResponse(f *testing.F) {
	f.Add([]byte{0x80, 0x12, 0x80, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 6, 1, 0x12, 3, 0xA0, 0, 0})
	f.Add([]byte{0x77, 0x0B, 0x9F, 0x27, 0x01, 0x80, 0x9F, 0x36, 0x02, 0x00, 0x02, 0x9F, 0x26, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseACResponse(b)
		if err != nil {
			return
		}
		if len(r.ATC) != 2 || (len(r.AC) != 8 && len(r.SDAD) == 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzParseHostICC(f *testing.F) {
	f.Add(HostICC{ARC: "00", IssuerAuth: bytes.Repeat([]byte{1}, 10), Scripts71: []Script{{ID: []byte{0, 0, 0, 1}, Commands: [][]byte{{0x84, 0x1E, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}}}}}.Bytes())
	f.Add([]byte{0x91, 0x02, 1, 2})
	f.Add([]byte{0x72, 0x03, 0x86, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHostICC(b)
		if err != nil {
			return
		}
		// What was accepted builds again and reads back the same.
		h2, err := ParseHostICC(h.Bytes())
		if err != nil {
			t.Fatalf("re-reading %X: %v", h.Bytes(), err)
		}
		if h2.ARC != h.ARC || !bytes.Equal(h2.IssuerAuth, h.IssuerAuth) || len(h2.Scripts71) != len(h.Scripts71) || len(h2.Scripts72) != len(h.Scripts72) {
			t.Fatalf("round trip %+v → %+v", h, h2)
		}
	})
}

// FuzzKernelAnswers runs the whole contact kernel against a card whose answer to one
// command (chosen by the fuzzer) is replaced by fuzzed bytes: any outcome, never a
// panic, and never Approved without a cryptogram.
func FuzzKernelAnswers(f *testing.F) {
	f.Add(byte(0), []byte{0x90, 0x00})
	f.Add(byte(3), []byte{0x70, 0x03, 0x9F, 0x14, 0x00, 0x90, 0x00})
	f.Add(byte(7), []byte{0x77, 0x00, 0x90, 0x00})
	f.Add(byte(9), []byte{0x80, 0x02, 0x3C, 0x00, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, which byte, answer []byte) {
		card, err := cardsim.Open("chip-cda")
		if err != nil {
			t.Fatal(err)
		}
		fc := &fuzzCard{Card: card, which: int(which % 16), answer: answer}
		tx, r := kernel(nil, Hooks{PIN: func(CardData) PINStatus { return PINEntered }}).Contact(fc, Txn{Amount: 100})
		if r.Outcome == Online {
			r = tx.Complete(HostResult{Answered: true, ResponseCode: "00"})
		}
		if r.Outcome == Approved && len(r.AC) != 8 {
			t.Fatalf("approved without a cryptogram: %s", r)
		}
	})
}

type fuzzCard struct {
	*cardsim.Card
	n, which int
	answer   []byte
}

func (c *fuzzCard) Transmit(raw []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(raw)
	if _, perr := apdu.ParseCommand(raw); perr == nil && c.n == c.which {
		resp = c.answer
	}
	c.n++
	return resp, err
}
