package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Keys are the public keys a terminal accepts bundles from, by KeyID.
type Keys map[string]ed25519.PublicKey

// String lists the key ids, for messages.
func (k Keys) String() string {
	ids := make([]string, 0, len(k))
	for id := range k {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return "no key"
	}
	return strings.Join(ids, ", ")
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// NewKeys makes a key set of pubs.
func NewKeys(pubs ...ed25519.PublicKey) Keys {
	k := Keys{}
	for _, p := range pubs {
		k[KeyID(p)] = p
	}
	return k
}

// releaseKeys are the release public keys, current and next (for rotation), as hex
// separated by commas, set at build time on the release machine:
//
//	-ldflags "-X posfw/firmware/update.releaseKeys=HEX,HEX"
//
// A binary built without them is a development build and trusts the development key only.
var releaseKeys string

// devSeed derives the development key. Its private half is in this source file on purpose:
// it signs bundles for the tests and the simulator, and is NOT A RELEASE KEY. A release
// build (releaseKeys set) does not trust it.
var devSeed = sha256.Sum256([]byte("posfw DEVELOPMENT update key - NOT A RELEASE KEY - never trust it on a terminal"))

// DevKey is the development signing key (not a release key: see devSeed).
func DevKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(devSeed[:]) }

// Release reports whether this binary was built with release keys.
func Release() bool { return releaseKeys != "" }

// Trusted are the keys this binary accepts bundles from: the release keys of a release
// build, else the development key; and the keys of the terminal's provisioning data
// (config `update.keys`, 64 hex digits each), by which a fleet is given the next
// release key before the current one is retired.
func Trusted(provisioned ...string) (Keys, error) {
	k := Keys{}
	if releaseKeys == "" {
		k = NewKeys(DevKey().Public().(ed25519.PublicKey))
	} else {
		for _, s := range strings.Split(releaseKeys, ",") {
			p, err := parsePublic(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("release key built into this binary: %w", err)
			}
			k[KeyID(p)] = p
		}
	}
	for _, s := range provisioned {
		p, err := parsePublic(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("update key of the provisioning data: %w", err)
		}
		k[KeyID(p)] = p
	}
	return k, nil
}

// ParsePublic reads a public key written as 64 hex digits.
func ParsePublic(s string) (ed25519.PublicKey, error) { return parsePublic(s) }

func parsePublic(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("a public key is 64 hex digits")
	}
	return ed25519.PublicKey(b), nil
}

// GenerateKey writes a new key pair: the private seed as hex to priv (mode 0600, refused
// if it exists) and the public key as hex to pub.
func GenerateKey(priv, pub string) (ed25519.PublicKey, error) {
	p, s, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(priv, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(f, "%x\n", s.Seed())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return p, os.WriteFile(pub, []byte(hex.EncodeToString(p)+"\n"), 0o644)
}

// LoadPrivate reads a private key file written by GenerateKey. "dev" names the
// development key.
func LoadPrivate(path string) (ed25519.PrivateKey, error) {
	if path == "dev" {
		return DevKey(), nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s can be read by others (mode %o): chmod 600 it, and make a new key if others could read it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("key %s: not a private key (64 hex digits)", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadPublic reads a public key file written by GenerateKey.
func LoadPublic(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := parsePublic(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", path, err)
	}
	return p, nil
}
