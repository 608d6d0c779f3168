package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"posfw/firmware/journal"
)

func runJournal(e *env, args []string) error {
	fs := e.flags("journal")
	data := fs.String("data", "var", "data directory holding journal.db")
	format := fs.String("format", "json", "export format: json (one object per line) or csv")
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
	j, err := journal.Open(filepath.Join(*data, "journal.db"))
	if err != nil {
		return err
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
		fmt.Fprintf(e.stdout, "journal %s: OK: integrity ok, %d events chained, %d records match their events\n", j.Path(), rep.Events, rep.Records)
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
