package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"posfw/firmware/update"
)

// TestInstallRoot installs onto a prepared root filesystem in a temporary directory and
// checks what a terminal needs to boot: the slots, the launcher, the enabled unit, the
// configuration and the data directory with their owners and modes, and the self test.
func TestInstallRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: bundles the test binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("install sets owners: run as root")
	}
	dir := t.TempDir()
	k := &kit{t: t, dir: dir}
	bundle := k.bundle("v1", os.Args[0], "--version", "1.0.0")
	target := filepath.Join(dir, "sdcard")
	os.MkdirAll(filepath.Join(target, "etc"), 0o755)
	cfg := filepath.Join(dir, "posfw.toml")
	os.WriteFile(cfg, []byte("terminal_id = \"T0000001\"\nmerchant_id = \"898000000000001\"\nmerchant_name = \"SHOP\"\nboard = \"sim\"\n[host]\naddress = \"10.0.0.1:8583\"\n"), 0o600)

	// No user posfw on the target: one line, nothing half done.
	if code, _, errs := call("install", "--root", target, "--bundle", bundle); code != 1 || !strings.Contains(errs, "no /etc/passwd") {
		t.Errorf("install without posfw user: exit %d, %q; want refused", code, errs)
	}
	os.WriteFile(filepath.Join(target, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\nposfw:x:991:992::/var/lib/posfw:/usr/sbin/nologin\n"), 0o644)
	t.Setenv("POSFW_BE_MAIN", "1") // the installed posfw is this test binary
	code, out, errs := call("install", "--root", target, "--bundle", bundle, "--config", cfg)
	if code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"[1/6] bundle", "slot a", "/etc/posfw/posfw.toml", "/var/lib/posfw (mode 700", "enabled", "[6/6] self test of the installed posfw passed", "PASS slot"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		path     string
		mode     os.FileMode
		uid, gid uint32
	}{
		{"opt/posfw/slots/a/posfw", 0o755, 991, 992},
		{"opt/posfw/launch", 0o755, 991, 992},
		{"opt/posfw/boot", 0o644, 991, 992},
		{"etc/posfw/posfw.toml", 0o640, 0, 992},
		{"var/lib/posfw", 0o700 | os.ModeDir, 991, 992},
		{"etc/systemd/system/posfw.service", 0o644, 0, 0},
	} {
		fi, err := os.Stat(filepath.Join(target, tc.path))
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != tc.mode || st.Uid != tc.uid || st.Gid != tc.gid {
			t.Errorf("%s: got %v %d:%d; want %v %d:%d", tc.path, fi.Mode(), st.Uid, st.Gid, tc.mode, tc.uid, tc.gid)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(target, "etc/systemd/system/posfw.service"))
	if string(unit) != update.Unit("/opt/posfw", "/etc/posfw/posfw.toml", "/var/lib/posfw") {
		t.Error("installed unit is not update.Unit with the default paths")
	}
	if l, err := os.Readlink(filepath.Join(target, "etc/systemd/system/multi-user.target.wants/posfw.service")); err != nil || l != "../posfw.service" {
		t.Errorf("unit not enabled: %q %v", l, err)
	}
	st, err := update.Root{Dir: filepath.Join(target, "opt/posfw")}.Status()
	if err != nil || st.Active != "a" || st.ActiveVersion != "1.0.0" || st.Trial != -1 || st.Board != "sim" {
		t.Errorf("install root status: %+v, %v; want a 1.0.0 confirmed on board sim", st, err)
	}
	// A second install onto the same root is refused: updates go through update apply.
	if code, _, errs := call("install", "--root", target, "--bundle", bundle); code != 1 || !strings.Contains(errs, "already an install root") {
		t.Errorf("second install: exit %d, %q; want refused", code, errs)
	}
}
