// Package pcsctest gives tests the real PC/SC stack: Debian's pcscd with vsmartcard's
// virtual reader (package vsmartcard-vpcd, which scripts/deps installs), so that the
// PC/SC driver is proven against the daemon a terminal runs, and the card simulator can
// sit behind a real reader.
//
// pcscd listens on one socket per machine (/run/pcscd/pcscd.comm): Start uses the pcscd
// that runs, or starts one (`pcscd --auto-exit`: it quits by itself a minute after its
// last client). The virtual reader takes one card at a time, so Start also holds a lock
// that serialises the test binaries using it.
package pcsctest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/emv/pcsc"
)

// Env is the PC/SC stack a test uses.
type Env struct {
	// Socket is pcscd's socket.
	Socket string
	// Reader is the virtual reader's name, and Addr where vpcd waits for its card.
	Reader, Addr string
}

// The first reader of Debian's /etc/reader.conf.d/vpcd (DEVICENAME /dev/null:0x8C7B).
const (
	reader = "Virtual PCD 00 00"
	addr   = "127.0.0.1:35963"
)

// Start returns the PC/SC stack, starting pcscd when it is not running. Where pcscd or
// vpcd is not installed the test is skipped with the reason, except under CI (CI set in
// the environment), where their absence fails it: CI installs them.
func Start(tb testing.TB) Env {
	tb.Helper()
	missing := func(what string) {
		tb.Helper()
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s (scripts/deps installs pcscd and vsmartcard-vpcd)", what)
		}
		tb.Skipf("%s: apt-get install pcscd vsmartcard-vpcd (scripts/deps does) to test PC/SC", what)
	}
	bin := lookPcscd()
	if bin == "" {
		missing("pcscd is not installed")
	}
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		missing("vsmartcard-vpcd is not installed")
	}
	lock(tb)
	env := Env{Socket: pcsc.DefaultSocket, Reader: reader, Addr: addr}
	if names, err := listReaders(env.Socket); err == nil {
		if !slices.Contains(names, reader) {
			tb.Fatalf("pcscd runs without vpcd's reader %q (readers %q): restart it", reader, names)
		}
		env.waitEmpty(tb)
		return env
	}
	if err := os.MkdirAll(filepath.Dir(env.Socket), 0o755); err != nil {
		tb.Fatalf("pcscd cannot run here: %v", err)
	}
	// Without --foreground pcscd forks into the background and this returns; its
	// suicide alarm ends it after a minute without clients.
	if out, err := exec.Command(bin, "--auto-exit").CombinedOutput(); err != nil {
		tb.Fatalf("starting %s --auto-exit: %v: %s", bin, err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, err := listReaders(env.Socket)
		if err == nil && slices.Contains(names, reader) {
			env.waitEmpty(tb)
			return env
		}
		if time.Now().After(deadline) {
			tb.Fatalf("pcscd started but does not list %q (readers %q, %v)", reader, names, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitEmpty waits until pcscd has seen the card of an earlier test leave the reader
// (it looks every 400 ms), so that the test's card is the one it finds there.
func (e Env) waitEmpty(tb testing.TB) {
	tb.Helper()
	c, err := pcsc.Dial(e.Socket)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		states, err := c.ReaderStates()
		if err != nil {
			tb.Fatal(err)
		}
		i := slices.IndexFunc(states, func(s pcsc.ReaderState) bool { return s.Name == e.Reader })
		if i < 0 || !states[i].Present() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("a card stays in %q: another program (posfw vpcd?) holds the virtual reader", e.Reader)
		}
	}
}

func lookPcscd() string {
	if p, err := exec.LookPath("pcscd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/pcscd", "/sbin/pcscd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func listReaders(socket string) ([]string, error) {
	c, err := pcsc.Dial(socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ListReaders()
}

// lock holds a machine-wide lock on the virtual reader until the test ends.
func lock(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "posfw-vpcd.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		tb.Fatal(err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		tb.Fatalf("locking the virtual reader: %v", err)
	}
	tb.Cleanup(func() { f.Close() }) // closing releases the lock
}
