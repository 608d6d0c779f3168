package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// DefaultRoot is where a terminal's slots live.
const DefaultRoot = "/opt/posfw"

// MaxStarts is how many starts a new slot gets to pass its health check before the
// launcher goes back to the previous slot.
const MaxStarts = 3

// Root is an install root:
//
//	ROOT/launch          the launcher (POSIX sh): boot counting, health check, rollback
//	ROOT/boot            the boot state, replaced atomically (see Boot)
//	ROOT/board           the board this terminal is (one line)
//	ROOT/slots/a, b      the two slots: posfw, board files, manifest.json, manifest.sig
//	ROOT/incoming        partial and received bundles of a push
type Root struct{ Dir string }

// Boot is the boot state, a file of "key value" lines that the launcher reads with the
// shell's read and writes back when it counts a start or rolls back.
type Boot struct {
	Active   string // slot to start: a or b
	Previous string // slot to go back to, "" on a first install
	// Trial is -1 when the active slot is confirmed, else the starts it has had since
	// it was installed (the launcher counts them).
	Trial int
	// Floor is the anti-rollback floor: the newest version ever confirmed here. A bundle
	// older than it is refused.
	Floor string
	Max   int // MaxStarts unless the file says otherwise
}

// Slot is the directory of slot s.
func (r Root) Slot(s string) string { return filepath.Join(r.Dir, "slots", s) }

func (r Root) bootPath() string { return filepath.Join(r.Dir, "boot") }

// ReadBoot reads the boot state.
func (r Root) ReadBoot() (Boot, error) {
	b := Boot{Trial: -1, Max: MaxStarts}
	data, err := os.ReadFile(r.bootPath())
	if errors.Is(err, os.ErrNotExist) {
		return b, fmt.Errorf("%s is not an install root (no boot file): run posfw install first", r.Dir)
	}
	if err != nil {
		return b, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		v = strings.TrimSpace(v)
		switch k {
		case "active":
			b.Active = v
		case "previous":
			b.Previous = v
		case "trial":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return b, fmt.Errorf("%s: trial %q is not a count", r.bootPath(), v)
			}
			b.Trial = n
		case "floor":
			b.Floor = v
		case "max":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return b, fmt.Errorf("%s: max %q is not a count", r.bootPath(), v)
			}
			b.Max = n
		}
	}
	if b.Active != "a" && b.Active != "b" {
		return b, fmt.Errorf("%s: active slot %q is not a or b", r.bootPath(), b.Active)
	}
	if b.Previous != "" && b.Previous != "a" && b.Previous != "b" {
		return b, fmt.Errorf("%s: previous slot %q is not a or b", r.bootPath(), b.Previous)
	}
	return b, nil
}

// writeBoot replaces the boot state atomically: a new file, fsynced, renamed over the
// old one, and the directory fsynced. The rename is the switch between slots.
func (r Root) writeBoot(b Boot) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "active %s\n", b.Active)
	if b.Previous != "" {
		fmt.Fprintf(&buf, "previous %s\n", b.Previous)
	}
	if b.Trial >= 0 {
		fmt.Fprintf(&buf, "trial %d\n", b.Trial)
	}
	if b.Floor != "" {
		fmt.Fprintf(&buf, "floor %s\n", b.Floor)
	}
	if b.Max == 0 {
		b.Max = MaxStarts
	}
	fmt.Fprintf(&buf, "max %d\n", b.Max)
	tmp := r.bootPath() + ".tmp"
	if err := writeFileSync(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := r.own(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.bootPath()); err != nil {
		return err
	}
	return syncDir(r.Dir)
}

// own gives what root (the user) wrote under path to the install root's owner: a
// technician's `sudo posfw update apply` must leave slots and state that the service's
// user can replace at the next push.
func (r Root) own(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(r.Dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 && st.Gid == 0 {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// lock takes the install root's lock, so that two technicians' commands (or a push and a
// command) do not switch slots at once.
func (r Root) lock() (func(), error) {
	// Read-only is enough for flock, so the lock file made by root serves the service's user.
	f, err := os.OpenFile(filepath.Join(r.Dir, ".lock"), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is busy: another update command is running", r.Dir)
	}
	return func() { f.Close() }, nil
}

// Board is the board this install root is for.
func (r Root) Board() (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, "board"))
	if err != nil {
		return "", fmt.Errorf("install root %s names no board: %w", r.Dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Target is what a bundle must be built for.
type Target struct {
	Board, GOOS, GOARCH, GOARM string
}

// Here is the platform of the running binary, on board.
func Here(board string) Target {
	t := Target{Board: board, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" {
					t.GOARM, _, _ = strings.Cut(s.Value, ",")
				}
			}
		}
	}
	return t
}

// Status is what `posfw update status` shows.
type Status struct {
	Boot
	Board           string
	ActiveVersion   string
	PreviousVersion string
}

// Status reads the install root's state.
func (r Root) Status() (Status, error) {
	b, err := r.ReadBoot()
	if err != nil {
		return Status{}, err
	}
	s := Status{Boot: b}
	s.Board, _ = r.Board()
	if m, err := ReadManifest(r.Slot(b.Active)); err == nil {
		s.ActiveVersion = m.Version
	}
	if b.Previous != "" {
		if m, err := ReadManifest(r.Slot(b.Previous)); err == nil {
			s.PreviousVersion = m.Version
		}
	}
	return s, nil
}

// Policy refuses a verified bundle this root must not install: wrong board or platform,
// older than the anti-rollback floor, or unable to replace the installed version.
func (r Root) Policy(m Manifest, t Target) error {
	if m.Board != t.Board {
		return fmt.Errorf("bundle is for board %q, this terminal is %q", m.Board, t.Board)
	}
	if m.GOOS != t.GOOS || m.GOARCH != t.GOARCH || m.GOARM != t.GOARM {
		return fmt.Errorf("bundle is for %s, this terminal is %s", platform(m.GOOS, m.GOARCH, m.GOARM), platform(t.GOOS, t.GOARCH, t.GOARM))
	}
	b, err := r.ReadBoot()
	if err != nil {
		return err
	}
	if b.Floor != "" && older(m.Version, b.Floor) {
		return fmt.Errorf("bundle version %s is older than %s, the newest version confirmed here (anti-rollback)", m.Version, b.Floor)
	}
	if cur, err := ReadManifest(r.Slot(b.Active)); err == nil && m.MinVersion != "" && older(cur.Version, m.MinVersion) {
		return fmt.Errorf("bundle version %s replaces %s or newer, this terminal runs %s: install %s first", m.Version, m.MinVersion, cur.Version, m.MinVersion)
	}
	if b.Trial >= 0 {
		return fmt.Errorf("slot %s is on trial (not yet confirmed): confirm it or roll back first", b.Active)
	}
	return nil
}

func platform(goos, goarch, goarm string) string {
	if goarm != "" {
		return goos + "/" + goarch + "v" + goarm
	}
	return goos + "/" + goarch
}

// Apply verifies the bundle at path and installs it into the inactive slot, which then
// becomes active on trial: the launcher health-checks it at the next start and goes back
// to the slot active now if it fails MaxStarts times. Nothing changes on a refusal.
func (r Root) Apply(path string, keys Keys, t Target) (Manifest, error) {
	unlock, err := r.lock()
	if err != nil {
		return Manifest{}, err
	}
	defer unlock()
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	bundle, err := Open(bufio.NewReaderSize(f, 1<<16), keys)
	if err != nil {
		return Manifest{}, err
	}
	m := bundle.Manifest
	if err := r.Policy(m, t); err != nil {
		return m, err
	}
	boot, _ := r.ReadBoot()
	slot := "b"
	if boot.Active == "b" {
		slot = "a"
	}
	// Extract beside the slot, then rename: a half-written slot never has the slot's name.
	slots := filepath.Join(r.Dir, "slots")
	tmp := filepath.Join(slots, "."+slot+".new")
	old := filepath.Join(slots, "."+slot+".old")
	os.RemoveAll(tmp)
	os.RemoveAll(old)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return m, err
	}
	if err := bundle.Extract(tmp); err != nil {
		os.RemoveAll(tmp)
		return m, err
	}
	if err := r.own(tmp); err != nil {
		os.RemoveAll(tmp)
		return m, err
	}
	if err := syncTree(tmp); err != nil {
		os.RemoveAll(tmp)
		return m, err
	}
	if err := os.Rename(r.Slot(slot), old); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(tmp)
		return m, err
	}
	if err := os.Rename(tmp, r.Slot(slot)); err != nil {
		return m, err
	}
	if err := syncDir(slots); err != nil {
		return m, err
	}
	os.RemoveAll(old)
	// The switch: one rename of the boot file. Before it, the old slot starts as before.
	boot.Previous, boot.Active, boot.Trial = boot.Active, slot, 0
	return m, r.writeBoot(boot)
}

// syncTree fsyncs every directory under dir (the files were fsynced as written).
func syncTree(dir string) error {
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

// Confirm ends the active slot's trial: it stays, and its version becomes the
// anti-rollback floor if it is newer.
func (r Root) Confirm() (Status, error) {
	unlock, err := r.lock()
	if err != nil {
		return Status{}, err
	}
	defer unlock()
	b, err := r.ReadBoot()
	if err != nil {
		return Status{}, err
	}
	if b.Trial < 0 {
		return Status{}, fmt.Errorf("slot %s is already confirmed", b.Active)
	}
	m, err := ReadManifest(r.Slot(b.Active))
	if err != nil {
		return Status{}, err
	}
	b.Trial = -1
	if b.Floor == "" || older(b.Floor, m.Version) {
		b.Floor = m.Version
	}
	if err := r.writeBoot(b); err != nil {
		return Status{}, err
	}
	return r.Status()
}

// Rollback makes the previous slot active again, on trial (the launcher health-checks
// it at the next start). journalSchema is the schema version of the terminal's journal
// (0 if it has none): a slot whose firmware cannot read it is refused, since its start
// would refuse the journal.
func (r Root) Rollback(journalSchema int) (Status, error) {
	unlock, err := r.lock()
	if err != nil {
		return Status{}, err
	}
	defer unlock()
	b, err := r.ReadBoot()
	if err != nil {
		return Status{}, err
	}
	if b.Previous == "" {
		return Status{}, errors.New("no previous slot to roll back to")
	}
	m, err := ReadManifest(r.Slot(b.Previous))
	if err != nil {
		return Status{}, fmt.Errorf("previous slot %s: %w", b.Previous, err)
	}
	if m.Schema < journalSchema {
		return Status{}, fmt.Errorf("slot %s (version %s) reads journal schema %d, the journal is at %d: rolling back would stop the terminal; install a fixed newer version instead", b.Previous, m.Version, m.Schema, journalSchema)
	}
	b.Active, b.Previous, b.Trial = b.Previous, b.Active, 0
	if err := r.writeBoot(b); err != nil {
		return Status{}, err
	}
	return r.Status()
}
