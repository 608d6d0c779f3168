// Package emvcrypto is EMV's cryptography, both sides of it: the card's (the simulator)
// and the issuer's (the host simulator), and the terminal's offline data authentication.
//
//   - ICC master keys by EMV Option A (and B) from the issuer master key, PAN and PAN
//     sequence number (EMV 4.4 Book 2 Annex A1.4);
//   - the common session key from the ATC (Book 2 Annex A1.3);
//   - application cryptograms: ISO/IEC 9797-1 MAC algorithm 3 with padding method 2
//     over the CVN 18-style data list of DESIGN §7 (Book 2 §8.1, Annex A1.2);
//   - ARPC method 1 (Book 2 §8.2.1) and issuer script MACs (Book 2 §9.2);
//   - RSA recovery and signing of issuer and ICC public key certificates, signed static
//     and dynamic application data (Book 2 §5 and §6) with SHA-1.
//
// The tests check each against published vectors: knovichikhin/pyemv's for keys and
// cryptograms, openemv/emv-utils' Visa test CA key 94 certificates for RSA.
package emvcrypto

import (
	"crypto/cipher"
	"crypto/des"
	"errors"
	"fmt"
)

// ErrKeyLength is returned for a DES key that is not 16 bytes (double length).
var ErrKeyLength = errors.New("emvcrypto: key must be 16 bytes (double-length DES)")

func tdes(key []byte) (cipher.Block, error) {
	if len(key) != 16 {
		return nil, ErrKeyLength
	}
	k := make([]byte, 0, 24)
	k = append(append(k, key...), key[:8]...)
	return des.NewTripleDESCipher(k)
}

// EncryptECB encrypts data (a multiple of 8 bytes) under a double-length key, block by block.
func EncryptECB(key, data []byte) ([]byte, error) {
	c, err := tdes(key)
	if err != nil {
		return nil, err
	}
	if len(data)%8 != 0 {
		return nil, fmt.Errorf("emvcrypto: data of %d bytes is not whole blocks", len(data))
	}
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += 8 {
		c.Encrypt(out[i:i+8], data[i:i+8])
	}
	return out, nil
}

// AdjustParity sets each byte's low bit so the byte has odd parity, as derived DES keys
// are stored; DES ignores the bit, but key check values and comparisons do not.
func AdjustParity(k []byte) []byte {
	out := make([]byte, len(k))
	for i, b := range k {
		b &^= 1
		n := 0
		for x := b; x != 0; x >>= 1 {
			n += int(x & 1)
		}
		if n%2 == 0 {
			b |= 1
		}
		out[i] = b
	}
	return out
}

// PadMethod2 pads data by ISO/IEC 9797-1 padding method 2 (the EMV padding): 80 and
// then zeros up to a multiple of 8, always adding at least the 80.
func PadMethod2(data []byte) []byte {
	p := append(append([]byte(nil), data...), 0x80)
	for len(p)%8 != 0 {
		p = append(p, 0)
	}
	return p
}

// MACAlg3 is ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC") under a double-length key
// over data padded by method 2: CBC single DES under the left key half, then the last
// block decrypted under the right half and encrypted under the left. It returns 8 bytes.
func MACAlg3(key, data []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, ErrKeyLength
	}
	kl, _ := des.NewCipher(key[:8])
	kr, _ := des.NewCipher(key[8:])
	p := PadMethod2(data)
	h := make([]byte, 8)
	for i := 0; i < len(p); i += 8 {
		for j := range 8 {
			h[j] ^= p[i+j]
		}
		kl.Encrypt(h, h)
	}
	kr.Decrypt(h, h)
	kl.Encrypt(h, h)
	return h, nil
}
