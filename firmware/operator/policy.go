package operator

import (
	"fmt"
	"time"
)

// Policy is the lockout rule (see the package doc).
type Policy struct {
	// MaxFailures wrong passwords in a row lock the operator.
	MaxFailures int
	// LockFor is the first lockout's length; each further one doubles it.
	LockFor time.Duration
	// MaxLock caps a lockout's length.
	MaxLock time.Duration
	// Forget: a right password given this long after the last lockout ended starts the
	// doubling again from LockFor.
	Forget time.Duration
}

// DefaultPolicy is issue 3's rule: 5 wrong passwords lock for 5 minutes, doubling after
// each further lockout up to 24 hours; forgotten after a quiet day.
var DefaultPolicy = Policy{MaxFailures: 5, LockFor: 5 * time.Minute, MaxLock: 24 * time.Hour, Forget: 24 * time.Hour}

// Validate reports whether p can be applied.
func (p Policy) Validate() error {
	switch {
	case p.MaxFailures < 1:
		return fmt.Errorf("lockout policy: MaxFailures %d; want at least 1", p.MaxFailures)
	case p.LockFor <= 0:
		return fmt.Errorf("lockout policy: LockFor %v; want more than 0", p.LockFor)
	case p.MaxLock < p.LockFor:
		return fmt.Errorf("lockout policy: MaxLock %v shorter than LockFor %v", p.MaxLock, p.LockFor)
	case p.Forget < 0:
		return fmt.Errorf("lockout policy: Forget %v; want 0 or more", p.Forget)
	}
	return nil
}

// LockDuration is the length of the n-th lockout (n from 1): LockFor·2^(n-1), at most
// MaxLock.
func (p Policy) LockDuration(n int) time.Duration {
	d := p.LockFor
	for i := 1; i < n && d < p.MaxLock; i++ {
		d *= 2
	}
	return min(d, p.MaxLock)
}
