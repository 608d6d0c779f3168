// Package datadir owns the terminal's data directory: where it is by default and what
// lives in it under which name. Every subcommand takes its --data default from Default
// and every file name from a Dir, so that `posfw journal verify` reads the journal that
// `posfw run` writes.
//
// The directory holds the journal (journal.db, its WAL and its migration backups), the
// logs (log/), and in the simulator its control socket (sim.sock), the device links of
// the simulated serial devices (dev/) and the acquirer simulator's ledger (ledger.db).
// No key lives in it: the PIN pad keeps the terminal's keys, and the simulated pad its
// memory in a sibling file outside it (PadNVRAM).
package datadir

import (
	"os"
	"path/filepath"
)

// Terminal is the data directory of an installed terminal.
const Terminal = "/var/lib/posfw"

// Dev is the data directory of a developer's checkout (`make sim`).
const Dev = "var"

// Env names the environment variable that, when set, is the default data directory.
const Env = "POSFW_DATA"

// Default is the data directory every subcommand uses without --data: $POSFW_DATA when
// set; else Terminal on a machine where it exists (an installed terminal); else Dev, the
// checkout's ./var of `make sim`.
func Default() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	if fi, err := os.Stat(Terminal); err == nil && fi.IsDir() {
		return Terminal
	}
	return Dev
}

// Dir is a data directory.
type Dir string

// Journal is the journal's SQLite file.
func (d Dir) Journal() string { return filepath.Join(string(d), "journal.db") }

// Logs is the directory of the rotated logs.
func (d Dir) Logs() string { return filepath.Join(string(d), "log") }

// Socket is the simulator's control socket.
func (d Dir) Socket() string { return filepath.Join(string(d), "sim.sock") }

// Devices is the directory of the simulated serial devices' links.
func (d Dir) Devices() string { return filepath.Join(string(d), "dev") }

// Ledger is the acquirer simulator's ledger, when the simulator runs one.
func (d Dir) Ledger() string { return filepath.Join(string(d), "ledger.db") }

// PadNVRAM is where the simulated PIN pad of this terminal keeps its own memory (its
// card and journal keys, the journal's anchor): the sibling file DIR.pinpad, outside the
// directory, as a real pad keeps them inside itself. Deleting a data directory without
// it makes the terminal refuse to start: the pad remembers a journal that is gone.
func (d Dir) PadNVRAM() string {
	dir := string(d)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Clean(dir) + ".pinpad"
}

// Log rotation, the same for every subcommand that logs: the current file and LogKeep
// old ones of LogBytes each at most.
const (
	LogName  = "posfw.log"
	LogBytes = 4 << 20
	LogKeep  = 5
)
