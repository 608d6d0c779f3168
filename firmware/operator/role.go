package operator

import (
	"errors"
	"fmt"
)

// Role is what an operator may do. Its value is the name stored in the journal.
type Role string

// The roles of DESIGN.md §4, and the field technician's.
const (
	Cashier       Role = "cashier"
	Supervisor    Role = "supervisor"
	Administrator Role = "administrator"
	// Technician services the terminal (updates, slots, self test) from Manage →
	// Technician; a technician takes no money and manages no operator.
	Technician Role = "technician"
)

// The fixed operator ids.
const (
	SupervisorID    = "00"
	TechnicianID    = "98"
	AdministratorID = "99"
)

// roles maps operator ids (two digits, as numbers first..last) to a role and the exact
// number of digits its password has.
var roles = []struct {
	first, last int
	role        Role
	digits      int
}{
	{0, 0, Supervisor, 6},
	{1, 97, Cashier, 4},
	{98, 98, Technician, 8},
	{99, 99, Administrator, 8},
}

// ErrBadID is wrapped by RoleOf's errors.
var ErrBadID = errors.New("bad operator id")

// RoleOf is the role of operator id, which must be exactly two digits. The error does
// not quote id: whatever was typed into the operator field stays off the screen and out
// of logs.
func RoleOf(id string) (Role, error) {
	if len(id) != 2 || id[0] < '0' || id[0] > '9' || id[1] < '0' || id[1] > '9' {
		return "", fmt.Errorf("%w: an operator id is two digits, 00 to 99", ErrBadID)
	}
	n := int(id[0]-'0')*10 + int(id[1]-'0')
	for _, r := range roles {
		if n >= r.first && n <= r.last {
			return r.role, nil
		}
	}
	return "", fmt.Errorf("%w: no role for operator %s", ErrBadID, id)
}

// PasswordDigits is the exact length of a password of role r (0 for an unknown role).
func (r Role) PasswordDigits() int {
	for _, x := range roles {
		if x.role == r {
			return x.digits
		}
	}
	return 0
}

// ErrPasswordFormat is wrapped by CheckPassword's errors.
var ErrPasswordFormat = errors.New("password format")

// CheckPassword reports whether password has the form role r requires: digits only, of
// the role's exact length. The error says what is required, never what was typed.
func (r Role) CheckPassword(password string) error {
	n := r.PasswordDigits()
	if n == 0 {
		return fmt.Errorf("%w: unknown role %q", ErrPasswordFormat, string(r))
	}
	if len(password) != n {
		return fmt.Errorf("%w: a %s password is %d digits", ErrPasswordFormat, r, n)
	}
	for i := 0; i < len(password); i++ {
		if password[i] < '0' || password[i] > '9' {
			return fmt.Errorf("%w: a %s password is %d digits, nothing else", ErrPasswordFormat, r, n)
		}
	}
	return nil
}

// action is something one operator does to another.
type action string

const (
	actSetPassword action = "set password"
	actAdd         action = "add"
	actRemove      action = "remove"
)

// grants lists who may do what to whom; anything not listed is refused. The
// administrator changes its own password with ChangeOwn, which asks for the old one.
var grants = []struct {
	act           action
	actor, target Role
}{
	{actSetPassword, Administrator, Cashier},
	{actSetPassword, Administrator, Supervisor},
	{actSetPassword, Administrator, Technician},
	{actAdd, Administrator, Cashier},
	{actRemove, Administrator, Cashier},
}

func allowed(act action, actor, target Role) bool {
	for _, g := range grants {
		if g.act == act && g.actor == actor && g.target == target {
			return true
		}
	}
	return false
}
