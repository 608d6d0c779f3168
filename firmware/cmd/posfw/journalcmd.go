package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"posfw/board"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/journal"
)

// runJournal looks at a journal without changing it: it is opened read-only (so that
// evidence is not touched, and read-only media work), and a directory without one is
// an error, not a new empty journal.
func runJournal(e *env, args []string) error {
	fs := e.flags("journal")
	data := fs.String("data", datadir.Default(), "data directory holding journal.db ($POSFW_DATA, else "+datadir.Terminal+" where it exists, else ./"+datadir.Dev+")")
	format := fs.String("format", "json", "export format: json (one object per line) or csv")
	cfgFile := fs.String("config", "", "verify: check the seals with the PIN pad of this terminal's board (stop `posfw run` first: the port is its)")
	nvram := fs.String("pad-nvram", "", "verify: check the seals with the simulated PIN pad of this NVRAM file (default: DATA.pinpad, where `posfw sim` keeps it, if it exists)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if err := e.parse(fs, []string{"--help"}); err != nil {
			return err
		}
	}
	verb := args[0]
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if verb != "verify" && verb != "export" && verb != "stats" {
		return usageError{fmt.Sprintf("unknown journal verb %q (want verify, export or stats)", verb)}
	}
	if *format != "json" && *format != "csv" {
		return usageError{fmt.Sprintf("--format %q: want json or csv", *format)}
	}
	if *cfgFile != "" && *nvram != "" {
		return usageError{"--config and --pad-nvram name two PIN pads: give one"}
	}
	path := datadir.Dir(*data).Journal()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return exitError{code: 1, msg: fmt.Sprintf("journal %s: no journal here (is --data right?)", path)}
	}
	opts := journal.Options{ReadOnly: true}
	if verb == "verify" {
		w, stop, err := witness(*data, *cfgFile, *nvram)
		if err != nil {
			return err
		}
		defer stop()
		if w != nil {
			opts.Witness = w
		}
	}
	j, err := journal.OpenWith(path, opts)
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}
	defer j.Close()
	ctx := context.Background()
	switch verb {
	case "verify":
		rep, err := j.Verify(ctx)
		if err != nil {
			return err
		}
		if !rep.OK() {
			return exitError{code: 1, msg: fmt.Sprintf("journal %s: FAILED: %s", j.Path(), rep.Problem)}
		}
		pad := fmt.Sprintf("%d seals checked by the PIN pad, its anchor (event %d) is in the chain", rep.Seals, rep.Anchor)
		if !rep.Witnessed {
			pad = fmt.Sprintf("%d seals match the chain; not checked against a PIN pad (give --config or --pad-nvram)", rep.Seals)
		}
		fmt.Fprintf(e.stdout, "journal %s: OK: integrity ok, %d events chained, %d records match their events, counters match the chain, %s\n",
			j.Path(), rep.Events, rep.Records, pad)
	case "export":
		return j.Export(ctx, e.stdout, *format)
	case "stats":
		s, err := j.Stats(ctx)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Fprintln(e.stdout, string(b))
	}
	return nil
}

// witness is the PIN pad that checks the journal's seals: the board's (--config), a
// simulated one on its NVRAM (--pad-nvram, or the sim's DATA.pinpad), or none.
func witness(data, cfgFile, nvram string) (journal.Witness, func(), error) {
	none := func() {}
	if cfgFile != "" {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return nil, none, err
		}
		b, err := board.Load(cfg.Board)
		if err != nil {
			return nil, none, err
		}
		d, err := board.Open(b, board.Options{})
		if err != nil {
			return nil, none, err
		}
		if !board.Present(d.Pad) {
			d.Close()
			return nil, none, fmt.Errorf("board %s has no PIN pad to check the journal's seals with", b.Name)
		}
		return d.Pad, func() { d.Close() }, nil
	}
	if nvram == "" {
		nvram = datadir.Dir(data).PadNVRAM()
		if _, err := os.Stat(nvram); err != nil {
			return nil, none, nil // no simulator's pad here
		}
	} else if _, err := os.Stat(nvram); err != nil {
		return nil, none, fmt.Errorf("--pad-nvram: %w", err)
	}
	s := padsim.New()
	s.NVRAM = nvram
	d, stop, err := padsim.Connect(s)
	if err != nil {
		return nil, none, err
	}
	return d, stop, nil
}
