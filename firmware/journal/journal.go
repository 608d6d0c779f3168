// Package journal is the terminal's offline journal: one SQLite database (through
// github.com/mattn/go-sqlite3) that remembers every money record, its counters and its
// audit trail, and survives power cuts.
//
// The database runs in WAL mode with synchronous=FULL, so a commit that returned is on the
// disk; foreign keys and secure_delete are on; there is one writer. The append-only event
// chain is the truth: a sale's two commits hold only its events, and the tables follow
// (project.go). Schema changes are
// numbered, forward-only migrations (migrations/NNNN_name.sql) applied in order inside one
// transaction each, with a copy of the old file taken before the first one runs. A journal
// that fails PRAGMA integrity_check is refused and left exactly as it was found.
package journal

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"posfw/firmware/txn"
)

// MinSQLite is the oldest SQLite this journal accepts: earlier releases have a WAL-reset
// race that can lose committed transactions.
const MinSQLite = "3.51.3"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded schema steps in order. Version numbers start at 1 and
// leave no gap, which loading checks.
func Migrations() ([]Migration, error) { return loadMigrations(migrationFS, "migrations") }

func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %s: version %d out of sequence, want %d", name, v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	return ms, nil
}

// Journal is an open journal database.
type Journal struct {
	db    *sql.DB
	path  string
	clock func() time.Time

	// write serialises this process's write transactions and the projection; head is
	// the hash chain's newest event as the last commit left it (nil hash: not read yet).
	write sync.Mutex
	head  chainHead
	// The fast path (project.go): next numbers and pending records kept between fast
	// commits (under write); behind is set while the tables lag the chain.
	next   numbers
	open   map[int64]*txn.Record
	behind atomic.Bool
	// projected: the schema has the projection mark (0005); only migration tests open
	// a journal without it. sealable: the schema has the seals table (0006), and the
	// chain accounts for every counter (witness.go).
	projected, sealable bool
	readOnly            bool
	// The projector goroutine: wake (buffered) after a fast commit, quit to stop it.
	wake, quit, projectorDone chan struct{}
	// owes counts commits that may leave a reversal to send; owesNone is the count at
	// which PendingReversals last found none (PendingReversals, store.go).
	owes, owesNone atomic.Uint64
	closing        sync.Once

	// The witness (witness.go): the PIN pad that seals the chain's head.
	witness    Witness
	sealWake   chan struct{}
	sealerDone chan struct{}
	sealMu     sync.Mutex // one seal at a time; guards lastSeal and unsaved
	lastSeal   sealRow    // the newest head the witness sealed
	unsaved    bool       // lastSeal is not in the seals table yet
}

// ErrCorrupt means the journal file failed SQLite's integrity check. The file is left
// untouched so that it can be examined and kept as evidence.
var ErrCorrupt = errors.New("journal fails its integrity check")

// ErrNoJournal: a read-only open found no journal file.
var ErrNoJournal = errors.New("no journal here")

// Options are how a journal is opened; the zero value is a writable journal without a
// witness.
type Options struct {
	// Witness keeps the chain's sealed head outside the data directory (the PIN pad).
	// With one, Open refuses a journal that does not hold the witness's anchor (a copy
	// restored, a WAL lost), the head is sealed after each commit in the background
	// and at Close, and Verify checks every stored seal through it. `posfw run` always
	// gives one.
	Witness Witness
	// ReadOnly opens an existing journal without writing a byte: no migration, no
	// replay, no seal. It works on read-only media. A journal whose tables are behind
	// its chain (a power cut before the projection) or whose schema is older than this
	// firmware is refused: the terminal brings it up to date at its next start.
	ReadOnly bool
}

// Open opens (creating if needed) the journal at path, checks its integrity and brings
// its schema up to date.
func Open(path string) (*Journal, error) {
	return OpenWith(path, Options{})
}

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*Journal, error) {
	return open(path, migrationFS, "migrations", o)
}

func open(path string, fsys fs.FS, dir string, o ...Options) (*Journal, error) {
	var opt Options
	if len(o) > 0 {
		opt = o[0]
	}
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := checkSQLiteVersion(SQLiteVersion()); err != nil {
		return nil, err
	}
	if opt.ReadOnly {
		return openReadOnly(path, ms, opt)
	}
	if _, err := os.Stat(path); err == nil {
		if err := checkIntegrity(path); err != nil {
			return nil, err
		}
	}
	if opt.Witness != nil {
		// Before a byte is written: a journal that went back is left as found.
		if err := checkAnchorFirst(path, opt.Witness); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	// One connection: a single writer, and every pragma applies to the one connection.
	db.SetMaxOpenConns(1)
	j := &Journal{db: db, path: path, open: map[int64]*txn.Record{}, witness: opt.Witness}
	j.owes.Store(1) // nothing known yet: ask
	if err := j.pragmas(); err != nil {
		db.Close()
		return nil, err
	}
	from, err := j.migrate(ms)
	if err != nil {
		db.Close()
		return nil, err
	}
	var mark int64
	j.projected = j.db.QueryRow(qProjected).Scan(&mark) == nil
	j.sealable = j.hasTable("seals")
	// Events a power cut left beyond the projection are replayed now.
	if err := j.tx(context.Background(), func(*wtx) error { return nil }); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: replaying the events after the last projection: %w", path, err)
	}
	if err := j.start(context.Background(), from); err != nil {
		db.Close()
		return nil, err
	}
	// The card-hash key no longer lives here (the PIN pad holds it): a key left by an
	// older firmware goes, so that the data directory gives no PAN back.
	if err := os.Remove(filepath.Join(filepath.Dir(path), legacyCardKeyFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		db.Close()
		return nil, fmt.Errorf("journal %s: removing the old card-hash key: %w", path, err)
	}
	j.startWorkers()
	return j, nil
}

// startWorkers starts the projector and, with a witness, the sealer.
func (j *Journal) startWorkers() {
	j.wake, j.quit, j.projectorDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go j.projector()
	if j.witness != nil && !j.readOnly {
		j.sealWake, j.sealerDone = make(chan struct{}, 1), make(chan struct{})
		go j.sealer()
	}
}

// hasTable reports whether the schema has a table of that name.
func (j *Journal) hasTable(name string) bool {
	var n int
	j.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name).Scan(&n)
	return n == 1
}

// openReadOnly opens an existing journal for reading only (Options.ReadOnly).
func openReadOnly(path string, ms []Migration, o Options) (*Journal, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal %s: %w", path, ErrNoJournal)
	} else if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	db, err := openRO(path)
	if err != nil {
		return nil, err
	}
	j := &Journal{db: db, path: path, open: map[int64]*txn.Record{}, witness: o.Witness, readOnly: true}
	j.owes.Store(1)
	if err := j.IntegrityCheck(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w (the file was left untouched)", path, err)
	}
	v, err := j.Version()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: read schema version: %w", path, err)
	}
	if v != len(ms) {
		db.Close()
		return nil, fmt.Errorf("journal %s: schema version %d, this firmware's is %d; opened read-only, it is not migrated (start the terminal on it once, on writable storage)", path, v, len(ms))
	}
	var mark, last int64
	j.projected = j.db.QueryRow(qProjected).Scan(&mark) == nil
	j.sealable = j.hasTable("seals")
	if j.projected {
		if err := j.db.QueryRow("SELECT COALESCE(max(id), 0) FROM events").Scan(&last); err != nil {
			db.Close()
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
		if last > mark {
			db.Close()
			return nil, fmt.Errorf("journal %s: %d events are not yet in its tables (a power cut before they were written); opened read-only, they are not replayed (start the terminal on it once, on writable storage)", path, last-mark)
		}
	}
	if err := j.start(context.Background(), v); err != nil {
		db.Close()
		return nil, err
	}
	j.startWorkers()
	return j, nil
}

// openRO opens path read-only: through SQLite's shared memory when it can (a journal
// in use, or a writable directory), else as an immutable file (read-only media, where
// the -shm file cannot be made), which is only right when no WAL holds commits.
func openRO(path string) (*sql.DB, error) {
	try := func(dsn string) (*sql.DB, error) {
		db, err := sql.Open("sqlite3", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		var v int
		if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := try(dsn(path, true))
	if err == nil {
		return db, nil
	}
	if fi, serr := os.Stat(path + "-wal"); serr == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("journal %s: its write-ahead log holds commits that cannot be read on this read-only medium (%v); copy the directory to writable storage", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("immutable", "1")
	db, ierr := try("file:" + path + "?" + q.Encode())
	if ierr != nil {
		return nil, fmt.Errorf("journal %s: opening read-only: %v", path, errors.Join(err, ierr))
	}
	return db, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_foreign_keys", "on")
		q.Set("_secure_delete", "on")
		q.Set("_txlock", "immediate")
	}
	q.Set("_busy_timeout", "5000")
	// The driver keeps prepared statements by their text: the journal runs the same few
	// statements all day, and preparing one costs more than running most of them.
	q.Set("_stmt_cache_size", "64")
	return "file:" + path + "?" + q.Encode()
}

// checkIntegrity runs PRAGMA integrity_check on a read-only connection, so that a damaged
// file is not written to (not even a journal-mode change) before it is refused.
func checkIntegrity(path string) error {
	db, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("journal %s: %w: %v (the file was left untouched)", path, ErrCorrupt, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("journal %s: %w: %v (the file was left untouched)", path, ErrCorrupt, err)
		}
		problems = append(problems, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal %s: %w: %v (the file was left untouched)", path, ErrCorrupt, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		first := "no result"
		if len(problems) > 0 {
			first = problems[0]
		}
		return fmt.Errorf("journal %s: %w: %s (the file was left untouched)", path, ErrCorrupt, first)
	}
	return nil
}

func (j *Journal) pragmas() error {
	want := map[string]string{
		"journal_mode":  "wal",
		"synchronous":   "2", // FULL
		"foreign_keys":  "1",
		"secure_delete": "1",
	}
	for name, v := range want {
		var got string
		if err := j.db.QueryRow("PRAGMA " + name).Scan(&got); err != nil {
			return fmt.Errorf("journal %s: PRAGMA %s: %w", j.path, name, err)
		}
		if strings.ToLower(got) != v {
			return fmt.Errorf("journal %s: PRAGMA %s is %s; want %s", j.path, name, got, v)
		}
	}
	return nil
}

// Version is the schema version the journal is at (PRAGMA user_version).
func (j *Journal) Version() (int, error) {
	var v int
	err := j.db.QueryRow("PRAGMA user_version").Scan(&v)
	return v, err
}

// migrate brings the schema up to date and returns the version it found.
func (j *Journal) migrate(ms []Migration) (int, error) {
	cur, err := j.Version()
	if err != nil {
		return 0, fmt.Errorf("journal %s: read schema version: %w", j.path, err)
	}
	if cur > len(ms) {
		return cur, fmt.Errorf("journal %s: schema version %d is newer than this firmware knows (%d); refusing to run an older firmware on it", j.path, cur, len(ms))
	}
	if cur == len(ms) {
		return cur, nil
	}
	if cur > 0 {
		if _, err := j.Backup(fmt.Sprintf("%s.v%d-%s.bak", j.path, cur, time.Now().UTC().Format("20060102T150405Z"))); err != nil {
			return cur, fmt.Errorf("journal %s: backup before migrating from version %d: %w", j.path, cur, err)
		}
	}
	for _, m := range ms[cur:] {
		if err := j.apply(m); err != nil {
			return cur, fmt.Errorf("journal %s: migration %04d_%s: %w", j.path, m.Version, m.Name, err)
		}
	}
	return cur, nil
}

func (j *Journal) apply(m Migration) error {
	tx, err := j.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(m.SQL); err != nil {
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", m.Version)); err != nil {
		return err
	}
	return tx.Commit()
}

// Backup writes a consistent copy of the journal to dst (which must not exist) and
// returns its path.
func (j *Journal) Backup(dst string) (string, error) {
	if _, err := os.Stat(dst); err == nil {
		return "", fmt.Errorf("backup %s already exists", dst)
	}
	if _, err := j.db.Exec("VACUUM INTO ?", dst); err != nil {
		return "", err
	}
	return dst, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close commits what the projection still owes and closes the database; the WAL is
// checkpointed by SQLite.
func (j *Journal) Close() error {
	var err error
	j.closing.Do(func() {
		close(j.quit)
		<-j.projectorDone
		if j.sealerDone != nil {
			<-j.sealerDone
		}
		err = j.settle(context.Background())
		if err == nil && j.sealerDone != nil {
			// The head as it is left, sealed: best effort, as after each commit. A pad
			// that does not answer leaves the last seal, which the next start accepts.
			j.sealHead(context.Background(), sealHead)
		}
		err = errors.Join(err, j.db.Close())
	})
	return err
}

// Counter returns the current value of a counter ("stan", "batch" or "invoice").
func (j *Journal) Counter(ctx context.Context, name string) (int64, error) {
	var v int64
	err := j.queryRow(ctx, qCounter, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("journal: no counter %q", name)
	}
	return v, err
}

// IntegrityCheck runs PRAGMA integrity_check on the open journal.
func (j *Journal) IntegrityCheck(ctx context.Context) error {
	var s string
	if err := j.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&s); err != nil {
		return err
	}
	if s != "ok" {
		return fmt.Errorf("%w: %s", ErrCorrupt, s)
	}
	return nil
}

// SQLiteVersion is the version of the SQLite library linked into this binary.
func SQLiteVersion() string {
	v, _, _ := sqlite3.Version()
	return v
}

func checkSQLiteVersion(v string) error {
	if compareVersions(v, MinSQLite) < 0 {
		return fmt.Errorf("SQLite %s is older than %s, which this journal needs (WAL-reset race)", v, MinSQLite)
	}
	return nil
}

// compareVersions compares dotted decimal versions: -1, 0 or 1.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}
