package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
	"posfw/ui"
)

// Screens of the chip flows (firmware/app/chip.go), as the cashier reads them.
var (
	chipRemove   = ui.Text{EN: "Remove card", ZH: "请拔卡"}
	chipInsert   = ui.Text{EN: "Please insert card", ZH: "请插卡"}
	chipError    = ui.Text{EN: "Chip error", ZH: "读芯片失败"}
	chipSwipeNow = ui.Text{EN: "Chip failed: swipe card", ZH: "芯片无法读取，请刷卡"}
	chipUseChip  = ui.Text{EN: "Chip card: insert chip", ZH: "芯片卡请插卡"}
	chipDeclined = ui.Text{EN: "Declined by the card", ZH: "卡片拒绝交易"}
	chipReversed = ui.Text{EN: "Card refused, reversing", ZH: "卡片拒绝，已登记冲正"}
	processing   = ui.Text{EN: "Processing", ZH: "处理中"}
)

// startDay starts `posfw sim` on a configuration of the day's language, dialect and
// clock, with the host's response timeout, and signs cashier 01 in. stop sends SIGTERM and reports how the sim ended.
func startDay(t *testing.T, d day, timeout string) (s *cashier, data string, stop func() error) {
	t.Helper()
	signOn := ""
	if d.dialect == "cup" {
		signOn = "sign_on = \"004\"\n"
	}
	dir := t.TempDir()
	data = filepath.Join(dir, "var")
	cfg := filepath.Join(dir, "posfw.toml")
	os.WriteFile(cfg, []byte(`terminal_id = "SIM00001"
merchant_id = "898000000000001"
merchant_name = "POSFW DEMO"
language = "`+string(d.lang)+`"
timezone = "Asia/Shanghai"
[host]
address = "127.0.0.1:1"
response_timeout = "`+timeout+`"
dialect = "`+d.dialect+`"
`+signOn), 0o600)
	s = &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: d.lang}
	var stderr bytes.Buffer
	args := []string{"sim", "--headless", "--data", data, "--control", s.sock, "--config", cfg}
	if d.clock != "" {
		args = append(args, "--clock", d.clock)
	}
	sim := posfwCmd(args...)
	// The machine's zone is not the terminal's: nothing may fall back on it.
	sim.Env = append(sim.Env, "TZ=UTC")
	sim.Stderr = &stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sim.Wait() }()
	t.Cleanup(func() { sim.Process.Kill() })
	s.signIn(&stderr)
	return s, data, func() error {
		sim.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Logf("sim stderr:\n%s", stderr.String())
			}
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("sim did not stop")
			return nil
		}
	}
}

// chipSale starts a sale and presents a chip card: how is "insert" or "tap".
func (s *cashier) chipSale(amount, how, card string) {
	s.t.Helper()
	s.startSale(amount)
	s.do("card", how, card)
}

// remove waits for "Remove card" and takes the card out.
func (s *cashier) remove() {
	s.t.Helper()
	s.wait(chipRemove)
	s.do("card", "remove")
}

// slip takes the printed slips off the printer and checks they hold every want.
func (s *cashier) slip(what string, want ...string) string {
	s.t.Helper()
	p := s.do("printer", "--clear")
	for _, w := range want {
		if !strings.Contains(p, w) {
			s.t.Errorf("%s slips lack %q:\n%s", what, w, p)
		}
	}
	return p
}

// TestChipDay is the cashier's day with chip and contactless cards (issue 16), in both
// host dialects, through simctl only: an online-PIN chip sale, a tap, a tap over the
// contactless limit that must be inserted, a card that declines offline, a card that
// refuses the host's approval, a card pulled out while the host is asked, a chip void and
// a contactless refund, the fallback to the stripe after three chip failures, and the
// settlement — the journal and the acquirer's ledger agreeing record by record.
func TestChipDay(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole day takes a while")
	}
	// The CUP day's acquirer asks for the batch upload, which carries each chip record's
	// final cryptogram (its TC).
	// The CUP acquirer takes each chip record's TC after a balanced settlement too (the
	// IC card TC upload).
	// And once at 00:40 in Beijing, when the UTC date is still yesterday's: the card is
	// given the local date (9A).
	for _, d := range []day{{lang: ui.English, dialect: "iso87"}, {lang: ui.Chinese, dialect: "cup"}, {lang: ui.English, dialect: "cup", upload: true},
		{lang: ui.Chinese, dialect: "iso87", clock: nightShift}} {
		t.Run(d.name(), func(t *testing.T) { chipDay(t, d) })
	}
}

func chipDay(t *testing.T, d day) {
	s, data, stop := startDay(t, d, "4s")

	// 0. A card inserted and taken out again at the idle screen leaves its arrival in the
	// reader's queue: the next card prompt must not take it for a chip failure.
	s.do("card", "insert", "chip")
	s.do("card", "remove")

	// 1. A chip sale with online PIN: the slip prints the AID, TVR/TSI and the TC.
	s.startSale("8800")
	time.Sleep(300 * time.Millisecond) // the stale arrival is taken and dropped
	if scr := s.do("screen"); strings.Contains(scr, chipError.In(s.lang)) {
		t.Errorf("a card inserted and removed at idle counted as a chip failure:\n%s", scr)
	}
	s.do("card", "insert", "chip-pin")
	s.wait(ui.WordPIN)
	s.do("pin", "1234")
	s.remove()
	s.wait(ui.WordApproved)
	s.done()
	p := s.slip("chip sale", "621226******0027 I", "AID", "A000000333010101", "TVR", "TSI", "TC ", "ATC", "CUSTOMER COPY")
	if strings.Contains(p, "signature") {
		t.Errorf("online-PIN chip sale slip asks for a signature:\n%s", p)
	}

	// 2. A tap under the CVM limit: one tap, no PIN, no card to remove.
	s.chipSale("2000", "tap", "tap")
	s.wait(ui.WordApproved)
	s.done()
	if p := s.slip("tap sale", "621226******0084 C", "A000000333010101"); strings.Contains(p, "signature") {
		t.Errorf("a tap under the CVM limit (no CVM) asks for a signature:\n%s", p)
	}

	// 2b. The same tap again at once: the cashier is warned and goes back; nothing is sent.
	s.chipSale("2000", "tap", "tap")
	s.wait(ui.Text{EN: "Same card, same amount", ZH: "同卡同金额刚刚交易过"})
	s.keys("CANCEL")
	s.waitText("8 ")

	// 3. Over the contactless limit: "please insert card", then the chip.
	s.chipSale("150000", "tap", "tap")
	s.wait(chipInsert)
	s.do("card", "remove")
	s.do("card", "insert", "chip")
	s.remove()
	s.wait(ui.WordApproved)
	s.done()
	s.slip("inserted after a tap", "621226******0019 I")

	// 4. A card that declines offline (AAC): nothing goes to the host.
	s.chipSale("1000", "insert", "chip-aac")
	s.remove()
	s.wait(chipDeclined)
	s.done()

	// 5. The host approves, the card refuses the second GENERATE AC: reversed.
	s.chipSale("3000", "insert", "chip-refuse2")
	s.remove()
	s.wait(chipReversed)
	s.done()
	s.slip("card-declined sale", "CARD DECLINED", "WILL BE REVERSED")
	if st := s.state(); st["pending_reversals"] != float64(1) {
		t.Errorf("state after the card refused an approval = %v; want one pending reversal", st["pending_reversals"])
	}

	// 6. The card is pulled out while the host is asked: the approval that comes is
	// reversed, nothing approved that the card did not accept.
	s.do("fault", "host=slow:2@0200#1")
	s.chipSale("4000", "insert", "chip")
	s.wait(processing)
	s.do("card", "remove")
	s.wait(chipReversed)
	s.done()
	s.do("fault", "host=ok")
	s.do("printer", "--clear")

	// 7. A chip void of the PIN sale, the card inserted (read without a cryptogram).
	s.supervisor(ui.Text{EN: "Void", ZH: "撤销"})
	s.wait(ui.WordTrace)
	s.digits(traceOf(t, data, 8800))
	s.wait(ui.WordConfirm)
	s.keys("ENTER")
	s.wait(ui.WordCard)
	s.do("card", "insert", "chip-pin")
	s.remove()
	s.wait(ui.WordApproved)
	s.done()

	// 8. A contactless refund of part of the tap sale, back to the same card.
	rrn := rrnOf(t, data, 2000)
	slipDate := findSale(t, data, 2000)["created_at"].(string)[5:10]
	slipDate = slipDate[:2] + slipDate[3:]
	s.supervisor(ui.Text{EN: "Refund", ZH: "退货"})
	s.wait(ui.WordRRN)
	s.digits(rrn)
	s.wait(ui.WordDate)
	s.digits(slipDate)
	s.wait(ui.WordAmount)
	s.digits("500")
	s.wait(ui.WordCard)
	s.do("card", "tap", "tap")
	s.wait(ui.WordApproved)
	s.done()
	s.do("card", "remove")

	// 9. Fallback: a chip card's stripe is sent to the chip; after three chip failures
	// the swipe is taken, marked as a fallback.
	s.startSale("6000")
	s.do("card", "swipe", "fallback")
	s.wait(chipUseChip)
	for i := 1; i <= 3; i++ {
		s.do("card", "insert", "fallback")
		if i < 3 {
			s.waitText(fmt.Sprintf("%d/3", i)) // "Chip error 1/3: reinsert"
		} else {
			s.wait(chipSwipeNow)
		}
		s.do("card", "remove")
	}
	s.do("card", "swipe", "fallback")
	s.wait(ui.WordApproved)
	s.done()
	s.slip("fallback sale", "621226******0100 F")

	// 10. Settlement: sales 20.00 (5.00 refunded), 1500.00 and 60.00; the 88.00 voided.
	result := txn.SettledBalanced
	if d.upload {
		s.do("fault", "host=code:95@0500#1")
		result = txn.SettledAfterUpload
	}
	s.sel(ui.Text{EN: "Settlement", ZH: "结算"})
	s.wait(ui.WordConfirm)
	s.keys("ENTER")
	s.wait(txn.SettleResults[result])
	s.done()
	s.slip("settlement", "消费 Sales\n  3", "CNY 1,580.00", "撤销 Voids\n  1", "CNY 88.00", "退货 Refunds\n  1", "CNY 5.00")

	if err := stop(); err != nil {
		t.Errorf("sim exit: %v", err)
	}
	if code, out, errs := call("journal", "verify", "--data", data); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("journal verify = %d %q %q", code, out, errs)
	}
	acq, err := hostsim.New(hostsim.Config{Ledger: filepath.Join(data, "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer acq.Close()
	ledger, err := acq.Ledger().List("SIM00001")
	if err != nil {
		t.Fatal(err)
	}
	byRRN := map[string]hostsim.Auth{}
	for _, a := range ledger {
		byRRN[a.RRN] = a
	}
	recs := exported(t, data)
	reversed, chipSales := 0, 0
	for _, r := range recs {
		rrn, _ := r["rrn"].(string)
		a, ok := byRRN[rrn]
		switch r["status"] {
		case "approved", "partially_refunded", "voided":
			if !ok || float64(a.Amount) != r["amount"] || !a.Settled {
				t.Errorf("journal %v %v (RRN %v) at the acquirer: %+v, found %v; want the same amount, settled", r["type"], r["amount"], rrn, a, ok)
			}
			chip := r["entry_mode"] == "chip" || r["entry_mode"] == "contactless"
			if !chip || r["type"] != "sale" || !ok {
				break
			}
			// The issuer verified the sale's ARQC; the upload carried the card's final
			// cryptogram: a TC from a contact card, the tap's ARQC (it has no second one).
			chipSales++
			if n, found, err := acq.Ledger().Chip(a.ID); err != nil || !found || !n.Verified {
				t.Errorf("chip sale %v (RRN %v): acquirer's chip note %+v, %v, %v; want its ARQC verified", r["amount"], rrn, n, found, err)
			}
			// A batch upload (asked for by a 95) or CUP's TC upload after a balanced
			// settlement carries it; an iso87 acquirer that agreed gets none.
			wantUp := (d.upload || d.dialect == "cup") && r["status"] != "voided"
			want := map[any]string{"chip": "40", "contactless": "80"}[r["entry_mode"]]
			if _, cid, found, err := acq.Ledger().UploadedCryptogram("SIM00001", 1, a.STAN); err != nil || found != wantUp || (wantUp && cid != want) {
				t.Errorf("chip sale %v (RRN %v): uploaded cryptogram kind %q, found %v, %v; want uploaded %v (%s)", r["amount"], rrn, cid, found, err, wantUp, want)
			}
		case "reversed":
			reversed++
			if ok && a.Status != hostsim.Reversed {
				t.Errorf("journal reversed %v %v (RRN %v); the acquirer holds it standing: %+v", r["type"], r["amount"], rrn, a)
			}
		}
	}
	if chipSales != 3 {
		t.Errorf("%d chip sales standing at the acquirer; want 3 (the voided PIN sale, the tap, the inserted one)", chipSales)
	}
	if reversed != 2 {
		t.Errorf("journal has %d reversed records; want 2 (the card that refused, the card pulled out)", reversed)
	}
	if d.clock != "" {
		// The chip data the card was given and the host got carry the local date.
		j, err := journal.Open(filepath.Join(data, "journal.db"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := j.Find(context.Background(), journal.Query{Limit: 1000})
		j.Close()
		if err != nil {
			t.Fatal(err)
		}
		dated := 0
		for _, r := range recs {
			raw, _ := hex.DecodeString(r.ICC)
			l, err := tlv.Parse(raw)
			if err != nil || len(raw) == 0 {
				continue
			}
			dated++
			if got := fmt.Sprintf("%X", l.Value(0x9A)); got != "261206" {
				t.Errorf("%s %d at %s: 9A %s; want the local date 261206", r.Type, r.Amount, d.clock, got)
			}
		}
		if dated == 0 {
			t.Error("no chip record with chip data in the journal")
		}
	}

	// No chip card's PAN anywhere in the data directory.
	var pans []string
	for _, n := range cardsim.Names() {
		if p, err := cardsim.Lookup(n); err == nil {
			pans = append(pans, p.PAN)
		}
	}
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, pan := range pans {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("%s holds the full PAN of a chip test card", p)
			}
		}
		return nil
	})
}
