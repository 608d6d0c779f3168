package operator

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Record is an operator as the Store keeps it.
type Record struct {
	ID   string
	Role Role
	// Hash is the password's argon2id hash in PHC string form; "" means no password yet.
	Hash string
	// Failures counts wrong passwords since the last right one or the last lockout.
	Failures int
	// Lockouts counts lockouts since the doubling was last forgotten.
	Lockouts int
	// LockedUntil is the end of the last lockout (zero: never locked). It stays after the
	// lockout ends: Policy.Forget counts from it.
	LockedUntil time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Event is one entry of the audit trail. It has no field for a password or a hash, so
// that neither can reach the trail.
type Event struct {
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`   // operator who acted; "" for the terminal itself
	Subject  string    `json:"subject,omitempty"` // operator the event is about
	Failures int       `json:"failures,omitempty"`
	Left     int       `json:"left,omitempty"` // wrong passwords left before a lockout
	Lockouts int       `json:"lockouts,omitempty"`
	Until    time.Time `json:"until,omitzero"`
	Reason   string    `json:"reason,omitempty"`
}

// The audit event kinds.
const (
	KindLogin      = "operator.login"      // right password at login
	KindSupervisor = "operator.supervisor" // right supervisor password for a void or refund
	KindFailure    = "operator.failure"    // wrong password
	KindLockout    = "operator.lockout"    // a failure that locked the operator
	KindLocked     = "operator.locked"     // attempt refused, unchecked, while locked
	KindUnknown    = "operator.unknown"    // attempt for an operator that does not exist
	KindPassword   = "operator.password"   // password changed or set
	KindProvision  = "operator.provision"  // first password of the supervisor or administrator
	KindAdd        = "operator.add"        // cashier added
	KindRemove     = "operator.remove"     // cashier removed
	KindDenied     = "operator.denied"     // an operation the actor's role may not do
	KindSeed       = "operator.seed"       // simulator default operator created
)

// Store keeps operators. Every method that changes something does it in one durable
// transaction together with the audit events it is given, or not at all.
type Store interface {
	// Operator returns operator id's record, or an error wrapping ErrUnknown.
	Operator(ctx context.Context, id string) (Record, error)
	// InsertOperator adds a new operator; an error wrapping ErrExists if id is taken.
	InsertOperator(ctx context.Context, r Record, events ...Event) error
	// UpdateOperator replaces an operator's record; an error wrapping ErrUnknown if none.
	UpdateOperator(ctx context.Context, r Record, events ...Event) error
	// DeleteOperator removes an operator; an error wrapping ErrUnknown if none.
	DeleteOperator(ctx context.Context, id string, events ...Event) error
	// AuditOperator appends events without changing any operator.
	AuditOperator(ctx context.Context, events ...Event) error
	// SeedOperators inserts rs, with events, only if there are no operators at all, and
	// reports whether it did.
	SeedOperators(ctx context.Context, rs []Record, events ...Event) (bool, error)
}

// Errors of the Service (and of a Store, for ErrUnknown and ErrExists).
var (
	ErrUnknown        = errors.New("unknown operator")
	ErrWrongPassword  = errors.New("wrong password")
	ErrLocked         = errors.New("operator locked")
	ErrNotProvisioned = errors.New("password not provisioned")
	ErrNotAllowed     = errors.New("not allowed")
	ErrExists         = errors.New("operator already exists")
	ErrSamePassword   = errors.New("the new password is the old one")
)

// WrongPasswordError is a wrong password that did not (yet) lock the operator.
type WrongPasswordError struct {
	ID   string
	Left int // wrong passwords left before a lockout
}

func (e *WrongPasswordError) Error() string {
	return fmt.Sprintf("operator %s: wrong password, %d left before lockout", e.ID, e.Left)
}

// Is makes errors.Is(err, ErrWrongPassword) true.
func (e *WrongPasswordError) Is(target error) bool { return target == ErrWrongPassword }

// LockedError is a refusal because the operator is locked out, either already or by the
// wrong password just given.
type LockedError struct {
	ID    string
	Until time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("operator %s locked until %s", e.ID, e.Until.Format("2006-01-02 15:04:05 MST"))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
