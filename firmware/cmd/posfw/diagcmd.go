package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/diag"
	"posfw/firmware/update"
)

// runDiag writes a technician's support archive: version, slots, board, self test,
// journal stats and verify, the end of the logs. It holds no card data and no key: the
// journal is summarised, not exported; configuration values named after keys, passwords
// or PINs are replaced; every part passes the log's PAN mask.
func runDiag(e *env, args []string) error {
	fs := e.flags("diag")
	out := fs.String("out", ".", "directory to write the archive to (e.g. a USB stick)")
	data := fs.String("data", datadir.Default(), "data directory: journal and logs")
	root := fs.String("root", update.DefaultRoot, "install root holding the slots")
	cfgFile := fs.String("config", "/etc/posfw/posfw.toml", "terminal configuration")
	selftest := fs.Bool("selftest", true, "run the device self test (stop `posfw run` first: the ports are its)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if err := e.parse(fs, []string{"--help"}); err != nil {
			return err
		}
	}
	if args[0] != "bundle" {
		return usageError{fmt.Sprintf("unknown diag verb %q (want bundle)", args[0])}
	}
	if err := e.parse(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	now := time.Now().UTC()
	// capture runs another command's code into a part.
	capture := func(name string, run func(*env, []string) error, args ...string) diag.Part {
		var b bytes.Buffer
		sub := &env{stdout: &b, stderr: &b, getenv: e.getenv}
		if err := run(sub, args); err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
		}
		return diag.Part{Name: name, Data: b.Bytes()}
	}
	parts := []diag.Part{
		{Name: "README.txt", Data: []byte(fmt.Sprintf("posfw support archive, %s\nNo card data, keys or passwords are in it.\n", now.Format(time.RFC3339)))},
		capture("version.txt", runVersion),
		capture("slots.txt", updateStatus, "--root", *root),
	}
	boardName := ""
	if b, err := os.ReadFile(*cfgFile); err == nil {
		parts = append(parts, diag.Part{Name: "config.toml", Data: diag.RedactConfig(b)})
		if cfg, err := config.Parse(*cfgFile, b); err == nil {
			boardName = cfg.Board
		} else {
			parts = append(parts, diag.Part{Name: "config-error.txt", Data: []byte(err.Error() + "\n")})
		}
	}
	if boardName == "" {
		if b, err := (update.Root{Dir: *root}).Board(); err == nil {
			boardName = b
		}
	}
	parts = append(parts, diag.Part{Name: "board.txt", Data: []byte("board " + boardName + "\n")})
	if *selftest && boardName != "" {
		parts = append(parts, capture("selftest.txt", runSelftest, "--board", boardName))
	}
	if _, err := os.Stat(datadir.Dir(*data).Journal()); err == nil {
		parts = append(parts, capture("journal-stats.txt", runJournal, "stats", "--data", *data))
		parts = append(parts, capture("journal-verify.txt", runJournal, "verify", "--data", *data))
	} else {
		parts = append(parts, diag.Part{Name: "journal-stats.txt", Data: []byte("no journal in " + *data + "\n")})
	}
	logs, err := diag.LogTail(filepath.Join(*data, "log"), 256<<10)
	if err != nil {
		return err
	}
	parts = append(parts, logs...)

	host, _ := os.Hostname()
	name := fmt.Sprintf("posfw-diag-%s-%s.tar.gz", strings.ReplaceAll(host, "/", "_"), now.Format("20060102T150405Z"))
	path := filepath.Join(*out, name)
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = diag.WriteArchive(f, parts, now)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d parts\n", path, len(parts))
	return nil
}
