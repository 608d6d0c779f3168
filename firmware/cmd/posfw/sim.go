package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/journal"
	"posfw/firmware/logfile"
	"posfw/firmware/sim"
	"posfw/ui"
	"posfw/ui/tui"
)

func runSim(e *env, args []string) error {
	fs := e.flags("sim")
	data := fs.String("data", datadir.Default(), "data directory: journal, logs, control socket ($POSFW_DATA, else "+datadir.Terminal+" where it exists, else ./"+datadir.Dev+")")
	lang := fs.String("lang", "", "screen language, zh or en (default: the config's)")
	headless := fs.Bool("headless", false, "no TUI: the screen is read through the control socket")
	control := fs.String("control", "", "control socket path (default $POSFW_CONTROL or DATA/sim.sock)")
	host := fs.String("host", "", "acquirer host:port instead of the configured one")
	cfgFile := fs.String("config", "", "terminal configuration file (default: the embedded sim configuration)")
	tz := fs.String("tz", "", "time zone of the terminal and its host simulator, e.g. Asia/Shanghai (default: the config's timezone)")
	dialect := fs.String("dialect", "", "host dialect of the terminal and its host simulator, iso87 or cup (default: the config's)")
	instant := fs.Bool("instant-cards", false, "chip test cards answer at once instead of at the reference reader's speed (docs/decisions.md)")
	clock := fs.String("clock", "", "start the terminal's clock (and the host simulator's) at this RFC 3339 time, e.g. 2026-12-06T00:40:00+08:00; it runs on from there")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	cfg := config.Sim()
	if *cfgFile != "" {
		var err error
		if cfg, err = config.Load(*cfgFile); err != nil {
			return err
		}
	}
	if *host != "" {
		if reason := config.CheckAddress(*host); reason != "" {
			return usageError{"--host " + reason}
		}
		cfg.Host.Address = *host
	}
	if *dialect != "" {
		if *dialect != "iso87" && *dialect != "cup" {
			return usageError{fmt.Sprintf("--dialect %q: want iso87 or cup", *dialect)}
		}
		cfg.Host.Dialect = *dialect
	}
	if *tz != "" {
		cfg.TimeZone = *tz
		if _, err := cfg.Zone(); err != nil {
			return usageError{fmt.Sprintf("--tz: %v", err)}
		}
	}
	now, err := simClock(*clock)
	if err != nil {
		return err
	}
	l := ui.Lang(cfg.Language)
	if *lang != "" {
		var ok bool
		if l, ok = ui.ParseLang(*lang); !ok {
			return usageError{fmt.Sprintf("--lang %q: want zh or en", *lang)}
		}
	}
	sock := controlPath(e, *control, *data)

	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	logw, err := logfile.Open(datadir.Dir(*data).Logs(), datadir.LogName, datadir.LogBytes, datadir.LogKeep)
	if err != nil {
		return err
	}
	defer logw.Close()
	log := slog.New(slog.NewTextHandler(logw, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	interactive := !*headless && e.stdin != nil && term.IsTerminal(int(e.stdin.Fd()))
	o := sim.Options{DataDir: *data, Control: sock, Config: cfg, Lang: l, Version: version, Log: log, HostAddr: *host, KeepLang: *lang != "", Now: now, InstantCards: *instant}
	t, err := sim.Start(ctx, o)
	if errors.Is(err, journal.ErrRolledBack) {
		// A developer resetting the simulator deletes the data directory; the simulated
		// pad outside it still remembers the old journal, as a real pad would.
		return fmt.Errorf("%w (to start a new simulated terminal, delete %s as well)", err, datadir.Dir(*data).PadNVRAM())
	}
	if err != nil {
		return err
	}
	if interactive {
		return runTUI(ctx, e, t, fmt.Sprintf("posfw sim · terminal %s · control %s · data %s", cfg.TerminalID, sock, *data))
	}
	go func() {
		if t.Display.Wait(ctx, cfg.TerminalID) == nil {
			fmt.Fprintf(e.stderr, "posfw sim: ready; terminal %s, control socket %s, data in %s\n", cfg.TerminalID, sock, *data)
		}
	}()
	err = t.Run(ctx)
	if errors.Is(err, app.ErrRestart) {
		// The technician installed or chose another version: a service manager would
		// start it now; the simulator stops and says so.
		fmt.Fprintln(e.stderr, "posfw sim: stopped to restart into another version")
		return nil
	}
	fmt.Fprintln(e.stderr, "posfw sim: stopped")
	return err
}

// simClock is the clock of --clock: it reads start now and runs on at the real pace
// (nil, the system clock, when start is ""). A developer runs the night shift at noon.
func simClock(start string) (func() time.Time, error) {
	if start == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--clock %q: want an RFC 3339 time like 2026-12-06T00:40:00+08:00", start)}
	}
	offset := time.Until(t)
	return func() time.Time { return time.Now().Add(offset) }, nil
}

// runTUI runs the terminal with the TUI on the developer's terminal. Quitting the TUI
// (Ctrl-C) ends the terminal's context, so it shuts down and removes its socket; the
// terminal's end (a signal) stops the TUI. Nothing is written to stderr while the TUI
// owns the screen.
func runTUI(ctx context.Context, e *env, t *sim.Terminal, title string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u := tui.New(t, tui.Options{Title: title})
	tuiErr := make(chan error, 1)
	go func() {
		tuiErr <- u.Run(ctx)
		cancel()
	}()
	err := t.Run(ctx)
	if terr := <-tuiErr; terr != nil && err == nil {
		err = terr
	}
	fmt.Fprintln(e.stderr, "posfw sim: stopped")
	return err
}

// controlPath resolves the control socket: the flag, else $POSFW_CONTROL, else DATA/sim.sock.
func controlPath(e *env, flagValue, data string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := e.getenv("POSFW_CONTROL"); v != "" {
		return v
	}
	return datadir.Dir(data).Socket()
}
