package hostsim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posfw/drivers/testkit"
	"posfw/firmware/host"
	"posfw/firmware/txn"
)

// selfSigned returns a certificate for 127.0.0.1 that is its own CA, and its
// PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostsim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	srv, err := New(Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	pinned, err := host.PinnedTLSFromPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPEM := selfSigned(t)
	other, _ := host.PinnedTLSFromPEM(otherPEM)
	for _, tt := range []struct {
		name string
		tls  *tls.Config
		want error
	}{
		{"pinned CA", pinned, nil},
		{"another CA", other, txn.ErrNotSent},
		{"plain TCP to a TLS host", nil, txn.ErrNoResponse},
	} {
		c := host.New(host.Config{
			Address: ln.Addr().String(), TerminalID: testTID, MerchantID: testMID, TLS: tt.tls,
			Keys: padWith(t, testkit.Unhex(t, DefaultMasterKey)), ResponseTimeout: 500 * time.Millisecond,
		})
		err := c.SignOn(context.Background(), 1)
		if tt.want == nil {
			if err != nil {
				t.Fatalf("%s: SignOn() = %v", tt.name, err)
			}
			resp, err := c.Send(context.Background(), txn.Request{Type: txn.Sale, STAN: 2, Amount: 100, Card: card(t, "ok"), At: time.Now()})
			if err != nil || resp.Code != "00" {
				t.Errorf("%s: sale over TLS = %+v, %v", tt.name, resp, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: SignOn() = %v; want %v", tt.name, err, tt.want)
		}
	}
}

// TestNoCardDataInLogs runs sales, declines, a bad MAC and an unreadable
// frame with the simulator and client logging at debug level: no PAN, track
// 2 or PIN block may appear.
func TestNoCardDataInLogs(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(Config{Ledger: filepath.Join(t.TempDir(), "ledger.db"), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	e := &env{t: t, srv: srv, addr: ln.Addr().String()}
	e.c = host.New(host.Config{
		Address: e.addr, TerminalID: testTID, MerchantID: testMID, Keys: padWith(t, testkit.Unhex(t, DefaultMasterKey)),
		Logger: logger, ResponseTimeout: 300 * time.Millisecond,
	})
	if err := e.c.SignOn(context.Background(), e.next()); err != nil {
		t.Fatal(err)
	}
	pinCard := withPIN(t, card(t, "pin"), "1234")
	secrets := []string{string(pinCard.PAN), string(pinCard.Track2), hex.EncodeToString(pinCard.PINBlock)}
	e.sale(1000, pinCard)
	e.sale(1000, card(t, "nsf"))
	srv.SetFault(Fault{Mode: BadMAC})
	e.sale(1000, card(t, "ok"))
	srv.SetFault(Fault{Mode: OK})
	conn, _ := net.Dial("tcp", e.addr)
	conn.Write([]byte("\x00\x140200" + string(pinCard.PAN)))
	conn.Close()
	if !strings.Contains(log.String(), "622202******3214") {
		t.Errorf("the log does not show the sale (masked PAN missing):\n%s", log.String())
	}
	for _, s := range secrets {
		if strings.Contains(strings.ToUpper(log.String()), strings.ToUpper(s)) {
			t.Errorf("card data in the log:\n%s", log.String())
		}
	}
}

func TestNewAndClose(t *testing.T) {
	if _, err := New(Config{MasterKey: []byte("short")}); err == nil {
		t.Errorf("New(5-byte master key) succeeded")
	}
	if _, err := New(Config{Fault: Fault{Mode: "sideways"}}); err == nil {
		t.Errorf("New(unknown fault) succeeded")
	}
	if _, err := New(Config{Ledger: filepath.Join(t.TempDir(), "no", "such", "dir", "ledger.db")}); err == nil {
		t.Errorf("New(ledger in a missing directory) succeeded")
	}
	srv, err := New(Config{Fault: Fault{Mode: Down}})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error)
	go func() { served <- srv.Serve(ln) }()
	c := host.New(host.Config{Address: ln.Addr().String(), TerminalID: testTID, MerchantID: testMID, Keys: padWith(t, testkit.Unhex(t, DefaultMasterKey))})
	time.Sleep(20 * time.Millisecond)
	if err := c.SignOn(context.Background(), 1); !errors.Is(err, txn.ErrNotSent) {
		t.Errorf("SignOn() to a server started down = %v; want %v", err, txn.ErrNotSent)
	}
	if err := srv.SetFault(Fault{Mode: Timeout}); err != nil {
		t.Fatal(err)
	}
	// A request held open by the timeout fault must not keep Close waiting.
	go c.SignOn(context.Background(), 2)
	time.Sleep(50 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	select {
	case err := <-served:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Serve() after Close = %v; want %v", err, ErrClosed)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("Serve() did not return after Close")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
}

// BenchmarkSaleRoundTrip is a sale from host.Client.Send to the answer,
// against the simulator on loopback with its SQLite ledger in a temporary
// directory: a connection, a MACed 0200, the rules, one ledger commit and a
// MACed 0210.
func BenchmarkSaleRoundTrip(b *testing.B) {
	e := start(b)
	c := card(b, "ok")
	b.ReportAllocs()
	for b.Loop() {
		if e.stan >= 999_999 {
			b.Fatal("STANs exhausted")
		}
		if _, resp, err := e.sale(1000, c); err != nil || resp.Code != "00" {
			b.Fatalf("sale = %+v, %v", resp, err)
		}
	}
}
