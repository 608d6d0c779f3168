package emv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/chipreader/chipsim"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
	"posfw/drivers/serialport"
	"posfw/firmware/emv"
)

// reader is a simulated chip reader on a PTY and the driver on its path, as the sim
// board has them.
func reader(t *testing.T) (*chipsim.Sim, *chipreader.Reader) {
	t.Helper()
	sim := chipsim.New()
	h := serialport.NewHotplug(t.TempDir() + "/chip")
	p, err := h.Plug()
	if err != nil {
		t.Fatal(err)
	}
	go sim.Serve(p)
	r := chipreader.New(serialport.PathOpener(h.Path(), serialport.Config{Baud: 115200}), chipreader.Options{AnswerTimeout: 2 * time.Second})
	t.Cleanup(func() { r.Close(); h.Unplug() })
	return sim, r
}

// present puts a card in the reader once the driver listens and waits for the event.
func present(t *testing.T, sim *chipsim.Sim, r *chipreader.Reader, card *cardsim.Card, how chipreader.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got := make(chan chipreader.Event, 1)
	go func() { e, _ := r.Wait(ctx); got <- e }()
	for deadline := time.Now().Add(2 * time.Second); sim.Present(card, how) != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader never listened")
		}
	}
	if e := <-got; e != how {
		t.Fatalf("event %q; want %q", e, how)
	}
}

// hostAnswer is the issuer's side: the ARQC of field 55 verified, the ARPC built.
func hostAnswer(t *testing.T, card *cardsim.Card, r emv.Result, arc string) emv.HostResult {
	t.Helper()
	l, err := tlv.Parse(r.Field55)
	if err != nil {
		t.Fatal(err)
	}
	get := func(tag tlv.Tag) ([]byte, bool) { o, ok := l.Find(tag); return o.Value, ok }
	iss := emvcrypto.TestIssuer(card.Profile().Issuer)
	ac, _ := get(0x9F26)
	if err := iss.VerifyCryptogram(string(r.Card.PAN), r.Card.PSN, get, ac); err != nil {
		t.Fatalf("ARQC: %v", err)
	}
	atc, _ := get(0x9F36)
	iad, err := iss.IssuerAuthData(string(r.Card.PAN), r.Card.PSN, atc, ac, []byte(arc))
	if err != nil {
		t.Fatal(err)
	}
	icc, err := emv.ParseHostICC(emv.HostICC{ARC: arc, IssuerAuth: iad}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return emv.HostResult{Answered: true, ResponseCode: arc, ICC: icc}
}

// TestThroughReader runs a contact sale (chip-pin, online PIN, issuer authentication,
// second GENERATE AC) and an offline tap (tap-offline, fDDA) through the serial chip
// reader on a PTY, logging the APDU traces and the tap's time.
func TestThroughReader(t *testing.T) {
	sim, r := reader(t)
	var trace []string
	k := &emv.Kernel{P: emv.DefaultParams(), Hooks: emv.Hooks{PIN: func(emv.CardData) emv.PINStatus { return emv.PINEntered }},
		Trace: func(s string) { trace = append(trace, s) }}

	card, err := cardsim.Open("chip-pin")
	if err != nil {
		t.Fatal(err)
	}
	present(t, sim, r, card, chipreader.EventInserted)
	tx, res := k.Contact(r, emv.Txn{Amount: 8800, Seq: 1})
	if res.Outcome != emv.Online {
		t.Fatalf("contact: %s; want online\n%s", res, strings.Join(trace, "\n"))
	}
	if res = tx.Complete(hostAnswer(t, card, res, "00")); res.Outcome != emv.Approved || res.CVM != emv.OnlinePIN {
		t.Fatalf("contact: %s; want approved with online PIN", res)
	}
	t.Logf("contact sale, chip-pin, 88.00: %s\n%s", res, strings.Join(trace, "\n"))
	for _, l := range trace {
		if strings.Contains(l, card.Profile().PAN) {
			t.Errorf("trace shows the PAN: %s", l)
		}
	}
	sim.Remove()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if e, err := r.Wait(ctx); e != chipreader.EventRemoved {
		t.Fatalf("after removing the card: event %q, %v; want %q", e, err, chipreader.EventRemoved)
	}
	cancel()

	trace = nil
	tap, err := cardsim.Open("tap-offline")
	if err != nil {
		t.Fatal(err)
	}
	present(t, sim, r, tap, chipreader.EventTapped)
	start := time.Now()
	_, res = k.Contactless(r, emv.Txn{Amount: 2500, Seq: 2})
	took := time.Since(start)
	if res.Outcome != emv.Approved || res.ODA != "fdda" {
		t.Fatalf("tap: %s; want approved offline with fDDA\n%s", res, strings.Join(trace, "\n"))
	}
	t.Logf("tap, tap-offline, 25.00, tap to result %v: %s\n%s", took, res, strings.Join(trace, "\n"))
}

// BenchmarkTap is the time from tap to result against cardsim directly (offline fDDA
// and online), without the serial line.
func BenchmarkTap(b *testing.B) {
	for _, name := range []string{"tap-offline", "tap"} {
		b.Run(name, func(b *testing.B) {
			card, err := cardsim.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			k := &emv.Kernel{P: emv.DefaultParams()}
			for b.Loop() {
				if _, r := k.Contactless(card, emv.Txn{Amount: 2500}); r.Outcome != emv.Approved && r.Outcome != emv.Online {
					b.Fatalf("tap: %s", r)
				}
			}
		})
	}
}

// TestPulledOutThroughReader: the card leaves the reader between the host's approval
// and the second GENERATE AC: the result says reverse; pulled out before the first
// GENERATE AC, the sale is refused and nothing went to the host.
func TestPulledOutThroughReader(t *testing.T) {
	sim, r := reader(t)
	k := &emv.Kernel{P: emv.DefaultParams()}
	card, err := cardsim.Open("chip")
	if err != nil {
		t.Fatal(err)
	}
	present(t, sim, r, card, chipreader.EventInserted)
	tx, res := k.Contact(r, emv.Txn{Amount: 1000})
	if res.Outcome != emv.Online {
		t.Fatalf("contact: %s; want online", res)
	}
	answer := hostAnswer(t, card, res, "00")
	sim.Remove()
	if res = tx.Complete(answer); res.Outcome != emv.ReverseApproved {
		t.Fatalf("card pulled out after approval: %s; want %s", res, emv.ReverseApproved)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.Wait(ctx) // the removal
	present(t, sim, r, card, chipreader.EventInserted)
	k.Trace = func(s string) {
		if strings.Contains(s, "READ RECORD 00B20114") {
			sim.Remove() // out while the records are read
		}
	}
	if _, res = k.Contact(r, emv.Txn{Amount: 1000}); res.Outcome != emv.Refused || res.Reason != "Card removed" || res.Field55 != nil {
		t.Fatalf("card pulled out during the records: %s, field 55 %X; want refused without field 55", res, res.Field55)
	}
}
