package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"posfw/firmware/journal"
	"posfw/firmware/update"
)

func runVersion(e *env, args []string) error {
	fs := e.flags("version")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "posfw %s\ncommit   %s\nbuilt    %s\nplatform %s/%s%s\ngo       %s\nsqlite   %s\nupdates  %s\n",
		version, commit, date, runtime.GOOS, runtime.GOARCH, armVariant(), runtime.Version(), journal.SQLiteVersion(), updateKeys())
	return nil
}

// updateKeys says which keys this build takes update bundles from.
func updateKeys() string {
	if update.Release() {
		return "release keys"
	}
	return "DEVELOPMENT key (not a release build: make arm RELEASE_KEYS=...)"
}

// armVariant names the ARM architecture version of a GOARCH=arm build, from the build
// settings the Go toolchain records in the binary.
func armVariant() string {
	if runtime.GOARCH != "arm" {
		return ""
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" {
				return " (ARMv" + s.Value + ")"
			}
		}
	}
	return ""
}
