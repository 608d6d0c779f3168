package hostsim

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"posfw/firmware/emvparam"
	"posfw/firmware/host"
)

// TestEMVDownload: the terminal downloads the acquirer's CA public keys and AIDs over
// TCP in each dialect (0820 queries, 0800 downloads, the ends), the AID list in two
// query rounds, and gets the set the acquirer holds.
func TestEMVDownload(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		first := e.stan
		set, err := e.c.DownloadEMV(context.Background(), func() (int64, error) { return e.next(), nil })
		if err != nil {
			t.Fatalf("DownloadEMV = %v", err)
		}
		want := DefaultEMVParams()
		if !reflect.DeepEqual(set.AIDs, want.AIDs) || !reflect.DeepEqual(set.CAPKs, want.CAPKs) {
			t.Errorf("downloaded %d AIDs, %d keys; want the acquirer's %d and %d, equal", len(set.AIDs), len(set.CAPKs), len(want.AIDs), len(want.CAPKs))
		}
		if set.Digest() != want.Digest() {
			t.Errorf("digest %s; want %s", set.Digest(), want.Digest())
		}
		// Keys: query, 1 key, end. AIDs: 2 query rounds (3 + 1), 4 AIDs, end.
		if got := e.stan - first; got != 10 {
			t.Errorf("%d messages; want 10", got)
		}
	})
}

// TestEMVDownloadRefusesBadKey: a key whose checksum does not match refuses the whole
// download with one line naming the key.
func TestEMVDownloadRefusesBadKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		bad := DefaultEMVParams()
		bad.CAPKs[0].Modulus[7] ^= 0x10
		e.srv.SetEMVParams(bad)
		_, err := e.c.DownloadEMV(context.Background(), func() (int64, error) { return e.next(), nil })
		if !errors.Is(err, host.ErrEMVDownload) || !errors.Is(err, emvparam.ErrChecksum) ||
			!strings.Contains(err.Error(), "A000000333/F1") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("DownloadEMV(damaged key) = %v; want one line refusing key A000000333/F1 for its checksum", err)
		}
	})
}
