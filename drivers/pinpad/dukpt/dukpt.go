// Package dukpt implements Derived Unique Key Per Transaction key management as
// specified by ANSI X9.24-1:2009 (TDES DUKPT, Annex A), the scheme a PIN pad uses
// to encrypt every PIN block under a key that is never used twice, and the AES-128
// profile of ANSI X9.24-3:2017 (AES DUKPT; see [AESKSN]).
//
// Both ends of the TDES scheme are here, written on crypto/des (and AES DUKPT on
// crypto/aes):
//
//   - the host (receiving) side: [DeriveIPEK] turns the Base Derivation Key and a
//     Key Serial Number into the device's Initial PIN Encryption Key, and
//     [DeriveTransactionKey] runs the non-reversible key generation process once
//     per set counter bit to reach the current transaction key;
//   - the working keys: [WorkingKey] applies the X9.24-1 variants (PIN encryption,
//     MAC request/response, data request/response) to a transaction key;
//   - the PIN pad (originating) side: [Device] hands out the next Key Serial Number
//     and its transaction key, skipping counters the standard never uses.
//
// The originating device's future-key registers are not modelled: the PIN pad
// simulator derives each key the way the host does, which gives the same keys.
//
// Key material: every function that returns a [Key] gives the caller a secret.
// Callers wipe it with [Wipe] (dukpt.Wipe(k[:])) as soon as it is no longer needed.
// Internal temporaries are wiped here; the expanded key schedules inside crypto/des
// are not reachable and are left to the garbage collector.
package dukpt

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
)

// KeySize is the length of a double-length TDES key (BDK, IPEK, transaction and
// working keys): two DES keys, left and right.
const KeySize = 16

// Key is a double-length TDES key. Its String method never prints the key bytes, so
// a Key that reaches a log line or an error message by mistake stays secret.
type Key [KeySize]byte

// String returns a placeholder, never the key.
func (Key) String() string { return "dukpt.Key(redacted)" }

// GoString returns a placeholder, never the key, so %#v is safe too.
func (Key) GoString() string { return "dukpt.Key(redacted)" }

// ParseKey decodes a key written as 32 hexadecimal digits, the way BDKs and IPEKs are
// provisioned. The error never repeats the input.
func ParseKey(s string) (Key, error) {
	var k Key
	if err := parseKey(k[:], s); err != nil {
		return Key{}, err
	}
	return k, nil
}

// parseKey decodes exactly len(dst) bytes of hex into dst, wiping what it decoded if
// the input turns out to be bad. Its errors never quote the input.
func parseKey(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("dukpt: key must be %d hex digits, got %d characters", 2*len(dst), len(s))
	}
	src := []byte(s)
	defer Wipe(src)
	if _, err := hex.Decode(dst, src); err != nil {
		Wipe(dst)
		return errors.New("dukpt: key is not hexadecimal")
	}
	return nil
}

// Wipe overwrites b with zeros. It is the one place key material, PIN blocks and
// other secrets held in byte slices are erased; use it on every Key and PIN block
// this package returns once it has served its purpose.
func Wipe(b []byte) {
	clear(b)
	// Keep the slice reachable until after the clear so the stores cannot be
	// treated as dead.
	runtime.KeepAlive(b)
}

// kvariant is XORed into a key to move between the two keys of the non-reversible
// process and of the IPEK derivation (X9.24-1:2009 A.2 and A.6).
var kvariant = Key{0: 0xC0, 1: 0xC0, 2: 0xC0, 3: 0xC0, 8: 0xC0, 9: 0xC0, 10: 0xC0, 11: 0xC0}

func xorKey(k, mask Key) Key {
	for i := range k {
		k[i] ^= mask[i]
	}
	return k
}

// desBlock returns a single-DES cipher for one half of a key. des.NewCipher fails
// only on a key length other than 8, which the array type rules out.
func desBlock(half []byte) cipher.Block {
	b, err := des.NewCipher(half[:8])
	if err != nil {
		panic("dukpt: unreachable: " + err.Error()) // length is fixed by the caller's array
	}
	return b
}

// tdesBlock returns a two-key TDES (EDE, K1 K2 K1) cipher for k.
func tdesBlock(k *Key) cipher.Block {
	var k3 [24]byte
	copy(k3[:16], k[:])
	copy(k3[16:], k[:8])
	defer Wipe(k3[:])
	b, err := des.NewTripleDESCipher(k3[:])
	if err != nil {
		panic("dukpt: unreachable: " + err.Error()) // 24 bytes by construction
	}
	return b
}
