package emvcrypto

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"sync"
)

// Test keys. NOT REAL KEYS: everything here is derived from public seed strings, so
// anyone can compute the private halves. They exist so that the card simulator, the
// host simulator and the tests share one test PKI and one set of issuer master keys,
// and a terminal provisioned for production must never list TestCAPK.

// TestRID and TestCAPKIndex name the test CA public key in a terminal's CAPK list. The
// RID is UnionPay's (cards select UnionPay AIDs); index F1 is outside the indexes
// UnionPay has published for its test and live keys.
var (
	TestRID       = []byte{0xA0, 0x00, 0x00, 0x03, 0x33}
	TestCAPKIndex = byte(0xF1)
)

// Key sizes of the test PKI: CA 1152 bits, issuer 1024, ICC 768, so that both the issuer
// and the ICC keys need a remainder in some configurations and recovery of every layout
// is exercised.
const (
	TestCABits     = 1152
	TestIssuerBits = 1024
	TestICCBits    = 768
)

var testKeys sync.Map // seed → *PrivateKey

// TestKey returns the RSA key (public exponent 3) derived from seed: the same seed
// gives the same key on every machine. Seeds name what the key is for, e.g.
// "posfw test CA F1" or "posfw test ICC chip".
func TestKey(seed string, bits int) *PrivateKey {
	type id struct {
		seed string
		bits int
	}
	if k, ok := testKeys.Load(id{seed, bits}); ok {
		return k.(*PrivateKey)
	}
	k := deriveKey(seed, bits)
	testKeys.Store(id{seed, bits}, k)
	return k
}

// TestCA is the test CA's key pair; TestCAPK its public key as a terminal lists it.
func TestCA() *PrivateKey { return TestKey("posfw test CA F1 - not a real key", TestCABits) }

// TestCAPK is the public half of TestCA, written out (testCAPKModulus): a terminal that
// lists the test key (the simulator, a developer's) does not derive an RSA key at run
// time — 14 ms of prime search on a laptop, far more on the terminal's ARM, and the
// memory of it. TestTestCAPK checks it against TestCA.
func TestCAPK() PublicKey {
	n, _ := hex.DecodeString(testCAPKModulus)
	return PublicKey{N: n, E: []byte{0x03}}
}

// testCAPKModulus is the modulus of TestCA (1152 bits), hex.
const testCAPKModulus = "a079460e25db1c944dd37ca3614bae455f29ee2e59380d8bac0bba60ad923c5c0e67dec6256bb3de3aafb68908505288b3365b18e4445177c34b0354e946f9a30aa20ba700ad9e4282e8fd04a842bd35f2d0f999c766fdff858542334788d8c7c22832fad92c115a3d6db864351c423f8d1c8c6961cb72b294dc505a4e5fb9ede344304a57de78fcd24830cc785f2ae1"

// TestIssuerMasterKey returns the test issuer master key for name ("AC", "SMI", "SMC")
// of an issuer profile; the host simulator holds the same.
func TestIssuerMasterKey(issuer, name string) []byte {
	h := sha256.Sum256([]byte("posfw test issuer master key - not a real key/" + issuer + "/" + name))
	return AdjustParity(h[:16])
}

func deriveKey(seed string, bits int) *PrivateKey {
	e := big.NewInt(3)
	one := big.NewInt(1)
	for attempt := uint32(0); ; attempt++ {
		p := derivePrime(seed, "p", attempt, bits/2, e)
		q := derivePrime(seed, "q", attempt, bits-bits/2, e)
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits || p.Cmp(q) == 0 {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		return &PrivateKey{PublicKey: PublicKey{N: n.FillBytes(make([]byte, bits/8)), E: []byte{3}}, D: d.Bytes()}
	}
}

// derivePrime draws candidates from SHA-256 in counter mode over the seed, sets the two
// top bits (so that p·q has the full length) and the low bit, and steps by 2 to the
// next prime p with gcd(p−1, e) = 1.
func derivePrime(seed, which string, attempt uint32, bits int, e *big.Int) *big.Int {
	buf := make([]byte, 0, bits/8+32)
	for ctr := uint32(0); len(buf) < (bits+7)/8; ctr++ {
		var c [8]byte
		binary.BigEndian.PutUint32(c[:4], attempt)
		binary.BigEndian.PutUint32(c[4:], ctr)
		h := sha256.Sum256(append([]byte(seed+"/"+which+"/"), c[:]...))
		buf = append(buf, h[:]...)
	}
	p := new(big.Int).SetBytes(buf[:(bits+7)/8])
	p.Rsh(p, uint((bits+7)/8*8-bits))
	p.SetBit(p, bits-1, 1)
	p.SetBit(p, bits-2, 1)
	p.SetBit(p, 0, 1)
	two := big.NewInt(2)
	pm1, g := new(big.Int), new(big.Int)
	for {
		if p.ProbablyPrime(32) {
			pm1.Sub(p, big.NewInt(1))
			if g.GCD(nil, nil, pm1, e).Cmp(big.NewInt(1)) == 0 {
				return p
			}
		}
		p.Add(p, two)
	}
}
