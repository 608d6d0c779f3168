// Command posfw is the payment terminal's firmware: one binary whose subcommands run the
// terminal on hardware (run) or simulated on a laptop (sim, simctl), report the build
// (version) and test the devices (selftest). See DESIGN.md §2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"posfw/firmware/harden"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// command is one subcommand.
type command struct {
	name    string
	args    string // the usage line after the name
	summary string
	run     func(env *env, args []string) error
	// hardened commands handle card data, keys or the journal: the process is made
	// non-dumpable, without core dumps and with umask 077 before they start.
	hardened bool
}

// commands in the order `posfw --help` lists them (set in init: their run functions
// refer back to the list for --help).
var commands []command

func init() {
	commands = []command{
		{"version", "", "print version, commit, build date, platform and SQLite version", runVersion, false},
		{"run", "[--config F] [--data DIR]", "run the terminal on its real board", runRun, true},
		{"sim", "[--data DIR] [--lang zh|en] [--headless] [--control SOCK] [--host ADDR] [--config F]", "run the hardware-simulated terminal", runSim, true},
		{"simctl", "[--control SOCK] VERB [ARGS...]", "drive a running simulator (screen, key, select, wait, state, fault, card, pin, scan, screenshot, printer)", runSimctl, false},
		{"hostsim", "--listen ADDR [--ledger F] [--dialect iso87] [--fault MODE] [--read-timeout D] [--max-conns N]", "run the acquirer simulator", runHostsim, true},
		{"journal", "verify|export|stats [--data DIR] [--format json|csv]", "check the journal's hash chain and integrity, export it as evidence, or count it", runJournal, true},
		{"vpcd", "[--card NAME] [--addr HOST:PORT]", "put a test chip card into vsmartcard's virtual PC/SC reader (pcscd + vsmartcard-vpcd)", runVpcd, false},
		{"escpos", "render FILE [--png OUT] [--cols N]", "decode an ESC/POS byte stream (a simulator's or a real printer port's) to text or a picture", runEscpos, false},
		{"provision", "password ID|status|config [--data DIR] [--out F --terminal-id T --merchant-id M --merchant-name N --host H:P --apn A]", "set the first supervisor/administrator passwords (read from stdin), check them, or write a terminal config", runProvision, true},
		{"bench", "[--n N] [--data DIR]", "end-to-end sale latency against a zero-delay host, and the cost of a durable SQLite commit", runBench, true},
		{"selftest", "[--board NAME] [--data DIR]", "check every device of a board; exit 0 only if all pass", runSelftest, false},
		{"update", "build|verify|apply|status|confirm|rollback|health|receive|keygen ...", "signed A/B update bundles: build, check, install, confirm, roll back", runUpdate, false},
		{"push", "BUNDLE --to HOST[:PORT] --pin PIN | --serial PORT [--baud N]", "send an update bundle from a technician's laptop to a terminal (resumable)", runPush, false},
		{"install", "--root DIR | --ssh USER@HOST[:PORT] --bundle FILE [--board NAME] [--config F] [--owner UID:GID]", "first install onto a terminal (its root filesystem, or over SSH): slots, launcher, systemd unit, config, data directory, self test", runInstall, false},
		{"diag", "bundle [--out DIR] [--data DIR] [--root DIR] [--config F] [--selftest=false]", "write a support archive for a technician (never card data or keys)", runDiag, true},
	}
}

// env is where a command writes; tests swap it.
type env struct {
	stdout, stderr io.Writer
	stdin          *os.File
	getenv         func(string) string
	// harden hardens the process before a hardened command (harden.Process); nil in
	// tests that run commands inside the test process.
	harden func() error
}

// usageError is bad command-line input: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError ends the command with a code and an optional message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv, harden: harden.Process}
	os.Exit(e.main(os.Args[1:]))
}

// main runs the command line and returns the exit code.
func (e *env) main(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		e.usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			if c.hardened && e.harden != nil {
				if err := e.harden(); err != nil {
					return e.exit(c.name, err)
				}
			}
			return e.exit(c.name, c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "posfw: unknown command %q (run `posfw --help` for the list)\n", args[0])
	return 2
}

func (e *env) exit(name string, err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "posfw %s: %s (see `posfw %s --help`)\n", name, ue.msg, name)
		return 2
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(e.stderr, "posfw %s: %s\n", name, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(e.stderr, "posfw %s: %s\n", name, oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintln(w, "posfw — payment terminal firmware")
	fmt.Fprintln(w, "\nUsage: posfw COMMAND [FLAGS]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command has --help.")
}

// flags makes a command's flag set; parse reports --help and bad flags our way.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args; --help prints the command's usage to stdout and returns flag.ErrHelp.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		for _, c := range commands {
			if c.name == fs.Name() {
				fmt.Fprintf(e.stdout, "Usage: posfw %s %s\n\n%s.\n", c.name, c.args, upperFirst(c.summary))
			}
		}
		var any bool
		fs.VisitAll(func(f *flag.Flag) {
			if !any {
				fmt.Fprintln(e.stdout, "\nFlags:")
				any = true
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(e.stdout, "  --%-10s %s%s\n", f.Name, f.Usage, def)
		})
		return flag.ErrHelp
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// noArgs refuses positional arguments a command does not take.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
