package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"posfw/firmware/txn"
)

// testCA is a throw-away certificate authority and a server certificate for
// 127.0.0.1 that it signed.
type testCA struct {
	pem    []byte // the CA certificate
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "posfw test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "acquirer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{
		pem:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
	}
}

func TestPinnedTLS(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.server}})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveFake(t, ln, answerWith("00", nil, nil))
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		pem  []byte
		want error // nil: the echo succeeds
	}{
		{"the host's CA", ca.pem, nil},
		{"another CA", other.pem, txn.ErrNotSent},
	} {
		file := filepath.Join(dir, "ca.pem")
		os.WriteFile(file, tt.pem, 0o600)
		cfg, err := PinnedTLS(file)
		if err != nil {
			t.Fatalf("%s: PinnedTLS() = %v", tt.name, err)
		}
		c := testClient(t, addr, day1)
		c.cfg.TLS = cfg
		if err := c.Echo(context.Background(), 1); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Echo() over TLS = %v; want %v", tt.name, err, tt.want)
		}
	}
	if _, err := PinnedTLS(filepath.Join(dir, "missing.pem")); err == nil {
		t.Errorf("PinnedTLS(missing file) succeeded")
	}
	if _, err := PinnedTLSFromPEM([]byte("not a certificate")); err == nil {
		t.Errorf("PinnedTLSFromPEM(garbage) succeeded")
	}
}
