package txn_test

import (
	"sync"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
)

var pad struct {
	once sync.Once
	d    *pinpad.Driver
	err  error
}

// testCards is the card hasher of the engine tests: one simulated PIN pad on a real
// PTY, shared by the tests so that a card hashes the same in each.
func testCards(t testing.TB) *pinpad.Driver {
	t.Helper()
	pad.once.Do(func() { pad.d, _, pad.err = padsim.Connect(padsim.New()) })
	if pad.err != nil {
		t.Fatal(pad.err)
	}
	return pad.d
}
