package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"posfw/board"
	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/padsim"
	"posfw/firmware/app"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/journal"
	"posfw/firmware/operator"
)

// runProvision: what a field technician sets before a terminal takes money.
//
//	posfw provision password ID [--data DIR]   first password of 00 or 99, read from standard input
//	posfw provision status [--data DIR]        whether the passwords are set
//	posfw provision config --out F --terminal-id T --merchant-id M --merchant-name N --host H:P [--apn A] [--board B]
//	    [--dialect iso87|cup]
//	posfw provision tmk --config F | --pad-nvram F  [--key-file F | --parts 2|3]
//	    inject the terminal master key into the PIN pad: from a key file on removable
//	    media (the TMK under the pad's transport key, then its check value), or as clear
//	    components typed on standard input, each twice; the pad's check value is shown
func runProvision(e *env, args []string) error {
	fs := e.flags("provision")
	data := fs.String("data", datadir.Default(), "data directory holding the journal")
	out := fs.String("out", "", "config: file to write")
	tid := fs.String("terminal-id", "", "config: terminal id (8 characters)")
	mid := fs.String("merchant-id", "", "config: merchant id (15 characters)")
	name := fs.String("merchant-name", "", "config: merchant name printed on receipts")
	host := fs.String("host", "", "config: acquirer host:port")
	apn := fs.String("apn", "", "config: APN of the 4G data link")
	boardName := fs.String("board", "rpi-terminal", "config: board name or file")
	lang := fs.String("lang", "zh", "config: screen and receipt language, zh or en")
	dialect := fs.String("dialect", "iso87", "config: the acquirer's ISO 8583 dialect, iso87 or cup")
	cfgFile := fs.String("config", "", "tmk: the terminal's config; its board's PIN pad gets the key")
	nvram := fs.String("pad-nvram", "", "tmk: a simulated PIN pad's NVRAM file instead of the board's pad")
	keyFile := fs.String("key-file", "", "tmk: file (mode 0600, removable media) with the TMK under the pad's transport key, 32 hex digits, then its 8-hex-digit check value")
	parts := fs.Int("parts", 2, "tmk: without --key-file, the number of clear components typed on standard input, each twice (2 or 3)")
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
		src := fmt.Sprintf("terminal_id = %q\nmerchant_id = %q\nmerchant_name = %q\nlanguage = %q\nboard = %q\n\n[host]\naddress = %q\ndialect = %q\n\n[modem]\napn = %q\n",
			*tid, *mid, *name, *lang, *boardName, *host, *dialect, *apn)
		if _, err := config.Parse("provisioned config", []byte(src)); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(src), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", *out)
		return nil
	case "tmk":
		if (*cfgFile == "") == (*nvram == "") {
			return usageError{"tmk needs the PIN pad: --config FILE (the board's pad) or --pad-nvram FILE (a simulated one)"}
		}
		if *keyFile == "" && *parts != 2 && *parts != 3 {
			return usageError{fmt.Sprintf("--parts %d: want 2 or 3", *parts)}
		}
		return provisionTMK(e, *cfgFile, *nvram, *keyFile, *parts)
	}
	return usageError{fmt.Sprintf("unknown provision verb %q (want password, status, config or tmk)", verb)}
}

// keyPad opens the PIN pad that takes the TMK: the board's, or a simulated one on its
// NVRAM (made if missing: a new simulated pad).
func keyPad(cfgFile, nvram string) (pinpad.KeyPad, func(), error) {
	if cfgFile != "" {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return nil, nil, err
		}
		b, err := board.Load(cfg.Board)
		if err != nil {
			return nil, nil, err
		}
		d, err := board.Open(b, board.Options{})
		if err != nil {
			return nil, nil, err
		}
		kp, ok := d.Pad.(pinpad.KeyPad)
		if !board.Present(d.Pad) || !ok {
			d.Close()
			return nil, nil, fmt.Errorf("board %s has no PIN pad to load the master key into", b.Name)
		}
		return kp, func() { d.Close() }, nil
	}
	s := padsim.New()
	s.NVRAM = nvram
	d, stop, err := padsim.Connect(s)
	if err != nil {
		return nil, nil, err
	}
	return d, stop, nil
}

// provisionTMK loads the terminal master key into the PIN pad. The firmware never
// holds the TMK: a key file carries it encrypted under the pad's transport key (as a
// key injection facility exports it), and typed components go to the pad one by one,
// which XORs them inside itself. Each component is typed twice, and the check values
// are shown to compare with the key custodians' forms.
func provisionTMK(e *env, cfgFile, nvram, keyFile string, parts int) error {
	var enc, want []byte
	if keyFile != "" {
		var err error
		if enc, want, err = readKeyFile(keyFile); err != nil {
			return err
		}
	} else if e.stdin == nil {
		return usageError{"the key components are read from standard input"}
	}
	pad, closePad, err := keyPad(cfgFile, nvram)
	if err != nil {
		return err
	}
	defer closePad()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if keyFile != "" {
		got, err := pad.LoadTMK(ctx, enc)
		if err != nil {
			return fmt.Errorf("PIN pad: load master key: %w", err)
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return fmt.Errorf("the PIN pad now holds a key whose check value is %X, not %X as the key file says: the file is damaged or not for this pad's transport key; load the right key before signing on", got, want)
		}
		fmt.Fprintf(e.stdout, "master key loaded; check value %X (matches the key file)\n", got)
		return nil
	}
	in := bufio.NewReader(e.stdin)
	for i := 1; i <= parts; i++ {
		part, err := readComponent(e, in, i, parts)
		if err != nil {
			return err
		}
		partCV, tmkCV, err := pad.LoadTMKPart(ctx, part, i, parts)
		clear(part)
		if err != nil {
			return fmt.Errorf("PIN pad: component %d: %w", i, err)
		}
		fmt.Fprintf(e.stdout, "component %d of %d: check value %X\n", i, parts, partCV)
		if i == parts {
			fmt.Fprintf(e.stdout, "master key loaded; check value %X (compare with the acquirer's key form)\n", tmkCV)
		}
	}
	return nil
}

// readComponent reads component i twice from in (32 hex digits each time) and
// returns its bytes when both agree. Errors never quote what was typed.
func readComponent(e *env, in *bufio.Reader, i, n int) ([]byte, error) {
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(e.stderr, prompt)
		line, err := in.ReadBytes('\n')
		defer clear(line)
		if err != nil && len(line) == 0 {
			return nil, fmt.Errorf("component %d: no input", i)
		}
		h := bytes.TrimSpace(line)
		k := make([]byte, 16)
		if len(h) != 32 {
			return nil, fmt.Errorf("component %d: want 32 hex digits, got %d characters", i, len(h))
		}
		if _, err := hex.Decode(k, h); err != nil {
			clear(k)
			return nil, fmt.Errorf("component %d: not hex digits", i)
		}
		return k, nil
	}
	a, err := read(fmt.Sprintf("component %d of %d (32 hex digits): ", i, n))
	if err != nil {
		return nil, err
	}
	b, err := read(fmt.Sprintf("component %d again: ", i))
	if err != nil {
		clear(a)
		return nil, err
	}
	defer clear(b)
	if subtle.ConstantTimeCompare(a, b) != 1 {
		clear(a)
		return nil, fmt.Errorf("component %d: the two entries differ; nothing was loaded from it, start again", i)
	}
	return a, nil
}

// readKeyFile reads a key file of removable media: the TMK under the transport key (32
// hex digits) and its check value (8 hex digits). The file must be a regular file only
// its owner can read (config.CheckKeyFile).
func readKeyFile(path string) (enc, check []byte, err error) {
	if err := config.CheckKeyFile("key file", path); err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("key file %s cannot be read", path)
	}
	defer clear(b)
	f := strings.Fields(string(b))
	if len(f) != 2 || len(f[0]) != 32 || len(f[1]) != 8 {
		return nil, nil, fmt.Errorf("key file %s: want 32 hex digits (the encrypted key) and 8 (its check value)", path)
	}
	enc, err1 := hex.DecodeString(f[0])
	check, err2 := hex.DecodeString(f[1])
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("key file %s: not hex digits", path)
	}
	return enc, check, nil
}

func openOperators(data string) (*journal.Journal, *operator.Service, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, err
	}
	j, err := journal.Open(datadir.Dir(data).Journal())
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
