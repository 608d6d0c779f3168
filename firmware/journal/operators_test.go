package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"posfw/firmware/operator"
)

// opFast are cheap argon2id parameters for tests.
var opFast = operator.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type opClock struct{ t time.Time }

func (c *opClock) now() time.Time { return c.t }

// opJournal opens a fresh journal and a Service on it, both on one test clock.
func opJournal(t *testing.T) (*Journal, *operator.Service, *opClock) {
	t.Helper()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	c := &opClock{time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	j.SetClock(c.now)
	s, err := operator.New(j, c.now, operator.DefaultPolicy, operator.WithParams(opFast))
	if err != nil {
		t.Fatal(err)
	}
	return j, s, c
}

type opEvent struct{ kind, operator, body string }

func opEvents(t *testing.T, j *Journal) []opEvent {
	t.Helper()
	rows, err := j.db.Query("SELECT kind, operator, body FROM events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var evs []opEvent
	for rows.Next() {
		var e opEvent
		if err := rows.Scan(&e.kind, &e.operator, &e.body); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestOperatorsAudit runs an operator's day through the journal and checks the audit
// trail: every step's event, in order, in the hash chain, without a password or hash.
func TestOperatorsAudit(t *testing.T) {
	ctx := context.Background()
	j, s, c := opJournal(t)
	type step struct {
		name  string
		do    func() error
		want  error
		kinds []string
	}
	var admin, cashier operator.Operator
	steps := []step{
		{"seed", func() error { _, err := s.SeedSimDefaults(ctx); return err }, nil,
			[]string{"operator.seed", "operator.seed", "operator.seed", "operator.seed"}},
		{"seed again", func() error { _, err := s.SeedSimDefaults(ctx); return err }, nil, nil},
		{"cashier login", func() (err error) { cashier, err = s.Login(ctx, "01", "0000"); return err }, nil,
			[]string{"operator.login"}},
		{"wrong 1", func() error { _, err := s.Login(ctx, "01", "4826"); return err }, operator.ErrWrongPassword,
			[]string{"operator.failure"}},
		{"wrong 2-4", func() error {
			for range 3 {
				s.Login(ctx, "01", "4826")
			}
			return nil
		}, nil, []string{"operator.failure", "operator.failure", "operator.failure"}},
		{"wrong 5", func() error { _, err := s.Login(ctx, "01", "4826"); return err }, operator.ErrLocked,
			[]string{"operator.failure", "operator.lockout"}},
		{"right while locked", func() error { _, err := s.Login(ctx, "01", "0000"); return err }, operator.ErrLocked,
			[]string{"operator.locked"}},
		{"5 min later", func() error { c.t = c.t.Add(5 * time.Minute); _, err := s.Login(ctx, "01", "0000"); return err }, nil,
			[]string{"operator.login"}},
		{"change own", func() error { return s.ChangeOwn(ctx, "01", "0000", "5937") }, nil,
			[]string{"operator.password"}},
		{"cashier adds", func() error { return s.AddCashier(ctx, cashier, "02", "7153") }, operator.ErrNotAllowed,
			[]string{"operator.denied"}},
		{"admin login", func() (err error) { admin, err = s.Login(ctx, "99", "12345678"); return err }, nil,
			[]string{"operator.login"}},
		{"add 02", func() error { return s.AddCashier(ctx, admin, "02", "7153") }, nil, []string{"operator.add"}},
		{"add 02 again", func() error { return s.AddCashier(ctx, admin, "02", "7154") }, operator.ErrExists, nil},
		{"set supervisor", func() error { return s.SetPassword(ctx, admin, "00", "864209") }, nil,
			[]string{"operator.password"}},
		{"supervisor check", func() error { return s.CheckSupervisor(ctx, "864209") }, nil,
			[]string{"operator.supervisor"}},
		{"supervisor wrong", func() error { return s.CheckSupervisor(ctx, "123456") }, operator.ErrWrongPassword,
			[]string{"operator.failure"}},
		{"remove 02", func() error { return s.RemoveCashier(ctx, admin, "02") }, nil, []string{"operator.remove"}},
		{"remove 02 again", func() error { return s.RemoveCashier(ctx, admin, "02") }, operator.ErrUnknown, nil},
		{"unknown", func() error { _, err := s.Login(ctx, "57", "0000"); return err }, operator.ErrUnknown,
			[]string{"operator.unknown"}},
	}
	var want []string
	for _, st := range steps {
		err := st.do()
		if !errors.Is(err, st.want) || (err == nil) != (st.want == nil) {
			t.Fatalf("%s = %v; want %v", st.name, err, st.want)
		}
		want = append(want, st.kinds...)
	}

	evs := opEvents(t, j)
	var got []string
	for _, e := range evs {
		got = append(got, e.kind)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("event kinds =\n%v\nwant\n%v", got, want)
	}

	// No password, and nothing of any hash ever stored, anywhere in the events.
	secrets := []string{"0000", "4826", "5937", "7153", "7154", "12345678", "87654321", "864209", "123456", "argon2id", "$v=19"}
	rows, err := j.db.Query("SELECT hash FROM operators")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		rows.Scan(&h)
		parts := strings.Split(h, "$")
		secrets = append(secrets, parts[len(parts)-2], parts[len(parts)-1]) // salt, key
	}
	rows.Close()
	for _, e := range evs {
		for _, sec := range secrets {
			if strings.Contains(e.body, sec) || strings.Contains(e.operator, sec) {
				t.Errorf("event %s %q contains %q", e.kind, e.body, sec)
			}
		}
	}

	// The actor is in the hashed body, not only in the unhashed operator column.
	for _, e := range evs {
		if e.operator != "" && !strings.Contains(e.body, `"actor":"`+e.operator+`"`) {
			t.Errorf("event %s by %s: body %s does not name the actor", e.kind, e.operator, e.body)
		}
	}

	rep, err := j.Verify(ctx)
	if err != nil || !rep.OK() || rep.Events != int64(len(want)) {
		t.Errorf("Verify() = %+v, %v; want OK over %d events", rep, err, len(want))
	}
}

func TestOperatorRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	j, _, c := opJournal(t)
	r := operator.Record{ID: "07", Role: operator.Cashier, Hash: "$argon2id$x", Failures: 3, Lockouts: 2,
		LockedUntil: c.t.Add(10 * time.Minute), CreatedAt: c.t, UpdatedAt: c.t.Add(time.Second)}
	if err := j.InsertOperator(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := j.Operator(ctx, "07")
	if err != nil || got != r {
		t.Errorf("Operator(07) = %+v, %v; want %+v", got, err, r)
	}
	if err := j.InsertOperator(ctx, r); !errors.Is(err, operator.ErrExists) {
		t.Errorf("InsertOperator(07 again) = %v; want ErrExists", err)
	}
	r.LockedUntil, r.Failures = time.Time{}, 0
	if err := j.UpdateOperator(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Operator(ctx, "07"); !got.LockedUntil.IsZero() || got.Failures != 0 {
		t.Errorf("after UpdateOperator 07 = %+v; want no lock, no failures", got)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := j.Operator(ctx, "08"); return err }(),
		"update": j.UpdateOperator(ctx, operator.Record{ID: "08", Role: operator.Cashier}),
		"delete": j.DeleteOperator(ctx, "08"),
	} {
		if !errors.Is(err, operator.ErrUnknown) {
			t.Errorf("%s of a missing operator = %v; want ErrUnknown", name, err)
		}
	}
}

func TestOperatorsTableChecks(t *testing.T) {
	j, _, _ := opJournal(t)
	for _, tc := range []struct {
		name, id, role string
		failures       int
	}{
		{"bad id", "ab", "cashier", 0},
		{"long id", "001", "cashier", 0},
		{"unknown role", "05", "manager", 0},
		{"00 as cashier", "00", "cashier", 0},
		{"99 as supervisor", "99", "supervisor", 0},
		{"cashier as administrator", "05", "administrator", 0},
		{"negative failures", "05", "cashier", -1},
	} {
		_, err := j.db.Exec("INSERT INTO operators (id, role, failures, created_at, updated_at) VALUES (?, ?, ?, '', '')",
			tc.id, tc.role, tc.failures)
		if err == nil {
			t.Errorf("%s: INSERT succeeded; want a CHECK failure", tc.name)
		}
	}
}

// TestOperatorChangeIsAtomic makes the audit write fail and checks that the operator
// change it belonged to was rolled back with it.
func TestOperatorChangeIsAtomic(t *testing.T) {
	ctx := context.Background()
	j, s, _ := opJournal(t)
	if _, err := s.SeedSimDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.db.Exec(`CREATE TEMP TRIGGER no_lockouts BEFORE INSERT ON main.events
		WHEN NEW.kind = 'operator.lockout' BEGIN SELECT RAISE(ABORT, 'audit write failed'); END`); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		s.Login(ctx, "01", "4826")
	}
	if _, err := s.Login(ctx, "01", "4826"); err == nil || errors.Is(err, operator.ErrLocked) {
		t.Fatalf("5th wrong login with a failing audit = %v; want the write error", err)
	}
	r, _ := j.Operator(ctx, "01")
	if r.Failures != 4 || r.Lockouts != 0 || !r.LockedUntil.IsZero() {
		t.Errorf("after a failed lockout write 01 = failures %d, lockouts %d, until %v; want 4, 0, none", r.Failures, r.Lockouts, r.LockedUntil)
	}
	var n int
	j.db.QueryRow("SELECT count(*) FROM events WHERE kind = 'operator.failure'").Scan(&n)
	if n != 4 {
		t.Errorf("failure events = %d; want 4 (the 5th rolled back with its lockout)", n)
	}
}

// TestOperatorsSurviveReopen: a lockout is in the file, not in memory.
func TestOperatorsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	j, s, c := opJournal(t)
	s.SeedSimDefaults(ctx)
	for range 5 {
		s.CheckSupervisor(ctx, "000000")
	}
	path := j.Path()
	j.Close()
	j2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	j2.SetClock(c.now)
	s2, _ := operator.New(j2, c.now, operator.DefaultPolicy, operator.WithParams(opFast))
	if err := s2.CheckSupervisor(ctx, "123456"); !errors.Is(err, operator.ErrLocked) {
		t.Errorf("CheckSupervisor after reopening = %v; want ErrLocked", err)
	}
	if ok, err := s2.Provisioned(ctx); !ok || err != nil {
		t.Errorf("Provisioned() after reopening = %v, %v; want true", ok, err)
	}
	if rep, err := j2.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("Verify() after reopening = %+v, %v", rep, err)
	}
}

// TestTechnicianMigration: a journal of schema 6, whose operator 98 is a cashier with a
// password, opens at this schema with 98 the technician and no password (it must be
// given one), and every other operator as it was.
func TestTechnicianMigration(t *testing.T) {
	v6 := fstest.MapFS{}
	ms, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ms[:6] {
		b, _ := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		v6["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
	}
	p := filepath.Join(t.TempDir(), "journal.db")
	old, err := open(p, v6, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][3]string{{"01", "cashier", "$argon2id$a"}, {"98", "cashier", "$argon2id$b"}, {"99", "administrator", "$argon2id$c"}} {
		if _, err := old.db.Exec("INSERT INTO operators (id, role, hash, created_at, updated_at) VALUES (?, ?, ?, 'x', 'x')", row[0], row[1], row[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.db.Exec("INSERT INTO operators (id, role, hash, created_at, updated_at) VALUES ('98', 'technician', '', 'x', 'x')"); err == nil {
		t.Fatal("schema 6 took a technician; the test needs the old table")
	}
	old.Close()

	j, err := Open(p)
	if err != nil {
		t.Fatalf("migrating to schema %d: %v", len(ms), err)
	}
	defer j.Close()
	got := map[string][2]string{}
	rows, err := j.db.Query("SELECT id, role, hash FROM operators ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, role, hash string
		rows.Scan(&id, &role, &hash)
		got[id] = [2]string{role, hash}
	}
	rows.Close()
	want := map[string][2]string{"01": {"cashier", "$argon2id$a"}, "98": {"technician", ""}, "99": {"administrator", "$argon2id$c"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("operators after the migration = %v; want %v", got, want)
	}
	if _, err := j.db.Exec("INSERT INTO operators (id, role, hash, created_at, updated_at) VALUES ('97', 'technician', '', 'x', 'x')"); err == nil {
		t.Error("a technician other than 98 was taken")
	}
}
