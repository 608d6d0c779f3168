package main

import (
	"bytes"
	"context"
	"crypto/des"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
)

// tdesECB encrypts whole blocks under a two-key TDES key, apart from the pad's code.
func tdesECB(t *testing.T, key, in []byte) []byte {
	c, err := des.NewTripleDESCipher(append(append([]byte(nil), key...), key[:8]...))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(in))
	for i := 0; i < len(in); i += 8 {
		c.Encrypt(out[i:i+8], in[i:i+8])
	}
	return out
}

func kcv4(t *testing.T, key []byte) string {
	return strings.ToUpper(hex.EncodeToString(tdesECB(t, key, make([]byte, 8))[:4]))
}

// padHolds reports whether the simulated pad of nvram holds tmk: working keys sealed
// under it load.
func padHolds(t *testing.T, nvram string, tmk []byte) bool {
	s := padsim.New()
	s.NVRAM = nvram
	d, stop, err := padsim.Connect(s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	mak := bytes.Repeat([]byte{0x3C}, 16)
	err = d.LoadWorkingKeys(context.Background(), pinpad.WorkingKeys{MAK: tdesECB(t, tmk, mak), MAKCheck: tdesECB(t, mak, make([]byte, 8))[:4]})
	return err == nil
}

// TestProvisionTMK: the technician's master key injection, by components typed twice
// and by a key file; the check values shown are the pad's; nothing typed is echoed.
func TestProvisionTMK(t *testing.T) {
	p1, _ := hex.DecodeString("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
	p2, _ := hex.DecodeString("1111222233334444555566667777AAAA")
	tmk := make([]byte, 16)
	for i := range tmk {
		tmk[i] = p1[i] ^ p2[i]
	}
	h1, h2 := strings.ToUpper(hex.EncodeToString(p1)), strings.ToLower(hex.EncodeToString(p2))
	run := func(in string, args ...string) (int, string, string) {
		f, _ := os.CreateTemp(t.TempDir(), "in")
		f.WriteString(in)
		f.Seek(0, 0)
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, stdin: f, getenv: func(string) string { return "" }}
		return e.main(args), out.String(), errb.String()
	}
	noKeyIn := func(name, s string) {
		for _, k := range []string{h1, h2, strings.ToUpper(h2), hex.EncodeToString(tmk)} {
			if strings.Contains(strings.ToUpper(s), strings.ToUpper(k)) {
				t.Errorf("%s: output shows a key: %q", name, s)
			}
		}
	}

	dir := t.TempDir()
	nvram := filepath.Join(dir, "pad.nvram")
	code, out, errs := run(h1+"\n"+h1+"\n"+h2+"\n"+h2+"\n", "provision", "tmk", "--pad-nvram", nvram)
	if code != 0 || !strings.Contains(out, "check value "+kcv4(t, tmk)) || !strings.Contains(out, "component 1 of 2: check value "+kcv4(t, p1)) {
		t.Errorf("provision tmk by components = %d %q %q; want the TMK's check value %s", code, out, errs, kcv4(t, tmk))
	}
	noKeyIn("components", out+errs)
	if !padHolds(t, nvram, tmk) {
		t.Errorf("the pad does not hold the XOR of the components")
	}

	// A component typed differently the second time: refused, nothing installed.
	nv2 := filepath.Join(dir, "pad2.nvram")
	code, out, errs = run(h1+"\n"+h2+"\n", "provision", "tmk", "--pad-nvram", nv2)
	if code != 1 || !strings.Contains(errs, "the two entries differ") {
		t.Errorf("provision tmk with entries that differ = %d %q %q; want refused", code, out, errs)
	}
	noKeyIn("mismatch", out+errs)
	if padHolds(t, nv2, tmk) || padHolds(t, nv2, p1) {
		t.Errorf("a pad given mismatched entries holds a key")
	}

	// The key file of a key injection facility: the TMK under the transport key and its
	// check value.
	tk, _ := hex.DecodeString(padsim.TestTransportKey)
	enc := strings.ToUpper(hex.EncodeToString(tdesECB(t, tk, tmk)))
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		code          int
		want          string
	}{
		{"right", enc + "\n" + kcv4(t, tmk) + "\n", 0o600, 0, "matches the key file"},
		{"wrong check value", enc + " 00000000\n", 0o600, 1, "not 00000000 as the key file says"},
		{"readable by others", enc + " " + kcv4(t, tmk), 0o644, 1, "group and others must have no access"},
		{"short", enc[:30] + " " + kcv4(t, tmk), 0o600, 1, "want 32 hex digits"},
	} {
		kf := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".key")
		os.WriteFile(kf, []byte(tc.content), 0o600)
		os.Chmod(kf, tc.mode)
		nv := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".nvram")
		code, out, errs := run("", "provision", "tmk", "--pad-nvram", nv, "--key-file", kf)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("key file %s: %d %q %q; want %d and %q", tc.name, code, out, errs, tc.code, tc.want)
		}
		noKeyIn(tc.name, out+errs)
		if tc.code == 0 && !padHolds(t, nv, tmk) {
			t.Errorf("key file %s: the pad does not hold the TMK", tc.name)
		}
	}

	if code, _, errs := run("", "provision", "tmk", "--parts", "2"); code != 2 || !strings.Contains(errs, "needs the PIN pad") {
		t.Errorf("provision tmk without a pad = %d %q; want a usage error", code, errs)
	}
}
