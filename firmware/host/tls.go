package host

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// PinnedTLS returns a TLS client configuration that trusts only the CA
// certificates in the PEM file caFile, not the system's roots: the host's
// certificate must chain to one of them, and name the host dialled.
func PinnedTLS(caFile string) (*tls.Config, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("host: TLS CA: %w", err)
	}
	return PinnedTLSFromPEM(b)
}

// PinnedTLSFromPEM is PinnedTLS for certificates already in memory.
func PinnedTLSFromPEM(pem []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("host: TLS CA: no PEM certificate found")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
