// Package mac computes the message authentication codes that acquirers
// require on ISO 8583 messages, with the MAC working key (MAK) received at
// sign-on. The terminal's PIN pad computes them (it holds the MAK; package padsim
// is the simulated pad), and so does the acquirer (package hostsim); the firmware
// itself never holds the key:
//
//   - X919: the ANSI X9.19 retail MAC, which is ISO/IEC 9797-1 MAC
//     algorithm 3 with DES, padding method 1, over a double-length key;
//   - CUPECB: the "ECB" MAC of China UnionPay POS terminals (银联 POS
//     终端 MAC 算法), which XORs the data blocks and runs the result twice
//     through the cipher, with a hex expansion in between;
//
// and key check values (KCV) for verifying a key after it is loaded.
//
// Both MACs are 8 bytes. Compare them with Verify, never with ==.
package mac

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// Size is the length of a MAC in bytes.
const Size = 8

// Func is a MAC algorithm: X919 or CUPECB.
type Func func(key, data []byte) ([Size]byte, error)

// ErrMismatch is returned by Verify when the MAC is wrong: the host maps it
// to response code A0 and re-signs on.
var ErrMismatch = errors.New("mac: MAC mismatch")

// X919 returns the ANSI X9.19 retail MAC of data under the double-length
// key K1||K2 (16 bytes).
//
// The data is padded with zero bytes to a multiple of 8 (ISO/IEC 9797-1
// padding method 1; empty data becomes one zero block). It is then
// DES-CBC-encrypted under K1 with a zero IV; the last cipher block is
// decrypted under K2 and encrypted again under K1.
func X919(key, data []byte) ([Size]byte, error) {
	var mac [Size]byte
	if len(key) != 16 {
		return mac, fmt.Errorf("mac: X9.19 needs a 16-byte key, got %d bytes", len(key))
	}
	// Cannot fail: the lengths are right.
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:])
	for blocks := padded(data); len(blocks) > 0; blocks = blocks[8:] {
		xorInto(mac[:], blocks[:8])
		k1.Encrypt(mac[:], mac[:])
	}
	k2.Decrypt(mac[:], mac[:])
	k1.Encrypt(mac[:], mac[:])
	return mac, nil
}

// CUPECB returns the China UnionPay "ECB" MAC of data under key, a single
// (8-byte) or double-length (16-byte) DES key.
//
// The data is padded with zero bytes to a multiple of 8 and its blocks are
// XORed together. The 8-byte result is written as 16 upper-case hex
// characters; the first 8 are encrypted, the result XORed with the last 8
// and encrypted again. The MAC is the first 8 hex characters of that
// block, as ASCII: "E267B6E2" is the bytes 45 32 36 37 42 36 45 32.
func CUPECB(key, data []byte) ([Size]byte, error) {
	var mac [Size]byte
	var c cipher.Block
	switch len(key) {
	case 8:
		c, _ = des.NewCipher(key) // cannot fail: the length is right
	case 16:
		var err error
		if c, err = tdes(key); err != nil {
			return mac, err
		}
	default:
		return mac, fmt.Errorf("mac: CUP ECB MAC needs an 8- or 16-byte key, got %d bytes", len(key))
	}
	var x [8]byte
	for blocks := padded(data); len(blocks) > 0; blocks = blocks[8:] {
		xorInto(x[:], blocks[:8])
	}
	var h [16]byte
	hexUpper(h[:], x[:])
	var e [8]byte
	c.Encrypt(e[:], h[:8])
	xorInto(e[:], h[8:])
	c.Encrypt(e[:], e[:])
	hexUpper(h[:], e[:])
	copy(mac[:], h[:8])
	return mac, nil
}

// Verify checks that got is the MAC of data under key computed with f. It
// returns nil when it is, ErrMismatch when it is not, and another error
// when the MAC cannot be computed (a bad key). The comparison takes the
// same time wherever the MACs differ, so that a forger learns nothing
// from response times.
func Verify(f Func, key, data, got []byte) error {
	want, err := f(key, data)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want[:], got) != 1 {
		return ErrMismatch
	}
	return nil
}

// KCV returns the key check value of a DES key: the first 3 bytes of the
// encryption of 8 zero bytes under it (two-key or three-key triple DES for
// 16- and 24-byte keys, single DES for 8-byte ones). Acquirers send it with
// every working key so the terminal can tell a key was received intact.
func KCV(key []byte) ([3]byte, error) {
	var kcv [3]byte
	var c cipher.Block
	var err error
	switch len(key) {
	case 8:
		c, err = des.NewCipher(key)
	case 16, 24:
		c, err = tdes(key)
	default:
		err = fmt.Errorf("mac: a DES key is 8, 16 or 24 bytes, got %d bytes", len(key))
	}
	if err != nil {
		return kcv, err
	}
	var b [8]byte
	c.Encrypt(b[:], b[:])
	copy(kcv[:], b[:3])
	return kcv, nil
}

// tdes returns triple DES for a 16-byte (K1 K2 K1) or 24-byte key.
func tdes(key []byte) (cipher.Block, error) {
	k := key
	if len(key) == 16 {
		k = make([]byte, 0, 24)
		k = append(append(k, key...), key[:8]...)
	}
	c, err := des.NewTripleDESCipher(k)
	if err != nil {
		return nil, fmt.Errorf("mac: %w", err)
	}
	return c, nil
}

// padded returns data zero-padded to a positive multiple of 8 bytes
// (ISO/IEC 9797-1 padding method 1), copying only when it must.
func padded(data []byte) []byte {
	if len(data) > 0 && len(data)%8 == 0 {
		return data
	}
	p := make([]byte, (len(data)+8)/8*8)
	copy(p, data)
	return p
}

func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// hexUpper writes src as upper-case hex into dst (2*len(src) bytes).
func hexUpper(dst, src []byte) {
	hex.Encode(dst, src)
	for i, c := range dst {
		if 'a' <= c && c <= 'f' {
			dst[i] = c - 'a' + 'A'
		}
	}
}
