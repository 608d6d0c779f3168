package hostsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/cardreader/testcards"
	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/iso9564"
	"posfw/drivers/pinpad/padsim"
	"posfw/drivers/testkit"
	"posfw/firmware/host"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

const (
	testTID = "TERM0001"
	testMID = "MERCHANT0000001"
)

// env is a simulator on loopback with a signed-on terminal.
type env struct {
	t       testing.TB
	srv     *Server
	addr    string
	dialect host.Dialect
	c       *host.Client
	stan    int64
}

// serve starts a simulator of cfg on 127.0.0.1, closed when the test ends.
func serve(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, ln.Addr().String()
}

// start serves a simulator with a ledger in a temporary directory and signs
// a client on to it.
func start(t testing.TB) *env { return startIn(t, host.ISO87{}) }

// startIn is start in dialect d.
func startIn(t testing.TB, d host.Dialect) *env {
	t.Helper()
	srv, addr := serve(t, Config{Ledger: filepath.Join(t.TempDir(), "ledger.db"), Location: time.UTC, Dialect: d})
	e := &env{t: t, srv: srv, addr: addr, dialect: d}
	e.c = e.client(testTID, testkit.Unhex(t, DefaultMasterKey))
	if err := e.c.SignOn(context.Background(), e.next()); err != nil {
		t.Fatalf("SignOn() = %v", err)
	}
	return e
}

func (e *env) client(tid string, tmk []byte) *host.Client {
	return host.New(host.Config{
		Address: e.addr, ConnectTimeout: time.Second, ResponseTimeout: 500 * time.Millisecond,
		TerminalID: tid, MerchantID: testMID, Keys: padWith(e.t, tmk), Location: time.UTC, Dialect: e.dialect,
	})
}

// padWith is a simulated PIN pad on a PTY holding tmk, as a terminal's pad holds the
// master key injected at provisioning.
func padWith(t testing.TB, tmk []byte) *pinpad.Driver {
	t.Helper()
	sim := padsim.New()
	if err := sim.InjectTMK(tmk); err != nil {
		t.Fatal(err)
	}
	d, stop, err := padsim.Connect(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d
}

func (e *env) next() int64 { e.stan++; return e.stan }

// card returns a swiped catalogue card.
func card(t testing.TB, name string) *txn.Card {
	en, ok := testcards.Find(name)
	if !ok {
		t.Fatalf("no test card %q", name)
	}
	return &txn.Card{PAN: en.Card.PAN, Track2: en.Card.Track2Equivalent(), EntryMode: txn.Swiped}
}

// keyed returns a card keyed in by hand.
func keyed(pan string) *txn.Card {
	return &txn.Card{PAN: []byte(pan), Expiry: "4912", EntryMode: txn.Keyed}
}

// withPIN has the simulated PIN pad encrypt pin for c (ISO 9564 format 0
// under the DUKPT key of the next KSN of a pad loaded from the test BDK).
func withPIN(t testing.TB, c *txn.Card, pin string) *txn.Card {
	bdk, _ := dukpt.ParseKey(DefaultBDK)
	ksn0, _ := dukpt.ParseKSN("FFFF9876543210E00000")
	dev := dukpt.NewDevice(dukpt.DeriveIPEK(bdk, ksn0), ksn0)
	ksn, tk, err := dev.Next()
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := dukpt.WorkingKey(tk, dukpt.PINEncryption)
	clearBlock, err := iso9564.Format0(pin, string(c.PAN))
	if err != nil {
		t.Fatal(err)
	}
	enc := dukpt.EncryptPINBlock(pk, clearBlock)
	c.PINBlock, c.KSN = enc[:], ksn[:]
	return c
}

func (e *env) now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func (e *env) sale(amount int64, c *txn.Card) (txn.Request, txn.Response, error) {
	req := txn.Request{Type: txn.Sale, STAN: e.next(), Batch: 1, Amount: amount, Card: c, At: e.now()}
	resp, err := e.c.Send(context.Background(), req)
	return req, resp, err
}

// approved makes a sale that must be approved and returns it as the
// terminal's journal would hold it.
func (e *env) approved(amount int64, c *txn.Card) txn.Record {
	e.t.Helper()
	req, resp, err := e.sale(amount, c)
	if err != nil || resp.Code != "00" {
		e.t.Fatalf("sale of %d = %+v, %v; want 00", amount, resp, err)
	}
	r := record(req)
	r.RRN, r.AuthCode, r.Status = resp.RRN, resp.AuthCode, txn.Approved
	return r
}

func (e *env) void(orig txn.Record, c *txn.Card) (txn.Request, txn.Response, error) {
	req := txn.Request{
		Type: txn.Void, STAN: e.next(), Batch: 1, Amount: orig.Amount, Card: c, At: e.now(),
		OrigSTAN: orig.STAN, OrigRRN: orig.RRN, OrigAuthCode: orig.AuthCode,
	}
	resp, err := e.c.Send(context.Background(), req)
	return req, resp, err
}

func (e *env) refund(orig txn.Record, amount int64, date string) (txn.Request, txn.Response, error) {
	req := txn.Request{
		Type: txn.Refund, STAN: e.next(), Batch: 1, Amount: amount, Card: card(e.t, "ok"), At: e.now(),
		OrigSTAN: orig.STAN, OrigRRN: orig.RRN, OrigDate: date,
	}
	resp, err := e.c.Send(context.Background(), req)
	return req, resp, err
}

// record is the journal record of a request.
func record(req txn.Request) txn.Record {
	return txn.Record{
		Type: req.Type, Status: txn.Pending, Amount: req.Amount, Currency: "156", STAN: req.STAN,
		Batch: req.Batch, OrigSTAN: req.OrigSTAN, OrigRRN: req.OrigRRN, CreatedAt: req.At,
	}
}

// belief returns what the ledger holds for a terminal's STAN.
func (e *env) belief(stan int64) Auth {
	e.t.Helper()
	a, err := e.srv.Ledger().ByTrace(testTID, stan)
	if err != nil {
		e.t.Fatalf("ledger ByTrace(%d) = %v", stan, err)
	}
	return a
}

func TestSaleRules(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		for _, tt := range []struct {
			name   string
			amount int64
			card   *txn.Card
			code   string
			status Status
		}{
			{"ok card", 1000, card(t, "ok"), "00", Authorised},
			{"ok2 card", 1000, card(t, "ok2"), "00", Authorised},
			{"nsf card", 1000, card(t, "nsf"), "51", Declined},
			{"expired card", 1000, card(t, "expired"), "54", Declined},
			{"pin card, right PIN", 1000, withPIN(t, card(t, "pin"), testcards.PIN), "00", Authorised},
			{"pin card, wrong PIN", 1000, withPIN(t, card(t, "pin"), "4321"), "55", Declined},
			{"pin card, no PIN", 1000, card(t, "pin"), "55", Declined},
			{"unknown card, Luhn valid", 1000, keyed("4111111111111111"), "00", Authorised},
			{"unknown card, Luhn invalid", 1000, keyed("4111111111111112"), "14", Declined},
			{"keyed card, expired", 1000, &txn.Card{PAN: []byte("4111111111111111"), Expiry: "2001", EntryMode: txn.Keyed}, "54", Declined},
			{"no card", 1000, nil, "14", Declined},
			{"amount .51", 1051, card(t, "ok"), "51", Declined},
			{"amount .96", 2096, card(t, "ok"), "96", Declined},
		} {
			req, resp, err := e.sale(tt.amount, tt.card)
			if err != nil || resp.Code != tt.code {
				t.Errorf("%s: Send() = %+v, %v; want %s", tt.name, resp, err, tt.code)
				continue
			}
			a := e.belief(req.STAN)
			if a.Status != tt.status || a.Code != tt.code || a.RRN != resp.RRN || a.Amount != tt.amount {
				t.Errorf("%s: ledger has %s %s RRN %q amount %d; want %s %s RRN %q amount %d",
					tt.name, a.Status, a.Code, a.RRN, a.Amount, tt.status, tt.code, resp.RRN, tt.amount)
			}
			if (resp.AuthCode != "") != (tt.code == "00") || a.AuthCode != resp.AuthCode {
				t.Errorf("%s: auth code %q (ledger %q) with code %s", tt.name, resp.AuthCode, a.AuthCode, tt.code)
			}
		}
		// .98: never answered, and not recorded.
		req, _, err := e.sale(1098, card(t, "ok"))
		if !errors.Is(err, txn.ErrNoResponse) {
			t.Errorf("sale of 10.98: %v; want %v", err, txn.ErrNoResponse)
		}
		if _, err := e.srv.Ledger().ByTrace(testTID, req.STAN); !errors.Is(err, ErrNotFound) {
			t.Errorf("sale of 10.98 is in the ledger (%v); want no row", err)
		}
	})
}

func TestVoidRules(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		sale := e.approved(5000, card(t, "ok"))
		if _, resp, err := e.void(sale, card(t, "ok2")); err != nil || resp.Code != "12" {
			t.Errorf("void with another card = %+v, %v; want 12", resp, err)
		}
		short := sale
		short.Amount--
		if _, resp, err := e.void(short, nil); err != nil || resp.Code != "13" {
			t.Errorf("void of part of the amount = %+v, %v; want 13", resp, err)
		}
		unknown := sale
		unknown.RRN = "999999999999"
		if _, resp, err := e.void(unknown, nil); err != nil || resp.Code != "25" {
			t.Errorf("void of an unknown RRN = %+v, %v; want 25", resp, err)
		}
		req, resp, err := e.void(sale, card(t, "ok"))
		if err != nil || resp.Code != "00" || resp.RRN == sale.RRN {
			t.Fatalf("void = %+v, %v; want 00 with an RRN of its own", resp, err)
		}
		if a := e.belief(sale.STAN); a.Status != Voided {
			t.Errorf("voided sale is %s in the ledger; want %s", a.Status, Voided)
		}
		if a := e.belief(req.STAN); a.Type != txn.Void || a.Status != Authorised {
			t.Errorf("the void is %s %s in the ledger; want an authorised void", a.Type, a.Status)
		}
		if _, resp, err := e.void(sale, nil); err != nil || resp.Code != "12" {
			t.Errorf("second void = %+v, %v; want 12", resp, err)
		}
		if _, resp, err := e.refund(sale, 100, ""); err != nil || resp.Code != "12" {
			t.Errorf("refund of a voided sale = %+v, %v; want 12", resp, err)
		}
		// Void of a refund gives the amount back to the sale.
		sale2 := e.approved(3000, card(t, "ok"))
		rreq, rresp, _ := e.refund(sale2, 1000, "")
		refund := record(rreq)
		refund.RRN = rresp.RRN
		if _, resp, err := e.void(refund, nil); err != nil || resp.Code != "00" {
			t.Errorf("void of a refund = %+v, %v; want 00", resp, err)
		}
		if a := e.belief(sale2.STAN); a.Refunded != 0 {
			t.Errorf("after the void of its refund the sale has %d refunded; want 0", a.Refunded)
		}
	})
}

func TestRefundRules(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		sale := e.approved(10000, card(t, "ok"))
		date := sale.CreatedAt.Format("0102")
		for _, tt := range []struct {
			name     string
			amount   int64
			date     string
			code     string
			refunded int64 // the sale's refunded amount afterwards
		}{
			{"partial", 4000, date, "00", 4000},
			{"second partial, no date", 5000, "", "00", 9000},
			{"over the original", 1001, date, "61", 9000},
			{"wrong date", 100, "0101", "25", 9000},
			{"amount .40: route unavailable", 440, date, "40", 9000},
			{"the rest", 1000, date, "00", 10000},
			{"nothing left", 1, date, "61", 10000},
		} {
			if tt.date == "0101" && date == "0101" {
				tt.date = "0102"
			}
			req, resp, err := e.refund(sale, tt.amount, tt.date)
			if err != nil || resp.Code != tt.code {
				t.Errorf("%s: refund = %+v, %v; want %s", tt.name, resp, err, tt.code)
			}
			if a := e.belief(sale.STAN); a.Refunded != tt.refunded || a.Status != Authorised {
				t.Errorf("%s: sale has %d refunded, %s; want %d, authorised", tt.name, a.Refunded, a.Status, tt.refunded)
			}
			if a := e.belief(req.STAN); a.Type != txn.Refund || (a.OrigID == 0) != (tt.code != "00") {
				t.Errorf("%s: the refund row is %+v", tt.name, a)
			}
		}
		unknown := sale
		unknown.RRN = "000000000000"
		if _, resp, _ := e.refund(unknown, 100, ""); resp.Code != "25" {
			t.Errorf("refund of an unknown RRN = %s; want 25", resp.Code)
		}
		sale2 := e.approved(2000, card(t, "ok"))
		if err := e.srv.Ledger().FlagRouteUnavailable(sale2.RRN); err != nil {
			t.Fatal(err)
		}
		if _, resp, _ := e.refund(sale2, 100, ""); resp.Code != "40" {
			t.Errorf("refund to a closed route = %s; want 40", resp.Code)
		}
		if err := e.srv.Ledger().FlagRouteUnavailable("nosuchrrn"); !errors.Is(err, ErrNotFound) {
			t.Errorf("FlagRouteUnavailable(unknown) = %v; want %v", err, ErrNotFound)
		}
	})
}

// TestDuplicateSTAN sends two requests under one STAN: the same request
// again gets the same answer and no second debit; another one gets 94.
func TestDuplicateSTAN(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		req := txn.Request{Type: txn.Sale, STAN: 500, Batch: 1, Amount: 1234, Card: card(t, "ok"), At: e.now()}
		first, err := e.c.Send(context.Background(), req)
		if err != nil || first.Code != "00" {
			t.Fatalf("sale = %+v, %v", first, err)
		}
		again, err := e.c.Send(context.Background(), req)
		if err != nil || again.Code != "00" || again.RRN != first.RRN || again.AuthCode != first.AuthCode {
			t.Errorf("the same sale again = %+v, %v; want the first answer %+v", again, err, first)
		}
		other := req
		other.Amount = 999
		if resp, err := e.c.Send(context.Background(), other); err != nil || resp.Code != "94" {
			t.Errorf("another sale under the same STAN = %+v, %v; want 94", resp, err)
		}
		tot, _ := e.srv.Ledger().Totals(testTID)
		if tot.Sales != (txn.Total{Count: 1, Amount: 1234}) {
			t.Errorf("ledger sales = %+v; want one of 1234", tot.Sales)
		}
	})
}

func TestMACRequired(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		// Signing TERM0001 on again replaces its key: the old client's MACs fail.
		stale := e.c
		fresh := e.client(testTID, testkit.Unhex(t, DefaultMasterKey))
		if err := fresh.SignOn(context.Background(), e.next()); err != nil {
			t.Fatal(err)
		}
		resp, err := stale.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: e.next(), Amount: 100, Card: card(t, "ok"), At: e.now()})
		// The host's A0 comes unsigned (it has no key the terminal shares): no answer.
		if !errors.Is(err, txn.ErrBadMAC) {
			t.Errorf("sale MACed under a replaced key = %+v, %v; want a MAC failure", resp, err)
		}
		if n, _ := e.srv.Ledger().Count(Authorised); n != 0 {
			t.Errorf("a request with a bad MAC reached the ledger (%d authorised)", n)
		}
		resp, err = fresh.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: e.next(), Amount: 100, Card: card(t, "ok"), At: e.now()})
		if err != nil || resp.Code != "00" {
			t.Errorf("sale under the new key = %+v, %v; want 00", resp, err)
		}
		wrongTMK := e.client("TERM0003", testkit.Unhex(t, DefaultBDK))
		if err := wrongTMK.SignOn(context.Background(), 1); !errors.Is(err, host.ErrKeyCheck) || wrongTMK.SignedOn() {
			t.Errorf("sign-on with another master key = %v; want a key check failure", err)
		}
		if err := fresh.Echo(context.Background(), e.next()); err != nil {
			t.Errorf("Echo() = %v", err)
		}
	})
}

func TestReversal(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		reverse := func(r txn.Record, repeat bool) txn.Response {
			t.Helper()
			resp, err := e.c.Reverse(context.Background(), txn.Reversal{Orig: r, Reason: "98", Repeat: repeat})
			if err != nil {
				t.Fatalf("Reverse(%s %d) = %v", r.Type, r.STAN, err)
			}
			return resp
		}
		// A sale: reversed, and a repeat changes nothing but the count.
		sale := e.approved(1500, card(t, "ok"))
		for i, repeat := range []bool{false, true, true} {
			if resp := reverse(sale, repeat); resp.Code != "00" {
				t.Errorf("reversal %d of the sale = %s; want 00", i+1, resp.Code)
			}
			if a := e.belief(sale.STAN); a.Status != Reversed || a.Reversals != i+1 {
				t.Errorf("after reversal %d the sale is %s with %d reversals", i+1, a.Status, a.Reversals)
			}
		}
		// A void: reversing it makes its sale stand again.
		sale2 := e.approved(2500, card(t, "ok"))
		vreq, vresp, _ := e.void(sale2, nil)
		void := record(vreq)
		void.RRN = vresp.RRN
		reverse(void, false)
		if a := e.belief(sale2.STAN); a.Status != Authorised {
			t.Errorf("after the void's reversal the sale is %s; want authorised", a.Status)
		}
		reverse(void, true)
		if a := e.belief(sale2.STAN); a.Status != Authorised {
			t.Errorf("after a repeated reversal of the void the sale is %s; want authorised", a.Status)
		}
		// A refund: reversing it gives the amount back once.
		rreq, _, _ := e.refund(sale2, 1000, "")
		refund := record(rreq)
		reverse(refund, false)
		reverse(refund, true)
		if a := e.belief(sale2.STAN); a.Refunded != 0 {
			t.Errorf("after the refund's reversals the sale has %d refunded; want 0", a.Refunded)
		}
		// A request the acquirer never saw: recorded as reversed, once.
		ghost := txn.Record{Type: txn.Sale, STAN: 9000, Batch: 1, Amount: 800, Currency: "156", CreatedAt: e.now()}
		reverse(ghost, false)
		reverse(ghost, true)
		if a := e.belief(9000); a.Status != Reversed || a.Code != "" || a.Reversals != 2 || a.RRN != "" {
			t.Errorf("reversal of an unknown sale left %+v", a)
		}
		// ... and the original arriving late is not debited.
		resp, err := e.c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 9000, Batch: 1, Amount: 800, Card: card(t, "ok"), At: ghost.CreatedAt})
		if err != nil || resp.Code != "94" {
			t.Errorf("the reversed sale arriving late = %+v, %v; want 94", resp, err)
		}
		// A reversal naming another amount is not applied.
		sale3 := e.approved(3300, card(t, "ok"))
		wrong := sale3
		wrong.Amount = 1
		if resp := reverse(wrong, false); resp.Code != "25" {
			t.Errorf("reversal with another amount = %s; want 25", resp.Code)
		}
		if a := e.belief(sale3.STAN); a.Status != Authorised {
			t.Errorf("a mismatched reversal changed the sale to %s", a.Status)
		}
		tot, _ := e.srv.Ledger().Totals(testTID)
		if want := (txn.Total{Count: 2, Amount: 2500 + 3300}); tot.Sales != want {
			t.Errorf("ledger sales = %+v; want %+v", tot.Sales, want)
		}
	})
}

func TestSettlement(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		s1 := e.approved(1000, card(t, "ok"))
		e.approved(2000, card(t, "ok"))
		s3 := e.approved(3000, card(t, "ok"))
		e.void(s3, nil)
		e.refund(s1, 400, "")
		want := txn.Totals{
			Batch: 1, Sales: txn.Total{Count: 2, Amount: 3000}, Refunds: txn.Total{Count: 1, Amount: 400},
			Voids: txn.Total{Count: 1, Amount: 3000}, ManualRefunds: txn.Total{Count: 1, Amount: 50},
		}
		if got, _ := e.srv.Ledger().Totals(testTID); got.Sales != want.Sales || got.Refunds != want.Refunds || got.Voids != want.Voids {
			t.Errorf("ledger Totals() = %+v; want %+v", got, want)
		}
		// Balanced: batch 1 is settled, and only batch 1; the same 0500 again (its answer
		// lost) gets the same answer. The acquirer keeps the journal head reported with it.
		want.Head = "41:0123456789abcdef:fedcba9876543210"
		for i := 0; i < 2; i++ {
			if balanced, err := e.c.Settle(context.Background(), want, e.next(), false); err != nil || !balanced {
				t.Errorf("Settle(batch 1) #%d = %v, %v; want balanced", i+1, balanced, err)
			}
		}
		settled(t, e, 1, ResultBalanced)
		if got, err := e.srv.Ledger().SettledHead(testTID, 1); err != nil || got != want.Head {
			t.Errorf("journal head kept with batch 1 = %q, %v; want %q", got, err, want.Head)
		}

		// Batch 2: the terminal's totals differ from the acquirer's (95); it uploads the
		// whole batch and the acquirer settles from the upload.
		b2 := []txn.Record{e.approvedIn(2, 700), e.approvedIn(2, 800)}
		t2 := txn.Totals{Batch: 2, Sales: txn.Total{Count: 2, Amount: 1500}}
		short := t2
		short.Sales = txn.Total{Count: 1, Amount: 700}
		if balanced, err := e.c.Settle(context.Background(), short, e.next(), false); err != nil || balanced {
			t.Errorf("Settle(batch 2, short totals) = %v, %v; want unbalanced", balanced, err)
		}
		upload(t, e, b2...)
		if balanced, err := e.c.Settle(context.Background(), t2, e.next(), true); err != nil || !balanced {
			t.Errorf("Settle(batch 2 after upload) = %v, %v; want balanced", balanced, err)
		}
		settled(t, e, 2, ResultBalancedAfterUpload)

		// Batch 3: after an upload that does not add up to its totals the batch closes
		// unbalanced (95), settled from the upload; the row not uploaded is taken out.
		b3 := []txn.Record{e.approvedIn(3, 900), e.approvedIn(3, 1000)}
		t3 := txn.Totals{Batch: 3, Sales: txn.Total{Count: 3, Amount: 2900}}
		if balanced, err := e.c.Settle(context.Background(), t3, e.next(), false); err != nil || balanced {
			t.Errorf("Settle(batch 3) = %v, %v; want unbalanced", balanced, err)
		}
		upload(t, e, b3[0])
		if balanced, err := e.c.Settle(context.Background(), t3, e.next(), true); err != nil || balanced {
			t.Errorf("Settle(batch 3 after upload) = %v, %v; want unbalanced", balanced, err)
		}
		settled(t, e, 3, ResultUnbalancedUploaded)
		if a := e.belief(b3[1].STAN); a.Status != Reversed {
			t.Errorf("batch 3's row left out of the upload is %s; want reversed (taken out)", a.Status)
		}
		if _, resp, _ := e.void(s1, nil); resp.Code != "12" {
			t.Errorf("void of a settled sale = %s; want 12", resp.Code)
		}
	})
}

// approvedIn is an approved sale in a given batch.
func (e *env) approvedIn(batch, amount int64) txn.Record {
	e.t.Helper()
	req := txn.Request{Type: txn.Sale, STAN: e.next(), Batch: batch, Amount: amount, Card: card(e.t, "ok"), At: e.now()}
	resp, err := e.c.Send(context.Background(), req)
	if err != nil || resp.Code != "00" {
		e.t.Fatalf("sale of %d in batch %d = %+v, %v; want 00", amount, batch, resp, err)
	}
	r := record(req)
	r.RRN, r.AuthCode, r.Status = resp.RRN, resp.AuthCode, txn.Approved
	return r
}

func upload(t *testing.T, e *env, recs ...txn.Record) {
	t.Helper()
	for _, r := range recs {
		if err := e.c.Upload(context.Background(), r, e.next()); err != nil {
			t.Fatalf("Upload(%d) = %v", r.STAN, err)
		}
	}
}

// settled checks the acquirer's result for a batch, and that it holds no standing
// record of that batch unsettled — and has settled no record of another batch.
func settled(t *testing.T, e *env, batch int64, want string) {
	t.Helper()
	if got, err := e.srv.Ledger().Settlement(testTID, batch); err != nil || got != want {
		t.Errorf("acquirer's settlement of batch %d = %q, %v; want %q", batch, got, err, want)
	}
	rows, _ := e.srv.Ledger().List(testTID)
	for _, a := range rows {
		switch {
		case a.Batch == batch && a.Status == Authorised && !a.Settled:
			t.Errorf("after settling batch %d, STAN %d of it is unsettled", batch, a.STAN)
		case a.Batch > batch && a.Settled:
			t.Errorf("settling batch %d settled STAN %d of batch %d", batch, a.STAN, a.Batch)
		}
	}
}

// TestFaults runs a sale under each fault mode and checks the error class
// the terminal sees, what the acquirer believes, and that a reversal (sent
// once the fault is cleared, repeated as the terminal's worker would)
// leaves the sale reversed exactly once.
func TestFaults(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		for _, tt := range []struct {
			fault   string
			want    error  // nil: an answer
			belief  Status // "": no row
			reverse bool
		}{
			{"ok", nil, Authorised, false},
			{"down", txn.ErrNotSent, "", false},
			{"timeout", txn.ErrNoResponse, "", true},
			{"garbage", txn.ErrNoResponse, Authorised, true},
			{"slow:0.1", nil, Authorised, false},
			{"slow:1", txn.ErrNoResponse, Authorised, true},
			{"drop-after-request", txn.ErrNoResponse, Authorised, true},
			{"duplicate-response", nil, Authorised, false},
			{"bad-mac", txn.ErrBadMAC, Authorised, true},
		} {
			e := startIn(t, d)
			f, err := ParseFault(tt.fault)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.srv.SetFault(f); err != nil {
				t.Fatal(err)
			}
			req, resp, sendErr := e.sale(1200, card(t, "ok"))
			if tt.want == nil && (sendErr != nil || resp.Code != "00") || tt.want != nil && !errors.Is(sendErr, tt.want) {
				t.Errorf("%s: Send() = %+v, %v; want %v", tt.fault, resp, sendErr, tt.want)
			}
			a, lerr := e.srv.Ledger().ByTrace(testTID, req.STAN)
			if tt.belief == "" && !errors.Is(lerr, ErrNotFound) || tt.belief != "" && a.Status != tt.belief {
				t.Errorf("%s: the acquirer believes %s (%v); want %q", tt.fault, a.Status, lerr, tt.belief)
			}
			if err := e.srv.SetFault(Fault{Mode: OK}); err != nil {
				t.Fatal(err)
			}
			if tt.reverse {
				rec := record(req)
				for i := range 2 {
					rev := txn.Reversal{Orig: rec, Reason: txn.ReversalReason(sendErr), Repeat: i > 0}
					resp, err := e.c.Reverse(context.Background(), rev)
					if err != nil || resp.Code != "00" {
						t.Errorf("%s: reversal %d = %+v, %v; want 00", tt.fault, i+1, resp, err)
					}
				}
				if a := e.belief(req.STAN); a.Status != Reversed || a.Reversals != 2 {
					t.Errorf("%s: after two reversals the acquirer has %s with %d reversals", tt.fault, a.Status, a.Reversals)
				}
			}
			// The line works again, and the next sale gets its own answer.
			_, next, err := e.sale(300, card(t, "ok"))
			if err != nil || next.Code != "00" || next.RRN == resp.RRN {
				t.Errorf("%s: the next sale = %+v, %v", tt.fault, next, err)
			}
			tot, _ := e.srv.Ledger().Totals(testTID)
			want := int64(300)
			if tt.belief == Authorised && !tt.reverse {
				want += 1200
			}
			if tot.Sales.Amount != want {
				t.Errorf("%s: the acquirer's sales total %d; want %d (no double debit)", tt.fault, tot.Sales.Amount, want)
			}
		}
	})
}

func TestSetFaultDownThenUp(t *testing.T) {
	e := start(t)
	for i := range 3 {
		e.srv.SetFault(Fault{Mode: Down})
		if err := e.c.Echo(context.Background(), e.next()); !errors.Is(err, txn.ErrNotSent) {
			t.Errorf("round %d: Echo() while down = %v; want %v", i, err, txn.ErrNotSent)
		}
		e.srv.SetFault(Fault{Mode: OK})
		if err := e.c.Echo(context.Background(), e.next()); err != nil {
			t.Errorf("round %d: Echo() after down = %v", i, err)
		}
	}
	if got := e.srv.Fault(); got.Mode != OK {
		t.Errorf("Fault() = %v; want ok", got)
	}
}

func TestParseFault(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Fault
		ok   bool
	}{
		{"ok", Fault{Mode: OK}, true},
		{"down", Fault{Mode: Down}, true},
		{"timeout", Fault{Mode: Timeout}, true},
		{"garbage", Fault{Mode: Garbage}, true},
		{"slow:3", Fault{Mode: Slow, Delay: 3 * time.Second}, true},
		{"slow:0.25", Fault{Mode: Slow, Delay: 250 * time.Millisecond}, true},
		{"drop-after-request", Fault{Mode: DropAfterRequest}, true},
		{"duplicate-response", Fault{Mode: Duplicate}, true},
		{"bad-mac", Fault{Mode: BadMAC}, true},
		{"unsigned", Fault{Mode: Unsigned}, true},
		{"echo:4", Fault{Mode: Echo, Field: 4}, true},
		{"echo:90@0200", Fault{Mode: Echo, Field: 90, MTI: "0200"}, true},
		{"code:Z9@0220", Fault{Mode: Code, Code: "Z9", MTI: "0220"}, true},
		{"hold@0500#2", Fault{Mode: Hold, MTI: "0500", Nth: 2}, true},
		{"cut@0320#3", Fault{Mode: Cut, MTI: "0320", Nth: 3}, true},
		{"slow:3@0400", Fault{Mode: Slow, Delay: 3 * time.Second, MTI: "0400"}, true},
		{"echo", Fault{}, false},
		{"echo:39", Fault{}, false},
		{"echo:x", Fault{}, false},
		{"code:a", Fault{}, false},
		{"code:abc", Fault{}, false},
		{"hold@05", Fault{}, false},
		{"hold@0500#0", Fault{}, false},
		{"hold@0500#", Fault{}, false},
		{"down@0200", Fault{}, false},
		{"unsigned:1", Fault{}, false},
		{"slow", Fault{}, false},
		{"slow:", Fault{}, false},
		{"slow:-1", Fault{}, false},
		{"slow:NaN", Fault{}, false},
		{"slow:99999", Fault{}, false},
		{"down:1", Fault{}, false},
		{"OK", Fault{}, false},
		{"", Fault{}, false},
	} {
		got, err := ParseFault(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseFault(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("ParseFault(%q).String() = %q", tt.in, got.String())
		}
	}
}

// eachDialect runs f as a subtest in each dialect the simulator speaks.
func eachDialect(t *testing.T, f func(t *testing.T, d host.Dialect)) {
	net, err := host.NewCUP(host.CUPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	gross, err := host.NewCUP(host.CUPConfig{Totals: "gross", Field22: "right", SignOn: "001"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		d    host.Dialect
	}{{"iso87", host.ISO87{}}, {"cup", net}, {"cup-gross-right22-001", gross}} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.d) })
	}
}

// TestTrackEncrypted: after a CUP sign-on with 60.3 = 004 the pad holds a TDK, the
// terminal sends track 2 encrypted (53 says so; the clear track is nowhere in the
// request) and the acquirer decrypts it under the TDK it issued.
func TestTrackEncrypted(t *testing.T) {
	d, err := host.NewCUP(host.CUPConfig{SignOn: "004"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	srv, addr := serve(t, Config{Location: time.UTC, Dialect: d, Ledger: ledger,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	// A relay between terminal and acquirer keeps what the terminal sent.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan []byte, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				req, err := iso87.ReadFrame(c, iso87.MaxFrame)
				if err != nil {
					return
				}
				sent <- req
				iso87.WriteFrame(up, req)
				if resp, err := iso87.ReadFrame(up, iso87.MaxFrame); err == nil {
					iso87.WriteFrame(c, resp)
				}
			}()
		}
	}()
	e := &env{t: t, srv: srv, addr: ln.Addr().String(), dialect: d}
	e.c = e.client(testTID, testkit.Unhex(t, DefaultMasterKey))
	if err := e.c.SignOn(context.Background(), e.next()); err != nil {
		t.Fatalf("SignOn = %v", err)
	}
	<-sent
	c := card(t, "ok")
	track := string(c.Track2)
	_, resp, err := e.sale(1000, c)
	if err != nil || resp.Code != "00" {
		t.Fatalf("sale with an encrypted track = %+v, %v; want 00 (the acquirer decrypted it)", resp, err)
	}
	req := <-sent
	msg, err := d.Decode(req)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Get(53) != "2610000000000000" {
		t.Errorf("field 53 = %q; want 2610000000000000 (track encrypted)", msg.Get(53))
	}
	if got := msg.Get(35); got == track || len(got) != len(track) {
		t.Errorf("field 35 = %d characters, clear %v; want the track's length, encrypted", len(got), got == track)
	}
	packed := strings.NewReplacer("=", "D").Replace(track)
	if len(packed)%2 == 1 {
		packed += "0"
	}
	if bytes.Contains(bytes.ToUpper([]byte(hex.EncodeToString(req))), []byte(packed[len(packed)-18:len(packed)-2])) {
		t.Errorf("the request holds the track data block in clear")
	}
	// The working keys the acquirer issued are nowhere on its disk or in its debug log.
	srv.mu.Lock()
	k := *srv.keys[testTID]
	srv.mu.Unlock()
	ledgerBytes, _ := os.ReadFile(ledger)
	for name, key := range map[string][]byte{"MAK": k.mac, "PIK": k.pin, "TDK": k.track} {
		if len(key) == 0 {
			t.Fatalf("no %s issued", name)
		}
		for _, form := range [][]byte{key, []byte(hex.EncodeToString(key)), []byte(strings.ToUpper(hex.EncodeToString(key)))} {
			if bytes.Contains(ledgerBytes, form) || bytes.Contains(logs.Bytes(), form) {
				t.Errorf("the %s is in the ledger or the log", name)
			}
		}
	}
}
