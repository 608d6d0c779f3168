package operator

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRoleOf(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want Role
		ok   bool
	}{
		{"00", Supervisor, true},
		{"01", Cashier, true},
		{"42", Cashier, true},
		{"97", Cashier, true},
		{"98", Technician, true},
		{"99", Administrator, true},
		{"", "", false},
		{"0", "", false},
		{"1", "", false},
		{"001", "", false},
		{"100", "", false},
		{"a1", "", false},
		{"1a", "", false},
		{" 1", "", false},
		{"-1", "", false},
		{"０１", "", false}, // full-width digits are not digits here
	} {
		got, err := RoleOf(tc.id)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("RoleOf(%q) = %q, %v; want %q, ok %v", tc.id, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadID) {
			t.Errorf("RoleOf(%q) error %v does not wrap ErrBadID", tc.id, err)
		}
	}
}

func TestRoleOfErrorHidesInput(t *testing.T) {
	const typed = "6222021234567890123" // a PAN typed into the operator field
	_, err := RoleOf(typed)
	if err == nil || strings.Contains(err.Error(), typed) || strings.Contains(err.Error(), "7890") {
		t.Errorf("RoleOf(PAN-like) error = %v; want an error that does not quote the input", err)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		role     Role
		password string
		ok       bool
	}{
		{Cashier, "0000", true},
		{Cashier, "1234", true},
		{Cashier, "123", false},
		{Cashier, "12345", false},
		{Cashier, "12a4", false},
		{Cashier, "12 4", false},
		{Cashier, "", false},
		{Supervisor, "123456", true},
		{Supervisor, "1234", false},
		{Supervisor, "12345678", false},
		{Supervisor, "12345x", false},
		{Administrator, "12345678", true},
		{Administrator, "123456", false},
		{Administrator, "1234567８", false}, // full-width 8: 10 bytes and not a digit
		{Administrator, "+1234567", false},
		{Role("root"), "1234", false},
	} {
		err := tc.role.CheckPassword(tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("%s.CheckPassword(%q) = %v; want ok %v", tc.role, tc.password, err, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, ErrPasswordFormat) {
				t.Errorf("%s.CheckPassword(%q) error %v does not wrap ErrPasswordFormat", tc.role, tc.password, err)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("%s.CheckPassword(%q) error %q quotes the password", tc.role, tc.password, err)
			}
		}
	}
}

func TestGrants(t *testing.T) {
	roles := []Role{Cashier, Supervisor, Administrator}
	want := map[action]map[Role][]Role{ // actor → targets allowed
		actSetPassword: {Administrator: {Cashier, Supervisor}},
		actAdd:         {Administrator: {Cashier}},
		actRemove:      {Administrator: {Cashier}},
	}
	for act, byActor := range want {
		for _, actor := range roles {
			for _, target := range roles {
				exp := false
				for _, r := range byActor[actor] {
					exp = exp || r == target
				}
				if got := allowed(act, actor, target); got != exp {
					t.Errorf("allowed(%q, %s, %s) = %v; want %v", act, actor, target, got, exp)
				}
			}
		}
	}
}

func TestLockDuration(t *testing.T) {
	p := DefaultPolicy
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{1, 5 * time.Minute},
		{2, 10 * time.Minute},
		{3, 20 * time.Minute},
		{4, 40 * time.Minute},
		{9, 1280 * time.Minute},
		{10, 24 * time.Hour}, // 2560 min, capped
		{1000, 24 * time.Hour},
	} {
		if got := p.LockDuration(tc.n); got != tc.want {
			t.Errorf("LockDuration(%d) = %v; want %v", tc.n, got, tc.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"default", DefaultPolicy, true},
		{"no failures", Policy{MaxFailures: 0, LockFor: time.Minute, MaxLock: time.Hour}, false},
		{"no lock", Policy{MaxFailures: 5, MaxLock: time.Hour}, false},
		{"cap below first", Policy{MaxFailures: 5, LockFor: time.Hour, MaxLock: time.Minute}, false},
		{"negative forget", Policy{MaxFailures: 5, LockFor: time.Minute, MaxLock: time.Hour, Forget: -1}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
}
