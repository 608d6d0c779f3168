package control

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestListenLeavesOtherFilesAlone: --control pointing at anything but a socket (the
// live journal, say) is refused and the file is left as it was.
func TestListenLeavesOtherFilesAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(p string) error
		want string
	}{
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("SQLite format 3\x00"), 0o600) }, "a regular file is there, not a socket"},
		{"empty file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "a regular file is there"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "a directory is there"},
		{"symbolic link to a file", func(p string) error {
			target := p + ".target"
			if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
				return err
			}
			return os.Symlink(target, p)
		}, "a symbolic link is there"},
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "a named pipe is there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "journal.db")
			if err := tc.make(p); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(p)
			s, err := Listen(p, echoHandler)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Listen(%s) = %v; want an error saying %q", tc.name, err, tc.want)
			}
			after, err := os.Lstat(p)
			if err != nil || !os.SameFile(before, after) || after.Size() != before.Size() || after.Mode() != before.Mode() {
				t.Errorf("after Listen, %s is %v (%v); want it untouched (%v)", tc.name, after, err, before)
			}
			if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) > 2 {
				t.Errorf("Listen left files behind: %v", entries)
			}
		})
	}
}

// TestCloseLeavesReplacement: Close removes the socket it made, not a file that took
// its place meanwhile.
func TestCloseLeavesReplacement(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sim.sock")
	s, err := Listen(p, echoHandler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if b, err := os.ReadFile(p); err != nil || string(b) != "precious" {
		t.Errorf("after Close, %s holds %q, %v; want the file that replaced the socket", p, b, err)
	}
}

// TestSocketPrivateFromTheStart: under umask 000 the socket is 0600 and was 0600 from the
// moment it appeared at its path: inotify on the directory sees it created and never
// sees its attributes change there (the old code bound it 0777 and chmod'ed it after,
// a window in which another user connected).
func TestSocketPrivateFromTheStart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sim.sock")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_ATTRIB|unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0)
	s, err := Listen(p, echoHandler)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := os.Stat(p)
	if err != nil || st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s = %v, %v; want a socket with mode 0600", p, st.Mode(), err)
	}
	var events []string
	buf := make([]byte, 64<<10)
	n, _ := unix.Read(fd, buf)
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		// struct inotify_event: wd, mask, cookie, len (native endian), then the name.
		mask := binary.NativeEndian.Uint32(buf[off+4:])
		nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
		name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen], "\x00"))
		off += unix.SizeofInotifyEvent + nameLen
		if name != "sim.sock" {
			continue
		}
		switch {
		case mask&unix.IN_CREATE != 0:
			events = append(events, "create")
		case mask&unix.IN_MOVED_TO != 0:
			events = append(events, "moved in")
		case mask&unix.IN_ATTRIB != 0:
			events = append(events, "attributes changed")
		}
	}
	if got := strings.Join(events, ", "); got != "create" {
		t.Errorf("events on sim.sock in its directory: %q; want only %q (created with its final mode)", got, "create")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v; want only sim.sock (the private directory removed)", entries)
	}
	if resp, err := Call(p, Request{Verb: "screen"}); err != nil || !resp.OK {
		t.Errorf("Call through the linked socket = %+v, %v; want an answer", resp, err)
	}
}

// TestAcceptSurvivesEMFILE fills the file table of a child process while a client
// connects, so that accept fails with EMFILE, then frees it: the pending client is
// served and later clients too. Done in a child so that this test process keeps its
// descriptors.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	if os.Getenv("CONTROL_EMFILE_CHILD") == "1" {
		emfileChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesEMFILE$", "-test.v")
	cmd.Env = append(os.Environ(), "CONTROL_EMFILE_CHILD=1", "CONTROL_EMFILE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("accept failed, retrying")) || !bytes.Contains(out, []byte("too many open files")) {
		t.Errorf("child log = %s; want the EMFILE accept failure logged", out)
	}
}

// logSeen is a log writer that tells when a line containing want was written.
type logSeen struct {
	want string
	seen chan struct{}
}

func (l *logSeen) Write(p []byte) (int, error) {
	os.Stdout.Write(p)
	if bytes.Contains(p, []byte(l.want)) {
		select {
		case l.seen <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func emfileChild(t *testing.T) {
	p := filepath.Join(os.Getenv("CONTROL_EMFILE_DIR"), "sim.sock")
	lw := &logSeen{want: "accept failed", seen: make(chan struct{}, 1)}
	s, err := Listen(p, echoHandler, WithLogger(slog.New(slog.NewTextHandler(lw, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A small table, so that it fills fast.
	lim := unix.Rlimit{Cur: 256, Max: 256}
	var cur unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &cur)
	if cur.Max < lim.Max {
		lim = cur
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fill []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			if err != unix.EMFILE {
				t.Fatal(err)
			}
			break
		}
		fill = append(fill, fd)
	}
	unix.Close(fill[len(fill)-1]) // one descriptor for the client's socket
	fill = fill[:len(fill)-1]
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatalf("dial with one free descriptor: %v", err)
	}
	defer c.Close()
	// Wait for the failed accept to be logged (the parent checks the log), or long
	// enough for it to have happened unlogged.
	select {
	case <-lw.seen:
	case <-time.After(2 * time.Second):
	}
	for _, fd := range fill {
		unix.Close(fd)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, `{"verb":"screen","args":["after"]}`)
	sc := bufio.NewScanner(c)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"after"`) {
		t.Fatalf("client waiting through EMFILE: answer %q, %v; want the screen", sc.Text(), sc.Err())
	}
	if resp, err := Call(p, Request{Verb: "screen"}); err != nil || !resp.OK {
		t.Errorf("a new client after EMFILE: %+v, %v; want an answer", resp, err)
	}
}
