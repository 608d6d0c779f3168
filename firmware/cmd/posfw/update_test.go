package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"posfw/drivers/serialport"
	"posfw/firmware/journal"
	"posfw/firmware/update"
)

// Payloads that stand in for broken releases: each is the "posfw" of its bundle.
const (
	exit1Payload = "#!/bin/sh\necho 'posfw: cannot start' >&2\nexit 1\n"
	// hangs before it is ready: systemd's start timeout or watchdog, and the launcher's
	// health timeout, are what end it.
	hangPayload = "#!/bin/sh\nexec sleep 600\n"
	// starts, but its health check fails (as a release that cannot read the journal).
	unhealthyPayload = "#!/bin/sh\nif [ \"$1\" = update ]; then echo 'FAIL journal   cannot read it'; exit 1; fi\necho running\n"
)

// kit builds bundles and keeps the install root of an end-to-end update test.
type kit struct {
	t    *testing.T
	dir  string
	root string
	data string
}

// bundle builds a bundle with `posfw update build` and returns its path.
func (k *kit) bundle(name string, payload string, extra ...string) string {
	k.t.Helper()
	bin := payload
	if !strings.HasPrefix(payload, "/") {
		bin = filepath.Join(k.dir, name+".bin")
		if err := os.WriteFile(bin, []byte(payload), 0o755); err != nil {
			k.t.Fatal(err)
		}
	}
	out := filepath.Join(k.dir, name+".posfw")
	args := append([]string{"update", "build", "--key", "dev", "--board", "sim", "--out", out}, extra...)
	args = append(args, "posfw="+bin)
	if code, _, errs := call(args...); code != 0 {
		k.t.Fatalf("update build %s: %s", name, errs)
	}
	return out
}

// snapshot is the install root's files (name, mode, size) and boot state.
func (k *kit) snapshot() string {
	var lines []string
	filepath.Walk(k.root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() != ".lock" {
			lines = append(lines, fmt.Sprintf("%s %v %d", strings.TrimPrefix(p, k.root), fi.Mode(), fi.Size()))
		}
		return nil
	})
	sort.Strings(lines)
	b, _ := os.ReadFile(filepath.Join(k.root, "boot"))
	return strings.Join(lines, "\n") + "\n" + string(b)
}

// start is one start of the service as systemd makes it (Restart=always): the launcher
// with the unit's command line, killed if it has not ended after watchdog.
type start struct {
	code   int
	output string
	took   time.Duration
}

// boot starts the service until one start ends well (at most max starts), as systemd
// would, and returns the starts.
func (k *kit) boot(max int) []start { return k.bootWith(max, "60") }

// bootWith is boot with the launcher's health-check timeout in seconds (what ends a hang).
func (k *kit) bootWith(max int, healthTimeout string) []start {
	k.t.Helper()
	var starts []start
	for i := 0; i < max; i++ {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, filepath.Join(k.root, "launch"), "journal", "verify", "--data", k.data)
		cmd.Env = append(os.Environ(), "POSFW_BE_MAIN=1", "POSFW_HEALTH_TIMEOUT="+healthTimeout)
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		cancel()
		s := start{output: out.String(), took: time.Since(t0)}
		if ee, ok := err.(*exec.ExitError); ok {
			s.code = ee.ExitCode()
		} else if err != nil {
			k.t.Fatalf("launch: %v", err)
		}
		starts = append(starts, s)
		if s.code == 0 {
			break
		}
	}
	return starts
}

func (k *kit) status() update.Status {
	k.t.Helper()
	st, err := update.Root{Dir: k.root}.Status()
	if err != nil {
		k.t.Fatal(err)
	}
	return st
}

func (k *kit) apply(bundle string) {
	k.t.Helper()
	if code, out, errs := call("update", "apply", bundle, "--root", k.root); code != 0 {
		k.t.Fatalf("update apply %s: exit %d: %s%s", filepath.Base(bundle), code, out, errs)
	}
}

// newKit makes a terminal: a day of sales in the simulator (a journal with money in it),
// and an install root with posfw 1.0.0 in slot a. The posfw of the good bundles is this
// test binary (it is posfw's main when POSFW_BE_MAIN=1). 1.0.0 is built as if it read
// schema one below this firmware's, to test a rollback that would strand the journal.
func newKit(t *testing.T) (*kit, []map[string]any) {
	dir := t.TempDir()
	k := &kit{t: t, dir: dir, root: filepath.Join(dir, "opt", "posfw")}
	k.data = simDayAt(t, dir, "ok", "ok2")
	recs := exported(t, k.data)
	if len(recs) != 2 {
		t.Fatalf("journal after the day: %d records; want 2", len(recs))
	}
	ms, _ := journal.Migrations()
	v1 := k.bundle("v1.0.0", os.Args[0], "--version", "1.0.0", "--schema", strconv.Itoa(len(ms)-1))
	keys, _ := update.Trusted()
	if _, err := (update.Root{Dir: k.root}).Init(v1, keys, update.Here("sim")); err != nil {
		t.Fatal(err)
	}
	return k, recs
}

// TestUpdateRollsBackBrokenReleases applies a release that exits 1 at start, one that
// hangs and one that fails its health check: each is rolled back by the launcher within
// MaxStarts+1 starts, without a technician, the journal verifying and every transaction
// still in it. Then a good release is confirmed by its own health check.
func TestUpdateRollsBackBrokenReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds bundles of the test binary")
	}
	k, before := newKit(t)
	for _, tc := range []struct {
		name, payload string
		says          string // in the launcher's output of a failed start
	}{
		{"exits 1", exit1Payload, "cannot start"},
		{"hangs", hangPayload, "failed its health check (exit 137)"},
		{"unhealthy", unhealthyPayload, "FAIL journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k.t = t
			k.apply(k.bundle(strings.ReplaceAll(tc.name, " ", ""), tc.payload, "--version", "1.1.0"))
			if st := k.status(); st.Active != "b" || st.Trial != 0 {
				t.Fatalf("after apply: %+v; want b on trial", st)
			}
			// A hang is ended by the health check's timeout (2 s here, 120 s in the unit).
			starts := k.bootWith(update.MaxStarts+2, "2")
			if n := len(starts); n != update.MaxStarts+1 {
				t.Fatalf("starts: got %d; want %d (%d failed, then the rollback)", n, update.MaxStarts+1, update.MaxStarts)
			}
			for i, s := range starts[:update.MaxStarts] {
				if s.code == 0 || !strings.Contains(s.output, tc.says) || !strings.Contains(s.output, fmt.Sprintf("start %d of %d", i+1, update.MaxStarts)) {
					t.Errorf("start %d: exit %d, %q; want a failure saying %q", i+1, s.code, s.output, tc.says)
				}
			}
			last := starts[len(starts)-1]
			if !strings.Contains(last.output, "rolling back to slot a") || !strings.Contains(last.output, "OK: integrity ok") {
				t.Errorf("last start: %q; want the rollback, then 1.0.0's journal verify", last.output)
			}
			if st := k.status(); st.Active != "a" || st.ActiveVersion != "1.0.0" || st.Trial != -1 || st.Floor != "1.0.0" {
				t.Errorf("after the rollback: %+v; want a 1.0.0 confirmed, floor 1.0.0", st)
			}
			if after := exported(t, k.data); !reflect.DeepEqual(after, before) {
				t.Errorf("journal changed across the failed update:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	k.t = t
	// A good release: its health check passes at the first start and confirms it.
	k.apply(k.bundle("v1.1.0", os.Args[0], "--version", "1.1.0"))
	t0 := time.Now()
	starts := k.boot(update.MaxStarts + 2)
	if len(starts) != 1 || !strings.Contains(starts[0].output, "confirmed") || !strings.Contains(starts[0].output, "OK: integrity ok") {
		t.Fatalf("good release: starts %+v; want one, confirmed, then journal verify", starts)
	}
	t.Logf("apply → confirmed (first start, health check, confirmation): %v", time.Since(t0).Round(time.Millisecond))
	if st := k.status(); st.Active != "b" || st.ActiveVersion != "1.1.0" || st.Trial != -1 || st.Floor != "1.1.0" || st.PreviousVersion != "1.0.0" {
		t.Errorf("after the good release: %+v; want b 1.1.0 confirmed over a 1.0.0, floor 1.1.0", st)
	}
	if after := exported(t, k.data); !reflect.DeepEqual(after, before) {
		t.Errorf("journal changed across the update")
	}
	// 1.0.0 reads an older schema than the journal has: a rollback to it is refused.
	before2 := k.snapshot()
	code, _, errs := call("update", "rollback", "--root", k.root, "--data", k.data)
	if code != 1 || !strings.Contains(errs, "rolling back would stop the terminal") {
		t.Errorf("rollback to an older schema: exit %d, %q; want refused", code, errs)
	}
	if k.snapshot() != before2 {
		t.Error("a refused rollback changed the install root")
	}
}

// TestUpdateRefusals: `posfw update apply` refuses each bad bundle in one line, exit 1,
// leaving the install root as it was.
func TestUpdateRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	k := &kit{t: t, dir: dir, root: filepath.Join(dir, "opt")}
	keys, _ := update.Trusted()
	v2 := k.bundle("v2", exit1Payload, "--version", "2.0.0")
	if _, err := (update.Root{Dir: k.root}).Init(v2, keys, update.Here("sim")); err != nil {
		t.Fatal(err)
	}
	good := k.bundle("good", exit1Payload+strings.Repeat("# padding\n", 3000), "--version", "2.1.0")
	raw, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	flip := func(at int) []byte {
		b := bytes.Clone(raw)
		b[at] ^= 1
		return b
	}
	if code, out, errs := call("update", "keygen", "--out", filepath.Join(dir, "other")); code != 0 {
		t.Fatalf("keygen: %s%s", out, errs)
	}
	otherArch := "arm"
	if runtime.GOARCH == "arm" {
		otherArch = "arm64"
	}
	for _, tc := range []struct {
		name, bundle, says string
	}{
		{"bad signature", write("sig", bytes.Replace(raw, []byte(`"2.1.0"`), []byte(`"3.1.0"`), 1)), "signature does not verify"},
		{"unknown key", k.bundle("other", exit1Payload, "--version", "2.1.0", "--key", filepath.Join(dir, "other.key")), "signed by unknown key"},
		{"wrong board", k.bundle("rpi", exit1Payload, "--version", "2.1.0", "--board", "rpi-terminal"), `bundle is for board "rpi-terminal", this terminal is "sim"`},
		{"wrong arch", k.bundle("arch", exit1Payload, "--version", "2.1.0", "--goarch", otherArch, "--goarm", "7"), "bundle is for linux/" + otherArch},
		{"older", k.bundle("older", exit1Payload, "--version", "1.9.9"), "older than 2.0.0, the newest version confirmed here (anti-rollback)"},
		{"needs a newer base", k.bundle("base", exit1Payload, "--version", "2.1.0", "--min-version", "2.0.5"), "replaces 2.0.5 or newer, this terminal runs 2.0.0"},
		{"altered file", write("altered", flip(len(raw)-40)), "bundle file posfw altered"},
		{"truncated", write("truncated", raw[:len(raw)-100]), "bundle truncated"},
		{"not a bundle", write("junk", []byte("hello")), "not a posfw update bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := k.snapshot()
			code, out, errs := call("update", "apply", tc.bundle, "--root", k.root)
			if code != 1 || !strings.Contains(errs, tc.says) {
				t.Errorf("apply: exit %d, %q; want exit 1 saying %q", code, errs, tc.says)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
				t.Errorf("apply: stdout %q, stderr %q; want one line on stderr only", out, errs)
			}
			if code, _, errs := call("update", "verify", tc.bundle, "--root", k.root); code != 1 || !strings.Contains(errs, tc.says) {
				t.Errorf("verify: exit %d, %q; want exit 1 saying %q", code, errs, tc.says)
			}
			if after := k.snapshot(); after != before {
				t.Errorf("install root changed:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
	if code, out, errs := call("update", "verify", good, "--root", k.root); code != 0 || !strings.Contains(out, "OK, posfw 2.1.0 for sim") {
		t.Errorf("verify good: exit %d, %q %q", code, out, errs)
	}
}

// receiver starts `posfw update receive` and returns what it printed first (its address
// and pin over TCP) and its process.
func receiver(t *testing.T, root string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := posfwCmd(append([]string{"update", "receive", "--root", root, "--idle", "1s"}, args...)...)
	out, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewReader(out), &errb
}

// proxy forwards TCP connections to target; the first one is closed after limit bytes
// from the laptop (a network dropped halfway).
func proxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for n := 0; ; n++ {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { io.Copy(in, out); in.Close() }()
			go func(n int) {
				if n == 0 {
					io.CopyN(out, in, limit)
					in.Close()
					out.Close()
					return
				}
				io.Copy(out, in)
				out.Close()
			}(n)
		}
	}()
	return l.Addr().String()
}

// TestPushEndToEnd: from a technician's laptop (`posfw push`) to a terminal (`posfw
// update receive`), over TLS and over a PTY serial cable, each cut halfway and pushed
// again: it resumes, the terminal installs the release, and its first start confirms it.
func TestPushEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	k, before := newKit(t)
	bundle := k.bundle("v1.1.0", os.Args[0], "--version", "1.1.0")
	st, _ := os.Stat(bundle)
	t.Logf("bundle: %d bytes (the posfw test binary, gzip)", st.Size())

	t.Run("tcp", func(t *testing.T) {
		k.t = t
		cmd, out, errb := receiver(t, k.root, "--listen", "127.0.0.1:0")
		line, _ := out.ReadString('\n')
		var addr, pin string
		if _, err := fmt.Sscanf(line, "listening on %s certificate pin %s", &addr, &pin); err != nil {
			t.Fatalf("receiver said %q: %v", line, err)
		}
		addr = strings.TrimSuffix(addr, ",")
		cut := proxy(t, addr, st.Size()/2)
		code, _, errs := call("push", bundle, "--to", cut, "--pin", pin)
		if code != 1 || !strings.Contains(errs, "run the same command again to resume") {
			t.Fatalf("cut push: exit %d, %q; want exit 1 and the resume hint", code, errs)
		}
		t0 := time.Now()
		code, stdout, errs := call("push", bundle, "--to", cut, "--pin", pin)
		took := time.Since(t0)
		if code != 0 || !strings.Contains(stdout, "installed posfw 1.1.0 on trial") {
			t.Fatalf("resumed push: exit %d, %q %q; receiver: %s", code, stdout, errs, errb)
		}
		var first int
		if _, err := fmt.Sscanf(errs, "push: %d%%", &first); err != nil || first < 30 || first > 60 {
			t.Errorf("resumed push's progress %q; want it to start about halfway", errs)
		}
		rest, _ := io.ReadAll(out)
		cmd.Wait()
		if !strings.Contains(string(rest), "receiving 100%") || !strings.Contains(string(rest), "installed posfw 1.1.0") {
			t.Errorf("receiver printed %q; want the percentage up to 100 and the install", rest)
		}
		t.Logf("push over TLS on loopback, second half: %v", took.Round(time.Millisecond))
		k.confirmAndKeep(before, "b", "1.1.0")
	})

	t.Run("serial", func(t *testing.T) {
		k.t = t
		// Slot a (1.0.0) is the inactive one now; the floor is 1.1.0: push 1.1.1.
		v111 := k.bundle("v1.1.1", os.Args[0], "--version", "1.1.1")
		term, err := serialport.OpenPTY()
		if err != nil {
			t.Fatal(err)
		}
		defer term.Close()
		cmd, out, errb := receiver(t, k.root, "--serial", term.Path())
		c := &nullModem{term: term}
		go c.pump()
		// First push: the cable is pulled halfway.
		lp := c.plug(t, st.Size()/2)
		code, _, errs := call("push", v111, "--serial", lp.Path())
		if code != 1 {
			t.Fatalf("push through a pulled cable: exit %d, %q; want 1", code, errs)
		}
		lp = c.plug(t, 0)
		defer lp.Close()
		code, stdout, errs := call("push", v111, "--serial", lp.Path())
		if code != 0 || !strings.Contains(stdout, "installed posfw 1.1.1 on trial") {
			t.Fatalf("resumed push: exit %d, %q %q; receiver: %s", code, stdout, errs, errb)
		}
		rest, _ := io.ReadAll(out)
		cmd.Wait()
		if !strings.Contains(string(rest), "receiving 100%") || !strings.Contains(errb.String(), "push cut at") {
			t.Errorf("receiver printed %q, %q; want the cut session and 100%%", rest, errb)
		}
		k.confirmAndKeep(before, "a", "1.1.1")
	})
}

// confirmAndKeep starts the service once: the pushed release must pass its health check
// and be confirmed, with the journal as before.
func (k *kit) confirmAndKeep(before []map[string]any, slot, version string) {
	k.t.Helper()
	t0 := time.Now()
	starts := k.boot(update.MaxStarts + 2)
	if len(starts) != 1 || !strings.Contains(starts[0].output, "confirmed") {
		k.t.Fatalf("first start of the pushed release: %+v; want confirmed", starts)
	}
	k.t.Logf("installed → confirmed: %v", time.Since(t0).Round(time.Millisecond))
	if st := k.status(); st.Active != slot || st.ActiveVersion != version || st.Trial != -1 {
		k.t.Errorf("status: %+v; want slot %s %s confirmed", st, slot, version)
	}
	if after := exported(k.t, k.data); !reflect.DeepEqual(after, before) {
		k.t.Error("journal changed across the push")
	}
}

// nullModem joins the terminal's PTY to a laptop's PTY, which can be pulled and plugged
// again (a USB adapter comes back as a new device).
type nullModem struct {
	term   *serialport.PTY
	laptop chan *serialport.PTY
	cur    *serialport.PTY
	mu     chan struct{}
}

func (c *nullModem) lock()   { c.mu <- struct{}{} }
func (c *nullModem) unlock() { <-c.mu }

// pump carries the terminal's bytes to the laptop plugged now.
func (c *nullModem) pump() {
	c.mu = make(chan struct{}, 1)
	buf := make([]byte, 256)
	for {
		n, err := c.term.Read(buf)
		if err != nil {
			return
		}
		c.lock()
		if c.cur != nil {
			c.cur.Write(buf[:n])
		}
		c.unlock()
	}
}

// plug connects a new laptop PTY, pulled after limit bytes from the laptop (0: never).
func (c *nullModem) plug(t *testing.T, limit int64) *serialport.PTY {
	t.Helper()
	for c.mu == nil {
		time.Sleep(time.Millisecond)
	}
	lp, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	c.lock()
	c.cur = lp
	c.unlock()
	go func() {
		buf := make([]byte, 256)
		var sent int64
		for {
			n, err := lp.Read(buf)
			if err != nil {
				return
			}
			if limit > 0 && sent+int64(n) > limit {
				c.lock()
				c.cur = nil
				c.unlock()
				lp.Close()
				return
			}
			sent += int64(n)
			c.term.Write(buf[:n])
		}
	}()
	return lp
}

// TestPollCommand: `posfw update publish` on the release machine, a static HTTPS server,
// `posfw update poll` on the terminal (trusting the server's CA only with --ca).
func TestPollCommand(t *testing.T) {
	dir := t.TempDir()
	k := &kit{t: t, dir: dir, root: filepath.Join(dir, "opt")}
	keys, _ := update.Trusted()
	if _, err := (update.Root{Dir: k.root}).Init(k.bundle("v1", exit1Payload, "--version", "1.0.0"), keys, update.Here("sim")); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "pub")
	os.Mkdir(pub, 0o755)
	os.Rename(k.bundle("v11", unhealthyPayload, "--version", "1.1.0"), filepath.Join(pub, "posfw-1.1.0.posfw"))
	if code, out, errs := call("update", "publish", "--key", "dev", "--bundle", filepath.Join(pub, "posfw-1.1.0.posfw"), "--url", "posfw-1.1.0.posfw", "--out", filepath.Join(pub, "stable.json")); code != 0 {
		t.Fatalf("publish: %s%s", out, errs)
	}
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(pub)))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted poll's handshake error
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	url := srv.URL + "/stable.json"
	if code, _, errs := call("update", "poll", "--url", url, "--root", k.root); code != 1 || !strings.Contains(errs, "certificate") {
		t.Errorf("poll of an untrusted server: exit %d, %q; want a certificate refusal", code, errs)
	}
	if code, out, errs := call("update", "poll", "--url", url, "--root", k.root, "--ca", ca); code != 0 || !strings.Contains(out, "installed posfw 1.1.0 on trial") {
		t.Fatalf("poll: exit %d, %q %q", code, out, errs)
	}
	update.Root{Dir: k.root}.Confirm()
	if code, out, _ := call("update", "poll", "--url", url, "--root", k.root, "--ca", ca); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("second poll: exit %d, %q; want up to date", code, out)
	}
}
