package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"posfw/board"
	"posfw/drivers/modem"
	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/diag"
	"posfw/firmware/journal"
	"posfw/firmware/update"
)

// updateVerbs are the verbs of `posfw update`, in the order --help lists them.
var updateVerbs = []struct{ name, args, summary string }{
	{"build", "--key FILE|dev --version V --board B [--min-version V] [--goarch A] [--goarm N] --out BUNDLE FILE|NAME=FILE...", "sign a bundle (release machine); FILE named posfw is the binary, NAME=FILE installs FILE as NAME"},
	{"verify", "BUNDLE [--root DIR]", "check a bundle's signature and every file (and, with --root, that this terminal may install it)"},
	{"apply", "BUNDLE [--root DIR]", "install a bundle into the inactive slot; it starts on trial at the next start"},
	{"status", "[--root DIR]", "show the slots, their versions, the trial and the anti-rollback floor"},
	{"confirm", "[--root DIR]", "keep the slot on trial"},
	{"rollback", "[--root DIR] [--data DIR]", "go back to the previous slot (refused if it cannot read the journal)"},
	{"health", "[--root DIR] [--confirm] [-- run ARGS...]", "the health check the launcher runs before a slot on trial starts"},
	{"receive", "[--root DIR] --listen ADDR | --serial PORT [--cert FILE]", "take one bundle pushed from a technician's laptop and apply it"},
	{"publish", "--key FILE|dev --bundle BUNDLE --url NAME --out CHANNEL.json", "sign a channel file announcing a bundle (served as NAME beside it) for fleets that poll"},
	{"poll", "--url URL [--root DIR] [--ca FILE] [--every D]", "fetch a signed channel over HTTPS and install a newer bundle (range-resumed download)"},
	{"keygen", "--out NAME", "make a signing key pair: NAME.key (private, keep it off terminals) and NAME.pub"},
}

func runUpdate(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "Usage: posfw update VERB [FLAGS]\n\nSigned A/B update bundles (DESIGN §9). Verbs:")
		for _, v := range updateVerbs {
			fmt.Fprintf(e.stdout, "  %-8s %s\n           %s\n", v.name, v.args, v.summary)
		}
		fmt.Fprintln(e.stdout, "\nEvery verb has --help. The install root (--root) defaults to "+update.DefaultRoot+".")
		if len(args) == 0 {
			return exitError{code: 2}
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "build":
		return updateBuild(e, rest)
	case "verify":
		return updateVerify(e, rest)
	case "apply":
		return updateApply(e, rest)
	case "status":
		return updateStatus(e, rest)
	case "confirm":
		return updateConfirm(e, rest)
	case "rollback":
		return updateRollback(e, rest)
	case "health":
		return updateHealth(e, rest)
	case "receive":
		return updateReceive(e, rest)
	case "keygen":
		return updateKeygen(e, rest)
	case "publish":
		return updatePublish(e, rest)
	case "poll":
		return updatePoll(e, rest)
	}
	return usageError{fmt.Sprintf("unknown update verb %q (want build, verify, apply, status, confirm, rollback, health, receive, publish, poll or keygen)", verb)}
}

// verbFlags is a flag set for `update VERB` whose --help prints the verb's usage.
func (e *env) verbFlags(verb string) *verbSet {
	return &verbSet{FlagSet: e.flags("update " + verb), verb: verb, e: e}
}

type verbSet struct {
	*flag.FlagSet
	verb string
	e    *env
}

// parse parses args (flags may follow positional arguments) and prints --help.
func (s *verbSet) parse(args []string) ([]string, error) {
	var pos, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i:]
			break
		}
	}
	for {
		err := s.FlagSet.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			for _, v := range updateVerbs {
				if v.name == s.verb {
					fmt.Fprintf(s.e.stdout, "Usage: posfw update %s %s\n\n%s.\n", v.name, v.args, upperFirst(v.summary))
				}
			}
			printFlags(s.e.stdout, s.FlagSet)
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, usageError{err.Error()}
		}
		args = s.FlagSet.Args()
		if len(args) == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func rootFlag(s *verbSet) *string {
	return s.String("root", update.DefaultRoot, "install root holding the slots")
}

func updateKeygen(e *env, args []string) error {
	s := e.verbFlags("keygen")
	out := s.String("out", "", "name of the key pair: NAME.key and NAME.pub are written")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *out == "" {
		return usageError{"--out NAME is required"}
	}
	pub, err := update.GenerateKey(*out+".key", *out+".pub")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "key %s: private %s.key (mode 600: never on a terminal), public %s.pub\n", update.KeyID(pub), *out, *out)
	return nil
}

func updateBuild(e *env, args []string) error {
	s := e.verbFlags("build")
	key := s.String("key", "", "private key file (from update keygen), or dev for the development key (not a release key)")
	ver := s.String("version", "", "release version, dotted decimal (1.4.2)")
	minVer := s.String("min-version", "", "oldest installed version this bundle may replace")
	boardName := s.String("board", "", "board the bundle is for")
	goos := s.String("goos", "linux", "GOOS of the binary")
	goarch := s.String("goarch", runtime.GOARCH, "GOARCH of the binary")
	goarm := s.String("goarm", "", "GOARM of an arm binary (7)")
	schema := s.Int("schema", -1, "journal schema version the binary writes (default: this build's)")
	out := s.String("out", "", "bundle file to write")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if *key == "" || *ver == "" || *boardName == "" || *out == "" {
		return usageError{"--key, --version, --board and --out are required"}
	}
	if len(pos) == 0 {
		return usageError{"name the files to bundle (the binary as posfw)"}
	}
	priv, err := update.LoadPrivate(*key)
	if err != nil {
		return err
	}
	if *schema < 0 {
		ms, err := journal.Migrations()
		if err != nil {
			return err
		}
		*schema = len(ms)
	}
	var files []update.Source
	for _, p := range pos {
		name, path, ok := strings.Cut(p, "=")
		if !ok {
			name, path = filepath.Base(p), p
		}
		mode := uint32(0o644)
		if name == update.Binary {
			mode = 0o755
		}
		files = append(files, update.Source{Name: name, Path: path, Mode: mode})
	}
	m := update.Manifest{Version: *ver, MinVersion: *minVer, Board: *boardName, GOOS: *goos, GOARCH: *goarch, GOARM: *goarm,
		Schema: *schema, Created: time.Now().UTC().Format(time.RFC3339)}
	tmp := *out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	m, err = update.Build(f, m, files, priv)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(e.stdout, "%s: posfw %s for %s %s, %d files, %d bytes, signed by key %s\n", *out, m.Version, m.Board, platformOf(m), len(m.Files), st.Size(), m.Key)
	if m.Key == update.KeyID(update.DevKey().Public().(ed25519.PublicKey)) {
		fmt.Fprintln(e.stderr, "posfw update build: signed with the DEVELOPMENT key: not for terminals in the field")
	}
	return nil
}

func platformOf(m update.Manifest) string {
	if m.GOARM != "" {
		return m.GOOS + "/" + m.GOARCH + "v" + m.GOARM
	}
	return m.GOOS + "/" + m.GOARCH
}

// trusted are the update keys of this binary and of the terminal's installed
// configuration ($POSFW_CONFIG, else /etc/posfw/posfw.toml, when there is one): its
// `update.keys` name the fleet's next release key.
func trusted() (update.Keys, error) {
	path := os.Getenv("POSFW_CONFIG")
	if path == "" {
		path = "/etc/posfw/posfw.toml"
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return update.Trusted()
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return update.Trusted(cfg.Update.Keys...)
}

func target(r update.Root) (update.Target, error) {
	b, err := r.Board()
	if err != nil {
		return update.Target{}, err
	}
	return update.Here(b), nil
}

func onePath(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", usageError{fmt.Sprintf("name one %s", what)}
	}
	return pos[0], nil
}

func updateVerify(e *env, args []string) error {
	s := e.verbFlags("verify")
	root := s.String("root", "", "also check that the terminal of this install root may install it")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	path, err := onePath(pos, "bundle")
	if err != nil {
		return err
	}
	keys, err := trusted()
	if err != nil {
		return err
	}
	m, err := update.VerifyFile(path, keys)
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	if *root != "" {
		r := update.Root{Dir: *root}
		t, err := target(r)
		if err != nil {
			return err
		}
		if err := r.Policy(m, t); err != nil {
			return exitError{1, "refused: " + err.Error()}
		}
	}
	fmt.Fprintf(e.stdout, "%s: OK, posfw %s for %s %s (replaces %s or newer), %d files, signed by key %s\n",
		path, m.Version, m.Board, platformOf(m), orAny(m.MinVersion), len(m.Files), m.Key)
	return nil
}

func orAny(v string) string {
	if v == "" {
		return "any version"
	}
	return v
}

func updateApply(e *env, args []string) error {
	s := e.verbFlags("apply")
	root := rootFlag(s)
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	path, err := onePath(pos, "bundle")
	if err != nil {
		return err
	}
	keys, err := trusted()
	if err != nil {
		return err
	}
	r := update.Root{Dir: *root}
	t, err := target(r)
	if err != nil {
		return err
	}
	m, err := r.Apply(path, keys, t)
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	st, _ := r.Status()
	fmt.Fprintf(e.stdout, "installed posfw %s in slot %s, on trial: restart posfw to start it (it goes back to slot %s after %d failed starts)\n",
		m.Version, st.Active, st.Previous, st.Max)
	return nil
}

func printStatus(e *env, st update.Status) {
	fmt.Fprintf(e.stdout, "board    %s\n", st.Board)
	trial := "confirmed"
	if st.Trial >= 0 {
		trial = fmt.Sprintf("ON TRIAL, %d of %d starts", st.Trial, st.Max)
	}
	fmt.Fprintf(e.stdout, "active   slot %s  posfw %s  %s\n", st.Active, st.ActiveVersion, trial)
	if st.Previous != "" {
		fmt.Fprintf(e.stdout, "previous slot %s  posfw %s\n", st.Previous, st.PreviousVersion)
	} else {
		fmt.Fprintln(e.stdout, "previous none")
	}
	fmt.Fprintf(e.stdout, "floor    %s (no bundle older than this is installed)\n", st.Floor)
}

func updateStatus(e *env, args []string) error {
	s := e.verbFlags("status")
	root := rootFlag(s)
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	r := update.Root{Dir: *root}
	st, err := r.Status()
	if err != nil {
		return err
	}
	printStatus(e, st)
	if pin := r.PushPin(); pin != "" {
		fmt.Fprintf(e.stdout, "push pin %s (posfw push --pin)\n", pin)
	}
	return nil
}

func updateConfirm(e *env, args []string) error {
	s := e.verbFlags("confirm")
	root := rootFlag(s)
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	st, err := update.Root{Dir: *root}.Confirm()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "slot %s (posfw %s) confirmed\n", st.Active, st.ActiveVersion)
	return nil
}

func updateRollback(e *env, args []string) error {
	s := e.verbFlags("rollback")
	root := rootFlag(s)
	data := s.String("data", datadir.Default(), "data directory holding the journal")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	schema, err := journalSchema(datadir.Dir(*data).Journal())
	if err != nil {
		return err
	}
	st, err := update.Root{Dir: *root}.Rollback(schema)
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	fmt.Fprintf(e.stdout, "slot %s (posfw %s) is active again, on trial: restart posfw to start it\n", st.Active, st.ActiveVersion)
	return nil
}

// journalSchema reads a journal's schema version without writing (0 when there is none).
func journalSchema(path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("journal %s: %v", path, err)
	}
	return v, nil
}

// updateHealth is the health check of a slot on trial, run by the launcher with the
// command line it is about to start: this binary runs; the install root's board matches
// the slot; the configuration and board load; the board's devices open and answer; the
// journal passes its integrity check, is not newer than this firmware and, when its
// schema is this firmware's, its hash chain verifies. It writes nothing but the
// confirmation. The host is not asked: an acquirer outage must not roll back firmware.
func updateHealth(e *env, args []string) error {
	s := e.verbFlags("health")
	root := rootFlag(s)
	confirm := s.Bool("confirm", false, "confirm the slot on trial when every check passes")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	var runArgs []string
	if len(pos) > 0 {
		if pos[0] != "--" {
			return usageError{fmt.Sprintf("unexpected argument %q (the command line to check follows --)", pos[0])}
		}
		runArgs = pos[1:]
	}
	r := update.Root{Dir: *root}
	checks, err := healthChecks(r, runArgs)
	if err != nil {
		return exitError{1, "health: " + err.Error()}
	}
	ctx := context.Background()
	if !diag.Run(ctx, checks, 30*time.Second, e.stdout) {
		return exitError{1, "health check failed"}
	}
	if *confirm {
		b, err := r.ReadBoot()
		if err != nil {
			return err
		}
		if b.Trial >= 0 {
			st, err := r.Confirm()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "slot %s (posfw %s) confirmed\n", st.Active, st.ActiveVersion)
		}
	}
	return nil
}

// healthChecks are the checks for the command line runArgs (run|sim [--config F] [--data D]).
func healthChecks(r update.Root, runArgs []string) ([]diag.Check, error) {
	cfgFile, data := "", datadir.Default()
	if len(runArgs) > 0 && runArgs[0] == "run" {
		cfgFile = "/etc/posfw/posfw.toml"
	}
	for i := 1; i < len(runArgs); i++ {
		a := runArgs[i]
		k, v, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			continue
		}
		if !has && i+1 < len(runArgs) {
			v = runArgs[i+1]
		}
		switch k {
		case "config":
			cfgFile = v
		case "data":
			data = v
		}
	}
	boot, err := r.ReadBoot()
	if err != nil {
		return nil, err
	}
	checks := []diag.Check{{Name: "slot", Run: func(context.Context) (string, error) {
		m, err := update.ReadManifest(r.Slot(boot.Active))
		if err != nil {
			return "", err
		}
		want, err := r.Board()
		if err != nil {
			return "", err
		}
		if m.Board != want {
			return "", fmt.Errorf("slot %s holds a bundle for board %q, the terminal is %q", boot.Active, m.Board, want)
		}
		return fmt.Sprintf("slot %s, posfw %s for %s", boot.Active, m.Version, m.Board), nil
	}}}
	if cfgFile != "" {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			return nil, err
		}
		b, err := board.Load(cfg.Board)
		if err != nil {
			return nil, err
		}
		if !b.Simulated() {
			// The devices live as long as this short-lived health-check process.
			devs, err := board.Open(b, board.Options{})
			if err != nil {
				return nil, err
			}
			// The modem's port must open; its network registration is not the firmware's
			// health (a dead cell must not roll back an update).
			for _, c := range diag.Checks(devs, os.TempDir(), diag.Options{}) {
				switch c.Name {
				case "journal":
					continue
				case "modem":
					c.Run = func(ctx context.Context) (string, error) {
						if err := devs.Modem.(*modem.Modem).Connect(ctx); err != nil {
							return "", err
						}
						return "port opens, modem answers", nil
					}
				}
				checks = append(checks, c)
			}
		}
	}
	checks = append(checks, diag.Check{Name: "journal", Run: func(ctx context.Context) (string, error) {
		return healthJournal(ctx, datadir.Dir(data).Journal())
	}})
	return checks, nil
}

func healthJournal(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "no journal yet", nil
	}
	ms, err := journal.Migrations()
	if err != nil {
		return "", err
	}
	v, err := journalSchema(path)
	if err != nil {
		return "", err
	}
	if v > len(ms) {
		return "", fmt.Errorf("journal schema %d is newer than this firmware's %d", v, len(ms))
	}
	j, err := journal.OpenWith(path, journal.Options{ReadOnly: true})
	if err != nil {
		// Behind this firmware (a migration at start) or after a power cut (a replay at
		// start): the start brings it up to date; here only its integrity is checked.
		if err := integrity(path); err != nil {
			return "", err
		}
		return fmt.Sprintf("schema %d (this firmware: %d), integrity ok; brought up to date at start", v, len(ms)), nil
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err != nil {
		return "", err
	}
	if !rep.OK() {
		return "", fmt.Errorf("journal chain: %s", rep.Problem)
	}
	return fmt.Sprintf("schema %d, chain of %d events verifies", v, rep.Events), nil
}

func integrity(path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("journal %s: %v", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("journal %s: integrity check: %s", path, res)
	}
	return nil
}

// printFlags lists a flag set's flags, as `posfw COMMAND --help` does.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var any bool
	fs.VisitAll(func(f *flag.Flag) {
		if !any {
			fmt.Fprintln(w, "\nFlags:")
			any = true
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%-12s %s%s\n", f.Name, f.Usage, def)
	})
}

func updatePublish(e *env, args []string) error {
	s := e.verbFlags("publish")
	key := s.String("key", "", "private key file, or dev for the development key (not a release key)")
	bundle := s.String("bundle", "", "the bundle to announce")
	name := s.String("url", "", "the bundle's URL relative to the channel file (usually its file name)")
	out := s.String("out", "", "channel file to write (and OUT.sig)")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *key == "" || *bundle == "" || *name == "" || *out == "" {
		return usageError{"--key, --bundle, --url and --out are required"}
	}
	priv, err := update.LoadPrivate(*key)
	if err != nil {
		return err
	}
	c, err := update.Publish(*out, *bundle, *name, update.NewKeys(priv.Public().(ed25519.PublicKey)), priv)
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	fmt.Fprintf(e.stdout, "%s (+.sig): posfw %s for %s, bundle %s, %d bytes\n", *out, c.Version, c.Board, c.Bundle, c.Size)
	return nil
}

func updatePoll(e *env, args []string) error {
	s := e.verbFlags("poll")
	root := rootFlag(s)
	u := s.String("url", "", "HTTPS URL of the channel file")
	ca := s.String("ca", "", "PEM file of the CA the server's certificate must chain to (default: the system's)")
	every := s.Duration("every", 0, "poll again at this interval (default: once)")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if !strings.HasPrefix(*u, "https://") {
		return usageError{"--url must be an https:// URL"}
	}
	r := update.Root{Dir: *root}
	keys, err := trusted()
	if err != nil {
		return err
	}
	t, err := target(r)
	if err != nil {
		return err
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if *ca != "" {
		b, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: no PEM certificate in it", *ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	p := &update.Poller{Root: r, Keys: keys, Target: t, Client: &http.Client{Transport: tr, Timeout: 30 * time.Minute}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for {
		m, err := p.Poll(ctx, *u)
		switch {
		case err == nil:
			fmt.Fprintf(e.stdout, "installed posfw %s on trial: restart posfw to start it\n", m.Version)
			return nil
		case errors.Is(err, update.ErrUpToDate):
			fmt.Fprintln(e.stdout, "up to date")
		case *every == 0:
			return exitError{1, oneLine(err.Error())}
		default:
			fmt.Fprintf(e.stderr, "posfw update poll: %s\n", oneLine(err.Error()))
		}
		if *every == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}
