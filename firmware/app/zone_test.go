package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"posfw/firmware/config"
	"posfw/firmware/hostsim"
	"posfw/firmware/sim"
	"posfw/ui"
)

// slipDate finds the MMDD a slip prints in its "时间 Time" line.
var slipDate = regexp.MustCompile(`Time +(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d)`)

// TestAfterMidnight is issue 18 §2: a terminal in Beijing at 00:40 local (16:40 UTC the
// day before) on a machine whose own zone is UTC. A refund typing the slip's date goes
// through the terminal and the acquirer; the idle clock, the slip, the RRN, the void's
// confirmation, the query by date, the settlement report and the export all say the
// local date.
func TestAfterMidnight(t *testing.T) {
	if testing.Short() {
		t.Skip("a sale, a refund, a void and a settlement")
	}
	// The machine's zone must not be the terminal's, or time.Local would pass unseen.
	saved := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = saved }) // runs after the terminal has stopped

	start := time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC) // 2026-12-06 00:40 in Beijing
	offset := time.Until(start)
	tm := startTerminalWith(t, func(o *sim.Options) {
		o.Config.TimeZone = "Asia/Shanghai"
		o.Now = func() time.Time { return time.Now().Add(offset) }
	})
	tm.wait("2026-12-06 00:4") // the idle screen's clock

	// Sale 50.00: the slip's date is the local one, and so is the RRN's.
	tm.sale("5000")
	tm.wait(ui.WordApproved.EN)
	slip := tm.printed("CUSTOMER COPY")
	m := slipDate.FindStringSubmatch(slip)
	if m == nil || m[1]+"-"+m[2]+"-"+m[3] != "2026-12-06" || !strings.HasPrefix(m[4], "00:4") {
		t.Fatalf("sale slip:\n%s\nwant the time 2026-12-06 00:4x", slip)
	}
	mmdd := m[2] + m[3]
	sale, err := tm.App.Journal().Last(tm.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sale.RRN, mmdd) {
		t.Errorf("RRN %s; want it to start with the slip's date %s", sale.RRN, mmdd)
	}
	tm.keys("ENTER")
	tm.wait("8 ")
	tm.TearOff()

	// Refund 20.00 with the RRN and the date read off the slip.
	tm.keys("3")
	tm.wait(ui.WordSupervisor.EN)
	tm.keys("1 2 3 4 5 6 ENTER")
	tm.wait(ui.WordRRN.EN)
	tm.keys(spaced(sale.RRN) + " ENTER")
	tm.wait(ui.WordDate.EN)
	tm.keys(spaced(mmdd) + " ENTER")
	tm.wait("Refundable 50.00")
	tm.keys("2 0 0 0 ENTER")
	tm.wait(ui.WordCard.EN)
	if err := tm.Swipe("ok"); err != nil {
		t.Fatal(err)
	}
	tm.wait(ui.WordApproved.EN)
	tm.keys("ENTER")
	tm.wait("8 ")
	refund, err := tm.App.Journal().Last(tm.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if refund.OrigDate != mmdd || refund.ResponseCode != "00" {
		t.Errorf("refund record: original date %q, response %q; want %s, 00", refund.OrigDate, refund.ResponseCode, mmdd)
	}
	// The acquirer agrees: the sale carries the refund, and it dated both by the local day.
	ledger := tm.Acquirer.Ledger()
	if a, err := ledger.ByRRN(sale.RRN); err != nil || a.Refunded != 2000 || a.Date != mmdd || a.Status != hostsim.Authorised {
		t.Errorf("acquirer's sale = %+v, %v; want 2000 refunded, date %s, authorised", a, err, mmdd)
	}
	if a, err := ledger.ByTrace(config.Sim().TerminalID, refund.STAN); err != nil || a.Code != "00" || a.Date != mmdd {
		t.Errorf("acquirer's refund = %+v, %v; want 00 on %s", a, err, mmdd)
	}
	tm.TearOff()

	// A second sale, voided: the confirmation shows the local date and time.
	tm.sale("1000")
	tm.wait(ui.WordApproved.EN)
	tm.keys("ENTER")
	tm.wait("8 ")
	second, err := tm.App.Journal().Last(tm.ctx)
	if err != nil {
		t.Fatal(err)
	}
	tm.keys("2")
	tm.wait(ui.WordSupervisor.EN)
	tm.keys("1 2 3 4 5 6 ENTER")
	tm.wait(ui.WordTrace.EN)
	tm.keys(spaced(fmt.Sprint(second.STAN)) + " ENTER")
	tm.wait("12-06 00:4")
	tm.keys("ENTER")
	tm.wait(ui.WordCard.EN)
	tm.keys("ENTER")
	tm.wait(ui.WordApproved.EN)
	tm.keys("ENTER")
	tm.wait("8 ")

	// Query by the local date finds the day's records.
	tm.keys("5")
	tm.wait("By date")
	tm.keys("3")
	tm.wait(ui.WordDate.EN)
	tm.keys(spaced(mmdd) + " ENTER")
	tm.wait("1/4") // sale, refund, sale, void
	tm.wait("2026-12-06 00:4")
	tm.keys("CANCEL CANCEL")
	tm.wait("8 ")
	tm.TearOff()

	// The export says the local time with its offset.
	var exp bytes.Buffer
	if err := tm.App.Journal().Export(tm.ctx, &exp, "json"); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(exp.String()), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		if c, _ := row["created_at"].(string); !strings.HasPrefix(c, "2026-12-06T00:4") || !strings.HasSuffix(c, "+08:00") {
			t.Errorf("export created_at = %q; want 2026-12-06T00:4x…+08:00", c)
		}
	}

	// Settlement: the report is dated the local day.
	tm.keys("6")
	tm.wait(ui.WordConfirm.EN)
	tm.keys("ENTER")
	report := tm.printed("SETTLEMENT")
	if m := slipDate.FindStringSubmatch(report); m == nil || m[1]+m[2]+m[3] != "20261206" {
		t.Errorf("settlement report:\n%s\nwant the time 2026-12-06 00:4x", report)
	}
}

// spaced is digits as key names for terminal.keys.
func spaced(digits string) string { return strings.Join(strings.Split(digits, ""), " ") }
