package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
)

// pad is the PIN pad that hashes the tests' cards: a simulated pad on a PTY, reached
// through the driver. In a terminal life run as a child (CRASH_DIR set) its NVRAM sits
// beside the data directory, as `posfw sim` keeps it, so that every life of one
// terminal hashes a card the same and a refund finds its original card.
var pad struct {
	once sync.Once
	d    *pinpad.Driver
	err  error
}

// cards is the CardHasher of the tests' engines.
type cards struct{}

func (cards) CardHash(ctx context.Context, pan []byte) (string, error) {
	pad.once.Do(func() {
		sim := padsim.New()
		if dir := os.Getenv("CRASH_DIR"); dir != "" {
			sim.NVRAM = filepath.Clean(dir) + ".pinpad"
		}
		pad.d, _, pad.err = padsim.Connect(sim)
	})
	if pad.err != nil {
		return "", pad.err
	}
	return pad.d.CardHash(ctx, pan)
}
