// Package harden makes the running process keep its secrets to itself: no core dump
// (which would write card data, PIN blocks and keys in memory to disk), no ptrace or
// /proc/PID/mem reads by other processes of the same user, and files it creates readable
// by its own user only. Commands that touch card data, keys or the journal call Process
// first, before they open or create anything.
package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Umask is the file creation mask Process sets: files and directories the process
// creates get no group or other permission bits, whatever mode the code asks for
// (SQLite's journal, WAL and SHM files are created 0644 otherwise).
const Umask = 0o077

// Process disables core dumps (RLIMIT_CORE 0, soft and hard, and PR_SET_DUMPABLE 0,
// which also stops other processes of the same user from attaching a debugger or reading
// /proc/PID/mem) and sets the umask to Umask. It returns the first step that failed.
func Process() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("cannot disable core dumps (RLIMIT_CORE): %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("cannot make the process non-dumpable (PR_SET_DUMPABLE): %w", err)
	}
	unix.Umask(Umask)
	return nil
}

// Dumpable reports the process's PR_GET_DUMPABLE flag (true when core dumps and ptrace
// by the same user are possible).
func Dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return v != 0, err
}
