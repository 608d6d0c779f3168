package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"posfw/firmware/journal"
	"posfw/firmware/txn"
)

// TestJournalCommandNoJournal: on a directory without a journal, verify, export and
// stats say so in one line and exit 1, and leave no journal behind.
func TestJournalCommandNoJournal(t *testing.T) {
	for _, verb := range []string{"verify", "export", "stats"} {
		dir := t.TempDir()
		code, out, errs := call("journal", verb, "--data", dir)
		if code != 1 || out != "" || !strings.Contains(errs, "no journal here") || strings.Count(errs, "\n") != 1 {
			t.Errorf("journal %s on an empty directory = %d %q %q; want exit 1 and one line saying there is no journal", verb, code, out, errs)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("journal %s left %v in the empty directory; want nothing", verb, names)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestJournalCommandReadOnly: verify, export and stats read a journal without writing
// to it: in a directory the process may not write (0500; root may anyway, so the
// command never writes, whoever runs it) and on a read-only mount, where SQLite cannot
// make its shared-memory file.
func TestJournalCommandReadOnly(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	j, err := journal.Open(filepath.Join(src, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	r := &txn.Record{Type: txn.Sale, Status: txn.Pending, Amount: 1234, Currency: "CNY", MaskedPAN: "622202******3214", Operator: "01"}
	if err := j.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Finish(ctx, txn.Outcome{ID: r.ID, Status: txn.Approved, Response: txn.Response{Code: "00", RRN: "123456789012"}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	before, _ := os.ReadFile(filepath.Join(src, "journal.db"))
	// fresh is a directory holding a copy of the journal, for one medium.
	fresh := func(t *testing.T) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "journal.db"), before, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	media := map[string]func(t *testing.T, src string) string{
		"directory 0500": func(t *testing.T, src string) string {
			os.Chmod(src, 0o500)
			t.Cleanup(func() { os.Chmod(src, 0o700) })
			return src
		},
		"read-only mount": func(t *testing.T, src string) string {
			dst := t.TempDir()
			if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
				t.Skipf("cannot bind-mount here (%v)", err)
			}
			t.Cleanup(func() { syscall.Unmount(dst, 0) })
			if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				t.Skipf("cannot make the bind mount read-only here (%v)", err)
			}
			return dst
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range media {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			src := fresh(t)
			data := media[name](t, src)
			for _, tc := range []struct {
				verb string
				want string
			}{
				{"verify", "OK"},
				{"export", `"amount":1234`},
				{"stats", `"records": 1`},
			} {
				code, out, errs := call("journal", tc.verb, "--data", data)
				if code != 0 || !strings.Contains(out, tc.want) {
					t.Errorf("journal %s = %d %q %q; want exit 0 and %q", tc.verb, code, out, errs, tc.want)
				}
			}
			if after, _ := os.ReadFile(filepath.Join(src, "journal.db")); string(after) != string(before) {
				t.Error("the journal file changed; want it read, not written")
			}
			// SQLite's read-only open may leave an empty WAL and its shared memory where it
			// can create them; nothing else.
			for _, n := range dirNames(t, src) {
				fi, _ := os.Stat(filepath.Join(src, n))
				if n != "journal.db" && n != "journal.db-shm" && !(n == "journal.db-wal" && fi.Size() == 0) {
					t.Errorf("reading left %s (%d bytes) in the directory; want nothing but the journal", n, fi.Size())
				}
			}
		})
	}
}
