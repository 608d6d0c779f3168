package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"posfw/board"
	"posfw/drivers/gpio"
	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/host"
	"posfw/firmware/logfile"
	"posfw/firmware/update"
	"posfw/ui"
	"posfw/ui/evdev"
	"posfw/ui/framebuffer"
)

func runRun(e *env, args []string) error {
	fs := e.flags("run")
	cfgFile := fs.String("config", "/etc/posfw/posfw.toml", "terminal configuration file")
	data := fs.String("data", datadir.Default(), "data directory: journal and logs ($POSFW_DATA, else "+datadir.Terminal+" where it exists, else ./"+datadir.Dev+")")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		return err
	}
	b, err := board.Load(cfg.Board)
	if err != nil {
		return err
	}
	if b.Simulated() {
		return fmt.Errorf("board %s has simulated devices; use `posfw sim` for it", b.Name)
	}
	display, err := hardwareDisplay(b)
	if err != nil {
		return err
	}
	logw, err := logfile.Open(datadir.Dir(*data).Logs(), datadir.LogName, datadir.LogBytes, datadir.LogKeep)
	if err != nil {
		return err
	}
	defer logw.Close()
	log := slog.New(slog.NewTextHandler(logw, nil))
	client, err := hostClient(cfg, log)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := gpio.InitHost(); err != nil {
		log.Warn("GPIO not available", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	devs, err := board.Open(b, board.Options{APN: cfg.Modem.APN})
	if err != nil {
		return err
	}
	if k, ok := devs.Pad.(host.Keys); ok {
		client.UseKeys(k) // the PIN pad holds the TMK and working keys and MACs
	}
	// Under systemd (Type=notify, WatchdogSec) the watchdog is fed only while the UI
	// loop and the journal writer beat; elsewhere wd is nil and does nothing.
	wd, err := update.NewWatchdog(os.Getenv, os.Getpid(), app.PartUI, app.PartJournal)
	if err != nil {
		devs.Close()
		return err
	}
	a, err := app.Start(ctx, app.Options{
		DataDir: *data, Config: cfg, Devices: devs, Display: display,
		Lang: ui.Lang(cfg.Language), Version: version, Log: log, Host: client, Alive: alive(wd),
	})
	if err != nil {
		devs.Close()
		return err
	}
	defer a.Close()
	go wd.Run(ctx, func(stale []string) { log.Error("watchdog no longer fed: parts not beating", "parts", stale) })
	if !update.Release() {
		// Anyone can sign a bundle this build accepts: fine on a bench, never in the field.
		log.Warn("development build: update bundles signed with the public development key are trusted; build releases with make arm RELEASE_KEYS=...")
	}
	if _, err := update.Notify(os.Getenv, "READY=1"); err != nil {
		log.Warn("service manager not told we are ready", "err", err)
	}
	defer update.Notify(os.Getenv, "STOPPING=1")
	go runKeypad(ctx, b, a.UI(), log)
	if ok, err := a.Provisioned(ctx); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("terminal not provisioned: set the supervisor (00) and administrator (99) passwords with `posfw provision password ID` before it takes money")
	}
	err = a.Run(ctx)
	if errors.Is(err, app.ErrRestart) {
		// The technician installed or chose another version: exit cleanly, and the
		// service manager (Restart=always) starts the launcher, which starts that slot.
		log.Info("restarting into another version")
		return nil
	}
	return err
}

// alive is the watchdog's beat, or nil when the service has no watchdog.
func alive(wd *update.Watchdog) func(string) {
	if wd == nil {
		return nil
	}
	return wd.Alive
}

// hardwareDisplay opens the board's display.
func hardwareDisplay(b *board.Board) (ui.Display, error) {
	if b.Display.Kind != "framebuffer" {
		return nil, fmt.Errorf("board %s: display kind %q is for the simulator; a terminal needs a framebuffer", b.Name, b.Display.Kind)
	}
	return framebuffer.Open(b.Display.Device, b.Display.Cols, b.Display.Rows)
}

// runKeypad feeds the board's evdev keypad into the UI until ctx ends; the keypad
// driver reopens its device after it went away.
func runKeypad(ctx context.Context, b *board.Board, u *ui.UI, log *slog.Logger) {
	if b.Keypad.Kind != "evdev" {
		log.Error("keypad kind is for the simulator", "kind", b.Keypad.Kind)
		return
	}
	evdev.Keypad{Path: b.Keypad.Device, Lost: func(err error) {
		log.Warn("keypad lost, reopening", "device", b.Keypad.Device, "err", err)
	}}.Run(ctx, u.Press)
}

// hostClient is the acquirer link of a production terminal: the configured address,
// timeouts, pinned CA and dialect.
func hostClient(cfg *config.Config, log *slog.Logger) (*host.Client, error) {
	d, err := host.ParseDialect(cfg.Host.Dialect, host.CUPConfig{TPDU: cfg.Host.TPDU, Header: cfg.Host.Header, Field22: cfg.Host.Field22, SignOn: cfg.Host.SignOn, Totals: cfg.Host.SettlementTotals})
	if err != nil {
		return nil, err
	}
	// No master key here: the TMK and the working keys live in the PIN pad
	// (provision tmk), which the client is given once the devices are open.
	hc := host.Config{
		Address: cfg.Host.Address, ConnectTimeout: cfg.Host.ConnectTimeout.Duration, ResponseTimeout: cfg.Host.ResponseTimeout.Duration,
		TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID, Currency: cfg.CurrencyCode(), Dialect: d, Logger: log,
		Location: cfg.Location(), // fields 12 and 13: the terminal's local time
	}
	if cfg.Host.TLSCA != "" {
		if hc.TLS, err = host.PinnedTLS(cfg.Host.TLSCA); err != nil {
			return nil, err
		}
	}
	return host.New(hc), nil
}
