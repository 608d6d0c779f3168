package operator

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseHash: no panic; an accepted hash has parameters within the limits and prints
// back as exactly its input (one spelling per hash); a refused one says ErrBadHash.
func FuzzParseHash(f *testing.F) {
	for _, v := range vectors {
		f.Add(v)
	}
	h, _ := NewHash("0000", fast)
	f.Add(h.String())
	f.Add("$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("ParseHash(%q) = %v; want an ErrBadHash", s, err)
			}
			return
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("ParseHash(%q) accepted params %+v: %v", s, h.Params, err)
		}
		if got := h.String(); got != s {
			t.Fatalf("ParseHash(%q).String() = %q; want the input", s, got)
		}
		if strings.Count(s, "$") != 5 {
			t.Fatalf("ParseHash(%q) accepted a string of %d fields", s, strings.Count(s, "$"))
		}
	})
}

// FuzzRoleOf: no panic; accepted ids are exactly two ASCII digits with the role the
// table gives, and the role's password rule accepts its own-length digit string.
func FuzzRoleOf(f *testing.F) {
	for _, s := range []string{"00", "01", "98", "99", "9", "100", "a1", "０１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		r, err := RoleOf(id)
		if err != nil {
			if r != "" || !errors.Is(err, ErrBadID) {
				t.Fatalf("RoleOf(%q) = %q, %v; want \"\" and an ErrBadID", id, r, err)
			}
			return
		}
		if len(id) != 2 || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("RoleOf(%q) accepted a non two-digit id", id)
		}
		want := Cashier
		switch id {
		case SupervisorID:
			want = Supervisor
		case AdministratorID:
			want = Administrator
		case TechnicianID:
			want = Technician
		}
		if r != want {
			t.Fatalf("RoleOf(%q) = %s; want %s", id, r, want)
		}
		if err := r.CheckPassword(strings.Repeat("7", r.PasswordDigits())); err != nil {
			t.Fatalf("%s.CheckPassword(own length) = %v", r, err)
		}
	})
}
