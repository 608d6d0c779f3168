package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"posfw/firmware/config"
	"posfw/firmware/datadir"
	"posfw/firmware/update"
)

// runInstall puts posfw on a prepared Linux terminal's root filesystem mounted at --root
// (an SD card being prepared, or / on the terminal itself): the install root with slot a
// and the launcher, the systemd unit (enabled), the configuration and the data directory
// with their owner and modes; then, when the bundle runs on this machine, a self test of
// what was installed.
func runInstall(e *env, args []string) error {
	fs := e.flags("install")
	root := fs.String("root", "", "root filesystem of the terminal (e.g. the mounted SD card; / on the terminal; with --ssh, default /)")
	sshTo := fs.String("ssh", "", "install over SSH on USER@HOST[:PORT] (the bundle's binary runs the install there)")
	identity := fs.String("identity", "", "with --ssh: private key file for ssh -i")
	knownHosts := fs.String("known-hosts", "", "with --ssh: known_hosts file holding the terminal's host key (default: ssh's)")
	bundle := fs.String("bundle", "", "signed update bundle to install (posfw update build)")
	boardName := fs.String("board", "", "board of the terminal (default: the bundle's)")
	cfgFile := fs.String("config", "", "terminal configuration to install as /etc/posfw/posfw.toml (posfw provision config)")
	owner := fs.String("owner", "", "UID:GID owning the install root and data directory (default: user posfw of the target's /etc/passwd)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *sshTo != "" {
		if *bundle == "" {
			return usageError{"--bundle FILE is required"}
		}
		if *root == "" {
			*root = "/"
		}
		return installSSH(e, *sshTo, *identity, *knownHosts, *root, *bundle, *cfgFile, *boardName, *owner)
	}
	if *root == "" || *bundle == "" {
		return usageError{"--root DIR and --bundle FILE are required"}
	}
	keys, err := trusted()
	if err != nil {
		return err
	}
	step := 0
	say := func(format string, a ...any) {
		step++
		fmt.Fprintf(e.stdout, "[%d/6] %s\n", step, fmt.Sprintf(format, a...))
	}
	m, err := update.VerifyFile(*bundle, keys)
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	if *boardName == "" {
		*boardName = m.Board
	}
	uid, gid, err := targetOwner(*root, *owner)
	if err != nil {
		return err
	}
	say("bundle %s: posfw %s for %s %s, signed by key %s", *bundle, m.Version, m.Board, platformOf(m), m.Key)

	inst := update.Root{Dir: filepath.Join(*root, "opt", "posfw")}
	t := update.Target{Board: *boardName, GOOS: m.GOOS, GOARCH: m.GOARCH, GOARM: m.GOARM}
	if _, err := inst.Init(*bundle, keys, t); err != nil {
		return exitError{1, err.Error()}
	}
	if err := chownTree(inst.Dir, uid, gid); err != nil {
		return err
	}
	say("install root /opt/posfw: slot a, launcher, boot state (owner %d:%d)", uid, gid)

	etc := filepath.Join(*root, "etc", "posfw")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		return err
	}
	os.Chown(etc, 0, gid)
	cfgDst := filepath.Join(etc, "posfw.toml")
	if *cfgFile != "" {
		b, err := os.ReadFile(*cfgFile)
		if err != nil {
			return err
		}
		if _, err := config.Parse(*cfgFile, b); err != nil {
			return err
		}
		if err := writeOwned(cfgDst, b, 0o640, 0, gid); err != nil {
			return err
		}
		say("configuration /etc/posfw/posfw.toml (mode 640, group %d)", gid)
	} else {
		say("configuration: none given; write one with `posfw provision config` to /etc/posfw/posfw.toml")
	}

	data := filepath.Join(*root, "var", "lib", "posfw")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(data, 0o700); err != nil {
		return err
	}
	if err := os.Chown(data, uid, gid); err != nil {
		return err
	}
	say("data directory /var/lib/posfw (mode 700, owner %d:%d)", uid, gid)

	units := filepath.Join(*root, "etc", "systemd", "system")
	if err := os.MkdirAll(filepath.Join(units, "multi-user.target.wants"), 0o755); err != nil {
		return err
	}
	unit := update.Unit(update.DefaultRoot, "/etc/posfw/posfw.toml", datadir.Terminal)
	if err := writeOwned(filepath.Join(units, "posfw.service"), []byte(unit), 0o644, 0, 0); err != nil {
		return err
	}
	link := filepath.Join(units, "multi-user.target.wants", "posfw.service")
	os.Remove(link)
	if err := os.Symlink("../posfw.service", link); err != nil {
		return err
	}
	say("systemd unit /etc/systemd/system/posfw.service, enabled")

	// The self test runs what was installed, when it runs here.
	if m.GOOS != runtime.GOOS || m.GOARCH != runtime.GOARCH {
		say("self test skipped: the bundle is for %s, this machine is %s/%s (run `posfw selftest` on the terminal)", platformOf(m), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	bin := filepath.Join(inst.Slot("a"), update.Binary)
	var out bytes.Buffer
	// Devices are not checked: this machine is not the terminal's board.
	cmd := exec.Command(bin, "update", "health", "--root", inst.Dir, "--", "version", "--data", data)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		fmt.Fprint(e.stdout, indent(out.String()))
		return exitError{1, fmt.Sprintf("self test of the installed posfw failed: %v", err)}
	}
	say("self test of the installed posfw passed:")
	fmt.Fprint(e.stdout, indent(out.String()))
	return nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

// targetOwner is --owner, or user posfw of the target's /etc/passwd.
func targetOwner(root, owner string) (int, int, error) {
	if owner != "" {
		u, g, ok := strings.Cut(owner, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return 0, 0, usageError{fmt.Sprintf("--owner %q: want UID:GID", owner)}
		}
		return uid, gid, nil
	}
	f, err := os.Open(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		return 0, 0, errors.New("the target has no /etc/passwd: create user posfw on it, or give --owner UID:GID")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) >= 4 && p[0] == "posfw" {
			uid, err1 := strconv.Atoi(p[2])
			gid, err2 := strconv.Atoi(p[3])
			if err1 == nil && err2 == nil {
				return uid, gid, nil
			}
		}
	}
	return 0, 0, errors.New("the target has no user posfw: create it (useradd --system posfw), or give --owner UID:GID")
}

func writeOwned(p string, b []byte, mode os.FileMode, uid, gid int) error {
	if err := os.WriteFile(p, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	return os.Chown(p, uid, gid)
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// installSSH installs on a terminal reached over SSH: the bundle (verified here first),
// its own posfw binary and the configuration are copied to a temporary directory there,
// and that binary runs `posfw install --root ROOT` on the terminal: the binary is the
// terminal's architecture, and the install and its self test are the same as from an SD
// card. Only ssh is needed on both sides (files go through ssh's standard input).
func installSSH(e *env, to, identity, knownHosts, root, bundle, cfgFile, boardName, owner string) error {
	keys, err := trusted()
	if err != nil {
		return err
	}
	f, err := os.Open(bundle)
	if err != nil {
		return err
	}
	b, err := update.Open(bufio.NewReaderSize(f, 1<<16), keys)
	if err != nil {
		f.Close()
		return exitError{1, "refused: " + err.Error()}
	}
	stage, err := os.MkdirTemp("", "posfw-ssh-")
	if err != nil {
		f.Close()
		return err
	}
	defer os.RemoveAll(stage)
	err = b.Extract(stage)
	f.Close()
	if err != nil {
		return exitError{1, "refused: " + err.Error()}
	}
	userHost, port := to, ""
	if i := strings.LastIndex(to, ":"); i > strings.LastIndex(to, "@") && i >= 0 {
		userHost, port = to[:i], to[i+1:]
	}
	sshArgs := []string{"-o", "BatchMode=yes"}
	if port != "" {
		sshArgs = append(sshArgs, "-p", port)
	}
	if identity != "" {
		sshArgs = append(sshArgs, "-i", identity, "-o", "IdentitiesOnly=yes")
	}
	if knownHosts != "" {
		sshArgs = append(sshArgs, "-o", "UserKnownHostsFile="+knownHosts, "-o", "StrictHostKeyChecking=yes")
	}
	ssh := func(stdin *os.File, cmd string) (string, error) {
		c := exec.Command("ssh", append(append([]string(nil), sshArgs...), userHost, cmd)...)
		var out bytes.Buffer
		c.Stdin, c.Stdout, c.Stderr = stdin, &out, &out
		err := c.Run()
		return out.String(), err
	}
	fmt.Fprintf(e.stdout, "ssh %s: copying posfw %s, the bundle and the configuration\n", userHost, b.Manifest.Version)
	dir, err := ssh(nil, "mktemp -d /tmp/posfw-install.XXXXXX")
	if err != nil {
		return exitError{1, fmt.Sprintf("ssh %s: %s", userHost, oneLine(dir))}
	}
	dir = strings.TrimSpace(dir)
	send := func(local, remote string) error {
		lf, err := os.Open(local)
		if err != nil {
			return err
		}
		defer lf.Close()
		if out, err := ssh(lf, "cat > "+shellQuote(dir+"/"+remote)); err != nil {
			return exitError{1, fmt.Sprintf("ssh %s: copy %s: %s", userHost, remote, oneLine(out))}
		}
		return nil
	}
	cleanup := "rm -rf " + shellQuote(dir)
	defer ssh(nil, cleanup)
	if err := send(filepath.Join(stage, update.Binary), "posfw"); err != nil {
		return err
	}
	if err := send(bundle, "bundle.posfw"); err != nil {
		return err
	}
	cmd := []string{shellQuote(dir + "/posfw"), "install", "--root", shellQuote(root), "--bundle", shellQuote(dir + "/bundle.posfw")}
	if cfgFile != "" {
		if err := send(cfgFile, "posfw.toml"); err != nil {
			return err
		}
		cmd = append(cmd, "--config", shellQuote(dir+"/posfw.toml"))
	}
	if boardName != "" {
		cmd = append(cmd, "--board", shellQuote(boardName))
	}
	if owner != "" {
		cmd = append(cmd, "--owner", shellQuote(owner))
	}
	out, err := ssh(nil, "chmod 700 "+shellQuote(dir+"/posfw")+" && "+strings.Join(cmd, " "))
	fmt.Fprint(e.stdout, indent(out))
	if err != nil {
		return exitError{1, fmt.Sprintf("install on %s failed (its output is above)", userHost)}
	}
	fmt.Fprintf(e.stdout, "installed on %s; start it with: ssh %s systemctl daemon-reload \\; systemctl start posfw\n", userHost, userHost)
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
