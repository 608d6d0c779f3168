package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as posfw for the end-to-end tests (POSFW_BE_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("POSFW_BE_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// call runs posfw in-process and returns exit code, stdout and stderr.
func call(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := e.main(args)
	return code, out.String(), errb.String()
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		code    int
		stdout  string // substring of stdout
		stderr  string // substring of stderr
		oneLine bool   // stderr must be exactly one line
	}{
		{[]string{"--help"}, 0, "Commands:", "", false},
		{[]string{}, 2, "Usage: posfw COMMAND", "", false},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, true},
		{[]string{"version"}, 0, "sqlite   3.", "", false},
		{[]string{"version", "extra"}, 2, "", `unexpected argument "extra"`, true},
		{[]string{"version", "--bogus"}, 2, "", "flag provided but not defined: -bogus", true},
		{[]string{"sim", "--lang", "fr"}, 2, "", `--lang "fr": want zh or en`, true},
		{[]string{"sim", "--host", "nohost"}, 2, "", "is not host:port", true},
		{[]string{"sim", "--clock", "midnight"}, 2, "", `--clock "midnight": want an RFC 3339 time`, true},
		{[]string{"sim", "--tz", "Mars/Olympus_Mons"}, 2, "", `--tz: "Mars/Olympus_Mons" is not a time zone name`, true},
		{[]string{"hostsim", "--tz", "Local"}, 2, "", `--tz "Local" is not a time zone name`, true},
		{[]string{"simctl"}, 2, "", "missing VERB", true},
		{[]string{"simctl", "--control", "/nonexistent/sim.sock", "screen"}, 1, "", "no simulator answers", true},
		{[]string{"simctl", "wait"}, 2, "", "wait needs the TEXT", true},
		{[]string{"simctl", "wait", "x", "--timeout", "soon"}, 2, "", "--timeout", true},
		{[]string{"selftest", "--board", "nosuch"}, 1, "", `board "nosuch": no such built-in board`, true},
		{[]string{"run", "--config", "/nonexistent.toml"}, 1, "", "config: open /nonexistent.toml", true},
	} {
		code, out, errs := call(tc.args...)
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("posfw %s: exit %d; want %d (stderr %q)", name, code, tc.code, errs)
		}
		if !strings.Contains(out, tc.stdout) {
			t.Errorf("posfw %s: stdout %q; want it to contain %q", name, out, tc.stdout)
		}
		if !strings.Contains(errs, tc.stderr) {
			t.Errorf("posfw %s: stderr %q; want it to contain %q", name, errs, tc.stderr)
		}
		if tc.oneLine && strings.Count(errs, "\n") != 1 {
			t.Errorf("posfw %s: stderr %q; want one line", name, errs)
		}
	}
}

// TestEveryCommandHasHelp: each subcommand describes itself on --help and exits 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		code, out, errs := call(c.name, "--help")
		if code != 0 || !strings.HasPrefix(out, "Usage: posfw "+c.name) || errs != "" {
			t.Errorf("posfw %s --help = exit %d, stdout %q, stderr %q; want exit 0 and its usage", c.name, code, out, errs)
		}
	}
}

func TestSelftestSim(t *testing.T) {
	code, out, errs := call("selftest", "--board", "sim")
	if code != 0 {
		t.Fatalf("selftest --board sim: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"PASS journal", "PASS cardreader test card read: 622202******7894", "PASS pinpad     POSFW-SIM",
		"PASS printer    ready, test slip printed", "PASS modem      SIM READY, signal 4/4", "PASS gpio       buzzer, LEDs toggled; sensor: paper present"} {
		if !strings.Contains(out, want) {
			t.Errorf("selftest output:\n%s\nwant a line %q", out, want)
		}
	}
}

// TestSelftestMissingDevices: on a laptop the reference board's ports do not exist;
// every such device fails with its port named, and the exit code says so.
func TestSelftestMissingDevices(t *testing.T) {
	code, out, _ := call("selftest", "--board", "rpi-terminal")
	if code != 1 {
		t.Errorf("selftest --board rpi-terminal on a laptop: exit %d; want 1", code)
	}
	if !strings.Contains(out, "FAIL modem") || !strings.Contains(out, "/dev/ttyUSB2") {
		t.Errorf("selftest output:\n%s\nwant the modem to FAIL naming /dev/ttyUSB2", out)
	}
}

func TestEscposRender(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/slip.bin"
	os.WriteFile(good, []byte("\x1b@\x1ba\x01POSFW\n\x1ba\x00\xcf\xfb\xb7\xd1 SALE\n\x1dVB\x00"), 0o600)
	bad := dir + "/bad.bin"
	os.WriteFile(bad, []byte("\x1b@OK\n\x1d(k"), 0o600)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"escpos", "render", good}, 0, "             POSFW\n消费 SALE\n- - -", ""},
		{[]string{"escpos", "render", good, "--cols", "48"}, 0, "                     POSFW", ""},
		{[]string{"escpos", "render", bad}, 1, "OK", "stream ends inside"},
		{[]string{"escpos", "render"}, 2, "", "missing FILE"},
		{[]string{"escpos", "print", good}, 2, "", `unknown escpos verb "print"`},
		{[]string{"escpos", "render", dir + "/none.bin"}, 1, "", "no such file"},
		{[]string{"escpos", "render", good, "--cols", "2"}, 2, "", "--cols 2"},
		{[]string{"escpos", "render", good, "--png", dir + "/slip.png"}, 0, "", ""},
	} {
		code, out, errs := call(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errs, tc.stderr) {
			t.Errorf("posfw %s = exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				strings.Join(tc.args, " "), code, out, errs, tc.code, tc.stdout, tc.stderr)
		}
	}
	f, err := os.Open(dir + "/slip.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 32*8+32 {
		t.Errorf("rendered PNG = %v, %v; want a 58 mm (288 px) wide picture", img.Bounds(), err)
	}
}

func TestProvision(t *testing.T) {
	data := t.TempDir()
	stdin := func(s string) *os.File {
		f, _ := os.CreateTemp(t.TempDir(), "in")
		f.WriteString(s)
		f.Seek(0, 0)
		return f
	}
	run := func(in string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, stdin: stdin(in), getenv: func(string) string { return "" }}
		return e.main(args), out.String(), errb.String()
	}
	if code, _, errs := run("", "provision", "status", "--data", data); code != 1 || !strings.Contains(errs, "not provisioned") {
		t.Errorf("status of a new terminal = %d %q; want 1, not provisioned", code, errs)
	}
	if code, _, errs := run("12\n", "provision", "password", "00", "--data", data); code != 1 || !strings.Contains(errs, "digits") {
		t.Errorf("a 2-digit supervisor password = %d %q; want refused", code, errs)
	}
	if code, _, errs := run("01\n", "provision", "password", "01", "--data", data); code != 1 {
		t.Errorf("provisioning a cashier = %d %q; want refused", code, errs)
	}
	if code, out, errs := run("654321\n", "provision", "password", "00", "--data", data); code != 0 || !strings.Contains(out, "password set") {
		t.Errorf("provision 00 = %d %q %q", code, out, errs)
	}
	if code, _, _ := run("87654321\n", "provision", "password", "99", "--data", data); code != 0 {
		t.Errorf("provision 99 = %d", code)
	}
	if code, _, errs := run("111111\n", "provision", "password", "00", "--data", data); code != 1 || !strings.Contains(errs, "already has a password") {
		t.Errorf("provisioning 00 twice = %d %q; want refused", code, errs)
	}
	if code, out, _ := run("", "provision", "status", "--data", data); code != 0 || !strings.Contains(out, "provisioned") {
		t.Errorf("status after provisioning = %d %q", code, out)
	}
	cfg := filepath.Join(t.TempDir(), "posfw.toml")
	if code, _, errs := run("", "provision", "config", "--out", cfg, "--terminal-id", "T0000001", "--merchant-id", "123456789012345",
		"--merchant-name", "Shop", "--host", "10.1.2.3:8583", "--apn", "cmnet"); code != 0 {
		t.Errorf("provision config = %d %q", code, errs)
	}
	if code, _, errs := run("", "provision", "config", "--out", cfg, "--terminal-id", "T1"); code != 1 || !strings.Contains(errs, "terminal_id") {
		t.Errorf("provision config with a bad id = %d %q; want the key named", code, errs)
	}
}
