package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"posfw/board"
	"posfw/drivers/gpio"
	"posfw/firmware/diag"
	"posfw/firmware/sim"
)

func runSelftest(e *env, args []string) error {
	fs := e.flags("selftest")
	name := fs.String("board", "sim", "built-in board name or board .toml file")
	data := fs.String("data", "", "directory for the journal check (default: a temporary one)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	b, err := board.Load(*name)
	if err != nil {
		return err
	}
	b = b.Clone()
	dir := *data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "posfw-selftest-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	var opts diag.Options
	if b.Simulated() {
		sims, err := sim.StartDevices(b, filepath.Join(dir, "dev"))
		if err != nil {
			return err
		}
		defer sims.Close()
		opts.Swipe = func() error { return sims.Reader.Swipe("ok") }
	} else if err := gpio.InitHost(); err != nil {
		fmt.Fprintf(e.stderr, "posfw selftest: GPIO: %v\n", err)
	}
	devs, err := board.Open(b, board.Options{})
	if err != nil {
		return err
	}
	defer devs.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !diag.Run(ctx, diag.Checks(devs, dir, opts), 10*time.Second, e.stdout) {
		return exitError{code: 1, msg: "some checks failed"}
	}
	return nil
}
