package operator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters (RFC 9106 §3.1) a hash was made with.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key
}

// DefaultParams are the production costs: 8 MiB, one pass, one lane (RFC 9106 §4's
// first option, t=1, scaled down to the memory and time a terminal has). The budget is one
// verify in at most 300 ms on one 32-bit ARM core. BenchmarkHashVerify under qemu-arm
// (GOARM=7) on a 2.1 GHz server core measures about 45 ms, but that qemu runs argon2
// about four times faster than a 900 MHz Cortex-A7 runs it natively (libargon2 takes
// about 21 ms per MiB per pass on a Raspberry Pi 2; Go's code and a C kernel built with
// gcc -O3 run at the same speed under qemu), so such a core needs about 170-200 ms.
// One lane, because the budget is for one core: more lanes buy the terminal nothing and
// help a cracking GPU. Run BenchmarkHashVerify on a new board before shipping it; a hash
// carries its own parameters, so changing these later is safe (Service rehashes at the
// next right password).
var DefaultParams = Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash, so that a damaged or planted row
// cannot make a verify allocate the terminal's whole memory or spin for minutes.
const (
	MaxMemory  = 64 * 1024 // KiB
	MaxTime    = 16
	MaxThreads = 8
	minSalt    = 8 // RFC 9106 §3.1: 16 recommended, 8 the minimum
	maxSalt    = 64
	minKey     = 16
	maxKey     = 64
)

// Validate reports whether p is within the limits above and argon2's own minimums.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("argon2id time cost %d outside 1..%d", p.Time, MaxTime)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("argon2id parallelism %d outside 1..%d", p.Threads, MaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.SaltLen < minSalt || p.SaltLen > maxSalt:
		return fmt.Errorf("argon2id salt of %d bytes outside %d..%d", p.SaltLen, minSalt, maxSalt)
	case p.KeyLen < minKey || p.KeyLen > maxKey:
		return fmt.Errorf("argon2id key of %d bytes outside %d..%d", p.KeyLen, minKey, maxKey)
	}
	return nil
}

// Hash is a stored password hash: its parameters, salt and derived key. Its text form is
// the PHC string format used by the reference implementation (phc-winner-argon2):
//
//	$argon2id$v=19$m=8192,t=1,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64.
type Hash struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// ErrBadHash is wrapped by every error about a stored hash that cannot be read.
var ErrBadHash = errors.New("bad stored password hash")

// b64 is the PHC string format's base64: standard alphabet, no padding, and (Strict)
// no stray bits in the last character, so that every hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// NewHash hashes password under p with a fresh random salt.
func NewHash(password string, p Params) (Hash, error) {
	if err := p.Validate(); err != nil {
		return Hash{}, err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return Hash{}, fmt.Errorf("password salt: %w", err)
	}
	key, err := derive(password, salt, p)
	if err != nil {
		return Hash{}, err
	}
	return Hash{Params: p, Salt: salt, Key: key}, nil
}

// Verify reports whether password is the one h was made from. The keys are compared in
// constant time.
func (h Hash) Verify(password string) (bool, error) {
	key, err := derive(password, h.Salt, h.Params)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, h.Key) == 1, nil
}

// derive runs argon2id; argon2 panics on parameters it cannot use, which Validate
// should already have refused, and the recover keeps that promise if it did not.
func derive(password string, salt []byte, p Params) (key []byte, err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, fmt.Errorf("argon2id: %v", r)
		}
	}()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// String is h in the PHC string format; ParseHash(h.String()) gives h back.
func (h Hash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.Memory, h.Params.Time, h.Params.Threads, b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// ParseHash reads a hash in the form String writes, and only that form: one spelling
// per hash, version 19 (0x13) only, parameters within the limits. The errors name the
// part that is wrong and never quote the hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, fmt.Errorf("%w: want 5 fields $argon2id$v=19$m=,t=,p=$salt$key, got %d", ErrBadHash, len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: algorithm is not argon2id", ErrBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version is not v=%d", ErrBadHash, argon2.Version)
	}
	m, t, p, err := parseParams(parts[3])
	if err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	if h.Salt, err = decodeB64(parts[4]); err != nil {
		return h, fmt.Errorf("%w: salt is not unpadded base64", ErrBadHash)
	}
	if h.Key, err = decodeB64(parts[5]); err != nil {
		return h, fmt.Errorf("%w: key is not unpadded base64", ErrBadHash)
	}
	h.Params = Params{Memory: m, Time: t, Threads: p, SaltLen: uint32(len(h.Salt)), KeyLen: uint32(len(h.Key))}
	if err := h.Params.Validate(); err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	return h, nil
}

// decodeB64 decodes b64, refusing the CR and LF that encoding/base64 skips, so that
// a hash has one spelling.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	return b64.DecodeString(s)
}

// parseParams reads "m=<memory>,t=<time>,p=<threads>" in that order.
func parseParams(s string) (m, t uint32, p uint8, err error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, fmt.Errorf("parameters are not m=,t=,p=")
	}
	var v [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		num, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return 0, 0, 0, fmt.Errorf("parameter %d is not %s=", i+1, name)
		}
		if v[i], err = parseDecimal(num); err != nil {
			return 0, 0, 0, fmt.Errorf("parameter %s: %v", name, err)
		}
	}
	if v[0] > MaxMemory || v[1] > MaxTime || v[2] > MaxThreads {
		return 0, 0, 0, fmt.Errorf("parameters m=%d,t=%d,p=%d exceed the limits m=%d,t=%d,p=%d",
			v[0], v[1], v[2], MaxMemory, MaxTime, MaxThreads)
	}
	return uint32(v[0]), uint32(v[1]), uint8(v[2]), nil
}

// parseDecimal reads a canonical decimal: digits only, no sign, no leading zero.
func parseDecimal(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("not a canonical decimal number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a canonical decimal number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
