// Package pinpadtest gives tests a PIN pad as the terminal has one: the simulator
// (padsim) on a real pseudo-terminal, reached through the driver. It is the one home
// of the pad helpers that the journal's and the transaction engine's tests shared by
// copy. Only test files import it (the layering test checks).
package pinpadtest

import (
	"sync"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
)

var shared struct {
	once sync.Once
	pad  *pinpad.Driver
	err  error
}

// Shared is one simulated PIN pad, its keys in memory, for the whole test binary: a
// card hashes the same in every test of a package, as on one terminal. It stays open
// until the binary exits.
func Shared(tb testing.TB) *pinpad.Driver {
	tb.Helper()
	shared.once.Do(func() { shared.pad, _, shared.err = padsim.Connect(padsim.New()) })
	if shared.err != nil {
		tb.Fatalf("simulated PIN pad: %v", shared.err)
	}
	return shared.pad
}

// At is a simulated PIN pad of the test's own, keeping its keys and journal anchor in
// the NVRAM file nvram ("" keeps them in memory); it is closed when the test ends.
func At(tb testing.TB, nvram string) *pinpad.Driver {
	tb.Helper()
	sim := padsim.New()
	sim.NVRAM = nvram
	d, stop, err := padsim.Connect(sim)
	if err != nil {
		tb.Fatalf("simulated PIN pad: %v", err)
	}
	tb.Cleanup(stop)
	return d
}
