package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/cardreader/testcards"
)

// TestDiagBundle writes a support archive of a terminal that took money, whose log has
// a full card number in it (a logging bug) and whose data directory holds a key file,
// and checks that the archive holds what a technician needs and no card number
// or key bytes, in clear or in hex.
func TestDiagBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	data := simDayAt(t, dir, "ok")
	card, _ := testcards.Lookup("ok")
	pan := string(card.PAN)
	os.MkdirAll(filepath.Join(data, "log"), 0o700)
	f, _ := os.OpenFile(filepath.Join(data, "log", "posfw.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	f.WriteString("level=ERROR msg=\"bug\" pan=" + pan + "\n")
	f.Close()
	os.WriteFile(filepath.Join(data, "log", "posfw.log.1"), []byte("level=INFO msg=older\n"), 0o600)
	key := []byte{0x13, 0x37, 0xc0, 0xde, 0x42, 0x42, 0x99, 0x01, 0x7a, 0x7b, 0x7c, 0x7d, 0x11, 0x22, 0x33, 0x44}
	// A key file in the data directory (as an older firmware kept card.key there).
	keyFile := filepath.Join(data, "card.key")
	os.WriteFile(keyFile, key, 0o600)
	cfg := filepath.Join(dir, "posfw.toml")
	os.WriteFile(cfg, []byte("terminal_id = \"SIM00001\"\nmerchant_id = \"898000000000001\"\nmerchant_name = \"POSFW DEMO\"\nboard = \"sim\"\n[host]\naddress = \"127.0.0.1:1\"\n"), 0o600)
	out := t.TempDir()
	code, stdout, errs := call("diag", "bundle", "--out", out, "--data", data, "--config", cfg, "--root", filepath.Join(dir, "none"))
	if code != 0 {
		t.Fatalf("diag bundle: exit %d, %s%s", code, stdout, errs)
	}
	archives, _ := filepath.Glob(filepath.Join(out, "posfw-diag-*.tar.gz"))
	if len(archives) != 1 {
		t.Fatalf("archives written: %v; want one", archives)
	}
	raw, _ := os.ReadFile(archives[0])
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var all bytes.Buffer
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
		all.Write(b)
		all.WriteString(h.Name)
	}
	for name, want := range map[string]string{
		"version.txt":        "sqlite",
		"slots.txt":          "not an install root",
		"config.toml":        "terminal_id = \"SIM00001\"",
		"board.txt":          "board sim",
		"selftest.txt":       "PASS",
		"journal-stats.txt":  "",
		"journal-verify.txt": "OK",
		"log/posfw.log":      "msg=\"bug\"",
		"log/posfw.log.1":    "older",
	} {
		got, ok := files[name]
		if !ok || !strings.Contains(got, want) {
			t.Errorf("%s: got %q (present %v); want it to contain %q", name, got, ok, want)
		}
	}
	for what, secret := range map[string][]byte{
		"the PAN":             []byte(pan),
		"the key bytes":       key,
		"the key in hex":      []byte(hex.EncodeToString(key)),
		"the key in HEX":      []byte(strings.ToUpper(hex.EncodeToString(key))),
		"the key file's name": []byte(keyFile),
	} {
		if bytes.Contains(all.Bytes(), secret) {
			t.Errorf("the archive holds %s", what)
		}
	}
	if fi, _ := os.Stat(archives[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v; want 0600", fi.Mode().Perm())
	}
}
