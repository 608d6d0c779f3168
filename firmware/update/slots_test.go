package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func writeBundle(t *testing.T, m Manifest, priv ed25519.PrivateKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.posfw")
	if err := os.WriteFile(p, buildBundle(t, m, priv), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func here() Target { return Target{Board: "sim", GOOS: runtime.GOOS, GOARCH: runtime.GOARCH} }

// newRoot is an install root with 1.0.0 in slot a.
func newRoot(t *testing.T) Root {
	t.Helper()
	r := Root{Dir: filepath.Join(t.TempDir(), "opt")}
	if _, err := r.Init(writeBundle(t, testManifest("1.0.0"), DevKey()), devKeys(), here()); err != nil {
		t.Fatal(err)
	}
	return r
}

// snapshot lists every file of the root with its size and mode, and the boot file.
func snapshot(t *testing.T, r Root) string {
	t.Helper()
	var lines []string
	filepath.Walk(r.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && filepath.Base(p) != ".lock" {
			lines = append(lines, strings.TrimPrefix(p, r.Dir)+" "+fi.Mode().String()+" "+strconv.FormatInt(fi.Size(), 10))
		}
		return nil
	})
	sort.Strings(lines)
	boot, _ := os.ReadFile(r.bootPath())
	return strings.Join(lines, "\n") + "\n" + string(boot)
}

func TestInit(t *testing.T) {
	r := newRoot(t)
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Active != "a" || st.ActiveVersion != "1.0.0" || st.Trial != -1 || st.Previous != "" || st.Floor != "1.0.0" || st.Board != "sim" {
		t.Errorf("status after init: got %+v; want slot a 1.0.0 confirmed, floor 1.0.0, board sim", st)
	}
	if fi, err := os.Stat(filepath.Join(r.Dir, "launch")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("launcher: got %v %v; want mode 755", fi, err)
	}
	if _, err := r.Init(writeBundle(t, testManifest("1.0.0"), DevKey()), devKeys(), here()); err == nil {
		t.Error("Init over an install root got nil; want a refusal")
	}
}

// TestApplyRefusals: every refused bundle leaves the install root exactly as it was.
func TestApplyRefusals(t *testing.T) {
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	with := func(f func(*Manifest)) Manifest {
		m := testManifest("1.1.0")
		f(&m)
		return m
	}
	for _, tc := range []struct {
		name  string
		m     Manifest
		key   ed25519.PrivateKey
		setup func(Root)
		error string
	}{
		{"wrong board", with(func(m *Manifest) { m.Board = "rpi-terminal" }), DevKey(), nil, `bundle is for board "rpi-terminal", this terminal is "sim"`},
		{"wrong arch", with(func(m *Manifest) { m.GOARCH, m.GOARM = "arm", "7" }), DevKey(), nil, "bundle is for linux/armv7"},
		{"unknown key", testManifest("1.1.0"), other, nil, "unknown key"},
		{"older than floor", testManifest("0.9.0"), DevKey(), nil, "older than 1.0.0, the newest version confirmed here (anti-rollback)"},
		{"needs newer installed", with(func(m *Manifest) { m.MinVersion = "1.0.5" }), DevKey(), nil, "replaces 1.0.5 or newer, this terminal runs 1.0.0"},
		{"slot on trial", testManifest("1.2.0"), DevKey(), func(r Root) {
			if _, err := r.Apply(writeBundle(t, testManifest("1.1.0"), DevKey()), devKeys(), here()); err != nil {
				t.Fatal(err)
			}
		}, "slot b is on trial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			if tc.setup != nil {
				tc.setup(r)
			}
			before := snapshot(t, r)
			_, err := r.Apply(writeBundle(t, tc.m, tc.key), devKeys(), here())
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("got %v; want an error containing %q", err, tc.error)
			}
			if after := snapshot(t, r); after != before {
				t.Errorf("install root changed by a refused bundle:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// TestAlteredBundleLeavesSlotsAlone: a bundle altered after signing is refused after part
// of it was extracted; the half-written slot is removed and the boot state unchanged.
func TestAlteredBundleLeavesSlotsAlone(t *testing.T) {
	r := newRoot(t)
	b := buildBundle(t, testManifest("1.1.0"), DevKey())
	b[len(b)-30] ^= 1
	p := filepath.Join(t.TempDir(), "bad.posfw")
	os.WriteFile(p, b, 0o644)
	before := snapshot(t, r)
	if _, err := r.Apply(p, devKeys(), here()); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("got %v; want altered", err)
	}
	if after := snapshot(t, r); after != before {
		t.Errorf("install root changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

func TestApplyConfirmRollback(t *testing.T) {
	r := newRoot(t)
	if _, err := r.Apply(writeBundle(t, testManifest("1.1.0"), DevKey()), devKeys(), here()); err != nil {
		t.Fatal(err)
	}
	st, _ := r.Status()
	if st.Active != "b" || st.Previous != "a" || st.Trial != 0 || st.ActiveVersion != "1.1.0" || st.PreviousVersion != "1.0.0" || st.Floor != "1.0.0" {
		t.Fatalf("after apply: got %+v; want b 1.1.0 on trial over a 1.0.0, floor 1.0.0", st)
	}
	if st, err := r.Confirm(); err != nil || st.Trial != -1 || st.Floor != "1.1.0" {
		t.Fatalf("confirm: got %+v, %v; want confirmed with floor 1.1.0", st, err)
	}
	if _, err := r.Confirm(); err == nil {
		t.Error("second confirm got nil; want already confirmed")
	}
	// A journal written by a newer schema than slot a's firmware reads: refused.
	if _, err := r.Rollback(7); err == nil || !strings.Contains(err.Error(), "reads journal schema 6, the journal is at 7") {
		t.Fatalf("rollback over a newer journal: got %v; want refused", err)
	}
	st, err := r.Rollback(6)
	if err != nil || st.Active != "a" || st.Previous != "b" || st.Trial != 0 || st.Floor != "1.1.0" {
		t.Fatalf("rollback: got %+v, %v; want a active on trial, floor kept", st, err)
	}
	// The floor stays: the older bundle cannot come back by a push.
	if _, err := r.Confirm(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(writeBundle(t, testManifest("1.0.1"), DevKey()), devKeys(), here()); err == nil || !strings.Contains(err.Error(), "anti-rollback") {
		t.Errorf("1.0.1 after 1.1.0 was confirmed: got %v; want anti-rollback", err)
	}
	// The next apply overwrites the inactive slot, b.
	if _, err := r.Apply(writeBundle(t, testManifest("1.2.0"), DevKey()), devKeys(), here()); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Status(); st.Active != "b" || st.ActiveVersion != "1.2.0" || st.PreviousVersion != "1.0.0" {
		t.Errorf("after the second apply: got %+v; want b 1.2.0 over a 1.0.0", st)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.Dir, "slots")); len(ents) != 2 {
		t.Errorf("slots dir holds %d entries; want a and b only", len(ents))
	}
}

func TestLockRefusesConcurrentCommand(t *testing.T) {
	r := newRoot(t)
	unlock, err := r.lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := r.Confirm(); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("confirm while locked: got %v; want busy", err)
	}
}

// TestApplyByRootKeepsOwner: an install root belongs to the service's user; a bundle
// applied by root (a technician's sudo) leaves the slot, the boot state and the lock
// usable by that user, and the files' modes are the manifest's whatever the umask.
func TestApplyByRootKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change owners")
	}
	r := newRoot(t)
	if err := filepath.Walk(r.Dir, func(p string, _ os.FileInfo, err error) error { return os.Lchown(p, 991, 992) }); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	_, err := r.Apply(writeBundle(t, testManifest("1.1.0"), DevKey()), devKeys(), here())
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"slots/b", "slots/b/posfw", "slots/b/board/rpi.toml", "boot"} {
		fi, err := os.Stat(filepath.Join(r.Dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 991 || st.Gid != 992 {
			t.Errorf("%s: owner %d:%d; want 991:992", p, st.Uid, st.Gid)
		}
	}
	if fi, _ := os.Stat(filepath.Join(r.Slot("b"), "posfw")); fi.Mode().Perm() != 0o755 {
		t.Errorf("posfw mode %v under umask 077; want 0755", fi.Mode().Perm())
	}
}
