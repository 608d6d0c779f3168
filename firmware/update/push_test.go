package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"posfw/drivers/serialport"
)

// bigBundle is a bundle of about 400 KiB, so that a push takes many chunks.
func bigBundle(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	files := testFiles(t, dir)
	big := make([]byte, 400<<10)
	for i := range big {
		big[i] = byte(i*7919>>3) ^ byte(i>>11)
	}
	os.WriteFile(filepath.Join(dir, "big"), big, 0o644)
	files = append(files, Source{Name: "data.bin", Path: filepath.Join(dir, "big"), Mode: 0o644})
	p := filepath.Join(dir, "b.posfw")
	f, _ := os.Create(p)
	if _, err := Build(f, testManifest(version), files, DevKey()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// cutProxy forwards one TCP connection to the terminal and closes both sides after
// limit bytes from the laptop (0: no limit): a network dropped halfway.
func cutProxy(t *testing.T, target string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				return
			}
			go func() { io.Copy(in, out); in.Close() }()
			go func() {
				if limit > 0 {
					io.CopyN(out, in, limit)
					in.Close()
					out.Close()
					return
				}
				io.Copy(out, in)
				out.Close()
			}()
		}
	}()
	return l.Addr().String()
}

// TestPushTCPResumed: a push over TLS cut halfway by the network, then pushed again,
// resumes from where the terminal stopped and ends applied.
func TestPushTCPResumed(t *testing.T) {
	r := newRoot(t)
	bundle := bigBundle(t, "1.1.0")
	st, _ := os.Stat(bundle)
	l, pin, err := r.ListenTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var seen []int64
	rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), Idle: time.Second,
		Progress: func(done, total int64) { mu.Lock(); seen = append(seen, done*100/total); mu.Unlock() }}
	results := make(chan error, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, err = rv.Serve(NetConn(c))
			c.Close()
			results <- err
		}
	}()
	ctx := context.Background()
	// First push: the network drops after half the bundle.
	c, err := DialPinned(ctx, cutProxy(t, l.Addr().String(), st.Size()/2), pin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, NetConn(c), bundle, nil); err == nil {
		t.Fatal("push through a cut link got nil; want an error")
	}
	c.Close()
	if err := <-results; err == nil || !strings.Contains(err.Error(), "push cut at") {
		t.Fatalf("terminal's first session: got %v; want cut", err)
	}
	parts, _ := filepath.Glob(filepath.Join(r.Dir, "incoming", "*.part"))
	if len(parts) != 1 {
		t.Fatalf("parts kept: %v; want one", parts)
	}
	kept, _ := os.Stat(parts[0])
	if kept.Size() < st.Size()/4 {
		t.Fatalf("kept %d bytes of %d; want about half", kept.Size(), st.Size())
	}
	// Second push resumes.
	c, err = DialPinned(ctx, l.Addr().String(), pin)
	if err != nil {
		t.Fatal(err)
	}
	var first int64 = -1
	v, err := Push(ctx, NetConn(c), bundle, func(done, total int64) {
		if first < 0 {
			first = done
		}
	})
	c.Close()
	if err != nil || v != "1.1.0" {
		t.Fatalf("resumed push: got %q, %v; want 1.1.0 applied", v, err)
	}
	if first != kept.Size() {
		t.Errorf("resumed at %d; want %d, the bytes the terminal kept", first, kept.Size())
	}
	if err := <-results; err != nil {
		t.Fatalf("terminal's second session: %v", err)
	}
	if s, _ := r.Status(); s.ActiveVersion != "1.1.0" || s.Trial != 0 {
		t.Errorf("after the push: got %+v; want 1.1.0 on trial", s)
	}
	if parts, _ := filepath.Glob(filepath.Join(r.Dir, "incoming", "*")); len(parts) != 0 {
		t.Errorf("incoming left %v; want empty", parts)
	}
	mu.Lock()
	if len(seen) == 0 || seen[len(seen)-1] != 100 {
		t.Errorf("terminal's progress: got %v; want it to reach 100", seen)
	}
	mu.Unlock()

	// A wrong pin: the laptop refuses the terminal (someone in between).
	if _, err := DialPinned(ctx, l.Addr().String(), strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "pin") {
		t.Errorf("wrong pin: got %v; want refused", err)
	}
}

// cable joins the terminal's PTY to a laptop's PTY as a null-modem cable: what the
// laptop writes reaches the terminal and back. rate, if not 0, is the line rate in bytes
// per second; the cable can be pulled and plugged again (a new laptop PTY, as a USB
// adapter comes back as a new device).
type cable struct {
	term   *serialport.PTY
	rate   int
	mu     sync.Mutex
	laptop *serialport.PTY
	limit  int64 // laptop → terminal bytes before the cable is pulled (0: none)
	sent   int64
	done   chan struct{}
}

func newCable(t testing.TB, term *serialport.PTY, rate int) *cable {
	c := &cable{term: term, rate: rate}
	// One reader of the terminal's side for all plugs: its bytes go to the laptop
	// plugged now, or nowhere.
	go func() {
		buf := make([]byte, 256)
		for {
			k, err := term.Read(buf)
			if err != nil {
				return
			}
			c.mu.Lock()
			lp := c.laptop
			c.mu.Unlock()
			if lp != nil {
				lp.Write(buf[:k])
			}
		}
	}()
	return c
}

// plug connects a new laptop PTY; the cable is pulled after limit bytes (0: never).
func (c *cable) plug(t testing.TB, limit int64) *serialport.PTY {
	t.Helper()
	lp, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.laptop, c.limit, c.sent, c.done = lp, limit, 0, make(chan struct{})
	done := c.done
	c.mu.Unlock()
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		start := time.Now()
		var n int64
		for {
			k, err := lp.Read(buf)
			if err != nil {
				return
			}
			c.mu.Lock()
			if c.limit > 0 && c.sent+int64(k) > c.limit {
				// Pulled: the laptop's end goes away, like a USB adapter.
				c.laptop = nil
				c.mu.Unlock()
				lp.Close()
				return
			}
			c.sent += int64(k)
			c.mu.Unlock()
			if c.rate > 0 {
				n += int64(k)
				if d := time.Until(start.Add(time.Duration(n) * time.Second / time.Duration(c.rate))); d > 0 {
					time.Sleep(d)
				}
			}
			if _, err := c.term.Write(buf[:k]); err != nil {
				return
			}
		}
	}()
	return lp
}

func openPort(t testing.TB, path string) serialport.Port {
	t.Helper()
	p, err := serialport.Open(path, serialport.Config{Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPushSerialResumed: a push over a serial cable (two PTYs through drivers/serialport)
// pulled halfway, then plugged again and pushed again, resumes and ends applied.
func TestPushSerialResumed(t *testing.T) {
	r := newRoot(t)
	bundle := bigBundle(t, "1.1.0")
	st, _ := os.Stat(bundle)
	term, err := serialport.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	tport := openPort(t, term.Path())
	defer tport.Close()
	rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), Idle: time.Second}
	results := make(chan error, 4)
	stop := make(chan struct{})
	go func() {
		for {
			_, err := rv.Serve(tport)
			select {
			case <-stop:
				return
			case results <- err:
			}
			if errors.Is(err, serialport.ErrClosed) {
				return
			}
		}
	}()
	defer close(stop)
	ctx := context.Background()

	cab := newCable(t, term, 0)
	lp := cab.plug(t, st.Size()/2)
	lport := openPort(t, lp.Path())
	if v, err := Push(ctx, lport, bundle, nil); err == nil {
		t.Fatalf("push through a pulled cable got %q, nil; want an error", v)
	}
	lport.Close()
	if err := <-results; err == nil || !strings.Contains(err.Error(), "push cut at") {
		t.Fatalf("terminal's first session: got %v; want cut", err)
	}
	parts, _ := filepath.Glob(filepath.Join(r.Dir, "incoming", "*.part"))
	if len(parts) != 1 {
		t.Fatalf("parts kept: %v; want one", parts)
	}
	kept, _ := os.Stat(parts[0])

	lp = cab.plug(t, 0)
	defer lp.Close()
	lport = openPort(t, lp.Path())
	defer lport.Close()
	var first int64 = -1
	v, err := Push(ctx, lport, bundle, func(done, total int64) {
		if first < 0 {
			first = done
		}
	})
	if err != nil || v != "1.1.0" {
		t.Fatalf("resumed push: got %q, %v; want 1.1.0 applied", v, err)
	}
	if first != kept.Size() || first == 0 {
		t.Errorf("resumed at %d; want %d, the bytes the terminal kept", first, kept.Size())
	}
	if err := <-results; err != nil {
		t.Fatalf("terminal's second session: %v", err)
	}
	if s, _ := r.Status(); s.ActiveVersion != "1.1.0" {
		t.Errorf("after the push: active %s; want 1.1.0", s.ActiveVersion)
	}
}

// TestPushRefused: a bundle the terminal refuses is answered with the reason, in one line.
func TestPushRefused(t *testing.T) {
	r := newRoot(t)
	m := testManifest("1.1.0")
	m.Board = "rpi-terminal"
	bundle := writeBundle(t, m, DevKey())
	a, b := net.Pipe()
	rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), Idle: time.Second}
	go func() { rv.Serve(NetConn(a)); a.Close() }()
	_, err := Push(context.Background(), NetConn(b), bundle, nil)
	if err == nil || !strings.Contains(err.Error(), `refused: bundle is for board "rpi-terminal"`) {
		t.Fatalf("got %v; want the board refusal", err)
	}
	if s, _ := r.Status(); s.ActiveVersion != "1.0.0" || s.Trial != -1 {
		t.Errorf("after a refused push: got %+v; want 1.0.0 confirmed", s)
	}
}

// BenchmarkPushSerial115200 pushes a bundle over a PTY cable paced at 115200 baud 8N1
// (11520 bytes/s, as a UART sends them) and reports the share of the line rate used
// (DESIGN §10: at least 90 %).
func BenchmarkPushSerial115200(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "v1.posfw")
	f, _ := os.Create(src)
	Build(f, testManifest("1.0.0"), testFiles(b, dir), DevKey())
	f.Close()
	bundle := filepath.Join(dir, "v2.posfw")
	f, _ = os.Create(bundle)
	Build(f, testManifest("1.1.0"), testFilesSeed(b, dir, 3), DevKey())
	f.Close()
	st, _ := os.Stat(bundle)
	term, _ := serialport.OpenPTY()
	defer term.Close()
	tport, _ := serialport.Open(term.Path(), serialport.Config{Baud: 115200})
	defer tport.Close()
	const rate = 11520
	cab := newCable(b, term, rate)
	for i := 0; i < b.N; i++ {
		r := Root{Dir: filepath.Join(dir, "opt"+strconv.Itoa(i))}
		if _, err := r.Init(src, devKeys(), here()); err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), Idle: 2 * time.Second}
		go func() { _, err := rv.Serve(tport); done <- err }()
		lp := cab.plug(b, 0)
		lport, _ := serialport.Open(lp.Path(), serialport.Config{Baud: 115200})
		start := time.Now()
		if _, err := Push(context.Background(), lport, bundle, nil); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		lport.Close()
		lp.Close()
		b.ReportMetric(float64(st.Size())/el.Seconds()/rate*100, "%line")
		b.ReportMetric(float64(st.Size()), "bytes")
	}
}

// pipeConn is a Conn over fixed input, answers discarded.
type pipeConn struct {
	io.Reader
	out bytes.Buffer
}

func (p *pipeConn) Write(b []byte) (int, error)        { return p.out.Write(b) }
func (p *pipeConn) SetReadTimeout(time.Duration) error { return nil }

// FuzzReceiver: no input on the line makes the terminal's side panic, write outside its
// incoming directory, or install anything.
func FuzzReceiver(f *testing.F) {
	good := buildBundle(f, testManifest("1.1.0"), DevKey())
	sum := sha256.Sum256(good)
	hello := fmt.Sprintf("POSFW-PUSH 1 %d %x\n", len(good), sum)
	var frame bytes.Buffer
	frame.WriteString(hello)
	frame.WriteByte('D')
	binary.Write(&frame, binary.BigEndian, uint32(10))
	frame.Write(good[:10])
	binary.Write(&frame, binary.BigEndian, crc32.ChecksumIEEE(good[:10]))
	f.Add(frame.Bytes())
	f.Add([]byte(hello + "E"))
	f.Add([]byte("noise\nPOSFW-PUSH 1 -5 zz\n"))
	f.Add([]byte("POSFW-PUSH 1 99999999999999999999 " + strings.Repeat("a", 64) + "\nD\xff\xff\xff\xff"))
	dir := f.TempDir()
	src := filepath.Join(dir, "v1.posfw")
	os.WriteFile(src, buildBundle(f, testManifest("1.0.0"), DevKey()), 0o644)
	r := Root{Dir: filepath.Join(dir, "opt")}
	if _, err := r.Init(src, devKeys(), here()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), MaxSize: 1 << 20}
		m, err := rv.Serve(&pipeConn{Reader: bytes.NewReader(in)})
		if err == nil {
			t.Fatalf("installed %s from fuzz input", m.Version)
		}
		ents, _ := os.ReadDir(r.Dir)
		for _, e := range ents {
			switch e.Name() {
			case "boot", "board", "launch", "slots", "incoming", ".lock", "boot.tmp":
			default:
				t.Fatalf("receiver wrote %s in the install root", e.Name())
			}
		}
	})
}

// TestPushSilentClient: a connection that says nothing — not even its TLS handshake —
// is dropped after the idle time, and the technician's push behind it goes through.
func TestPushSilentClient(t *testing.T) {
	r := newRoot(t)
	bundle := bigBundle(t, "1.1.0")
	l, pin, err := r.ListenTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rv := &Receiver{Root: r, Keys: devKeys(), Target: here(), Idle: 300 * time.Millisecond}
	results := make(chan error, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, err = rv.ServeNet(c)
			c.Close()
			results <- err
		}
	}()
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	select {
	case err := <-results:
		if err == nil {
			t.Fatal("a silent connection's session ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a silent connection still holds the receiver after 5 s")
	}
	c, err := DialPinned(context.Background(), l.Addr().String(), pin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Push(context.Background(), NetConn(c), bundle, nil); err != nil {
		t.Fatalf("push after the silent connection: %v", err)
	}
	if err := <-results; err != nil {
		t.Fatalf("terminal's session: %v", err)
	}
}
