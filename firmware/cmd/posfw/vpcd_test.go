package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/pcsc"
	"posfw/drivers/emv/pcsc/pcsctest"
	"posfw/drivers/emv/tlv"
	"posfw/drivers/emv/vpcd"
	"posfw/firmware/emv"
)

func TestVpcdCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"vpcd", "--card", "nosuch"}, 2, `no test chip card named "nosuch" (have `},
		{[]string{"vpcd", "--addr", "35963"}, 2, `--addr "35963" is not host:port`},
		{[]string{"vpcd", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"vpcd", "--addr", "127.0.0.1:1"}, 1, "no virtual reader at 127.0.0.1:1: is pcscd running with vsmartcard-vpcd?"},
	} {
		code, _, errs := call(tc.args...)
		name := strings.Join(tc.args, " ")
		if code != tc.code || !strings.Contains(errs, tc.stderr) || strings.Count(errs, "\n") != 1 {
			t.Errorf("posfw %s = exit %d, stderr %q; want exit %d and one line containing %q", name, code, errs, tc.code, tc.stderr)
		}
	}
}

// A contact sale on the card simulator in a real PC/SC reader: `posfw vpcd` puts the
// chip card into pcscd's virtual reader, the PC/SC driver finds it there and the EMV
// kernel runs through pcscd to an ARQC the issuer verifies, then completes it with the
// issuer's ARPC to a TC; Ctrl-C on `posfw vpcd` takes the card out.
func TestVpcdContactSaleOverPCSC(t *testing.T) {
	env := pcsctest.Start(t)
	cmd := exec.Command(os.Args[0], "vpcd", "--card", "chip", "--addr", env.Addr)
	cmd.Env = append(os.Environ(), "POSFW_BE_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	r := pcsc.New(env.Reader, pcsc.Options{})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e, err := r.Wait(ctx); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want the card inserted (posfw vpcd: %s)", e, err, stderr.String())
	}

	k := &emv.Kernel{P: emv.DefaultParams()}
	var trace []string
	k.Trace = func(line string) { trace = append(trace, line) }
	tx, res := k.Contact(r, emv.Txn{Amount: 100})
	if res.Outcome != emv.Online {
		t.Fatalf("Contact over PC/SC = %s (%s); want Online\n%s", res.Outcome, res.Reason, strings.Join(trace, "\n"))
	}
	if res.CID&0xC0 != cidARQC || len(res.AC) != 8 {
		t.Fatalf("first GENERATE AC: CID %02X, AC % X; want an 8-byte ARQC", res.CID, res.AC)
	}
	l, err := tlv.Parse(res.Field55)
	if err != nil {
		t.Fatalf("field 55: %v", err)
	}
	get := func(tag tlv.Tag) ([]byte, bool) { o, ok := l.Find(tag); return o.Value, ok }
	p, err := cardsim.Lookup("chip")
	if err != nil {
		t.Fatal(err)
	}
	iss := emvcrypto.TestIssuer(p.Issuer)
	if err := iss.VerifyCryptogram(string(res.Card.PAN), res.Card.PSN, get, res.AC); err != nil {
		t.Fatalf("the issuer does not verify the ARQC that came through pcscd: %v", err)
	}
	atc, _ := get(0x9F36)
	iad, err := iss.IssuerAuthData(string(res.Card.PAN), res.Card.PSN, atc, res.AC, []byte("00"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := emv.ParseHostICC(emv.HostICC{ARC: "00", IssuerAuth: iad}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	res = tx.Complete(emv.HostResult{Answered: true, ResponseCode: "00", ICC: back})
	if res.Outcome != emv.Approved || res.CID&0xC0 != cidTC {
		t.Fatalf("Complete = %s (%s), CID %02X; want Approved with a TC", res.Outcome, res.Reason, res.CID)
	}

	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("posfw vpcd after Ctrl-C: %v; want exit 0 (stderr %q)", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("posfw vpcd did not end on Ctrl-C")
	}
	if e, err := r.Wait(ctx); err != nil || e != chipreader.EventRemoved {
		t.Errorf("Wait after Ctrl-C = %q, %v; want the card removed", e, err)
	}
	if !strings.Contains(stderr.String(), "card chip taken out") {
		t.Errorf("posfw vpcd said %q; want it to say the card was taken out", stderr.String())
	}
}

// The self test of a board whose chip reader is a PC/SC reader: it answers without a
// card, and powers the card in it (the simulator, in vpcd's reader).
func TestSelftestPCSCReader(t *testing.T) {
	env := pcsctest.Start(t)
	base, err := os.ReadFile("../../../board/boards/rpi-terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/pcsc.toml"
	src := string(base) + "\n[serial.chip]\nport = \"pcsc:" + env.Reader + "\"\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	chipLine := func() string {
		_, out, errs := call("selftest", "--board", file)
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "chip reader on PC/SC") {
				return l
			}
		}
		t.Fatalf("selftest printed no PC/SC chip reader line:\n%s%s", out, errs)
		return ""
	}
	if l := chipLine(); !strings.HasPrefix(l, "PASS chip") || !strings.Contains(l, "answers, no card in it") {
		t.Errorf("selftest without a card: %q; want PASS chip ... answers, no card in it", l)
	}

	card, err := cardsim.Open("chip")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- vpcd.Insert(ctx, env.Addr, card) }()
	defer func() { cancel(); <-done }()
	// pcscd sees the card at its next look (400 ms).
	r := pcsc.New(env.Reader, pcsc.Options{})
	defer r.Close()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if e, err := r.Wait(wctx); err != nil || e != chipreader.EventInserted {
		t.Fatalf("Wait = %q, %v; want the card inserted", e, err)
	}
	if l := chipLine(); !strings.HasPrefix(l, "PASS chip") || !strings.Contains(l, "card ATR 3B 80 80 01 01") {
		t.Errorf("selftest with the chip card in: %q; want PASS chip ... card ATR 3B 80 80 01 01", l)
	}
}

// startVpcd runs `posfw vpcd --card name` and returns it and a PC/SC reader whose card
// has arrived.
func startVpcd(t *testing.T, env pcsctest.Env, name string, arrival chipreader.Event) (*exec.Cmd, *pcsc.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "vpcd", "--card", name, "--addr", env.Addr)
	cmd.Env = append(os.Environ(), "POSFW_BE_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := pcsc.New(env.Reader, pcsc.Options{Arrival: arrival})
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e, err := r.Wait(ctx); err != nil || e != arrival {
		t.Fatalf("Wait = %q, %v; want %q", e, err, arrival)
	}
	return cmd, r
}

// A tap through PC/SC: the contactless kernel reads the card in one go (PPSE, GPO with
// the online cryptogram) and the card may go before the host answers.
func TestVpcdTapOverPCSC(t *testing.T) {
	env := pcsctest.Start(t)
	cmd, r := startVpcd(t, env, "tap", chipreader.EventTapped)
	k := &emv.Kernel{P: emv.DefaultParams()}
	tx, res := k.Contactless(r, emv.Txn{Amount: 100})
	if res.Outcome != emv.Online || res.Interface != "contactless" || len(res.AC) != 8 {
		t.Fatalf("Contactless over PC/SC = %s (%s), %s, AC % X; want Online with an 8-byte cryptogram", res.Outcome, res.Reason, res.Interface, res.AC)
	}
	cmd.Process.Signal(syscall.SIGINT) // the card leaves the field
	if res := tx.Complete(emv.HostResult{Answered: true, ResponseCode: "00"}); res.Outcome != emv.Approved {
		t.Errorf("Complete after the card left = %s (%s); want Approved (a tap's host answer decides alone)", res.Outcome, res.Reason)
	}
}

// A chip card pulled out of the PC/SC reader while the host approves: the second
// GENERATE AC cannot be sent, and the kernel ends the sale as "reverse the approval".
func TestVpcdCardPulledOutOverPCSC(t *testing.T) {
	env := pcsctest.Start(t)
	cmd, r := startVpcd(t, env, "chip", chipreader.EventInserted)
	k := &emv.Kernel{P: emv.DefaultParams()}
	tx, res := k.Contact(r, emv.Txn{Amount: 100})
	if res.Outcome != emv.Online {
		t.Fatalf("Contact over PC/SC = %s (%s); want Online", res.Outcome, res.Reason)
	}
	cmd.Process.Signal(syscall.SIGINT)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e, err := r.Wait(ctx); err != nil || e != chipreader.EventRemoved {
		t.Fatalf("Wait = %q, %v; want the card removed", e, err)
	}
	if res := tx.Complete(emv.HostResult{Answered: true, ResponseCode: "00"}); res.Outcome != emv.ReverseApproved {
		t.Errorf("Complete with the card gone = %s (%s); want ReverseApproved", res.Outcome, res.Reason)
	}
}

// The cryptogram types of CID bits 8-7 (EMV Book 3 Table 15).
const (
	cidARQC = 0x80
	cidTC   = 0x40
)
