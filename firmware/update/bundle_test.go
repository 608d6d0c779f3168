package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testFiles writes a fake binary and a board file into dir.
func testFiles(t testing.TB, dir string) []Source {
	return testFilesSeed(t, dir, 1)
}

// testFilesSeed is testFiles with content drawn from seed: the same seed gives the same
// bundle (the fuzzer's workers each build the seed corpus's bundle anew).
func testFilesSeed(t testing.TB, dir string, seed byte) []Source {
	t.Helper()
	bin := filepath.Join(dir, "posfw.bin")
	// Incompressible bytes, so that a cut lands inside a file's stream.
	data := make([]byte, 64<<10)
	mrand.NewChaCha8([32]byte{seed}).Read(data)
	if err := os.WriteFile(bin, append([]byte("#!/bin/sh\nexit 0\n"), data...), 0o755); err != nil {
		t.Fatal(err)
	}
	brd := filepath.Join(dir, "rpi.toml")
	if err := os.WriteFile(brd, []byte("name = \"rpi-terminal\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []Source{{Name: Binary, Path: bin, Mode: 0o755}, {Name: "board/rpi.toml", Path: brd, Mode: 0o644}}
}

func testManifest(version string) Manifest {
	return Manifest{Version: version, MinVersion: "1.0.0", Board: "sim", GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Schema: 6}
}

func buildBundle(t testing.TB, m Manifest, priv ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Build(&buf, m, testFiles(t, t.TempDir()), priv); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func devKeys() Keys { return NewKeys(DevKey().Public().(ed25519.PublicKey)) }

func check(b []byte, keys Keys) error {
	bu, err := Open(bytes.NewReader(b), keys)
	if err != nil {
		return err
	}
	return bu.Check()
}

// TestBundleRefusals alters a good bundle in each way a bundle can go wrong and checks
// the one-line refusal.
func TestBundleRefusals(t *testing.T) {
	good := buildBundle(t, testManifest("1.2.0"), DevKey())
	if err := check(good, devKeys()); err != nil {
		t.Fatalf("good bundle: got %v; want nil", err)
	}
	mlen := int(binary.BigEndian.Uint32(good[8:12]))
	filesAt := 12 + mlen + ed25519.SignatureSize
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x40
		return b
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		keys  Keys
		error string
	}{
		{"bad magic", append([]byte("POSFWUP2"), good[8:]...), devKeys(), "not a posfw update bundle"},
		{"empty", nil, devKeys(), "truncated in its header"},
		{"cut in manifest", good[:20], devKeys(), "truncated in its manifest"},
		{"cut in signature", good[:12+mlen+10], devKeys(), "truncated in its signature"},
		{"cut in a file", good[:filesAt+1000], devKeys(), "bundle truncated: file posfw has"},
		{"cut at a file's end", good[:len(good)-20], devKeys(), "bundle truncated"},
		{"trailing bytes", append(bytes.Clone(good), 'x'), devKeys(), "bytes after its last file"},
		{"unknown key", buildBundle(t, testManifest("1.2.0"), other), devKeys(), "signed by unknown key"},
		{"no keys", good, Keys{}, "signed by unknown key"},
		{"manifest altered", bytes.Replace(good, []byte(`"1.2.0"`), []byte(`"9.2.0"`), 1), devKeys(), "signature does not verify"},
		{"signature altered", flip(12 + mlen + 5), devKeys(), "signature does not verify"},
		{"file byte altered", flip(filesAt + 5000), devKeys(), "bundle file posfw altered"},
		{"last file altered", flip(len(good) - 30), devKeys(), "bundle file board/rpi.toml altered"},
		{"length huge", append(append([]byte(Magic), 0x7f, 0, 0, 0), good[12:]...), devKeys(), "manifest length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.b, tc.keys)
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("got %v; want an error containing %q", err, tc.error)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

// TestBuildRefusesBadManifests: a release machine cannot sign what no terminal installs.
func TestBuildRefusesBadManifests(t *testing.T) {
	files := testFiles(t, t.TempDir())
	for _, tc := range []struct {
		name  string
		m     func(*Manifest)
		files []Source
		error string
	}{
		{"bad version", func(m *Manifest) { m.Version = "1.x" }, files, "version"},
		{"leading zero", func(m *Manifest) { m.Version = "1.02" }, files, "version"},
		{"no board", func(m *Manifest) { m.Board = "" }, files, "no board"},
		{"board path", func(m *Manifest) { m.Board = "../x" }, files, "not a plain name"},
		{"no binary", func(*Manifest) {}, files[1:], `no executable "posfw"`},
		{"escaping name", func(*Manifest) {}, append(files, Source{Name: "../etc/passwd", Path: files[1].Path, Mode: 0o644}), "not a plain relative path"},
		{"reserved name", func(*Manifest) {}, append(files, Source{Name: "manifest.json", Path: files[1].Path, Mode: 0o644}), "reserved"},
		{"setuid", func(*Manifest) {}, append(files, Source{Name: "x", Path: files[1].Path, Mode: 0o4755}), "mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testManifest("1.2.0")
			tc.m(&m)
			_, err := Build(&bytes.Buffer{}, m, tc.files, DevKey())
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("got %v; want an error containing %q", err, tc.error)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	src := t.TempDir()
	files := testFiles(t, src)
	var buf bytes.Buffer
	if _, err := Build(&buf, testManifest("1.2.0"), files, DevKey()); err != nil {
		t.Fatal(err)
	}
	b, err := Open(&buf, devKeys())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.Extract(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, _ := os.ReadFile(f.Path)
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes (%v); want the %d bytes bundled", f.Name, len(got), err, len(want))
		}
		st, _ := os.Stat(filepath.Join(dir, f.Name))
		if st.Mode().Perm() != os.FileMode(f.Mode) {
			t.Errorf("%s: mode got %o; want %o", f.Name, st.Mode().Perm(), f.Mode)
		}
	}
	m, err := ReadManifest(dir)
	if err != nil || m.Version != "1.2.0" || m.Key != KeyID(DevKey().Public().(ed25519.PublicKey)) {
		t.Errorf("slot manifest: got %+v, %v; want version 1.2.0 signed by the dev key", m, err)
	}
}

func TestVersionCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.2.0", "1.2.0", 0}, {"1.2", "1.2.0", 0}, {"1.10.0", "1.9.9", 1}, {"0.9", "1.0", -1}, {"2", "1.99.99", 1},
	} {
		a, err := ParseVersion(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ParseVersion(tc.b)
		if got := Compare(a, b); got != tc.want {
			t.Errorf("Compare(%s, %s) got %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "1..2", "v1.2", "1.2.3.4.5", "-1", "+1", "01.2", "1.2-rc1"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) got nil; want an error", bad)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	pub, err := GenerateKey(filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := LoadPrivate(filepath.Join(dir, "k.key"))
	if err != nil || !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatalf("LoadPrivate got %v; want the generated key", err)
	}
	if p, err := LoadPublic(filepath.Join(dir, "k.pub")); err != nil || !bytes.Equal(p, pub) {
		t.Fatalf("LoadPublic got %v; want the generated key", err)
	}
	if _, err := GenerateKey(filepath.Join(dir, "k.key"), filepath.Join(dir, "k2.pub")); err == nil {
		t.Error("GenerateKey over an existing key got nil; want an error")
	}
	os.Chmod(filepath.Join(dir, "k.key"), 0o644)
	if _, err := LoadPrivate(filepath.Join(dir, "k.key")); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadPrivate of a readable key got %v; want a chmod 600 refusal", err)
	}
}

// TestReleaseBuildDistrustsDevKey: a binary built with release keys refuses bundles
// signed by the development key.
func TestReleaseBuildDistrustsDevKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	next, _, _ := ed25519.GenerateKey(rand.Reader)
	defer func(s string) { releaseKeys = s }(releaseKeys)
	releaseKeys = strings.Join([]string{hexKey(pub), hexKey(next)}, ",")
	keys, err := Trusted()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[KeyID(pub)] == nil || keys[KeyID(next)] == nil {
		t.Fatalf("Trusted got %v; want the two release keys", keys)
	}
	if _, ok := keys[KeyID(DevKey().Public().(ed25519.PublicKey))]; ok {
		t.Fatal("a release build trusts the development key")
	}
	if err := check(buildBundle(t, testManifest("1.2.0"), DevKey()), keys); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("dev-signed bundle on a release build: got %v; want unknown key", err)
	}
}

func hexKey(p ed25519.PublicKey) string {
	const digits = "0123456789abcdef"
	var s []byte
	for _, c := range p {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// FuzzOpen: no input makes the bundle reader panic or accept an unsigned manifest.
func FuzzOpen(f *testing.F) {
	good := buildBundle(f, testManifest("1.2.0"), DevKey())
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte(Magic + "\x00\x00\x00\x02{}"))
	signed := bytes.Clone(good[12 : 12+binary.BigEndian.Uint32(good[8:12])])
	keys := devKeys()
	f.Fuzz(func(t *testing.T, b []byte) {
		bu, err := Open(bytes.NewReader(b), keys)
		if err != nil {
			return
		}
		// The only manifest signed by the key is the seed's: nothing else may pass.
		if !bytes.Equal(bu.Raw, signed) {
			t.Fatalf("accepted a manifest that is not the signed one")
		}
		_ = bu.Check()
	})
}

// FuzzParseVersion: no panic, and what parses compares equal to itself.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "0", "1.2.3.4", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err == nil && Compare(v, v) != 0 {
			t.Fatalf("%q compares unequal to itself", s)
		}
	})
}

// TestSwappedFileStream: a file stream replaced by another well-formed gzip stream (its
// own CRC intact) is caught by the manifest's SHA-256.
func TestSwappedFileStream(t *testing.T) {
	a := buildBundle(t, testManifest("1.2.0"), DevKey())
	var buf bytes.Buffer
	if _, err := Build(&buf, testManifest("1.2.0"), testFilesSeed(t, t.TempDir(), 2), DevKey()); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes() // other bytes of the same length
	ma, _ := Open(bytes.NewReader(a), devKeys())
	mb, _ := Open(bytes.NewReader(b), devKeys())
	// Bundle a's manifest and signature, followed by bundle b's streams, with b's stored
	// lengths put into a's manifest only where they are equal (same framing).
	if ma.Manifest.Files[0].Stored != mb.Manifest.Files[0].Stored {
		// Random data of equal length compresses to the same stored length; if not, the
		// stream would be cut or long, which other tests cover.
		t.Skip("stored lengths differ")
	}
	head := 12 + len(ma.Raw) + ed25519.SignatureSize
	swapped := append(bytes.Clone(a[:head]), b[12+len(mb.Raw)+ed25519.SignatureSize:]...)
	err := check(swapped, devKeys())
	if err == nil || !strings.Contains(err.Error(), "bundle file posfw altered: sha256") {
		t.Fatalf("got %v; want the file's sha256 refused", err)
	}
}

// TestProvisionedKeys: a bundle signed with the fleet's next key is refused until the
// terminal's provisioning data names that key, and taken once it does; a malformed key
// there is one clear error, not a silent skip.
func TestProvisionedKeys(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := buildBundle(t, testManifest("2.0.0"), priv)
	built, err := Trusted()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(b, built); err == nil {
		t.Error("a bundle signed with a key nobody provisioned was taken")
	}
	withNext, err := Trusted(hex.EncodeToString(pub))
	if err != nil {
		t.Fatal(err)
	}
	if err := check(b, withNext); err != nil {
		t.Errorf("bundle signed with the provisioned next key = %v; want it taken", err)
	}
	if err := check(buildBundle(t, testManifest("2.0.0"), DevKey()), withNext); err != nil {
		t.Errorf("the built-in key stopped working once a next key was provisioned: %v", err)
	}
	if _, err := Trusted("abc"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("Trusted(\"abc\") = %v; want a 64-hex-digits error", err)
	}
}
