package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// memStore is a Store in memory; fail makes every write fail, as a full disk would.
type memStore struct {
	ops    map[string]Record
	events []Event
	fail   error
}

func newMemStore() *memStore { return &memStore{ops: map[string]Record{}} }

func (m *memStore) Operator(_ context.Context, id string) (Record, error) {
	r, ok := m.ops[id]
	if !ok {
		return Record{}, fmt.Errorf("operator %s: %w", id, ErrUnknown)
	}
	return r, nil
}

func (m *memStore) InsertOperator(_ context.Context, r Record, ev ...Event) error {
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.ops[r.ID]; ok {
		return fmt.Errorf("operator %s: %w", r.ID, ErrExists)
	}
	m.ops[r.ID] = r
	m.events = append(m.events, ev...)
	return nil
}

func (m *memStore) UpdateOperator(_ context.Context, r Record, ev ...Event) error {
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.ops[r.ID]; !ok {
		return fmt.Errorf("operator %s: %w", r.ID, ErrUnknown)
	}
	m.ops[r.ID] = r
	m.events = append(m.events, ev...)
	return nil
}

func (m *memStore) DeleteOperator(_ context.Context, id string, ev ...Event) error {
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.ops[id]; !ok {
		return fmt.Errorf("operator %s: %w", id, ErrUnknown)
	}
	delete(m.ops, id)
	m.events = append(m.events, ev...)
	return nil
}

func (m *memStore) AuditOperator(_ context.Context, ev ...Event) error {
	if m.fail != nil {
		return m.fail
	}
	m.events = append(m.events, ev...)
	return nil
}

func (m *memStore) SeedOperators(_ context.Context, rs []Record, ev ...Event) (bool, error) {
	if m.fail != nil {
		return false, m.fail
	}
	if len(m.ops) > 0 {
		return false, nil
	}
	for _, r := range rs {
		m.ops[r.ID] = r
	}
	m.events = append(m.events, ev...)
	return true, nil
}

func (m *memStore) kinds() []string {
	var k []string
	for _, e := range m.events {
		k = append(k, e.Kind)
	}
	return k
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// seeded is a Service on a memStore holding the simulator defaults.
func seeded(t *testing.T) (*Service, *memStore, *clock) {
	t.Helper()
	st, c := newMemStore(), &clock{t0}
	s, err := New(st, c.now, DefaultPolicy, WithParams(fast))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SeedSimDefaults(context.Background()); !ok || err != nil {
		t.Fatalf("SeedSimDefaults = %v, %v; want true, nil", ok, err)
	}
	st.events = nil
	return s, st, c
}

func login(t *testing.T, s *Service, id, pw string) Operator {
	t.Helper()
	o, err := s.Login(context.Background(), id, pw)
	if err != nil {
		t.Fatalf("Login(%s) = %v", id, err)
	}
	return o
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		id, password string
		want         error
		role         Role
		kind         string
	}{
		{"01", "0000", nil, Cashier, KindLogin},
		{"00", "123456", nil, Supervisor, KindLogin},
		{"99", "12345678", nil, Administrator, KindLogin},
		{"01", "0001", ErrWrongPassword, "", KindFailure},
		{"01", "", ErrWrongPassword, "", KindFailure},
		{"99", "123456", ErrWrongPassword, "", KindFailure},
		{"57", "0000", ErrUnknown, "", KindUnknown},
		{"7", "0000", ErrUnknown, "", KindUnknown},
		{"abc", "0000", ErrUnknown, "", KindUnknown},
	} {
		s, st, _ := seeded(t)
		o, err := s.Login(ctx, tc.id, tc.password)
		if !errors.Is(err, tc.want) || (err == nil && tc.want != nil) {
			t.Errorf("Login(%q, %q) = %v; want %v", tc.id, tc.password, err, tc.want)
		}
		if err == nil && (o.Role() != tc.role || o.ID() != tc.id) {
			t.Errorf("Login(%q) = %v; want %s %s", tc.id, o, tc.role, tc.id)
		}
		var wp *WrongPasswordError
		if errors.As(err, &wp) && wp.Left != 4 {
			t.Errorf("Login(%q, wrong) left = %d; want 4", tc.id, wp.Left)
		}
		if k := st.kinds(); len(k) != 1 || k[0] != tc.kind {
			t.Errorf("Login(%q, %q) audit = %v; want [%s]", tc.id, tc.password, k, tc.kind)
		}
	}
}

func TestNotProvisioned(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, _ := New(st, nil, DefaultPolicy, WithParams(fast))
	for _, id := range []string{"00", "99"} {
		if _, err := s.Login(ctx, id, "12345678"); !errors.Is(err, ErrNotProvisioned) {
			t.Errorf("Login(%s) on an empty store = %v; want ErrNotProvisioned", id, err)
		}
	}
	if err := s.CheckSupervisor(ctx, "123456"); !errors.Is(err, ErrNotProvisioned) {
		t.Errorf("CheckSupervisor on an empty store = %v; want ErrNotProvisioned", err)
	}
	if _, err := s.Login(ctx, "01", "0000"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Login(01) on an empty store = %v; want ErrUnknown", err)
	}
}

// step is one password attempt at a moment of a lockout sequence.
type step struct {
	at       time.Duration // since t0
	password string
	want     error         // nil, ErrWrongPassword or ErrLocked
	left     int           // for ErrWrongPassword
	until    time.Duration // for ErrLocked, since t0
}

func wrongs(at time.Duration, n int, lockAt time.Duration) []step {
	var s []step
	for i := 1; i <= n; i++ {
		st := step{at: at, password: "9999", want: ErrWrongPassword, left: 5 - i}
		if i == 5 {
			st = step{at: at, password: "9999", want: ErrLocked, until: lockAt}
		}
		s = append(s, st)
	}
	return s
}

func runSteps(t *testing.T, name string, try func(pw string) error, c *clock, steps []step) {
	t.Helper()
	for i, st := range steps {
		c.t = t0.Add(st.at)
		err := try(st.password)
		switch {
		case st.want == nil && err != nil:
			t.Fatalf("%s step %d (+%v, %q) = %v; want success", name, i, st.at, st.password, err)
		case st.want != nil && !errors.Is(err, st.want):
			t.Fatalf("%s step %d (+%v, %q) = %v; want %v", name, i, st.at, st.password, err, st.want)
		}
		var wp *WrongPasswordError
		if errors.As(err, &wp) && wp.Left != st.left {
			t.Fatalf("%s step %d (+%v) = %v; want %d left", name, i, st.at, err, st.left)
		}
		var le *LockedError
		if errors.As(err, &le) && !le.Until.Equal(t0.Add(st.until)) {
			t.Fatalf("%s step %d (+%v) locked until %v; want %v", name, i, st.at, le.Until, t0.Add(st.until))
		}
	}
}

func lockoutSequence(right string) []step {
	m := time.Minute
	var s []step
	s = append(s, wrongs(0, 5, 5*m)...)                                            // 5 wrong: locked 5 min
	s = append(s, step{at: 1 * m, password: right, want: ErrLocked, until: 5 * m}) // even the right one
	s = append(s, step{at: 4 * m, password: "9999", want: ErrLocked, until: 5 * m})
	s = append(s, step{at: 5 * m, password: right}) // unlocked
	s = append(s, wrongs(6*m, 4, 0)...)             // 4 wrong...
	s = append(s, step{at: 6 * m, password: right}) // ...reset by the right one
	s = append(s, step{at: 7 * m, password: "9999", want: ErrWrongPassword, left: 4})
	s = append(s, step{at: 7 * m, password: right})
	s = append(s, wrongs(8*m, 5, 18*m)...) // 2nd lockout: 10 min, despite the right passwords since
	s = append(s, step{at: 17 * m, password: right, want: ErrLocked, until: 18 * m})
	s = append(s, wrongs(18*m, 5, 38*m)...)          // 3rd: 20 min
	s = append(s, wrongs(38*m, 5, 78*m)...)          // 4th: 40 min
	s = append(s, step{at: 78 * m, password: right}) // under a day after: doubling kept
	s = append(s, wrongs(79*m, 5, 159*m)...)         // 5th: 80 min
	// A right password a full day after the last lockout ended forgets the doubling.
	s = append(s, step{at: 159*m + 24*time.Hour, password: right})
	s = append(s, wrongs(160*m+24*time.Hour, 5, 165*m+24*time.Hour)...)
	return s
}

func TestLockoutSequence(t *testing.T) {
	s, st, c := seeded(t)
	ctx := context.Background()
	runSteps(t, "Login(01)", func(pw string) error {
		_, err := s.Login(ctx, "01", pw)
		return err
	}, c, lockoutSequence("0000"))
	if r := st.ops["01"]; r.Lockouts != 1 || r.Failures != 0 {
		t.Errorf("after the sequence 01 has %d lockouts, %d failures; want 1, 0", r.Lockouts, r.Failures)
	}
	// Other operators are not locked by 01's lockouts.
	login(t, s, "99", "12345678")
}

func TestCheckSupervisorLocksOut(t *testing.T) {
	s, st, c := seeded(t)
	ctx := context.Background()
	runSteps(t, "CheckSupervisor", func(pw string) error { return s.CheckSupervisor(ctx, pw) }, c, lockoutSequence("123456"))
	// The supervisor's lockout does not lock a cashier.
	login(t, s, "01", "0000")
	want := map[string]bool{KindSupervisor: true, KindFailure: true, KindLockout: true, KindLocked: true, KindLogin: true}
	for _, k := range st.kinds() {
		if !want[k] {
			t.Errorf("CheckSupervisor wrote a %s event", k)
		}
	}
}

func TestLockoutEvents(t *testing.T) {
	s, st, c := seeded(t)
	ctx := context.Background()
	for range 5 {
		s.Login(ctx, "01", "1111")
	}
	s.Login(ctx, "01", "0000")
	c.advance(5 * time.Minute)
	login(t, s, "01", "0000")
	want := []string{KindFailure, KindFailure, KindFailure, KindFailure, KindFailure, KindLockout, KindLocked, KindLogin}
	if got := st.kinds(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit = %v; want %v", got, want)
	}
	lock := st.events[5]
	if lock.Subject != "01" || lock.Lockouts != 1 || !lock.Until.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("lockout event = %+v; want subject 01, lockouts 1, until t0+5m", lock)
	}
	if f := st.events[3]; f.Failures != 4 || f.Left != 1 {
		t.Errorf("4th failure event = %+v; want failures 4, left 1", f)
	}
}

func TestChangeOwn(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, id, old, new string
		want               error
		left               int
	}{
		{"ok", "01", "0000", "4321", nil, 0},
		{"supervisor ok", "00", "123456", "654321", nil, 0},
		{"too short", "01", "0000", "432", ErrPasswordFormat, 0},
		{"letters", "01", "0000", "43a1", ErrPasswordFormat, 0},
		{"same", "01", "0000", "0000", ErrSamePassword, 0},
		{"wrong old", "01", "1111", "4321", ErrWrongPassword, 4},
		{"unknown", "42", "0000", "4321", ErrUnknown, 0},
		{"bad id", "1", "0000", "4321", ErrBadID, 0},
	} {
		s, st, _ := seeded(t)
		err := s.ChangeOwn(ctx, tc.id, tc.old, tc.new)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: ChangeOwn(%s) = %v; want %v", tc.name, tc.id, err, tc.want)
			continue
		}
		var wp *WrongPasswordError
		if errors.As(err, &wp) && wp.Left != tc.left {
			t.Errorf("%s: ChangeOwn = %v; want %d left", tc.name, err, tc.left)
		}
		if err != nil {
			continue
		}
		if _, err := s.Login(ctx, tc.id, tc.old); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s: Login with the old password after a change = %v; want ErrWrongPassword", tc.name, err)
		}
		login(t, s, tc.id, tc.new)
		if k := st.kinds(); k[0] != KindPassword || st.events[0].Actor != tc.id {
			t.Errorf("%s: audit = %v (%+v); want operator.password by %s first", tc.name, k, st.events[0], tc.id)
		}
	}
}

func TestAdminOnly(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	cashier := login(t, s, "01", "0000")
	super := login(t, s, "00", "123456")
	admin := login(t, s, "99", "12345678")
	st.events = nil
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"cashier sets a cashier", func() error { return s.SetPassword(ctx, cashier, "01", "1111") }},
		{"cashier sets supervisor", func() error { return s.SetPassword(ctx, cashier, "00", "111111") }},
		{"supervisor sets a cashier", func() error { return s.SetPassword(ctx, super, "01", "1111") }},
		{"nobody sets a cashier", func() error { return s.SetPassword(ctx, Operator{}, "01", "1111") }},
		{"cashier adds", func() error { return s.AddCashier(ctx, cashier, "02", "1111") }},
		{"supervisor adds", func() error { return s.AddCashier(ctx, super, "02", "1111") }},
		{"cashier removes", func() error { return s.RemoveCashier(ctx, cashier, "01") }},
		{"admin sets admin", func() error { return s.SetPassword(ctx, admin, "99", "11111111") }},
		{"admin adds supervisor", func() error { return s.AddCashier(ctx, admin, "00", "111111") }},
		{"admin removes supervisor", func() error { return s.RemoveCashier(ctx, admin, "00") }},
		{"admin removes admin", func() error { return s.RemoveCashier(ctx, admin, "99") }},
	} {
		n := len(st.events)
		if err := tc.op(); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s = %v; want ErrNotAllowed", tc.name, err)
		}
		if len(st.events) != n+1 || st.events[n].Kind != KindDenied {
			t.Errorf("%s: audit %v; want one operator.denied", tc.name, st.kinds()[n:])
		}
	}
	// Nothing changed.
	login(t, s, "01", "0000")
	login(t, s, "00", "123456")
	if _, ok := st.ops["02"]; ok {
		t.Errorf("refused AddCashier created operator 02")
	}
}

func TestAdminManages(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	admin := login(t, s, "99", "12345678")
	st.events = nil
	steps := []struct {
		name string
		op   func() error
		want error
	}{
		{"add 02", func() error { return s.AddCashier(ctx, admin, "02", "2222") }, nil},
		{"add 02 again", func() error { return s.AddCashier(ctx, admin, "02", "3333") }, ErrExists},
		{"add 03 bad password", func() error { return s.AddCashier(ctx, admin, "03", "33333") }, ErrPasswordFormat},
		{"set 02", func() error { return s.SetPassword(ctx, admin, "02", "2345") }, nil},
		{"set 02 same", func() error { return s.SetPassword(ctx, admin, "02", "2345") }, ErrSamePassword},
		{"set 02 bad", func() error { return s.SetPassword(ctx, admin, "02", "23456") }, ErrPasswordFormat},
		{"set supervisor", func() error { return s.SetPassword(ctx, admin, "00", "111111") }, nil},
		{"set supervisor bad", func() error { return s.SetPassword(ctx, admin, "00", "1111") }, ErrPasswordFormat},
		{"set missing cashier", func() error { return s.SetPassword(ctx, admin, "44", "4444") }, ErrUnknown},
		{"remove 01", func() error { return s.RemoveCashier(ctx, admin, "01") }, nil},
		{"remove 01 again", func() error { return s.RemoveCashier(ctx, admin, "01") }, ErrUnknown},
	}
	for _, tc := range steps {
		if err := tc.op(); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s = %v; want %v", tc.name, err, tc.want)
		}
	}
	login(t, s, "02", "2345")
	if err := s.CheckSupervisor(ctx, "111111"); err != nil {
		t.Errorf("CheckSupervisor(new password) = %v", err)
	}
	if _, err := s.Login(ctx, "01", "0000"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Login(removed 01) = %v; want ErrUnknown", err)
	}
	want := []string{KindAdd, KindPassword, KindPassword, KindRemove, KindLogin, KindSupervisor, KindUnknown}
	if got := st.kinds(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit = %v; want %v", got, want)
	}

	// The administrator's SetPassword unlocks a locked cashier and forgets its lockouts.
	for range 5 {
		s.Login(ctx, "02", "0000")
	}
	if _, err := s.Login(ctx, "02", "2345"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Login(02) after 5 wrong = %v; want ErrLocked", err)
	}
	if err := s.SetPassword(ctx, admin, "02", "5432"); err != nil {
		t.Fatal(err)
	}
	login(t, s, "02", "5432")
	if r := st.ops["02"]; r.Lockouts != 0 || r.Failures != 0 || !r.LockedUntil.IsZero() {
		t.Errorf("after SetPassword 02 = %+v; want no failures, lockouts or lock", r)
	}
}

func TestSeedSimDefaults(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, _ := New(st, nil, DefaultPolicy, WithParams(fast))
	if ok, _ := s.Provisioned(ctx); ok {
		t.Errorf("Provisioned() on an empty store = true")
	}
	if ok, err := s.SeedSimDefaults(ctx); !ok || err != nil {
		t.Fatalf("first SeedSimDefaults = %v, %v; want true, nil", ok, err)
	}
	for _, d := range [][2]string{{"01", "0000"}, {"00", "123456"}, {"99", "12345678"}} {
		login(t, s, d[0], d[1])
	}
	if ok, _ := s.Provisioned(ctx); !ok {
		t.Errorf("Provisioned() after seeding = false")
	}
	admin := login(t, s, "99", "12345678")
	if err := s.SetPassword(ctx, admin, "01", "7777"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SeedSimDefaults(ctx); ok || err != nil {
		t.Errorf("second SeedSimDefaults = %v, %v; want false, nil", ok, err)
	}
	login(t, s, "01", "7777") // not reset to 0000

	// Not over any existing operator either, even a lone provisioned supervisor.
	st2 := newMemStore()
	s2, _ := New(st2, nil, DefaultPolicy, WithParams(fast))
	if err := s2.Provision(ctx, "00", "246810"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s2.SeedSimDefaults(ctx); ok || err != nil {
		t.Errorf("SeedSimDefaults over a provisioned supervisor = %v, %v; want false, nil", ok, err)
	}
	if _, ok := st2.ops["99"]; ok {
		t.Errorf("SeedSimDefaults created 99 beside an existing operator")
	}
}

func TestProvision(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, _ := New(st, nil, DefaultPolicy, WithParams(fast))
	for _, tc := range []struct {
		name, id, pw string
		want         error
		provisioned  bool
	}{
		{"cashier", "01", "0000", ErrNotAllowed, false},
		{"supervisor short", "00", "1234", ErrPasswordFormat, false},
		{"supervisor", "00", "246810", nil, false},
		{"supervisor again", "00", "135790", ErrNotAllowed, false},
		{"admin", "99", "24681357", nil, true},
		{"admin again", "99", "11112222", ErrNotAllowed, true},
	} {
		if err := s.Provision(ctx, tc.id, tc.pw); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: Provision(%s) = %v; want %v", tc.name, tc.id, err, tc.want)
		}
		if ok, err := s.Provisioned(ctx); ok != tc.provisioned || err != nil {
			t.Errorf("%s: Provisioned() = %v, %v; want %v", tc.name, ok, err, tc.provisioned)
		}
	}
	if err := s.CheckSupervisor(ctx, "246810"); err != nil {
		t.Errorf("CheckSupervisor(provisioned) = %v", err)
	}
}

func TestRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	stronger := Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	s2, _ := New(st, nil, DefaultPolicy, WithParams(stronger))
	if _, err := s2.Login(ctx, "01", "1111"); !errors.Is(err, ErrWrongPassword) {
		t.Fatal(err)
	}
	if h, _ := ParseHash(st.ops["01"].Hash); h.Params != fast {
		t.Errorf("a wrong password rehashed 01 to %+v", h.Params)
	}
	login(t, s2, "01", "0000")
	if h, _ := ParseHash(st.ops["01"].Hash); h.Params != stronger {
		t.Errorf("after login 01's hash params = %+v; want %+v", h.Params, stronger)
	}
	login(t, s2, "01", "0000")
	login(t, s, "01", "0000") // old-params service still reads it
}

func TestStoreFailureRefuses(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	st.fail = errors.New("disk full")
	if _, err := s.Login(ctx, "01", "0000"); err == nil {
		t.Errorf("Login with a failing store succeeded; want the store's error (no unaudited login)")
	}
	if _, err := s.Login(ctx, "01", "1111"); errors.Is(err, ErrWrongPassword) || err == nil {
		t.Errorf("wrong Login with a failing store = %v; want the store's error (the failure was not counted)", err)
	}
}

func TestCorruptStoredHash(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	r := st.ops["01"]
	r.Hash = "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"
	st.ops["01"] = r
	_, err := s.Login(ctx, "01", "0000")
	if !errors.Is(err, ErrBadHash) || errors.Is(err, ErrWrongPassword) {
		t.Errorf("Login over a bad stored hash = %v; want ErrBadHash", err)
	}
	if st.ops["01"].Failures != 0 {
		t.Errorf("a bad stored hash counted as a wrong password")
	}
	admin := login(t, s, "99", "12345678")
	if err := s.SetPassword(ctx, admin, "01", "1357"); err != nil {
		t.Errorf("SetPassword over a bad stored hash = %v; want the repair to work", err)
	}
	login(t, s, "01", "1357")
}

func TestRoleMismatchRefused(t *testing.T) {
	s, st, _ := seeded(t)
	r := st.ops["01"]
	r.Role = Administrator // a tampered row
	st.ops["01"] = r
	if o, err := s.Login(context.Background(), "01", "0000"); err == nil {
		t.Errorf("Login(01 stored as administrator) = %v; want an error", o)
	}
}

func TestEventsCarryNoSecrets(t *testing.T) {
	ctx := context.Background()
	s, st, _ := seeded(t)
	admin := login(t, s, "99", "12345678")
	s.Login(ctx, "01", "4826")
	s.ChangeOwn(ctx, "01", "0000", "5937")
	s.SetPassword(ctx, admin, "00", "864209")
	s.AddCashier(ctx, admin, "05", "7153")
	b, _ := json.Marshal(st.events)
	for _, secret := range []string{"12345678", "4826", "0000", "5937", "864209", "7153", "argon2id", st.ops["05"].Hash[30:]} {
		if strings.Contains(string(b), secret) {
			t.Errorf("audit events contain %q: %s", secret, b)
		}
	}
}

func TestNewRefusesBadSetup(t *testing.T) {
	if _, err := New(nil, nil, DefaultPolicy); err == nil {
		t.Errorf("New(nil store) succeeded")
	}
	if _, err := New(newMemStore(), nil, Policy{}); err == nil {
		t.Errorf("New(zero policy) succeeded")
	}
	if _, err := New(newMemStore(), nil, DefaultPolicy, WithParams(Params{})); err == nil {
		t.Errorf("New(zero params) succeeded")
	}
}

// TestProductionParams runs a Service once on DefaultParams.
func TestProductionParams(t *testing.T) {
	st := newMemStore()
	s, err := New(st, nil, DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedSimDefaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	login(t, s, "00", "123456")
	if h, err := ParseHash(st.ops["00"].Hash); err != nil || h.Params != DefaultParams {
		t.Errorf("stored hash params = %+v, %v; want DefaultParams", h.Params, err)
	}
}

// TestSetPasswordCreatesSupervisor: an administrator provisioned alone can give the
// supervisor its first password, which completes provisioning.
func TestSetPasswordCreatesSupervisor(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, _ := New(st, nil, DefaultPolicy, WithParams(fast))
	if err := s.Provision(ctx, "99", "24681357"); err != nil {
		t.Fatal(err)
	}
	admin := login(t, s, "99", "24681357")
	if err := s.SetPassword(ctx, admin, "00", "975310"); err != nil {
		t.Fatalf("SetPassword(00) with no supervisor yet = %v", err)
	}
	if ok, err := s.Provisioned(ctx); !ok || err != nil {
		t.Errorf("Provisioned() = %v, %v; want true", ok, err)
	}
	if err := s.CheckSupervisor(ctx, "975310"); err != nil {
		t.Errorf("CheckSupervisor = %v", err)
	}
	if r := st.ops["00"]; r.Role != Supervisor || r.CreatedAt.IsZero() {
		t.Errorf("created supervisor = %+v", r)
	}
}
