package operator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Operator is a logged-in operator. Only Login makes one, so an Operator held by the
// caller is proof that its password was given.
type Operator struct {
	id   string
	role Role
}

// ID is the operator's two-digit id.
func (o Operator) ID() string { return o.id }

// Role is the operator's role.
func (o Operator) Role() Role { return o.role }

func (o Operator) String() string { return string(o.role) + " " + o.id }

// Service checks passwords and manages operators on a Store. Its methods are serialised:
// a lockout count is read, changed and written back by one call at a time, so a Store
// must have only one Service.
type Service struct {
	mu     sync.Mutex
	store  Store
	now    func() time.Time
	policy Policy
	params Params
}

// Option changes a Service's defaults.
type Option func(*Service)

// WithParams makes the Service hash new passwords under p instead of DefaultParams (tests
// use cheap ones). Stored hashes are read with their own parameters and rehashed under p
// at the next right password.
func WithParams(p Params) Option { return func(s *Service) { s.params = p } }

// New returns a Service on store with clock now (time.Now if nil) and lockout policy.
func New(store Store, now func() time.Time, policy Policy, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, errors.New("operator service: no store")
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, now: now, policy: policy, params: DefaultParams}
	for _, o := range opts {
		o(s)
	}
	if err := s.params.Validate(); err != nil {
		return nil, fmt.Errorf("operator service: %w", err)
	}
	return s, nil
}

// Login checks operator id's password. The errors wrap ErrUnknown, ErrNotProvisioned,
// ErrLocked (a *LockedError), ErrWrongPassword (a *WrongPasswordError) or a Store error.
func (s *Service) Login(ctx context.Context, id, password string) (Operator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.login(ctx, id, password, KindLogin)
}

// CheckSupervisor checks the supervisor's password, as a void or refund needs; operator
// 00 locks out under the same rules as a login.
func (s *Service) CheckSupervisor(ctx context.Context, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.login(ctx, SupervisorID, password, KindSupervisor)
	return err
}

func (s *Service) login(ctx context.Context, id, password, kind string) (Operator, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return Operator{}, err
	}
	if err := s.check(ctx, &rec, password, kind); err != nil {
		return Operator{}, err
	}
	if err := s.store.UpdateOperator(ctx, rec, Event{Kind: kind, Actor: id, Subject: id}); err != nil {
		return Operator{}, err
	}
	return Operator{id: rec.ID, role: rec.Role}, nil
}

// load reads operator id for a password check, auditing an attempt on an operator that
// does not exist or has no password yet.
func (s *Service) load(ctx context.Context, id string) (Record, error) {
	role, err := RoleOf(id)
	if err != nil {
		// No Subject: a malformed id is whatever was typed, and stays out of the trail.
		if aerr := s.store.AuditOperator(ctx, Event{Kind: KindUnknown, Reason: "malformed id"}); aerr != nil {
			return Record{}, aerr
		}
		return Record{}, fmt.Errorf("%w: %w", ErrUnknown, err)
	}
	rec, err := s.store.Operator(ctx, id)
	switch {
	case errors.Is(err, ErrUnknown) && role != Cashier, err == nil && rec.Hash == "":
		if aerr := s.store.AuditOperator(ctx, Event{Kind: KindUnknown, Subject: id, Reason: "not provisioned"}); aerr != nil {
			return Record{}, aerr
		}
		return Record{}, fmt.Errorf("operator %s: %w", id, ErrNotProvisioned)
	case errors.Is(err, ErrUnknown):
		if aerr := s.store.AuditOperator(ctx, Event{Kind: KindUnknown, Subject: id}); aerr != nil {
			return Record{}, aerr
		}
		return Record{}, err
	case err != nil:
		return Record{}, err
	case rec.Role != role:
		return Record{}, fmt.Errorf("operator %s is stored as %s but its id is a %s's", id, rec.Role, role)
	}
	return rec, nil
}

// check verifies password against rec under the lockout policy. A refusal is written to
// the Store here, with its audit events. On success rec comes back with the failures
// reset (and the doubling, if forgotten, and the hash renewed if its parameters are not
// the Service's) for the caller to write with its own event.
func (s *Service) check(ctx context.Context, rec *Record, password, kind string) error {
	now := s.now()
	if now.Before(rec.LockedUntil) {
		// Not even checked: a locked operator's password must not be guessable.
		ev := Event{Kind: KindLocked, Actor: rec.ID, Subject: rec.ID, Until: rec.LockedUntil, Reason: kind}
		if err := s.store.AuditOperator(ctx, ev); err != nil {
			return err
		}
		return &LockedError{ID: rec.ID, Until: rec.LockedUntil}
	}
	h, err := ParseHash(rec.Hash)
	if err != nil {
		return fmt.Errorf("operator %s: %w", rec.ID, err)
	}
	ok, err := h.Verify(password)
	if err != nil {
		return fmt.Errorf("operator %s: %w", rec.ID, err)
	}
	rec.UpdatedAt = now
	if !ok {
		rec.Failures++
		events := []Event{{Kind: KindFailure, Actor: rec.ID, Subject: rec.ID, Failures: rec.Failures,
			Left: max(s.policy.MaxFailures-rec.Failures, 0), Reason: kind}}
		var refusal error = &WrongPasswordError{ID: rec.ID, Left: s.policy.MaxFailures - rec.Failures}
		if rec.Failures >= s.policy.MaxFailures {
			rec.Failures = 0
			rec.Lockouts++
			rec.LockedUntil = now.Add(s.policy.LockDuration(rec.Lockouts))
			events = append(events, Event{Kind: KindLockout, Actor: rec.ID, Subject: rec.ID,
				Lockouts: rec.Lockouts, Until: rec.LockedUntil, Reason: kind})
			refusal = &LockedError{ID: rec.ID, Until: rec.LockedUntil}
		}
		if err := s.store.UpdateOperator(ctx, *rec, events...); err != nil {
			return err
		}
		return refusal
	}
	rec.Failures = 0
	if rec.Lockouts > 0 && !now.Before(rec.LockedUntil.Add(s.policy.Forget)) {
		rec.Lockouts = 0
	}
	if h.Params != s.params {
		nh, err := NewHash(password, s.params)
		if err != nil {
			return fmt.Errorf("operator %s: rehash: %w", rec.ID, err)
		}
		rec.Hash = nh.String()
	}
	return nil
}

// ChangeOwn lets an operator change their own password, given the old one. A wrong old
// password counts towards a lockout like a wrong login.
func (s *Service) ChangeOwn(ctx context.Context, id, oldPassword, newPassword string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	role, err := RoleOf(id)
	if err != nil {
		return err
	}
	if err := role.CheckPassword(newPassword); err != nil {
		return err
	}
	if newPassword == oldPassword {
		return ErrSamePassword
	}
	rec, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if err := s.check(ctx, &rec, oldPassword, KindPassword); err != nil {
		return err
	}
	h, err := NewHash(newPassword, s.params)
	if err != nil {
		return err
	}
	rec.Hash = h.String()
	return s.store.UpdateOperator(ctx, rec, Event{Kind: KindPassword, Actor: id, Subject: id, Reason: "changed own"})
}

// SetPassword is the administrator setting a cashier's or the supervisor's password
// (creating the supervisor if it has none yet). It also unlocks that operator and forgets
// its lockouts.
func (s *Service) SetPassword(ctx context.Context, admin Operator, id, newPassword string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	role, err := s.permit(ctx, admin, actSetPassword, id)
	if err != nil {
		return err
	}
	if err := role.CheckPassword(newPassword); err != nil {
		return err
	}
	now := s.now()
	rec, err := s.store.Operator(ctx, id)
	insert := errors.Is(err, ErrUnknown) && role == Supervisor
	switch {
	case insert:
		rec = Record{ID: id, Role: role, CreatedAt: now}
	case err != nil:
		return err
	case rec.Hash != "":
		// An unreadable stored hash is no obstacle: setting a new one is the repair.
		if h, perr := ParseHash(rec.Hash); perr == nil {
			same, verr := h.Verify(newPassword)
			if verr == nil && same {
				return fmt.Errorf("operator %s: %w", id, ErrSamePassword)
			}
		}
	}
	h, err := NewHash(newPassword, s.params)
	if err != nil {
		return err
	}
	rec.Hash, rec.Failures, rec.Lockouts, rec.LockedUntil, rec.UpdatedAt = h.String(), 0, 0, time.Time{}, now
	ev := Event{Kind: KindPassword, Actor: admin.id, Subject: id, Reason: "set by administrator"}
	if insert {
		return s.store.InsertOperator(ctx, rec, ev)
	}
	return s.store.UpdateOperator(ctx, rec, ev)
}

// AddCashier is the administrator adding cashier id with its first password.
func (s *Service) AddCashier(ctx context.Context, admin Operator, id, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	role, err := s.permit(ctx, admin, actAdd, id)
	if err != nil {
		return err
	}
	if err := role.CheckPassword(password); err != nil {
		return err
	}
	h, err := NewHash(password, s.params)
	if err != nil {
		return err
	}
	now := s.now()
	rec := Record{ID: id, Role: role, Hash: h.String(), CreatedAt: now, UpdatedAt: now}
	return s.store.InsertOperator(ctx, rec, Event{Kind: KindAdd, Actor: admin.id, Subject: id})
}

// RemoveCashier is the administrator removing cashier id.
func (s *Service) RemoveCashier(ctx context.Context, admin Operator, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.permit(ctx, admin, actRemove, id); err != nil {
		return err
	}
	return s.store.DeleteOperator(ctx, id, Event{Kind: KindRemove, Actor: admin.id, Subject: id})
}

// permit checks the grants table for actor doing act to operator id, auditing a refusal,
// and returns id's role.
func (s *Service) permit(ctx context.Context, actor Operator, act action, id string) (Role, error) {
	role, err := RoleOf(id)
	if err != nil {
		return "", err
	}
	if allowed(act, actor.role, role) {
		return role, nil
	}
	ev := Event{Kind: KindDenied, Actor: actor.id, Subject: id, Reason: string(act)}
	if err := s.store.AuditOperator(ctx, ev); err != nil {
		return "", err
	}
	who := actor.String()
	if actor.id == "" {
		who = "nobody logged in"
	}
	return "", fmt.Errorf("%w: %s may not %s operator %s", ErrNotAllowed, who, act, id)
}

// provisioned are the operators a terminal needs before it takes money.
var provisioned = []string{SupervisorID, AdministratorID}

// Provisioned reports whether the supervisor and the administrator have passwords;
// `posfw run` takes no money until they do.
func (s *Service) Provisioned(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range provisioned {
		rec, err := s.store.Operator(ctx, id)
		if errors.Is(err, ErrUnknown) || (err == nil && rec.Hash == "") {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// Provision sets the first password of the supervisor or the administrator (`posfw
// provision`). It refuses once that operator has a password: from then on the
// administrator manages the supervisor's, and the administrator changes its own with
// ChangeOwn.
func (s *Service) Provision(ctx context.Context, id, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	role, err := RoleOf(id)
	if err != nil {
		return err
	}
	if role == Cashier {
		return fmt.Errorf("%w: provisioning sets the supervisor and administrator passwords; the administrator adds cashiers", ErrNotAllowed)
	}
	if err := role.CheckPassword(password); err != nil {
		return err
	}
	rec, err := s.store.Operator(ctx, id)
	exists := err == nil
	switch {
	case errors.Is(err, ErrUnknown):
	case err != nil:
		return err
	case rec.Hash != "":
		return fmt.Errorf("%w: operator %s already has a password", ErrNotAllowed, id)
	}
	h, err := NewHash(password, s.params)
	if err != nil {
		return err
	}
	now := s.now()
	if !exists {
		rec = Record{ID: id, Role: role, CreatedAt: now}
	}
	rec.Hash, rec.UpdatedAt = h.String(), now
	ev := Event{Kind: KindProvision, Subject: id}
	if exists {
		return s.store.UpdateOperator(ctx, rec, ev)
	}
	return s.store.InsertOperator(ctx, rec, ev)
}

// simDefaults are DESIGN.md §4's passwords of the hardware-simulated terminal.
var simDefaults = []struct{ id, password string }{
	{"01", "0000"},
	{SupervisorID, "123456"},
	{TechnicianID, "87654321"},
	{AdministratorID, "12345678"},
}

// SeedSimDefaults gives a simulated terminal DESIGN.md §4's operators (cashier 01 0000,
// supervisor 00 123456, administrator 99 12345678) and the technician (98 87654321), but only when there are no operators
// at all; it reports whether it did. `posfw sim` calls it; `posfw run` never does.
func (s *Service) SeedSimDefaults(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var recs []Record
	var events []Event
	for _, d := range simDefaults {
		role, err := RoleOf(d.id)
		if err != nil {
			return false, err
		}
		h, err := NewHash(d.password, s.params)
		if err != nil {
			return false, err
		}
		recs = append(recs, Record{ID: d.id, Role: role, Hash: h.String(), CreatedAt: now, UpdatedAt: now})
		events = append(events, Event{Kind: KindSeed, Subject: d.id, Reason: "simulator default"})
	}
	return s.store.SeedOperators(ctx, recs, events...)
}
