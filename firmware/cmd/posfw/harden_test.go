package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procState reads a process's umask (/proc/PID/status) and core file size limits
// (/proc/PID/limits: soft and hard).
func procState(pid int) (umask, core string) {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Umask:"); ok {
				umask = strings.TrimSpace(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Max core file size"); ok {
				f := strings.Fields(v)
				if len(f) >= 2 {
					core = f[0] + " " + f[1]
				}
			}
		}
	}
	return umask, core
}

// TestHardenedCommands: run, sim, hostsim and provision start hardened — umask 077 and
// no core dumps (RLIMIT_CORE 0 0) — before they read their input. Each is caught while
// it waits for that input (its config on a named pipe, its listener up, the password on
// standard input) and read from /proc. (PR_SET_DUMPABLE 0, which /proc does not show to
// root, is checked by firmware/harden's own test of the same function.)
func TestHardenedCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  func(dir string) []string
		ready func(t *testing.T, dir string, cmd *exec.Cmd, stderr *bufio.Reader) // returns once the command waits
	}{
		{"run", func(dir string) []string {
			return []string{"run", "--config", filepath.Join(dir, "config.fifo"), "--data", filepath.Join(dir, "data")}
		}, openFIFO},
		{"sim", func(dir string) []string {
			return []string{"sim", "--headless", "--config", filepath.Join(dir, "config.fifo"), "--data", filepath.Join(dir, "data")}
		}, openFIFO},
		{"hostsim", func(dir string) []string { return []string{"hostsim", "--listen", "127.0.0.1:0"} },
			func(t *testing.T, _ string, _ *exec.Cmd, stderr *bufio.Reader) {
				line, err := stderr.ReadString('\n')
				if !strings.Contains(line, "listening") {
					t.Fatalf("hostsim said %q, %v; want listening", line, err)
				}
			}},
		{"provision", func(dir string) []string {
			return []string{"provision", "password", "00", "--data", filepath.Join(dir, "data")}
		},
			func(*testing.T, string, *exec.Cmd, *bufio.Reader) {}}, // waits on its standard input
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := syscall.Mkfifo(filepath.Join(dir, "config.fifo"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := posfwCmd(tc.args(dir)...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			errPipe, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				stdin.Close()
				cmd.Process.Kill()
				cmd.Wait()
			}()
			tc.ready(t, dir, cmd, bufio.NewReader(errPipe))
			var umask, core string
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if umask, core = procState(cmd.Process.Pid); umask == "0077" && core == "0 0" {
					break
				}
			}
			if umask != "0077" || core != "0 0" {
				t.Errorf("posfw %s: umask %q, core file size %q; want 0077 and 0 0", tc.name, umask, core)
			}
		})
	}
}

// openFIFO opens the config pipe for writing, which returns once the command has
// opened it for reading (after it hardened itself), and closes it: the command then
// reads an empty config and exits.
func openFIFO(t *testing.T, dir string, _ *exec.Cmd, _ *bufio.Reader) {
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(filepath.Join(dir, "config.fifo"), os.O_WRONLY, 0)
		if err == nil {
			opened <- f
		}
	}()
	select {
	case f := <-opened:
		t.Cleanup(func() { f.Close() })
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not open its config within 10 s")
	}
}

// privateTree lists what under root its group or others may use: every directory must
// be 0700 or less, every file and socket 0600 or less.
func privateTree(t *testing.T, root string) (seen []string, open []string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			open = append(open, p+": "+err.Error())
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		seen = append(seen, rel)
		// A symbolic link's own mode is always 0777 on Linux and grants nothing: what it
		// names is guarded by its target and by the 0700 directory that holds it.
		if st.Mode()&fs.ModeSymlink == 0 && st.Mode().Perm()&0o077 != 0 {
			open = append(open, rel+" "+st.Mode().String())
		}
		return nil
	})
	return seen, open
}

// withUmask runs start with the process umask set to mask, so that the child it starts
// inherits it, and restores the test's umask at once.
func withUmask(mask int, start func() error) error {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	return start()
}

// TestPrivateFilesUnderUmask000: started from a shell whose umask is 000, `posfw sim`
// and `posfw provision` still create their data directory 0700 and the journal, its WAL
// and SHM, the ledger, the card key, the log and the control socket without group or
// other permissions.
func TestPrivateFilesUnderUmask000(t *testing.T) {
	t.Run("sim", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "var")
		sock := filepath.Join(data, "sim.sock")
		var stderr bytes.Buffer
		sim := posfwCmd("sim", "--headless", "--lang", "en", "--data", data)
		sim.Stderr = &stderr
		if err := withUmask(0, sim.Start); err != nil {
			t.Fatal(err)
		}
		defer sim.Process.Kill()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if code, out := simctl(t, sock, "screen"); code == 0 && strings.Contains(out, "Operator") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no sign-in screen within 15 s; stderr:\n%s", stderr.String())
			}
		}
		seen, open := privateTree(t, data)
		for _, want := range []string{".", "journal.db", "journal.db-wal", "journal.db-shm", "ledger.db", "sim.sock", "log", "log/posfw.log", "dev"} {
			if !contains(seen, want) {
				t.Errorf("data directory lacks %s (has %v)", want, seen)
			}
		}
		if len(open) > 0 {
			t.Errorf("under umask 000, group or others may use: %v; want none of the data directory", open)
		}
		sim.Process.Signal(syscall.SIGTERM)
		sim.Wait()
	})
	t.Run("provision", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		cmd := posfwCmd("provision", "password", "00", "--data", data)
		cmd.Stdin = strings.NewReader("654321\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := withUmask(0, cmd.Start); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("provision: %v: %s", err, out.String())
		}
		seen, open := privateTree(t, data)
		if !contains(seen, "journal.db") {
			t.Errorf("data directory lacks journal.db (has %v)", seen)
		}
		if len(open) > 0 {
			t.Errorf("under umask 000, group or others may use: %v; want none of the data directory", open)
		}
	})
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
