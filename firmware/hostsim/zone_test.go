package hostsim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/testkit"
	"posfw/firmware/host"
	"posfw/firmware/txn"
)

// TestRefundAfterMidnight: terminal and acquirer in Beijing, a sale at 00:40 local
// (16:40 UTC the day before). The RRN carries the local date, the acquirer files the
// sale under it, and a refund naming that date is found; the UTC date is not.
func TestRefundAfterMidnight(t *testing.T) {
	beijing, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC)
	now := func() time.Time { return at }
	srv, addr := serve(t, Config{Ledger: filepath.Join(t.TempDir(), "ledger.db"), Location: beijing, Now: now})
	e := &env{t: t, srv: srv, addr: addr}
	e.c = host.New(host.Config{
		Address: e.addr, ConnectTimeout: time.Second, ResponseTimeout: 500 * time.Millisecond,
		TerminalID: testTID, MerchantID: testMID, Keys: padWith(t, testkit.Unhex(t, DefaultMasterKey)), Location: beijing, Now: now,
	})
	if err := e.c.SignOn(context.Background(), e.next()); err != nil {
		t.Fatalf("SignOn() = %v", err)
	}

	req := txn.Request{Type: txn.Sale, STAN: e.next(), Batch: 1, Amount: 5000, Card: card(t, "ok"), At: at}
	resp, err := e.c.Send(context.Background(), req)
	if err != nil || resp.Code != "00" {
		t.Fatalf("sale = %+v, %v; want 00", resp, err)
	}
	if !strings.HasPrefix(resp.RRN, "1206") {
		t.Errorf("RRN %s; want the local date 1206 first", resp.RRN)
	}
	if got := resp.HostTime; !got.Equal(at) {
		t.Errorf("host time (fields 12, 13) read back as %v; want %v", got, at)
	}
	if a := e.belief(req.STAN); a.Date != "1206" || a.Time != "004000" {
		t.Errorf("acquirer filed the sale on %s %s; want 1206 004000 (fields 13, 12 in local time)", a.Date, a.Time)
	}
	sale := record(req)
	sale.RRN, sale.AuthCode = resp.RRN, resp.AuthCode
	for _, tc := range []struct {
		date, code string
	}{
		{"1205", "25"}, // the UTC date: not the day the slip says
		{"1206", "00"},
	} {
		if _, r, err := e.refund(sale, 1000, tc.date); err != nil || r.Code != tc.code {
			t.Errorf("refund naming %s = %+v, %v; want %s", tc.date, r, err, tc.code)
		}
	}
}
