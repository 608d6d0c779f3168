package hostsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/emv"
	"posfw/firmware/host"
	"posfw/firmware/txn"
)

// chipRun is one card through the real kernel up to the host: the card, the kernel's
// transaction waiting for the answer, and its first result.
type chipRun struct {
	card *cardsim.Card
	tx   *emv.Transaction
	r    emv.Result
}

// insert runs the contact kernel on a test card for amount until it asks to go online.
func insert(t testing.TB, name string, amount int64, stan int64) chipRun {
	t.Helper()
	card, err := cardsim.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	k := &emv.Kernel{P: emv.DefaultParams(), Now: time.Now,
		Hooks: emv.Hooks{PIN: func(emv.CardData) emv.PINStatus { return emv.PINEntered }}}
	tx, r := k.Contact(card, emv.Txn{Amount: amount, Seq: uint32(stan)})
	if r.Outcome != emv.Online {
		t.Fatalf("%s: kernel result %s (%s); want online", name, r.Outcome, r.Reason)
	}
	return chipRun{card, tx, r}
}

// hostCard is the card as the terminal sends it: PAN, the kernel's field 55 and PSN.
func (c chipRun) hostCard() *txn.Card {
	return &txn.Card{PAN: []byte(c.r.Card.PAN), Expiry: c.r.Card.Expiry[:4], EntryMode: txn.Chip,
		ICC: bytes.Clone(c.r.Field55), PSN: c.r.Card.PSN}
}

// complete gives the card the host's answer as the terminal would.
func (c chipRun) complete(t *testing.T, resp txn.Response) emv.Result {
	t.Helper()
	h, err := emv.ParseHostICC([]byte(resp.ICC))
	if err != nil {
		t.Fatalf("the answer's field 55 does not parse: %v", err)
	}
	return c.tx.Complete(emv.HostResult{Answered: true, ResponseCode: resp.Code, ICC: h})
}

// chipSale sends a chip sale of card through the client, at STAN stan.
func (e *env) chipSale(amount int64, card *txn.Card, stan int64) (txn.Request, txn.Response) {
	e.t.Helper()
	req := txn.Request{Type: txn.Sale, STAN: stan, Batch: 1, Amount: amount, Card: card, At: e.now()}
	resp, err := e.c.Send(context.Background(), req)
	if err != nil {
		e.t.Fatalf("chip sale = %v", err)
	}
	return req, resp
}

func (e *env) chipNote(stan int64) ChipNote {
	e.t.Helper()
	n, ok, err := e.srv.Ledger().Chip(e.belief(stan).ID)
	if err != nil || !ok {
		e.t.Fatalf("ledger has no chip note of STAN %d: %v", stan, err)
	}
	return n
}

// flip changes the last byte of the ARQC (9F26) in field 55.
func flip(t testing.TB, icc []byte) []byte {
	t.Helper()
	l, err := tlv.Parse(icc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l {
		if l[i].Tag == 0x9F26 {
			v := bytes.Clone(l[i].Value)
			v[len(v)-1] ^= 0x01
			l[i].Value = v
		}
	}
	return l.Bytes()
}

// TestChipIssuer: the acquirer as the chip cards' issuer, in each dialect, with the
// real kernel and card simulator on the terminal's side and the real client and TCP in
// between.
func TestChipIssuer(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)

		// A good ARQC: approved with an ARPC the card accepts (TC).
		run := insert(t, "chip", 10000, e.next())
		req, resp := e.chipSale(10000, run.hostCard(), e.stan)
		if resp.Code != "00" || resp.ICC == "" {
			t.Fatalf("chip sale = %+v; want 00 with chip data", resp)
		}
		h, _ := emv.ParseHostICC([]byte(resp.ICC))
		p := run.card.Profile()
		mk, _, _ := emvcrypto.TestIssuer(p.Issuer).CardKeys(p.PAN, p.PSN)
		sk, _ := emvcrypto.ACSessionKey(mk, run.r.ATC)
		if arc, err := emvcrypto.VerifyIssuerAuthData(sk, run.r.AC, h.IssuerAuth); err != nil || string(arc) != "00" {
			t.Errorf("issuer authentication data %X: VerifyIssuerAuthData = %q, %v; want ARC 00", h.IssuerAuth, arc, err)
		}
		if len(h.Scripts71)+len(h.Scripts72) != 0 {
			t.Errorf("the chip card got %d scripts; want none (only %s gets one)", len(h.Scripts71)+len(h.Scripts72), ScriptCard)
		}
		final := run.complete(t, resp)
		if final.Outcome != emv.Approved || final.CID&0xC0 != 0x40 {
			t.Errorf("card after the answer: %s, CID %02X; want approved with a TC", final.Outcome, final.CID)
		}
		n := e.chipNote(req.STAN)
		if !n.Verified || n.ATC != int(run.r.ATC[0])<<8|int(run.r.ATC[1]) || n.ARQC != strings.ToUpper(hex.EncodeToString(run.r.AC)) {
			t.Errorf("ledger's chip note %+v; want the ARQC %X verified at ATC %X", n, run.r.AC, run.r.ATC)
		}
		if string(n.Answer) != resp.ICC {
			t.Errorf("ledger's chip answer %X; want the one sent, %X", n.Answer, resp.ICC)
		}
		// The same request again (its answer lost): the same answer, ARPC included.
		if resp2, err := e.c.Send(context.Background(), req); err != nil || resp2.Code != "00" || resp2.ICC != resp.ICC {
			t.Errorf("the chip sale repeated = %+v, %v; want the first answer again", resp2, err)
		}

		// Its batch upload carries the card's TC.
		rec := record(req)
		rec.RRN, rec.AuthCode, rec.Status = resp.RRN, resp.AuthCode, txn.Approved
		rec.ICC, rec.PSN, rec.EntryMode = strings.ToUpper(hex.EncodeToString(final.Field55)), final.Card.PSN, txn.Chip
		upload(t, e, rec)
		ac, cid, ok, err := e.srv.Ledger().UploadedCryptogram(testTID, 1, rec.STAN)
		if err != nil || !ok || ac != strings.ToUpper(hex.EncodeToString(final.AC)) || cid != "40" {
			t.Errorf("uploaded cryptogram %s (CID %s), %v, %v; want the TC %X (CID 40)", ac, cid, ok, err, final.AC)
		}

		// Its reversal carries the ATC of the card's transaction, and undoes the sale.
		if rr, err := e.c.Reverse(context.Background(), txn.Reversal{Orig: rec, Reason: "98"}); err != nil || rr.Code != "00" {
			t.Fatalf("reversal of the chip sale = %+v, %v; want 00", rr, err)
		}
		if a := e.belief(rec.STAN); a.Status != Reversed {
			t.Errorf("after its reversal the chip sale is %s; want reversed", a.Status)
		}
		if n := e.chipNote(rec.STAN); n.ReversalATC != n.ATC {
			t.Errorf("the reversal carried ATC %d; want the sale's, %d", n.ReversalATC, n.ATC)
		}

		// A flipped ARQC: declined A7, no chip data; the card declines (AAC).
		run = insert(t, "chip", 10000, e.next())
		bad := run.hostCard()
		bad.ICC = flip(t, bad.ICC)
		req, resp = e.chipSale(10000, bad, e.stan)
		if resp.Code != CodeSecurity || resp.ICC != "" {
			t.Errorf("chip sale with a flipped ARQC = %+v; want %s without chip data", resp, CodeSecurity)
		}
		if final := run.complete(t, resp); final.Outcome != emv.Declined {
			t.Errorf("card after the A7: %s; want declined", final.Outcome)
		}
		if a := e.belief(req.STAN); a.Status != Declined {
			t.Errorf("ledger row of the flipped ARQC: %s; want declined", a.Status)
		}
		if n := e.chipNote(req.STAN); n.Verified {
			t.Errorf("ledger's chip note of the flipped ARQC says verified")
		}

		// Chip data of a card no issuer here knows: declined A7.
		run = insert(t, "chip", 10000, e.next())
		stranger := run.hostCard()
		stranger.PAN = []byte("6222021234567894") // the magstripe catalogue's "ok": no chip, no keys
		if _, resp = e.chipSale(10000, stranger, e.stan); resp.Code != CodeSecurity {
			t.Errorf("chip sale of an unknown card = %+v; want %s", resp, CodeSecurity)
		}

		// A verified ARQC the issuer declines (.51): the ARPC is over 51, the card declines.
		run = insert(t, "chip", 10051, e.next())
		if _, resp = e.chipSale(10051, run.hostCard(), e.stan); resp.Code != "51" || resp.ICC == "" {
			t.Errorf("chip sale of .51 = %+v; want 51 with chip data", resp)
		}
		if final := run.complete(t, resp); final.Outcome != emv.Declined || final.ARC != "51" {
			t.Errorf("card after the 51: %s, ARC %q; want declined with ARC 51", final.Outcome, final.ARC)
		}

		// A tap over the card's offline limit: the ARQC of its GPO verifies too.
		tapCard, err := cardsim.Open("tap")
		if err != nil {
			t.Fatal(err)
		}
		k := &emv.Kernel{P: emv.DefaultParams(), Now: time.Now}
		if _, tr := k.Contactless(tapCard, emv.Txn{Amount: 5000, Seq: uint32(e.next())}); tr.Outcome != emv.Online {
			t.Errorf("tap: kernel result %s (%s); want online", tr.Outcome, tr.Reason)
		} else {
			tc := &txn.Card{PAN: []byte(tr.Card.PAN), EntryMode: txn.Tapped, ICC: tr.Field55, PSN: tr.Card.PSN}
			req, resp := e.chipSale(5000, tc, e.stan)
			if resp.Code != "00" || resp.ICC == "" || !e.chipNote(req.STAN).Verified {
				t.Errorf("tap sale = %+v; want 00 with chip data, its ARQC verified", resp)
			}
		}

		// A refund with the chip card read but no cryptogram (PBOC's simplified flow):
		// nothing to verify, the usual rules decide.
		run = insert(t, "chip", 10000, e.next())
		_, resp = e.chipSale(10000, run.hostCard(), e.stan)
		sale := record(txn.Request{Type: txn.Sale, STAN: e.stan, Batch: 1, Amount: 10000, At: e.now()})
		sale.RRN = resp.RRN
		read := &txn.Card{PAN: []byte(run.r.Card.PAN), EntryMode: txn.Chip, PSN: run.r.Card.PSN,
			ICC: tlv.List{tlv.New(0x5F34, []byte{0x01}), tlv.New(0x9F36, run.r.ATC)}.Bytes()}
		rreq := txn.Request{Type: txn.Refund, STAN: e.next(), Batch: 1, Amount: 5000, Card: read, At: e.now(),
			OrigSTAN: sale.STAN, OrigRRN: sale.RRN}
		if rresp, err := e.c.Send(context.Background(), rreq); err != nil || rresp.Code != "00" || rresp.ICC != "" {
			t.Errorf("chip refund without a cryptogram = %+v, %v; want 00 without chip data", rresp, err)
		}

		// ScriptCard (online PIN): approved with an issuer script after the second
		// GENERATE AC, which the card runs.
		run = insert(t, ScriptCard, 20000, e.next())
		_, resp = e.chipSale(20000, withPIN(t, run.hostCard(), "1234"), e.stan)
		h, _ = emv.ParseHostICC([]byte(resp.ICC))
		if resp.Code != "00" || len(h.Scripts72) != 1 {
			t.Fatalf("%s sale = %+v (%d scripts after the AC); want 00 with one", ScriptCard, resp, len(h.Scripts72))
		}
		final = run.complete(t, resp)
		if want := "20" + hex.EncodeToString(ScriptID); final.Outcome != emv.Approved || hex.EncodeToString(final.Scripts) != want {
			t.Errorf("%s after the answer: %s, script results %X; want approved, %s", ScriptCard, final.Outcome, final.Scripts, want)
		}
		// ... and a wrong PIN with it is refused.
		run = insert(t, ScriptCard, 20000, e.next())
		if _, resp = e.chipSale(20000, withPIN(t, run.hostCard(), "9999"), e.stan); resp.Code != "55" {
			t.Errorf("%s sale with a wrong PIN = %s; want 55", ScriptCard, resp.Code)
		}
	})
}

// TestChipRefusesSecondAC: the host approves, the card refuses the second GENERATE AC:
// the kernel says reverse, and the reversal undoes the sale at the acquirer.
func TestChipRefusesSecondAC(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		run := insert(t, "chip-refuse2", 10000, e.next())
		req, resp := e.chipSale(10000, run.hostCard(), e.stan)
		if resp.Code != "00" {
			t.Fatalf("chip-refuse2 sale = %+v; want 00", resp)
		}
		if final := run.complete(t, resp); final.Outcome != emv.ReverseApproved {
			t.Fatalf("card after the approval: %s; want %s", final.Outcome, emv.ReverseApproved)
		}
		rec := record(req)
		rec.RRN, rec.EntryMode, rec.PSN = resp.RRN, txn.Chip, run.r.Card.PSN
		rec.ICC = strings.ToUpper(hex.EncodeToString(run.r.Field55))
		if rr, err := e.c.Reverse(context.Background(), txn.Reversal{Orig: rec, Reason: "06"}); err != nil || rr.Code != "00" {
			t.Fatalf("reversal = %+v, %v; want 00", rr, err)
		}
		if a := e.belief(req.STAN); a.Status != Reversed {
			t.Errorf("the refused sale is %s at the acquirer; want reversed", a.Status)
		}
	})
}

// chipSeed is a chip sale's neutral fields with a real ARQC in 55 (flipped when bad).
func chipSeed(tb testing.TB, stan string, bad bool) host.Fields {
	run := insert(tb, "chip", 1000, 1)
	icc := run.r.Field55
	if bad {
		icc = flip(tb, icc)
	}
	return host.Fields{
		2: string(run.r.Card.PAN), 3: "000000", 4: "1000", 11: stan, 12: "153000", 13: "0412", 22: "052",
		23: "0" + run.r.Card.PSN, 41: testTID, 42: testMID, 49: "156", 55: string(icc), 60: "000001",
	}
}
