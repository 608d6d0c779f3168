package update

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBundles(t *testing.T) {
	r := newRoot(t)
	media := t.TempDir()
	stick := filepath.Join(media, "usb0")
	os.MkdirAll(stick, 0o755)
	put := func(name string, m Manifest) {
		os.WriteFile(filepath.Join(stick, name), buildBundle(t, m, DevKey()), 0o644)
	}
	put("a-1.1.0.posfw", testManifest("1.1.0"))
	put("b-1.2.0.posfw", testManifest("1.2.0"))
	put("old.posfw", testManifest("0.9.0"))
	rpi := testManifest("1.3.0")
	rpi.Board = "rpi-terminal"
	put("rpi.posfw", rpi)
	os.WriteFile(filepath.Join(stick, "junk.posfw"), []byte("not a bundle"), 0o644)
	os.WriteFile(filepath.Join(stick, "notes.txt"), []byte("x"), 0o644)
	found := r.FindBundles([]string{media}, devKeys(), here())
	var got []string
	for _, f := range found {
		s := filepath.Base(f.Path)
		if f.Err != nil {
			s += " refused"
		}
		got = append(got, s)
	}
	want := "b-1.2.0.posfw a-1.1.0.posfw junk.posfw refused old.posfw refused rpi.posfw refused"
	if strings.Join(got, " ") != want {
		t.Errorf("found %q; want %q", strings.Join(got, " "), want)
	}
	if r.PushPin() != "" {
		t.Error("push pin before any certificate; want none")
	}
	c, _ := r.PushCert()
	if p := r.PushPin(); p == "" || p != Pin(c) {
		t.Errorf("push pin %q; want the certificate's", p)
	}
}
