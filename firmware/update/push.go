package update

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The push protocol carries a bundle from the technician's laptop (the sender) to the
// terminal (the receiver) over a TCP/TLS connection or a serial line, resumably:
//
//	sender:   "POSFW-PUSH 1 SIZE SHA256\n"        the whole bundle's size and hash
//	receiver: "OFFSET N\n" | "ERR reason\n"        N = bytes of it already held
//	sender:   'D' len:uint32 data crc32(data):uint32 ...   the bytes from N on, in chunks
//	          'E'                                  the end
//	receiver: "OK VERSION\n" | "ERR reason\n"      verified and applied, or refused
//
// The receiver keeps what it got in ROOT/incoming/SHA256.part, written only after a
// chunk's CRC checked, so that a cable pulled halfway resumes where it stopped; the
// bundle's SHA-256 is checked at the end, then the bundle is verified and applied as
// `update apply` does. On a serial line, bytes before a header (a previous, cut session)
// are skipped up to the next "POSFW-PUSH" line.
const pushHello = "POSFW-PUSH 1"

// HelloWait is how long the sender waits for the answer to its header before sending it
// again (helloTries times): longer than a receiver's idle timeout over the tries.
var HelloWait = 3 * time.Second

const helloTries = 5

// ChunkSize is the data carried by one chunk; its framing costs 9 bytes (0.2 %).
const ChunkSize = 4096

// Conn is one side's link: a network connection or a serial line.
type Conn interface {
	io.ReadWriter
	// SetReadTimeout bounds each following Read; 0 waits for ever.
	SetReadTimeout(time.Duration) error
}

// NetConn makes a net.Conn a Conn (its read timeout is a deadline set before each Read).
func NetConn(c net.Conn) Conn { return &netConn{Conn: c} }

type netConn struct {
	net.Conn
	timeout time.Duration
}

func (c *netConn) SetReadTimeout(d time.Duration) error { c.timeout = d; return nil }

func (c *netConn) Read(p []byte) (int, error) {
	if c.timeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	} else {
		c.Conn.SetReadDeadline(time.Time{})
	}
	return c.Conn.Read(p)
}

// readLine reads one line of at most 512 bytes, without reading past it.
func readLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < 512 {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return string(line), nil
			}
			line = append(line, b[0])
			continue
		}
		if err != nil {
			return string(line), err
		}
	}
	return string(line), errLineTooLong
}

// Push sends the bundle at path over c and returns the terminal's answer (the version it
// applied). progress, if not nil, is told the bytes the terminal holds after each chunk.
func Push(ctx context.Context, c Conn, path string, progress func(done, total int64)) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	// On a serial line the terminal may still be inside a session that was cut (waiting
	// for the rest of a chunk, until its idle timeout): a header it swallowed there, or
	// a "garbled" from it, is answered by sending the header again.
	var reply string
	for try := 1; ; try++ {
		if _, err := fmt.Fprintf(c, "%s %d %s\n", pushHello, size, sum); err != nil {
			return "", err
		}
		c.SetReadTimeout(HelloWait)
		reply, err = answer(c)
		if err == nil && !strings.HasPrefix(reply, "ERR push garbled") {
			break
		}
		if try == helloTries {
			if err == nil {
				err = errors.New(reply)
			}
			return "", fmt.Errorf("no answer from the terminal: %w", err)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	off, err := strconv.ParseInt(strings.TrimPrefix(reply, "OFFSET "), 10, 64)
	if !strings.HasPrefix(reply, "OFFSET ") || err != nil || off < 0 || off > size {
		return "", fmt.Errorf("terminal answered %q", reply)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	if progress != nil {
		progress(off, size)
	}
	w := bufio.NewWriterSize(fullWriter{c}, ChunkSize+64)
	buf := make([]byte, ChunkSize)
	for done := off; done < size; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := io.ReadFull(f, buf[:min(int64(ChunkSize), size-done)])
		if err != nil {
			return "", err
		}
		var hdr [5]byte
		hdr[0] = 'D'
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		w.Write(hdr[:])
		w.Write(buf[:n])
		binary.Write(w, binary.BigEndian, crc32.ChecksumIEEE(buf[:n]))
		if err := w.Flush(); err != nil {
			return "", fmt.Errorf("link lost at %d of %d bytes: %w", done, size, err)
		}
		done += int64(n)
		if progress != nil {
			progress(done, size)
		}
	}
	w.WriteByte('E')
	if err := w.Flush(); err != nil {
		return "", err
	}
	// Verifying and installing a bundle takes the terminal seconds (fsync of each file).
	c.SetReadTimeout(5 * time.Minute)
	reply, err = answer(c)
	if err != nil {
		return "", fmt.Errorf("no answer from the terminal after the last byte: %w", err)
	}
	if v, ok := strings.CutPrefix(reply, "OK "); ok {
		return v, nil
	}
	return "", errors.New(strings.TrimPrefix(reply, "ERR "))
}

// fullWriter writes all of p: a serial port's Write is one write(2), which a nearly full
// line buffer cuts short.
type fullWriter struct{ w io.Writer }

func (f fullWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := f.w.Write(p[n:])
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return n, nil
}

// answer reads lines until one of the protocol's answers (a serial line may carry noise).
func answer(c Conn) (string, error) {
	for i := 0; i < 64; i++ {
		l, err := readLine(c)
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "OFFSET ") || strings.HasPrefix(l, "OK ") || strings.HasPrefix(l, "ERR ") {
			return l, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("no protocol answer in 64 lines")
}

// Receiver takes pushed bundles on the terminal and applies them.
type Receiver struct {
	Root   Root
	Keys   Keys
	Target Target
	// MaxSize refuses larger bundles (default 256 MiB).
	MaxSize int64
	// Idle ends a session when the sender stays silent this long (default 5 s); what
	// was received is kept for the next session.
	Idle time.Duration
	// Progress, if not nil, is told the bytes held after each chunk: the terminal's
	// screen shows the percentage.
	Progress func(done, total int64)
}

// ServeNet runs one session on a network connection. A sender on the network says
// hello as soon as it connects, so a connection (or a TLS handshake) that stays silent
// for the idle time is dropped rather than left holding the receiver.
func (rv *Receiver) ServeNet(c net.Conn) (Manifest, error) {
	nc := NetConn(c)
	nc.SetReadTimeout(rv.idle())
	return rv.Serve(nc)
}

// idle is Idle or its default.
func (rv *Receiver) idle() time.Duration {
	if rv.Idle == 0 {
		return 5 * time.Second
	}
	return rv.Idle
}

// Serve runs one session on c: it waits for a header (skipping anything else), receives
// the bundle from where an earlier session stopped, and applies it. It returns the
// applied manifest; an error ends the session (the sender is told why when it can be).
func (rv *Receiver) Serve(c Conn) (Manifest, error) {
	size, sum, err := rv.hello(c)
	if err != nil {
		return Manifest{}, err
	}
	fail := func(err error) (Manifest, error) {
		fmt.Fprintf(c, "ERR %s\n", oneLine(err.Error()))
		return Manifest{}, err
	}
	maxSize := rv.MaxSize
	if maxSize == 0 {
		maxSize = 256 << 20
	}
	if size <= 0 || size > maxSize {
		return fail(fmt.Errorf("bundle of %d bytes refused (at most %d)", size, maxSize))
	}
	dir := filepath.Join(rv.Root.Dir, "incoming")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	rv.Root.own(dir)
	part := filepath.Join(dir, sum+".part")
	// One bundle at a time: parts of other bundles go.
	if old, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(old) > 0 {
		for _, p := range old {
			if p != part {
				os.Remove(p)
			}
		}
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	rv.Root.own(part)
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(err)
	}
	if off > size {
		f.Truncate(0)
		off, _ = f.Seek(0, io.SeekStart)
	}
	if _, err := fmt.Fprintf(c, "OFFSET %d\n", off); err != nil {
		return Manifest{}, err
	}
	if rv.Progress != nil {
		rv.Progress(off, size)
	}
	c.SetReadTimeout(rv.idle())
	defer c.SetReadTimeout(0)
	buf := make([]byte, ChunkSize)
	var unsynced int64
	for {
		var kind [1]byte
		if _, err := io.ReadFull(c, kind[:]); err != nil {
			f.Sync()
			return Manifest{}, fmt.Errorf("push cut at %d of %d bytes (kept for the next push): %w", off, size, err)
		}
		if kind[0] == 'E' {
			break
		}
		if kind[0] != 'D' {
			f.Sync()
			return fail(fmt.Errorf("push garbled at %d of %d bytes (kept for the next push)", off, size))
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			f.Sync()
			return Manifest{}, fmt.Errorf("push cut at %d of %d bytes: %w", off, size, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 || n > ChunkSize || off+n > size {
			f.Sync()
			return fail(fmt.Errorf("push garbled at %d of %d bytes: chunk of %d bytes", off, size, n))
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			f.Sync()
			return Manifest{}, fmt.Errorf("push cut at %d of %d bytes: %w", off, size, err)
		}
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			f.Sync()
			return Manifest{}, fmt.Errorf("push cut at %d of %d bytes: %w", off, size, err)
		}
		if binary.BigEndian.Uint32(hdr[:]) != crc32.ChecksumIEEE(buf[:n]) {
			f.Sync()
			return fail(fmt.Errorf("push garbled at %d of %d bytes: chunk checksum (kept what came before)", off, size))
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return fail(err)
		}
		off += n
		if unsynced += n; unsynced >= 1<<20 {
			f.Sync()
			unsynced = 0
		}
		if rv.Progress != nil {
			rv.Progress(off, size)
		}
	}
	if off != size {
		f.Sync()
		return fail(fmt.Errorf("push ended at %d of %d bytes", off, size))
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	h := sha256.New()
	io.Copy(h, f)
	if hex.EncodeToString(h.Sum(nil)) != sum {
		os.Remove(part)
		return fail(errors.New("bundle received does not match the sender's SHA-256 (dropped: push it again)"))
	}
	defer os.Remove(part)
	m, err := rv.Root.Apply(part, rv.Keys, rv.Target)
	if err != nil {
		return fail(fmt.Errorf("refused: %w", err))
	}
	fmt.Fprintf(c, "OK %s\n", m.Version)
	return m, nil
}

// hello waits for a header line, skipping anything before it.
func (rv *Receiver) hello(c Conn) (int64, string, error) {
	for {
		l, err := readLine(c)
		if i := strings.Index(l, pushHello+" "); i >= 0 {
			var size int64
			var sum string
			if _, err := fmt.Sscanf(l[i+len(pushHello)+1:], "%d %64s", &size, &sum); err != nil {
				fmt.Fprintf(c, "ERR bad header\n")
				return 0, "", fmt.Errorf("bad push header %q", clip(l))
			}
			if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
				fmt.Fprintf(c, "ERR bad header\n")
				return 0, "", fmt.Errorf("bad push header %q", clip(l))
			}
			return size, sum, nil
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return 0, "", err
		}
	}
}

var errLineTooLong = errors.New("line too long")

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// PushCert is the terminal's TLS certificate for pushes over the network, made at its
// first use (ROOT/push.pem, mode 0600: a self-signed ECDSA key, no CA): the technician's
// laptop pins its Pin.
func (r Root) PushCert() (tls.Certificate, error) {
	p := filepath.Join(r.Dir, "push.pem")
	if b, err := os.ReadFile(p); err == nil {
		return tls.X509KeyPair(b, b)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "posfw terminal"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(30, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})...)
	if err := writeFileSync(p+".tmp", data, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(data, data)
}

// Pin is the SHA-256 of a certificate's public key (hex): what the laptop pins.
func Pin(cert tls.Certificate) string {
	c, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return ""
	}
	h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:])
}

// DialPinned connects to a terminal's push port over TLS and accepts only the
// certificate whose public key has the SHA-256 pin.
func DialPinned(ctx context.Context, addr, pin string) (net.Conn, error) {
	pin = strings.ToLower(strings.TrimSpace(pin))
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The terminal's certificate is self-signed: the pin is the whole check.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("terminal sent no certificate")
			}
			c, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
			if got := hex.EncodeToString(h[:]); got != pin {
				return fmt.Errorf("terminal's certificate pin is %s, not the %s given: wrong terminal, or someone in between", got, pin)
			}
			return nil
		},
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	return d.DialContext(ctx, "tcp", addr)
}

// ListenTLS listens for pushes on addr with the terminal's push certificate.
func (r Root) ListenTLS(addr string) (net.Listener, string, error) {
	cert, err := r.PushCert()
	if err != nil {
		return nil, "", err
	}
	l, err := tls.Listen("tcp", addr, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, "", err
	}
	return l, Pin(cert), nil
}
