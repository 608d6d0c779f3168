package app

import (
	"context"
	"errors"
	"fmt"

	"posfw/firmware/journal"
	"posfw/firmware/operator"
)

// settingOrigin marks the journal of a simulated terminal: `posfw sim` sets it to
// originSim at every start (audited in the chain), and a production terminal refuses a
// journal so marked. A simulator's journal holds test sales against the host simulator
// and operators with DESIGN §4's default passwords, known to everyone.
const (
	settingOrigin = "journal.origin"
	originSim     = "sim"
)

// SimDefaultPasswords are the simulator's default passwords of the supervisor and the
// administrator (DESIGN §4). A production terminal whose supervisor or administrator
// still has one is not provisioned, whatever made its journal.
var SimDefaultPasswords = map[string]string{operator.SupervisorID: "123456", operator.AdministratorID: "12345678"}

// ErrSimJournal is the refusal of a journal that a simulator made or used, or whose
// supervisor or administrator has the simulator's default password.
var ErrSimJournal = errors.New("not a production journal")

// markSim records that j is a simulator's journal.
func markSim(ctx context.Context, j *journal.Journal) error {
	if v, ok, err := j.Setting(ctx, settingOrigin); err != nil || (ok && v == originSim) {
		return err
	}
	return j.SetSetting(ctx, settingOrigin, originSim, "system")
}

// CheckProduction returns an error wrapping ErrSimJournal when a production terminal
// must not take money on j: `posfw sim` made or used it, or the supervisor or the
// administrator still has the simulator's default password (a journal seeded by a
// simulator before the mark existed, or a password set to the well-known default).
// It returns nil for a journal with no operators yet: provisioning comes next.
func CheckProduction(ctx context.Context, j *journal.Journal) error {
	if v, ok, err := j.Setting(ctx, settingOrigin); err != nil {
		return err
	} else if ok && v == originSim {
		return fmt.Errorf("%w: journal %s was made or used by `posfw sim` (test sales, default passwords); start the terminal on a new data directory and provision it", ErrSimJournal, j.Path())
	}
	for _, id := range []string{operator.SupervisorID, operator.AdministratorID} {
		rec, err := j.Operator(ctx, id)
		if errors.Is(err, operator.ErrUnknown) || (err == nil && rec.Hash == "") {
			continue
		}
		if err != nil {
			return err
		}
		h, err := operator.ParseHash(rec.Hash)
		if err != nil {
			return fmt.Errorf("operator %s: %w", id, err)
		}
		same, err := h.Verify(SimDefaultPasswords[id])
		releaseMemory()
		if err != nil {
			return fmt.Errorf("operator %s: %w", id, err)
		}
		if same {
			return fmt.Errorf("%w: operator %s of journal %s has the simulator's default password; start the terminal on a new data directory and provision it", ErrSimJournal, id, j.Path())
		}
	}
	return nil
}
