// Package testkit holds the small helpers that the tests of every layer share, so that
// each is written once.
//
// It sits under drivers/ because drivers are the bottom layer (DESIGN §1): ui, board
// and firmware may all import what is here, and drivers may import nothing above
// them. It imports nothing of posfw, and only test files import it; the layering test
// (firmware/layering_test.go) holds it to both.
package testkit

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Unhex decodes hex written for people to read: spaces and line breaks between the
// bytes are ignored, so a test can group a frame by its fields. Bad hex fails the test.
func Unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex in test %q: %v", s, err)
	}
	return b
}

// MustUnhex is Unhex for the tables and keys a test file declares at package level,
// before any test runs: bad hex there is a typo in the file, and it panics.
func MustUnhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(fmt.Sprintf("bad hex in test %q: %v", s, err))
	}
	return b
}
