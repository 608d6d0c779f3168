package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/qrcode/qrtest"
	"posfw/firmware/hostsim"
	"posfw/firmware/qr"
	"posfw/ui"
)

// Issue 17 through simctl only: QR payments scanned from the customer's phone.

const (
	wechatCode = "134567890123456789" // a WeChat Pay payment code (18 digits, 13...)
	alipayCode = "28123456789012345678"
)

var orderNo = regexp.MustCompile(`\b\d{14}\b`)

// qrSim starts a headless sim on data (made when new) and signs cashier 01 in.
func qrSim(t *testing.T, dir string, dialect ...string) (*cashier, func(sig os.Signal) error) {
	t.Helper()
	data := filepath.Join(dir, "var")
	cfg := filepath.Join(dir, "posfw.toml")
	d := "iso87"
	if len(dialect) > 0 {
		d = dialect[0]
	}
	os.WriteFile(cfg, []byte(`terminal_id = "SIM00001"
merchant_id = "898000000000001"
merchant_name = "POSFW DEMO"
language = "en"
timezone = "Asia/Shanghai"
[host]
address = "127.0.0.1:1"
response_timeout = "2s"
dialect = "`+d+`"
`), 0o600)
	s := &cashier{t: t, sock: filepath.Join(dir, "sim.sock"), lang: ui.English}
	os.Remove(s.sock)
	var stderr bytes.Buffer
	sim := posfwCmd("sim", "--headless", "--data", data, "--control", s.sock, "--config", cfg)
	sim.Stderr = &stderr
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sim.Wait() }()
	t.Cleanup(func() { sim.Process.Kill() })
	s.signIn(&stderr)
	// The terminal signs on by itself; a QR message needs the working keys.
	for deadline := time.Now().Add(10 * time.Second); s.state()["signed_on"] != true; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not signed on; stderr:\n%s", stderr.String())
		}
	}
	stop := func(sig os.Signal) error {
		sim.Process.Signal(sig)
		select {
		case err := <-exited:
			if sig == syscall.SIGKILL {
				return nil
			}
			if err != nil {
				return errors.New(err.Error() + "\n" + stderr.String())
			}
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("sim did not stop")
		}
	}
	return s, stop
}

// qrPay starts a QR payment: the menu, the amount, the code shown to the scanner.
func (s *cashier) qrPay(amount, code string) {
	s.t.Helper()
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "Scan customer code"})
	s.wait(ui.WordAmount)
	s.digits(amount)
	s.waitText("F1: key the code")
	s.do("scan", code)
}

// qrBack leaves a result screen and the QR menu for the idle menu.
func (s *cashier) qrBack() {
	s.t.Helper()
	s.keys("ENTER")
	s.waitText("1 Scan customer code")
	s.keys("CANCEL")
	s.waitText("8 ")
}

// ledgerOrders is the acquirer's book of the terminal's QR orders (read after the sim
// stopped).
func ledgerOrders(t *testing.T, data string) map[string]hostsim.QROrder {
	t.Helper()
	acq, err := hostsim.New(hostsim.Config{Ledger: filepath.Join(data, "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer acq.Close()
	list, err := acq.Ledger().Orders("SIM00001")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]hostsim.QROrder{}
	for _, o := range list {
		m[o.No] = o
	}
	return m
}

// TestQRPayments: a bad code refused on the screen before anything is sent; a payment
// paid at once, one after "user paying", one cancelled when the customer never
// confirms; a partial refund to the original order scanned from its slip and a second
// one over the original refused; a void with the supervisor's password; settlement
// with card and QR totals apart, per wallet; and the journal and the acquirer agreeing
// on every order.
func TestQRPayments(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for customers confirming on their phones")
	}
	for _, dialect := range []string{"iso87", "cup"} {
		t.Run(dialect, func(t *testing.T) { qrPayments(t, dialect) })
	}
}

func qrPayments(t *testing.T, dialect string) {
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	s, stop := qrSim(t, dir, dialect)

	// A code that is no wallet's is refused on the screen; nothing is sent.
	s.qrPay("1000", "9912345678")
	s.waitText("Not a payment code")
	s.keys("CANCEL")
	s.waitText("1 Scan customer code")
	s.keys("CANCEL")
	s.waitText("8 ")

	// Paid at once.
	s.qrPay("1000", wechatCode)
	s.wait(ui.WordApproved)
	screen := s.do("screen")
	paid := orderNo.FindString(screen)
	if paid == "" || !strings.Contains(screen, "PAID") || !strings.Contains(screen, "WeChat Pay") {
		t.Fatalf("paid screen:\n%s\nwant PAID, the wallet and the order number", screen)
	}
	s.qrBack()
	p := s.do("printer", "--clear")
	for _, want := range []string{"QR PAYMENT", "WeChat Pay", paid, "1345**********6789", "PAID", "CUSTOMER COPY"} {
		if !strings.Contains(p, want) {
			t.Errorf("payment slips lack %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, wechatCode) {
		t.Error("a slip holds the customer's payment code")
	}

	// "User paying": the terminal queries until the wallet says paid (the 2nd query).
	s.qrPay("1032", alipayCode)
	s.waitText("Customer paying")
	s.wait(ui.WordApproved)
	paying := orderNo.FindString(s.do("screen"))
	s.qrBack()
	s.do("printer", "--clear")

	// The customer never confirms: the order is cancelled after the last query.
	s.qrPay("1039", wechatCode)
	s.waitText("Customer paying")
	if code, out := simctl(t, s.sock, "wait", "Order cancelled", "--timeout", "30"); code != 0 {
		t.Fatalf("no cancel: %s\n%s", out, s.do("screen"))
	}
	cancelled := orderNo.FindString(s.do("screen"))
	s.qrBack()
	if p := s.do("printer", "--clear"); !strings.Contains(p, "CANCELLED") || strings.Contains(p, "CUSTOMER COPY") {
		t.Errorf("cancelled order's slip:\n%s\nwant CANCELLED, merchant copy only", p)
	}

	// A partial refund to the paid order, its number scanned from the slip's QR.
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "QR refund"})
	s.wait(ui.WordSupervisor)
	s.digits("123456")
	s.waitText("Scan slip QR")
	s.do("scan", paid)
	s.waitText("Refundable 10.00")
	s.digits("300")
	s.wait(ui.WordApproved)
	s.qrBack()
	if p := s.do("printer", "--clear"); !strings.Contains(p, "QR REFUND") || !strings.Contains(p, paid) || !strings.Contains(p, "-3.00") {
		t.Errorf("refund slip:\n%s\nwant QR REFUND, the original order, -3.00", p)
	}
	// The paid order's slip again, with what is refunded of it.
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "QR reprint"})
	s.waitText("Scan slip QR")
	s.do("scan", paid)
	s.waitText("PAID")
	s.qrBack()
	if p := s.do("printer", "--clear"); !strings.Contains(p, "REPRINT") || !strings.Contains(p, paid) || !strings.Contains(p, "QR PAYMENT") || !strings.Contains(p, "CNY 3.00") {
		t.Errorf("reprint:\n%s\nwant REPRINT of the paid order, 3.00 refunded", p)
	}
	// A second refund over what is left is refused; the order number is keyed this time.
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "QR refund"})
	s.wait(ui.WordSupervisor)
	s.digits("123456")
	s.waitText("Scan slip QR")
	s.keys("F1")
	s.digits(paid)
	s.waitText("Refundable 7.00")
	s.digits("800")
	s.wait(ui.WordRefused)
	s.waitText("Max refund 7.00")
	s.qrBack()

	// A void of the alipay payment, with the supervisor's password.
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "QR void"})
	s.wait(ui.WordSupervisor)
	s.digits("123456")
	s.waitText("Scan slip QR")
	s.do("scan", paying)
	s.wait(ui.WordConfirm)
	s.keys("ENTER")
	s.wait(ui.WordApproved)
	s.qrBack()
	s.do("printer", "--clear")

	// A card sale, and the settlement: card and QR apart, QR per wallet.
	s.sale("5000", "ok", "")
	s.wait(ui.WordApproved)
	s.done()
	s.do("printer", "--clear")
	s.sel(ui.Text{EN: "Settlement"})
	s.waitText("WeChat Pay 1 10.00")
	s.keys("ENTER")
	s.waitText("BALANCED")
	rep := s.do("printer", "--clear")
	for _, want := range []string{"QR payments", "WeChat Pay", "Alipay", "Payments 1", "Refunds 1", "Voids 1", "CNY 50.00"} {
		if !strings.Contains(rep, want) {
			t.Errorf("settlement report lacks %q:\n%s", want, rep)
		}
	}
	s.done()

	if err := stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := call("journal", "verify", "--data", data); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("journal verify = %d %q %q", code, out, errs)
	}
	// The terminal and the acquirer agree on every order; each was paid once.
	books := ledgerOrders(t, data)
	want := map[string]string{paid: "paid", paying: "voided", cancelled: "cancelled"}
	exportedOrders := 0
	for _, r := range exported(t, data) {
		no, _ := r["order_no"].(string)
		if no == "" {
			continue
		}
		exportedOrders++
		a, ok := books[no]
		st := r["status"].(string)
		if !ok {
			t.Errorf("order %s (%s %s) not at the acquirer", no, r["type"], st)
			continue
		}
		if a.Status != st && !(st == "paid" && a.Kind != "payment" && a.Status == "paid") {
			t.Errorf("order %s: journal %s, acquirer %s", no, st, a.Status)
		}
		if a.Kind == "payment" && a.Pays != 1 {
			t.Errorf("order %s sent %d times", no, a.Pays)
		}
		if w, ok := want[no]; ok && st != w {
			t.Errorf("order %s = %s; want %s", no, st, w)
		}
		if no == paid && (r["refunded"] != float64(300) || a.Refunded != 300) {
			t.Errorf("paid order refunded: journal %v, acquirer %d; want 300", r["refunded"], a.Refunded)
		}
	}
	if exportedOrders != 5 || len(books) != 5 {
		t.Errorf("orders: %d exported, %d at the acquirer; want 5 each (3 payments, a refund, a void; the refused refund never left)", exportedOrders, len(books))
	}
	walkData(t, data, wechatCode)
}

// walkData fails when any file under data holds s.
func walkData(t *testing.T, data, s string) {
	t.Helper()
	filepath.Walk(data, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(s)) && filepath.Base(p) != "ledger.db" && !strings.HasPrefix(filepath.Base(p), "ledger.db-") {
			t.Errorf("%s holds the payment code", p)
		}
		return nil
	})
}

// TestQROrderPowerCut: the power goes (kill -9) while the customer confirms; after the
// restart the order is queried and, still unconfirmed, cancelled: it ends once, never
// paid twice, and the terminal and the acquirer agree.
func TestQROrderPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the order to be cancelled after a restart")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	s, stop := qrSim(t, dir)
	s.qrPay("1039", wechatCode)
	s.waitText("Customer paying")
	stop(syscall.SIGKILL)

	s, stop = qrSim(t, dir)
	deadline := time.Now().Add(60 * time.Second)
	for s.state()["qr_open"] != float64(0) {
		if time.Now().After(deadline) {
			t.Fatalf("the order in flight is still open a minute after the restart: %v", s.state())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var orders []map[string]any
	for _, r := range exported(t, data) {
		if r["order_no"] != "" && r["order_no"] != nil {
			orders = append(orders, r)
		}
	}
	if len(orders) != 1 || orders[0]["status"] != "cancelled" {
		b, _ := json.Marshal(orders)
		t.Fatalf("orders after the restart: %s; want one, cancelled", b)
	}
	books := ledgerOrders(t, data)
	a, ok := books[orders[0]["order_no"].(string)]
	if !ok || a.Status != "cancelled" || a.Pays != 1 || a.Cancels != 1 || a.Queries == 0 {
		t.Errorf("acquirer's order = %+v, %v; want cancelled, paid once, queried, cancelled once", a, ok)
	}
	if code, out, errs := call("journal", "verify", "--data", data); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("journal verify = %d %q %q", code, out, errs)
	}
}

// TestQRMerchantPresented: the terminal shows a dynamic EMVCo code with a countdown;
// the test reads it off simctl's screenshot with a real QR reader, checks the payload
// (format, point of initiation 12, amount, currency, country, the order in 62/01, the
// terminal in 62/07, the CRC) and pays it at the acquirer as the customer's wallet
// would; the terminal's next query finds it paid.
func TestQRMerchantPresented(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole sim")
	}
	bin := lookZbar(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	s, stop := qrSim(t, dir)
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "Show merchant code"})
	s.wait(ui.WordAmount)
	s.digits("1234")
	s.waitText("Scan to pay 12.34")
	shot := filepath.Join(dir, "shown.png")
	s.do("screenshot", shot)
	got := qrtest.DecodeFile(t, bin, shot)
	if len(got) != 1 {
		t.Fatalf("zbarimg read %q from the screenshot; want one code", got)
	}
	p, err := qr.Parse(got[0])
	if err != nil {
		t.Fatalf("the code on screen %q: %v", got[0], err)
	}
	no := p.Sub("62", "01")
	for _, c := range []struct{ what, got, want string }{
		{"point of initiation", p.Get("01"), "12"},
		{"amount", p.Get("54"), "12.34"},
		{"currency", p.Get("53"), "156"},
		{"country", p.Get("58"), "CN"},
		{"merchant name", p.Get("59"), "POSFW DEMO"},
		{"terminal label", p.Sub("62", "07"), "SIM00001"},
		{"order number digits", strings.Repeat("d", len(orderNo.FindString(no))), strings.Repeat("d", 14)},
	} {
		if c.got != c.want {
			t.Errorf("code on screen: %s %q; want %q", c.what, c.got, c.want)
		}
	}
	// The customer's wallet pays it, at the acquirer (the sim's ledger, another handle).
	acq, err := hostsim.New(hostsim.Config{Ledger: filepath.Join(data, "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acq.Ledger().PayMerchantQR(got[0], "alipay", "2088****1234"); err != nil {
		t.Fatalf("paying the code: %v", err)
	}
	acq.Close()
	s.wait(ui.WordApproved)
	if screen := s.do("screen"); !strings.Contains(screen, "PAID") || !strings.Contains(screen, no) || !strings.Contains(screen, "Alipay") {
		t.Errorf("after the wallet paid:\n%s\nwant PAID, the order, Alipay", screen)
	}
	s.qrBack()
	if p := s.do("printer", "--clear"); !strings.Contains(p, no) || !strings.Contains(p, "2088****1234") {
		t.Errorf("slip:\n%s\nwant the order and the payer", p)
	}
	// The customer walks away: CANCEL closes the order at once, at the acquirer too.
	s.sel(ui.Text{EN: "QR pay"})
	s.sel(ui.Text{EN: "Show merchant code"})
	s.wait(ui.WordAmount)
	s.digits("500")
	s.waitText("Scan to pay 5.00")
	s.keys("CANCEL")
	s.waitText("Order cancelled")
	closed := orderNo.FindString(s.do("screen"))
	s.qrBack()
	if err := stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if a := ledgerOrders(t, data)[closed]; a.Status != "cancelled" || a.Cancels != 1 {
		t.Errorf("acquirer's closed order %+v; want cancelled once", a)
	}
	if a := ledgerOrders(t, data)[no]; a.Status != "paid" || a.Amount != 1234 || a.Wallet != "alipay" {
		t.Errorf("acquirer's order %+v; want paid 12.34 by alipay", a)
	}
}
