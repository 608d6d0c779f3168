package padsim

import (
	"errors"
	"testing"
	"time"

	"posfw/drivers/pinpad/dukpt"
)

func TestTestKey(t *testing.T) {
	bdk, err := dukpt.ParseKey(TestBDK)
	if err != nil || bdk != testBDK {
		t.Errorf("TestBDK parses to a different key than the simulator holds (%v)", err)
	}
	if ksn, err := dukpt.ParseKSN(TestKSN); err != nil || ksn != testKSN {
		t.Errorf("ParseKSN(TestKSN) = %v, %v; want %v", ksn, err, testKSN)
	}
}

func TestIdle(t *testing.T) {
	s := New()
	s.KeyWait = 20 * time.Millisecond
	if got := s.Screen(); got != [2]string{"WELCOME", ""} {
		t.Errorf("Screen() of a new PIN pad = %q; want WELCOME", got)
	}
	if got := s.KSN().String(); got != TestKSN {
		t.Errorf("KSN() of a new PIN pad = %s; want %s", got, TestKSN)
	}
	start := time.Now()
	if err := s.Type("1234"); !errors.Is(err, ErrIdle) {
		t.Errorf("Type with no PIN entry = %v; want ErrIdle", err)
	}
	if el := time.Since(start); el < s.KeyWait {
		t.Errorf("Type gave up after %v; want it to wait KeyWait (%v) for an entry", el, s.KeyWait)
	}
	if err := s.PressCancel(); !errors.Is(err, ErrIdle) {
		t.Errorf("PressCancel with no PIN entry = %v; want ErrIdle", err)
	}
	if err := s.Type("12a4"); err == nil || errors.Is(err, ErrIdle) {
		t.Errorf("Type(12a4) = %v; want a digits-only error", err)
	}
}
