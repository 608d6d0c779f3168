// Package diag is the terminal's self test: one check per device and store, each ending
// in PASS with what it saw or FAIL with the reason. `posfw selftest` prints them and the
// technician's menu will show the same checks.
package diag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"posfw/board"
	"posfw/drivers/modem"
	"posfw/firmware/journal"
)

// Check is one self test.
type Check struct {
	Name string
	// Run returns what it saw, an error when the device failed, or ErrSkipped.
	Run func(ctx context.Context) (string, error)
}

// ErrSkipped marks a check that does not apply to this build or board.
var ErrSkipped = errors.New("skipped")

// Run runs the checks in order, each within timeout, writes one line per check to w,
// and reports whether none failed.
func Run(ctx context.Context, checks []Check, timeout time.Duration, w io.Writer) bool {
	ok := true
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		detail, err := c.Run(cctx)
		cancel()
		verdict := "PASS"
		switch {
		case errors.Is(err, ErrSkipped):
			verdict = "SKIP"
		case err != nil:
			verdict, detail, ok = "FAIL", err.Error(), false
		}
		fmt.Fprintf(w, "%s %-10s %s\n", verdict, c.Name, detail)
	}
	return ok
}

// Options of the self tests.
type Options struct {
	// Swipe, when set, has a simulated reader swipe a test card for the reader check.
	Swipe func() error
}

// Checks are the self tests of the devices d (opened by board.Open); the journal check
// works in dir.
func Checks(d *board.Devices, dir string, o Options) []Check {
	return []Check{
		{"journal", func(ctx context.Context) (string, error) { return checkJournal(ctx, dir) }},
		{"cardreader", func(ctx context.Context) (string, error) { return checkReader(ctx, d.Reader, o.Swipe) }},
		{"pinpad", func(ctx context.Context) (string, error) { return checkPad(ctx, d.Pad) }},
		{"printer", func(ctx context.Context) (string, error) { return checkPrinter(ctx, d.Printer) }},
		{"modem", func(ctx context.Context) (string, error) { return checkModem(ctx, d.Modem) }},
		{"gpio", func(ctx context.Context) (string, error) { return checkGPIO(ctx, d.Indicators) }},
		{"scanner", func(ctx context.Context) (string, error) { return checkOptional(ctx, d.Scanner) }},
		{"chip", func(ctx context.Context) (string, error) { return checkChip(d.Chip) }},
		{"contactless", func(ctx context.Context) (string, error) { return checkChip(d.Contactless) }},
	}
}

func checkJournal(ctx context.Context, dir string) (string, error) {
	j, err := journal.Open(filepath.Join(dir, "selftest.db"))
	if err != nil {
		return "", err
	}
	defer j.Close()
	if err := j.IntegrityCheck(ctx); err != nil {
		return "", err
	}
	v, err := j.Version()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SQLite %s, WAL, synchronous=FULL, schema %d, integrity ok", journal.SQLiteVersion(), v), nil
}

func checkModem(ctx context.Context, m modem.Device) (string, error) {
	simState, err := m.SIMState(ctx)
	if err != nil {
		return "", err
	}
	if simState != "READY" {
		return "", fmt.Errorf("SIM is %s, not READY", simState)
	}
	sig, err := m.Signal(ctx)
	if err != nil {
		return "", err
	}
	reg, err := m.Registration(ctx)
	if err != nil {
		return "", err
	}
	if !reg.Registered() {
		return "", fmt.Errorf("SIM ready but network %s (signal %d/4)", reg, sig.Bars())
	}
	dbm, _ := sig.DBm()
	return strings.Join([]string{"SIM READY", fmt.Sprintf("signal %d/4 (%d dBm)", sig.Bars(), dbm), reg.String()}, ", "), nil
}
