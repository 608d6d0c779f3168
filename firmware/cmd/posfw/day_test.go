package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/cardreader/testcards"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/hostsim"
	"posfw/firmware/txn"
	"posfw/ui"
)

// cashier drives a running `posfw sim` through `posfw simctl` only.
type cashier struct {
	t    *testing.T
	sock string
	lang ui.Lang
}

func (s *cashier) do(args ...string) string {
	s.t.Helper()
	return mustSimctl(s.t, s.sock, args...)
}

func (s *cashier) keys(keys string) {
	s.t.Helper()
	s.do(append([]string{"key"}, strings.Fields(keys)...)...)
}

// digits presses each digit of d, then ENTER.
func (s *cashier) digits(d string) {
	s.t.Helper()
	args := []string{"key"}
	for _, c := range d {
		args = append(args, string(c))
	}
	s.do(append(args, "ENTER")...)
}

func (s *cashier) wait(w ui.Text) {
	s.t.Helper()
	s.waitText(w.In(s.lang))
}

func (s *cashier) waitText(text string) {
	s.t.Helper()
	if code, out := simctl(s.t, s.sock, "wait", text, "--timeout", "15"); code != 0 {
		s.t.Fatalf("waiting for %q: %s\nscreen:\n%s", text, out, s.do("screen"))
	}
}

func (s *cashier) sel(label ui.Text) {
	s.t.Helper()
	s.do("select", label.In(s.lang))
}

// done leaves a result screen and waits for the idle menu.
func (s *cashier) done() {
	s.t.Helper()
	s.keys("ENTER")
	s.waitText("8 ")
}

// signIn waits (10 s at most) for the sign-in screen of a sim just started, then signs
// cashier 01 in and waits for the idle menu. stderr is the sim's, shown on a failure.
func (s *cashier) signIn(stderr *bytes.Buffer) {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, out := simctl(s.t, s.sock, "screen"); code == 0 && strings.Contains(out, ui.WordOperator.In(s.lang)) {
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no sign-in screen; stderr:\n%s", stderr)
		}
	}
	s.digits("01")
	s.digits("0000")
	s.waitText("8 ")
}

func (s *cashier) state() map[string]any {
	s.t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(s.do("state")), &st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// startSale chooses Sale, keys amount (digits as keyed) and waits for the card prompt.
func (s *cashier) startSale(amount string) {
	s.t.Helper()
	s.sel(ui.Text{EN: "Sale", ZH: "消费"})
	s.wait(ui.WordAmount)
	s.digits(amount)
	s.wait(ui.WordCard)
}

// sale runs a sale of amount (digits as keyed) with a test card, and a PIN when given.
func (s *cashier) sale(amount, card, pin string) {
	s.t.Helper()
	s.startSale(amount)
	s.do("card", "swipe", card)
	if pin != "" {
		s.wait(ui.WordPIN)
		s.do("pin", pin)
	}
}

func (s *cashier) supervisor(title ui.Text) {
	s.t.Helper()
	s.sel(title)
	s.wait(ui.WordSupervisor)
	s.digits("123456")
}

// nightShift is the clock of the after-midnight day: 00:40 in Beijing is 16:40 UTC the
// day before (issue 18 §2).
const nightShift = "2026-12-06T00:40:00+08:00"

// TestCashiersDay is the day of DESIGN §4 / issue 6, in English and in Chinese, on the
// simulated devices and host, through simctl only; and once more in Beijing at 00:40 on
// a machine whose own zone is UTC, where the local and UTC dates differ.
func TestCashiersDay(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole day takes a while")
	}
	for _, tc := range []day{
		{lang: ui.English, dialect: "iso87"},
		{lang: ui.Chinese, dialect: "iso87"},
		{lang: ui.Chinese, dialect: "iso87", clock: nightShift},
		// Issue 15: the China UnionPay dialect, and a settlement the acquirer first
		// disagrees with, so that the batch is uploaded — in both dialects.
		{lang: ui.English, dialect: "iso87", upload: true},
		{lang: ui.English, dialect: "cup", upload: true},
		{lang: ui.Chinese, dialect: "cup"},
	} {
		t.Run(tc.name(), func(t *testing.T) { cashiersDay(t, tc) })
	}
}

// day is one run of the cashier's day.
type day struct {
	lang    ui.Lang
	dialect string // host.dialect of the terminal and its host simulator
	clock   string // posfw sim --clock; "" is the real time
	upload  bool   // the acquirer answers the first 0500 with 95: batch upload, trailer
}

func (d day) name() string {
	n := string(d.lang)
	if d.clock != "" {
		n += "-after-midnight"
	}
	if d.dialect != "iso87" {
		n += "-" + d.dialect
	}
	if d.upload {
		n += "-upload"
	}
	return n
}

// slipTime finds the local date and time a slip prints.
var slipTime = regexp.MustCompile(`Time +(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)`)

func cashiersDay(t *testing.T, d day) {
	clock := d.clock
	s, data, stop := startDay(t, d, "2s")

	// 1. Sale with a PIN card.
	s.sale("5000", "pin", "1234")
	s.wait(ui.WordApproved)
	s.done()
	p := s.do("printer", "--clear")
	if !strings.Contains(p, "CUSTOMER COPY") || !strings.Contains(p, "622202******3214") || strings.Count(p, "signature") != 0 {
		t.Errorf("PIN sale slips:\n%s\nwant both copies, masked PAN, no signature line", p)
	}
	// The refund below types the date the slip printed, as the cashier reads it.
	printed := slipTime.FindStringSubmatch(p)
	if printed == nil {
		t.Fatalf("PIN sale slip:\n%s\nhas no time line", p)
	}
	slipDate := printed[2] + printed[3]
	if clock != "" && (printed[1]+"-"+slipDate != "2026-1206" || printed[4] != "00" || printed[5] > "50") {
		t.Errorf("PIN sale slip at %s:\n%s\nwant the local time 2026-12-06 00:4x", clock, p)
	}

	if st := s.state(); st["led_green"] != true || st["led_red"] != false {
		t.Errorf("LEDs after an approval = green %v red %v; want green", st["led_green"], st["led_red"])
	}

	// 2. Sale declined 51.
	s.sale("2000", "nsf", "")
	s.wait(ui.WordDeclined)
	s.waitText("51")
	if st := s.state(); st["led_green"] != false || st["led_red"] != true {
		t.Errorf("LEDs after a decline = green %v red %v; want red", st["led_green"], st["led_red"])
	}
	s.done()
	s.do("printer", "--clear")

	// 3. A wrong-card sale voided with the supervisor password.
	s.sale("1234", "ok2", "")
	s.wait(ui.WordApproved)
	s.done()
	s.supervisor(ui.Text{EN: "Void", ZH: "撤销"})
	s.wait(ui.WordTrace)
	s.digits(traceOf(t, data, 1234))
	s.wait(ui.WordConfirm)
	s.keys("ENTER")
	s.wait(ui.WordCard)
	s.keys("ENTER") // no card presented
	s.wait(ui.WordApproved)
	s.done()

	// 4. Refunds against the PIN sale: wrong card refused, partial refund, then too much.
	rrn := rrnOf(t, data, 5000)
	if !strings.HasPrefix(rrn, slipDate) {
		t.Errorf("RRN %s of a sale whose slip says %s; want the acquirer to date it the same local day", rrn, slipDate)
	}
	refund := func(amount, card string) {
		s.supervisor(ui.Text{EN: "Refund", ZH: "退货"})
		s.wait(ui.WordRRN)
		s.digits(rrn)
		s.wait(ui.WordDate)
		s.digits(slipDate)
		s.wait(ui.WordAmount)
		s.digits(amount)
		if card != "" {
			s.wait(ui.WordCard)
			s.do("card", "swipe", card)
		}
	}
	refund("2000", "ok")
	s.wait(ui.WordRefused)
	s.wait(ui.Text{EN: "Not the original card", ZH: "非原交易卡"})
	s.done()
	refund("2000", "pin")
	s.wait(ui.WordApproved)
	s.done()
	refund("4000", "pin")
	s.wait(ui.WordRefused)
	s.wait(ui.Text{EN: "Max refund 30.00", ZH: "超过可退金额30.00"})
	s.done()

	// 5. The host stops answering: the sale is reversed, visibly.
	s.do("fault", "host=timeout")
	s.sale("100", "ok", "")
	s.wait(ui.Text{EN: "No answer, reversing", ZH: "无应答，已登记冲正"})
	s.done()
	if st := s.state(); st["pending_reversals"] != float64(1) {
		t.Errorf("state after a host timeout = %v; want one pending reversal", st)
	}
	s.do("fault", "host=ok")

	// 5b. An answer whose MAC does not verify is no answer (issue 15): the sale is
	// reversed (reason A0) and the terminal signs on again for new keys.
	signOns := strings.Count(readLog(t, data), "mti=0810")
	s.do("fault", "host=bad-mac@0200#1")
	s.sale("200", "ok", "")
	s.wait(ui.Text{EN: "No answer, reversing", ZH: "无应答，已登记冲正"})
	s.done()
	s.do("fault", "host=ok")
	for deadline := time.Now().Add(5 * time.Second); strings.Count(readLog(t, data), "mti=0810") == signOns; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("no sign-on after an answer with a bad MAC")
			break
		}
	}

	// 6. Paper out, then a reprint once paper is back.
	s.do("printer", "--clear")
	s.do("fault", "printer=paper-out")
	s.sale("300", "ok", "") // the reversal goes out before this request
	s.wait(ui.WordApproved)
	s.wait(ui.Text{EN: "Paper out, reprint later", ZH: "缺纸，请装纸后重打印"})
	s.done()
	if st := s.state(); st["pending_reversals"] != float64(0) {
		t.Errorf("state after the next sale = %v; want the reversal sent", st)
	}
	s.do("fault", "printer=ok")
	s.sel(ui.Text{EN: "Reprint", ZH: "重打印"})
	s.sel(ui.Text{EN: "Reprint last", ZH: "重打印最后一笔"})
	s.wait(ui.Text{EN: "Reprinted", ZH: "重打印完成"})
	if p := s.do("printer", "--clear"); !strings.Contains(p, "REPRINT 重打印") || !strings.Contains(p, "CNY 3.00") {
		t.Errorf("reprint:\n%s\nwant the 3.00 slip marked REPRINT", p)
	}
	s.keys("ENTER CANCEL")
	s.waitText("8 ")

	// 7. Settlement; the printed report matches the journal. With upload, the acquirer
	// answers the first 0500 with 95 (after taking it): the terminal uploads the batch
	// (0320), sends the trailer, and both end "balanced after upload".
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
	report := s.do("printer")
	// Approved sales: 50.00 (partly refunded) and 3.00; voided 12.34; refund 20.00.
	for _, want := range []string{"结算报告 SETTLEMENT", "000001", "消费 Sales\n  2", "CNY 53.00", "撤销 Voids\n  1", "CNY 12.34",
		"退货 Refunds\n  1", "CNY 20.00", "CNY 33.00", "BALANCED"} {
		if !strings.Contains(report, want) {
			t.Errorf("settlement report lacks %q:\n%s", want, report)
		}
	}
	if st := s.state(); st["batch"] != float64(2) {
		t.Errorf("batch after settlement = %v; want 2", st["batch"])
	}

	state := s.do("state")
	for _, k := range keyForms(t, hostsim.DefaultMasterKey, hostsim.DefaultBDK, padsim.TestTransportKey) {
		if bytes.Contains([]byte(state), k) {
			t.Errorf("simctl state shows a test key: %s", state)
		}
	}

	// Stop; the journal verifies; no full PAN anywhere in the data directory.
	if err := stop(); err != nil {
		t.Errorf("sim exit: %v", err)
	}
	if code, out, errs := call("journal", "verify", "--data", data); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("journal verify = %d %q %q", code, out, errs)
	}
	// The acquirer agrees: it holds the PIN sale under the slip's date with 20.00 refunded.
	acq, err := hostsim.New(hostsim.Config{Ledger: filepath.Join(data, "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := acq.Ledger().ByRRN(rrn); err != nil || a.Date != slipDate || a.Refunded != 2000 {
		t.Errorf("acquirer's PIN sale = %+v, %v; want date %s, 2000 refunded", a, err, slipDate)
	}
	if got, err := acq.Ledger().Settlement("SIM00001", 1); err != nil || got != string(result) {
		t.Errorf("acquirer's settlement of batch 1 = %q, %v; want %q as the terminal", got, err, result)
	}
	// The acquirer's books and the journal agree, row by row: every approved record of
	// the journal is standing at the acquirer, settled, for the same amount.
	ledger, err := acq.Ledger().List("SIM00001")
	if err != nil {
		t.Fatal(err)
	}
	byRRN := map[string]hostsim.Auth{}
	for _, a := range ledger {
		byRRN[a.RRN] = a
	}
	for _, r := range exported(t, data) {
		if r["status"] == "approved" || r["status"] == "partially_refunded" || r["status"] == "voided" {
			a, ok := byRRN[r["rrn"].(string)]
			if !ok || float64(a.Amount) != r["amount"] || !a.Settled {
				t.Errorf("journal %v %v (RRN %v) at the acquirer: %+v, found %v; want the same amount, settled", r["type"], r["amount"], r["rrn"], a, ok)
			}
		}
	}
	// The journal head sealed by the pad went to the acquirer with the settlement, and the
	// report printed the same one.
	head, err := acq.Ledger().SettledHead("SIM00001", 1)
	parts := strings.Split(head, ":")
	if err != nil || len(parts) != 3 || !strings.Contains(report, "流水校验 Journal head") ||
		!strings.Contains(report, parts[0]+":"+parts[1]) || !strings.Contains(report, "seal "+parts[2]) {
		t.Errorf("journal head at the acquirer = %q, %v; want the sealed head the report prints:\n%s", head, err, report)
	}
	acq.Close()
	// The export dates every record by the local time, with Beijing's offset.
	for _, r := range exported(t, data) {
		c, _ := r["created_at"].(string)
		if !strings.HasSuffix(c, "+08:00") || (clock != "" && !strings.HasPrefix(c, "2026-12-06T00:")) {
			t.Errorf("export created_at = %q; want local time with +08:00 (at %s)", c, clock)
		}
	}
	// No key in clear or in hex anywhere in the data directory (journal, ledger, logs) or
	// in simctl's state: the TMK and the working keys live in the PIN pad (issue 15).
	secrets := keyForms(t, hostsim.DefaultMasterKey, hostsim.DefaultBDK, padsim.TestTransportKey)
	var pans []string
	for _, n := range testcards.Names() {
		c, _ := testcards.Lookup(n)
		pans = append(pans, string(c.PAN))
	}
	filepath.Walk(data, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, pan := range pans {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("%s holds the full PAN of a test card", p)
			}
		}
		for _, k := range secrets {
			if bytes.Contains(b, k) {
				t.Errorf("%s holds a test key (%X...)", p, k[:4])
			}
		}
		return nil
	})
}

// exported is the journal export of a data directory, one map per record.
func exported(t *testing.T, data string) []map[string]any {
	t.Helper()
	code, out, errs := call("journal", "export", "--data", data)
	if code != 0 {
		t.Fatalf("journal export: %s", errs)
	}
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		recs = append(recs, m)
	}
	return recs
}

// traceOf and rrnOf find the newest approved sale of an amount in the journal — what a
// cashier reads off the slip. The journal is shared with the running simulator (WAL).
func traceOf(t *testing.T, data string, amount int64) string {
	return strings.TrimLeft(findSale(t, data, amount)["stan"].(string), "0")
}

func rrnOf(t *testing.T, data string, amount int64) string {
	return findSale(t, data, amount)["rrn"].(string)
}

func findSale(t *testing.T, data string, amount int64) map[string]any {
	t.Helper()
	recs := exported(t, data)
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r["type"] == "sale" && r["amount"] == float64(amount) && r["status"] == "approved" {
			return r
		}
	}
	t.Fatalf("no approved sale of %d in the journal", amount)
	return nil
}

// TestManage: own password change, an administrator adding a cashier, sign-off and the
// new cashier signing in, journal verify from the menu.
func TestManage(t *testing.T) {
	dir := t.TempDir()
	s := &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: ui.English}
	sim := posfwCmd("sim", "--headless", "--lang", "en", "--data", filepath.Join(dir, "var"), "--control", s.sock)
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sim.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- sim.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			sim.Process.Kill()
			t.Error("sim did not stop within 10 s of SIGTERM")
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, out := simctl(t, s.sock, "screen"); code == 0 && strings.Contains(out, "Operator") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no sign-in screen")
		}
	}
	manage := ui.Text{EN: "Manage"}
	s.digits("01")
	s.digits("0000")
	s.waitText("8 Manage")

	s.sel(manage)
	s.waitText("My password")
	s.sel(ui.Text{EN: "My password"})
	s.waitText("Old password")
	s.digits("0000")
	s.digits("1111")
	s.digits("1111")
	s.waitText("Done")
	s.keys("ENTER")
	s.waitText("Sign off")
	s.sel(ui.Text{EN: "Operators"})
	s.waitText("Admin password")
	s.digits("12345678")
	s.waitText("Add cashier")
	s.sel(ui.Text{EN: "Add cashier"})
	s.digits("02")
	s.digits("2222")
	s.digits("2222")
	s.waitText("Done")
	s.keys("ENTER CANCEL")
	s.waitText("Sign off")

	s.sel(ui.Text{EN: "Sign off"})
	s.waitText("Operator")
	s.digits("01")
	s.digits("0000")
	s.waitText("Wrong password") // changed above
	s.keys("ENTER")
	s.waitText("Operator")
	s.digits("02")
	s.digits("2222")
	s.waitText("8 Manage")

	s.sel(manage)
	s.waitText("Sign off")
	s.sel(ui.Text{EN: "Parameters"})
	s.digits("12345678")
	s.waitText("Max sale amount")
	s.sel(ui.Text{EN: "Max sale amount"})
	s.digits("10000")
	s.waitText("Done")
	s.keys("ENTER CANCEL CANCEL")
	s.waitText("8 Manage")
	s.sale("20000", "ok", "")
	s.wait(ui.WordRefused)
	s.waitText("Over limit 100.00")
	s.done()

	// A bad swipe asks for another; the sale goes on with the next card.
	s.sale("700", "bad-track", "")
	s.waitText("Read error, swipe again")
	s.do("fault", "reader=garbage")
	s.do("card", "swipe", "ok")
	s.waitText("Read error, swipe again")
	s.do("fault", "reader=ok")
	s.do("card", "swipe", "ok")
	s.wait(ui.WordApproved)
	s.done()

	s.sel(manage)
	s.waitText("Sign off")
	s.sel(ui.Text{EN: "Journal verify"})
	s.digits("12345678")
	s.waitText("OK")
}

// keyForms are the ways a key could be written down: its bytes, upper- and lower-case
// hex, base64 (JSON's way with bytes).
func keyForms(t *testing.T, keys ...string) [][]byte {
	var out [][]byte
	for _, k := range keys {
		b, err := hex.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b, []byte(strings.ToUpper(k)), []byte(strings.ToLower(k)),
			[]byte(base64.StdEncoding.EncodeToString(b)))
	}
	return out
}

// readLog is the terminal's log so far (the host simulator of posfw sim logs there too).
func readLog(t *testing.T, data string) string {
	b, _ := os.ReadFile(filepath.Join(data, "log", "posfw.log"))
	return string(b)
}
