package app

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"posfw/drivers/emv/emvcrypto"
	"posfw/firmware/emv"
	"posfw/firmware/emvparam"
	"posfw/firmware/hostsim"
	"posfw/firmware/journal"
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
