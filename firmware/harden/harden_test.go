package harden

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// state is what the child process reports about itself.
type state struct {
	Dumpable bool   `json:"dumpable"`
	CoreCur  uint64 `json:"core_cur"`
	CoreMax  uint64 `json:"core_max"`
	Umask    string `json:"umask"`     // the Umask line of /proc/self/status
	FileMode string `json:"file_mode"` // a file created with mode 0666
	DirMode  string `json:"dir_mode"`  // a directory created with mode 0777
}

// observe reads the process's dumpable flag, core limit and umask, and what becomes of
// a file and a directory created in dir.
func observe(dir, name string) (state, error) {
	var s state
	var err error
	if s.Dumpable, err = Dumpable(); err != nil {
		return s, err
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		return s, err
	}
	s.CoreCur, s.CoreMax = rl.Cur, rl.Max
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			s.Umask = strings.TrimSpace(v)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".file"), os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return s, err
	}
	f.Close()
	if err := os.Mkdir(filepath.Join(dir, name+".dir"), 0o777); err != nil {
		return s, err
	}
	for _, p := range []struct {
		name string
		out  *string
	}{{".file", &s.FileMode}, {".dir", &s.DirMode}} {
		st, err := os.Stat(filepath.Join(dir, name+p.name))
		if err != nil {
			return s, err
		}
		*p.out = st.Mode().Perm().String()
	}
	return s, nil
}

// TestMain: as a child (HARDEN_CHILD=DIR), start from the most open state a process can
// be in (umask 000, core dumps as large as allowed, dumpable), report it, call Process,
// and report again.
func TestMain(m *testing.M) {
	dir := os.Getenv("HARDEN_CHILD")
	if dir == "" {
		os.Exit(m.Run())
	}
	unix.Umask(0)
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_CORE, &rl)
	rl.Cur = rl.Max
	unix.Setrlimit(unix.RLIMIT_CORE, &rl)
	unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	var out [2]state
	var err error
	if out[0], err = observe(dir, "before"); err == nil {
		if err = Process(); err == nil {
			out[1], err = observe(dir, "after")
		}
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(0)
}

// TestProcess runs Process in a child process and reads the child's own view of itself.
func TestProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HARDEN_CHILD="+dir)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var got [2]state
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("child said %q: %v", b, err)
	}
	before, after := got[0], got[1]
	if !before.Dumpable || before.Umask != "0000" || before.FileMode != "-rw-rw-rw-" {
		t.Fatalf("child before Process = %+v; want dumpable, umask 0000, file -rw-rw-rw- (else this test proves nothing)", before)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"dumpable", after.Dumpable, false},
		{"RLIMIT_CORE soft", after.CoreCur, uint64(0)},
		{"RLIMIT_CORE hard", after.CoreMax, uint64(0)},
		{"umask", after.Umask, "0077"},
		{"mode of a file created 0666", after.FileMode, "-rw-------"},
		{"mode of a directory created 0777", after.DirMode, "-rwx------"},
	} {
		if c.got != c.want {
			t.Errorf("after Process: %s = %v; want %v", c.what, c.got, c.want)
		}
	}
}
