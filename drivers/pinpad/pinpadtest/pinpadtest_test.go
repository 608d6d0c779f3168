package pinpadtest

import (
	"context"
	"path/filepath"
	"testing"
)

var pan = []byte("6225880012345678")

// TestShared: the shared pad is one pad (one card key), a pad of its own is another.
func TestShared(t *testing.T) {
	ctx := context.Background()
	a, err := Shared(t).CardHash(ctx, pan)
	if err != nil {
		t.Fatalf("CardHash: %v", err)
	}
	b, err := Shared(t).CardHash(ctx, pan)
	if err != nil {
		t.Fatalf("CardHash: %v", err)
	}
	if a != b {
		t.Errorf("the shared pad hashed one card as %s and %s; want one hash", a, b)
	}
	c, err := At(t, "").CardHash(ctx, pan)
	if err != nil {
		t.Fatalf("CardHash: %v", err)
	}
	if c == a {
		t.Errorf("a pad of its own hashed the card as the shared pad did (%s); want its own key", c)
	}
}

// TestAtNVRAM: a pad kept in an NVRAM file has the same keys when it comes back.
func TestAtNVRAM(t *testing.T) {
	ctx := context.Background()
	nvram := filepath.Join(t.TempDir(), "pad.nvram")
	var hashes []string
	for range 2 {
		t.Run("life", func(t *testing.T) {
			h, err := At(t, nvram).CardHash(ctx, pan)
			if err != nil {
				t.Fatalf("CardHash: %v", err)
			}
			hashes = append(hashes, h)
		})
	}
	if len(hashes) != 2 || hashes[0] != hashes[1] {
		t.Errorf("hashes across two lives of one NVRAM = %q; want the same twice", hashes)
	}
}
