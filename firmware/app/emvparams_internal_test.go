package app

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"posfw/drivers/emv/emvcrypto"
	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
	"posfw/firmware/host"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// TestKernelParams: the kernel runs with the built-in parameters until a set is
// downloaded, then with the set's AIDs and keys in their place (a key past its expiry
// left out, never the built-in one instead); a set changed in the journal afterwards
// is not used.
func TestKernelParams(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	day := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	a := &App{journal: j, log: slog.New(slog.DiscardHandler), now: func() time.Time { return day }, loc: time.UTC}

	// A terminal in the field trusts no built-in CA key: the test CA's private half is
	// public.
	if got := a.kernelParams(ctx); len(got.CAPK) != 0 {
		t.Errorf("a field terminal before a download: %d CA keys; want none", len(got.CAPK))
	}
	a.opts.TestCardKeys = true // the simulator
	if got, want := a.kernelParams(ctx), emv.DefaultParams(); len(got.AIDs) != len(want.AIDs) || len(got.CAPK) != 1 || got.CAPK[0].Index != emvcrypto.TestCAPKIndex {
		t.Fatalf("before a download: %d AIDs, %d keys; want the built-in %d and the test key", len(got.AIDs), len(got.CAPK), len(want.AIDs))
	}

	set := hostsim.DefaultEMVParams()
	second := emvparam.NewCAPK(emvcrypto.TestRID, 0xF2, "20301231", emvcrypto.TestKey("posfw test CA F2 (kernelParams)", 1024).PublicKey)
	old := emvparam.NewCAPK(emvcrypto.TestRID, 0xF3, "20261204", emvcrypto.TestKey("posfw test CA F3 (kernelParams)", 1024).PublicKey)
	set.CAPKs = append(set.CAPKs, second, old)
	set.AIDs[1].CLCVMLimit = 12345
	if _, _, err := j.StoreEMVParams(ctx, set, "system"); err != nil {
		t.Fatal(err)
	}
	p := a.kernelParams(ctx)
	if err := p.Check(); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if len(p.AIDs) != 4 || !bytes.Equal(p.AIDs[3].AID, set.AIDs[3].AID) || p.AIDs[1].CLCVMLimit != 12345 {
		t.Errorf("AIDs = %+v; want the set's 4, the second's CVM limit 12345", p.AIDs)
	}
	if len(p.CAPK) != 2 || p.CAPK[0].Index != 0xF1 || p.CAPK[1].Index != 0xF2 || !bytes.Equal(p.CAPK[1].Key.N, second.Modulus) {
		t.Errorf("keys = %d; want F1 and F2 (F3 expired yesterday)", len(p.CAPK))
	}

	// Only the expired key: no key at all, not the built-in test key.
	if _, _, err := j.StoreEMVParams(ctx, emvparam.Set{AIDs: set.AIDs, CAPKs: []emvparam.CAPK{old}}, "99"); err != nil {
		t.Fatal(err)
	}
	if p := a.kernelParams(ctx); len(p.CAPK) != 0 {
		t.Errorf("only an expired key downloaded: %d keys; want none", len(p.CAPK))
	}
}

// TestDownloadEMV: the app's download over TCP from the acquirer simulator journals the
// set as version 1 under the operator; the same set again is noted unchanged; a set
// with a damaged key, or a host that is down, is refused and audited, and version 1
// stays in force; after a sign-on nothing is downloaded while a set is in force.
func TestDownloadEMV(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	srv, err := hostsim.New(hostsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c := host.New(host.Config{Address: ln.Addr().String(), TerminalID: "SIM00001", MerchantID: "898000000000001",
		ConnectTimeout: time.Second, ResponseTimeout: time.Second})
	a := &App{journal: j, log: slog.New(slog.DiscardHandler), now: time.Now, loc: time.UTC, opts: Options{Host: c}}
	count := func(kind string) int {
		t.Helper()
		db, err := sql.Open("sqlite3", "file:"+j.Path()+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM events WHERE kind = ?", kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	a.emvAfterSignOn(ctx) // none in force: downloaded as "system"
	if v, changed, err := a.downloadEMV(ctx, "01"); err != nil || v != 1 || changed {
		t.Fatalf("downloadEMV again = %d, %v, %v; want version 1 unchanged", v, changed, err)
	}
	bad := hostsim.DefaultEMVParams()
	bad.CAPKs[0].Checksum[3] ^= 0x40
	srv.SetEMVParams(bad)
	if _, _, err := a.downloadEMV(ctx, "01"); !errors.Is(err, emvparam.ErrChecksum) {
		t.Errorf("downloadEMV(damaged key) = %v; want refused for the checksum", err)
	}
	srv.SetFault(hostsim.Fault{Mode: hostsim.Down})
	if _, _, err := a.downloadEMV(ctx, "01"); err == nil {
		t.Error("downloadEMV(host down) = nil error")
	}
	srv.SetFault(hostsim.Fault{Mode: hostsim.OK})
	srv.SetEMVParams(hostsim.DefaultEMVParams())
	a.emvAfterSignOn(ctx) // a set is in force: nothing asked
	for kind, want := range map[string]int{"emv.params": 1, "emv.params_unchanged": 1, "audit.emv_params_download": 2} {
		if got := count(kind); got != want {
			t.Errorf("%s events = %d; want %d", kind, got, want)
		}
	}
	if s, info, ok, err := j.EMVParams(ctx); err != nil || !ok || s.Version != 1 || info.Operator != "system" {
		t.Errorf("in force = version %d by %q (%v, %v); want 1 by system", s.Version, info.Operator, ok, err)
	}
}

// TestEMVRefusal: every refusal of a download has a short line on the screen.
func TestEMVRefusal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w: %w", errors.New("refused"), emvparam.ErrChecksum), "Key checksum wrong"},
		{fmt.Errorf("q: %w: dial", txn.ErrNotSent), "Host not reachable"},
		{fmt.Errorf("q: %w: timeout", txn.ErrNoResponse), "No answer from host"},
		{errNoEMVDownload, "Host link cannot download"},
		{errors.New("host refused the IC parameter query: 30"), "Parameters refused"},
	} {
		if got := emvRefusal(tc.err).EN; got != tc.want {
			t.Errorf("emvRefusal(%v) = %q; want %q", tc.err, got, tc.want)
		}
		if zh := emvRefusal(tc.err).ZH; zh == "" {
			t.Errorf("emvRefusal(%v) has no Chinese", tc.err)
		}
	}
}
