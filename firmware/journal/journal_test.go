package journal

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSQLiteVersion(t *testing.T) {
	if v := SQLiteVersion(); compareVersions(v, MinSQLite) < 0 {
		t.Errorf("linked SQLite is %s; want >= %s", v, MinSQLite)
	}
	for _, tc := range []struct {
		v       string
		wantErr bool
	}{
		{"3.51.2", true}, {"3.50.9", true}, {"3.51.3", false}, {"3.54.1", false}, {"4.0.0", false},
	} {
		if err := checkSQLiteVersion(tc.v); (err != nil) != tc.wantErr {
			t.Errorf("checkSQLiteVersion(%q) = %v; want error %v", tc.v, err, tc.wantErr)
		}
	}
}

func TestOpenSettings(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer j.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "secure_delete": "1",
	} {
		var got string
		if err := j.db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s; want %s", pragma, got, want)
		}
	}
	ms, _ := Migrations()
	if v, _ := j.Version(); v != len(ms) {
		t.Errorf("schema version = %d; want %d", v, len(ms))
	}
	for _, c := range []string{"stan", "batch", "invoice"} {
		if v, err := j.Counter(context.Background(), c); err != nil || v != 1 {
			t.Errorf("Counter(%s) = %d, %v; want 1, nil", c, v, err)
		}
	}
}

func TestMigrateForwardWithBackup(t *testing.T) {
	v1 := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (42);")},
	}
	v2 := fstest.MapFS{
		"m/0001_a.sql": v1["m/0001_a.sql"],
		"m/0002_b.sql": {Data: []byte("ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'new';")},
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "j.db")
	j, err := open(p, v1, "m")
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if m, _ := filepath.Glob(p + ".v*.bak"); len(m) != 0 {
		t.Errorf("backups after creating a fresh journal: %v; want none", m)
	}

	j, err = open(p, v2, "m")
	if err != nil {
		t.Fatalf("migrating to version 2: %v", err)
	}
	var x int
	var y string
	if err := j.db.QueryRow("SELECT x, y FROM a").Scan(&x, &y); err != nil || x != 42 || y != "new" {
		t.Errorf("after migration row = %d, %q, %v; want 42, \"new\", nil", x, y, err)
	}
	j.Close()

	baks, _ := filepath.Glob(p + ".v1-*.bak")
	if len(baks) != 1 {
		t.Fatalf("backups = %v; want one copy of version 1", baks)
	}
	b, err := open(baks[0], v1, "m")
	if err != nil {
		t.Fatalf("opening the backup as version 1: %v", err)
	}
	defer b.Close()
	if v, _ := b.Version(); v != 1 {
		t.Errorf("backup schema version = %d; want 1", v)
	}

	// Forward-only: the older firmware must not open the newer journal.
	if _, err := open(p, v1, "m"); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open version-2 journal with version-1 firmware = %v; want a 'newer' refusal", err)
	}
}

func TestMigrationNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no num":  {"m/init.sql": {}},
		"not sql": {"m/0001_a.txt": {}},
	} {
		if _, err := loadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loadMigrations succeeded; want an error", name)
		}
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	p := filepath.Join(t.TempDir(), "j.db")
	bad := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"m/0002_b.sql": {Data: []byte("CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);")},
	}
	if _, err := open(p, bad, "m"); err == nil {
		t.Fatal("open with a failing migration succeeded")
	}
	good := fstest.MapFS{"m/0001_a.sql": bad["m/0001_a.sql"]}
	j, err := open(p, good, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v, _ := j.Version(); v != 1 {
		t.Errorf("version after failed migration 2 = %d; want 1", v)
	}
	var n int
	j.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'b'").Scan(&n)
	if n != 0 {
		t.Error("table b of the failed migration exists; want the migration rolled back whole")
	}
}

// TestCorruptJournalRefusedUntouched damages a page of a journal and checks that Open
// refuses it with ErrCorrupt and leaves every byte of the file as it was.
func TestCorruptJournalRefusedUntouched(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "journal.db")
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.db.Exec(`CREATE TABLE filler (id INTEGER PRIMARY KEY, s TEXT);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000)
		INSERT INTO filler SELECT i, printf('%0100d', i) FROM n;
		CREATE INDEX filler_s ON filler(s);`); err != nil {
		t.Fatal(err)
	}
	j.Close()

	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Pages 4 to 8 (4096-byte pages) lie inside the filler table's b-tree: overwrite
	// their page headers as a torn write would.
	for page := int64(3); page < 8; page++ {
		if _, err := f.WriteAt([]byte("\x42garbage-garbage"), page*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	before := fileHash(t, p)

	_, err = Open(p)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a damaged journal = %v; want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), "untouched") {
		t.Errorf("error %q does not tell the technician the file was left untouched", err)
	}
	if after := fileHash(t, p); after != before {
		t.Error("the damaged journal file changed; want it left untouched")
	}
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
