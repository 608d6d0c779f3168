package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/journal"
	"posfw/firmware/operator"
)

// runProvision: what a field technician sets before a terminal takes money.
//
//	posfw provision password ID [--data DIR]   first password of 00 or 99, read from standard input
//	posfw provision status [--data DIR]        whether the passwords are set
//	posfw provision config --out F --terminal-id T --merchant-id M --merchant-name N --host H:P [--apn A] [--board B]
func runProvision(e *env, args []string) error {
	fs := e.flags("provision")
	data := fs.String("data", "/var/lib/posfw", "data directory holding the journal")
	out := fs.String("out", "", "config: file to write")
	tid := fs.String("terminal-id", "", "config: terminal id (8 characters)")
	mid := fs.String("merchant-id", "", "config: merchant id (15 characters)")
	name := fs.String("merchant-name", "", "config: merchant name printed on receipts")
	host := fs.String("host", "", "config: acquirer host:port")
	apn := fs.String("apn", "", "config: APN of the 4G data link")
	boardName := fs.String("board", "rpi-terminal", "config: board name or file")
	lang := fs.String("lang", "zh", "config: screen and receipt language, zh or en")
	tmk := fs.String("master-key-file", "", "config: file holding the terminal master key (32 hex digits, mode 0600)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if err := e.parse(fs, []string{"--help"}); err != nil {
			return err
		}
	}
	verb, rest := args[0], args[1:]
	var id string
	if verb == "password" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := e.parse(fs, rest); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch verb {
	case "password":
		if id == "" {
			return usageError{"password needs the operator ID (00 or 99)"}
		}
		return provisionPassword(e, *data, id)
	case "status":
		return provisionStatus(e, *data)
	case "config":
		if *out == "" {
			return usageError{"config needs --out FILE"}
		}
		src := fmt.Sprintf("terminal_id = %q\nmerchant_id = %q\nmerchant_name = %q\nlanguage = %q\nboard = %q\n\n[host]\naddress = %q\nmaster_key_file = %q\n\n[modem]\napn = %q\n",
			*tid, *mid, *name, *lang, *boardName, *host, *tmk, *apn)
		if _, err := config.Parse("provisioned config", []byte(src)); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(src), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", *out)
		return nil
	}
	return usageError{fmt.Sprintf("unknown provision verb %q (want password, status or config)", verb)}
}

func openOperators(data string) (*journal.Journal, *operator.Service, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, err
	}
	j, err := journal.Open(filepath.Join(data, "journal.db"))
	if err != nil {
		return nil, nil, err
	}
	s, err := operator.New(j, time.Now, operator.DefaultPolicy)
	if err != nil {
		j.Close()
		return nil, nil, err
	}
	return j, s, nil
}

// provisionPassword reads the password from standard input (never from the command
// line, where it would stay in the shell's history and the process list).
func provisionPassword(e *env, data, id string) error {
	if e.stdin == nil {
		return usageError{"the password is read from standard input"}
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("no password on standard input")
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw != "" && pw == app.SimDefaultPasswords[id] {
		return fmt.Errorf("operator %s: that is the simulator's default password, which everyone knows; choose another", id)
	}
	j, s, err := openOperators(data)
	if err != nil {
		return err
	}
	defer j.Close()
	if err := app.CheckProduction(context.Background(), j); err != nil {
		return err
	}
	if err := s.Provision(context.Background(), id, pw); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "operator %s: password set\n", id)
	return nil
}

func provisionStatus(e *env, data string) error {
	j, s, err := openOperators(data)
	if err != nil {
		return err
	}
	defer j.Close()
	if err := app.CheckProduction(context.Background(), j); err != nil {
		return exitError{code: 1, msg: "not provisioned: " + err.Error()}
	}
	ok, err := s.Provisioned(context.Background())
	if err != nil {
		return err
	}
	if !ok {
		return exitError{code: 1, msg: "not provisioned: set the supervisor (00) and administrator (99) passwords with `posfw provision password ID`"}
	}
	fmt.Fprintln(e.stdout, "provisioned: supervisor and administrator passwords are set")
	return nil
}
