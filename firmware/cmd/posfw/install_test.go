package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// sshd starts a real OpenSSH server on a free localhost port with its own host key and
// one authorized client key, and returns the port, the client key and a known_hosts file.
func sshd(t *testing.T) (port, identity, knownHosts string) {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		bin = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skip("sshd is not installed (scripts/deps installs openssh-server): the SSH install is not tested")
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen is not installed")
	}
	dir := t.TempDir()
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	pub, _ := os.ReadFile(filepath.Join(dir, "client.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host.pub"))
	f := strings.Fields(string(hostPub))
	knownHosts = filepath.Join(dir, "known_hosts")
	os.WriteFile(knownHosts, []byte("[127.0.0.1]:"+port+" "+f[0]+" "+f[1]+"\n"), 0o600)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(strings.Join([]string{
		"Port " + port, "ListenAddress 127.0.0.1", "HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"), "StrictModes no", "UsePAM no",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
		"PidFile " + filepath.Join(dir, "sshd.pid"), "LogLevel ERROR",
	}, "\n")+"\n"), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // privilege separation directory, as Debian's service makes it
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not start: %s", errb.String())
		}
	}
	return port, filepath.Join(dir, "client"), knownHosts
}

// TestInstallSSH installs a real posfw (built here) over SSH through a real sshd on
// localhost into a temporary root filesystem, self test included.
func TestInstallSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds posfw and starts sshd")
	}
	if os.Geteuid() != 0 {
		t.Skip("install over SSH logs in as root")
	}
	port, id, kh := sshd(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "posfw")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	k := &kit{t: t, dir: dir}
	bundle := k.bundle("v1", bin, "--version", "1.0.0")
	target := filepath.Join(dir, "target")
	os.MkdirAll(filepath.Join(target, "etc"), 0o755)
	os.WriteFile(filepath.Join(target, "etc", "passwd"), []byte("posfw:x:991:992::/var/lib/posfw:/usr/sbin/nologin\n"), 0o644)
	code, out, errs := call("install", "--ssh", "root@127.0.0.1:"+port, "--identity", id, "--known-hosts", kh, "--root", target, "--bundle", bundle)
	if code != 0 {
		t.Fatalf("install --ssh: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"ssh root@127.0.0.1: copying posfw 1.0.0", "[6/6] self test of the installed posfw passed", "PASS slot", "installed on root@127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	st, err := update.Root{Dir: filepath.Join(target, "opt/posfw")}.Status()
	if err != nil || st.ActiveVersion != "1.0.0" || st.Trial != -1 {
		t.Errorf("status over there: %+v, %v; want 1.0.0 confirmed", st, err)
	}
	if fi, err := os.Stat(filepath.Join(target, "var/lib/posfw")); err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 991 {
		t.Errorf("data directory over there: %v %v; want 700 owned by 991", fi, err)
	}
	// A host key that is not the terminal's: refused by ssh, nothing installed.
	os.WriteFile(kh, []byte("[127.0.0.1]:"+port+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n"), 0o600)
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	if code, _, errs := call("install", "--ssh", "root@127.0.0.1:"+port, "--identity", id, "--known-hosts", kh, "--root", other, "--bundle", bundle); code != 1 || !strings.Contains(errs, "ssh root@127.0.0.1") {
		t.Errorf("install with a wrong host key: exit %d, %q; want refused", code, errs)
	}
}
