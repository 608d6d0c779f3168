package dukpt

import (
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// AES DUKPT (ANSI X9.24-3:2017), AES-128 profile: an AES-128 BDK, AES-128 initial,
// derivation and working keys. Every key is one AES-ECB encryption of a 16-byte
// "derivation data" block (6.3.2) under the key above it:
//
//	version 01 | key block counter 01 | key usage (2) | algorithm (2) | length in bits (2) | 8 bytes
//
// where the last 8 bytes are the initial key ID for the initial key, and otherwise the
// right half of the initial key ID followed by the (partial) transaction counter.
// AES-192/256 BDKs and TDEA working keys are not implemented.

// AESKSNSize is the length of an AES DUKPT Key Serial Number.
const AESKSNSize = 12

// AESKeySize is the length of the AES-128 keys of the AES DUKPT profile implemented.
const AESKeySize = 16

// aesMaxOnes is the most one-bits an AES DUKPT counter may carry (X9.24-3:2017 6.1):
// a device holds 32 intermediate derivation keys and skips counters needing more
// than 16 derivations.
const aesMaxOnes = 16

// AESKey is an AES-128 key. Like Key, it never prints its bytes.
type AESKey [AESKeySize]byte

// String returns a placeholder, never the key.
func (AESKey) String() string { return "dukpt.AESKey(redacted)" }

// GoString returns a placeholder, never the key.
func (AESKey) GoString() string { return "dukpt.AESKey(redacted)" }

// ParseAESKey decodes an AES-128 key written as 32 hexadecimal digits. The error
// never repeats the input.
func ParseAESKey(s string) (AESKey, error) {
	var k AESKey
	if err := parseKey(k[:], s); err != nil {
		return AESKey{}, err
	}
	return k, nil
}

// AESKSN is a 12-byte AES DUKPT Key Serial Number: the 8-byte initial key ID (4-byte
// BDK id, 4-byte derivation id) followed by a 32-bit big-endian transaction counter.
type AESKSN [AESKSNSize]byte

// ParseAESKSN decodes an AES DUKPT KSN written as 24 hexadecimal digits.
func ParseAESKSN(s string) (AESKSN, error) {
	var k AESKSN
	if err := parseKSN(k[:], s); err != nil {
		return AESKSN{}, err
	}
	return k, nil
}

// String returns the KSN as 24 upper-case hexadecimal digits.
func (k AESKSN) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// Counter returns the 32-bit transaction counter.
func (k AESKSN) Counter() uint32 { return binary.BigEndian.Uint32(k[8:]) }

// InitialKeyID returns the initial key ID: the BDK id and the derivation id.
func (k AESKSN) InitialKeyID() [8]byte { return [8]byte(k[:8]) }

// WithCounter returns k with its transaction counter replaced by c.
func (k AESKSN) WithCounter(c uint32) AESKSN {
	binary.BigEndian.PutUint32(k[8:], c)
	return k
}

// Next returns the KSN of the device's next transaction: the smallest counter above
// k's with at most 16 one-bits. It returns ErrExhausted past the last one, FFFF0000.
func (k AESKSN) Next() (AESKSN, error) {
	c := uint64(k.Counter()) + 1 // 64 bits so that stepping past 2^32 is visible
	for bits.OnesCount64(c) > aesMaxOnes {
		c += c & -c
	}
	if c > 0xFFFFFFFF {
		return k, ErrExhausted
	}
	return k.WithCounter(uint32(c)), nil
}

// AESUsage names what an AES DUKPT working key is for. Its value is the key usage
// indicator of the derivation data (X9.24-3:2017 6.3.2, Table 2).
type AESUsage uint16

// The working-key usages of X9.24-3:2017.
const (
	AESKeyEncryption     AESUsage = 0x0002
	AESPINEncryption     AESUsage = 0x1000
	AESMACGeneration     AESUsage = 0x2000
	AESMACVerification   AESUsage = 0x2001
	AESMACBoth           AESUsage = 0x2002
	AESDataEncryption    AESUsage = 0x3000 // data encryption, encrypt direction
	AESDataDecryption    AESUsage = 0x3001 // data encryption, decrypt direction
	AESDataBoth          AESUsage = 0x3002
	aesKeyDerivation     AESUsage = 0x8000 // intermediate derivation keys
	aesInitialDerivation AESUsage = 0x8001 // the initial key, from the BDK
)

var aesUsageNames = map[AESUsage]string{
	AESKeyEncryption:   "key encryption",
	AESPINEncryption:   "PIN encryption",
	AESMACGeneration:   "MAC generation",
	AESMACVerification: "MAC verification",
	AESMACBoth:         "MAC both ways",
	AESDataEncryption:  "data encryption (encrypt)",
	AESDataDecryption:  "data encryption (decrypt)",
	AESDataBoth:        "data encryption (both ways)",
}

// String returns the usage's name.
func (u AESUsage) String() string {
	if n, ok := aesUsageNames[u]; ok {
		return n
	}
	return fmt.Sprintf("AESUsage(%#04x)", uint16(u))
}

// Algorithm indicator and key length of AES-128 in the derivation data
// (X9.24-3:2017 6.3.2, Table 3).
const (
	aesAlgorithm128 = 0x0002
	aesBits128      = 0x0080
)

// aesDerive returns AES-ECB(key, derivation data) for an AES-128 output key.
func aesDerive(key *AESKey, usage AESUsage, tail [8]byte) AESKey {
	var data [16]byte
	data[0] = 0x01 // version
	data[1] = 0x01 // key block counter: one block is enough for 128 bits
	binary.BigEndian.PutUint16(data[2:], uint16(usage))
	binary.BigEndian.PutUint16(data[4:], aesAlgorithm128)
	binary.BigEndian.PutUint16(data[6:], aesBits128)
	copy(data[8:], tail[:])
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("dukpt: unreachable: " + err.Error()) // 16-byte key by type
	}
	var out AESKey
	b.Encrypt(out[:], data[:])
	Wipe(data[:])
	return out
}

// counterTail is the last 8 bytes of derivation data for derivation and working
// keys: the derivation id (right half of the initial key ID) and a counter.
func counterTail(ksn AESKSN, counter uint32) [8]byte {
	var t [8]byte
	copy(t[:4], ksn[4:8])
	binary.BigEndian.PutUint32(t[4:], counter)
	return t
}

// DeriveAESInitialKey returns the initial key of the device named by ksn (its
// initial key ID; the counter is ignored), derived from an AES-128 BDK
// (X9.24-3:2017 6.3.1). The caller wipes the result.
func DeriveAESInitialKey(bdk AESKey, ksn AESKSN) AESKey {
	defer Wipe(bdk[:])
	return aesDerive(&bdk, aesInitialDerivation, ksn.InitialKeyID())
}

// DeriveAESTransactionKey returns the derivation key of the transaction named by
// ksn, from the device's initial key: one derivation per one-bit of the counter, most
// significant first, each keyed by the previous result (X9.24-3:2017 6.1, 6.4). It
// refuses a zero counter and one with more than 16 one-bits. The caller wipes the
// result.
func DeriveAESTransactionKey(ik AESKey, ksn AESKSN) (AESKey, error) {
	defer Wipe(ik[:])
	c := ksn.Counter()
	switch {
	case c == 0:
		return AESKey{}, errors.New("dukpt: AES KSN counter is zero; no transaction uses the initial key")
	case bits.OnesCount32(c) > aesMaxOnes:
		return AESKey{}, fmt.Errorf("dukpt: AES KSN counter has %d one-bits; a device never uses more than %d", bits.OnesCount32(c), aesMaxOnes)
	}
	key := ik
	var working uint32
	for bit := uint32(1) << 31; bit != 0; bit >>= 1 {
		if c&bit == 0 {
			continue
		}
		working |= bit
		next := aesDerive(&key, aesKeyDerivation, counterTail(ksn, working))
		Wipe(key[:])
		key = next
	}
	return key, nil
}

// AESWorkingKey returns the AES-128 working key for usage u of the transaction named
// by ksn, from that transaction's derivation key (X9.24-3:2017 6.3.3). The caller
// wipes the result.
func AESWorkingKey(transactionKey AESKey, ksn AESKSN, u AESUsage) (AESKey, error) {
	defer Wipe(transactionKey[:])
	if _, ok := aesUsageNames[u]; !ok {
		return AESKey{}, fmt.Errorf("dukpt: unknown AES key usage %#04x", uint16(u))
	}
	return aesDerive(&transactionKey, u, counterTail(ksn, ksn.Counter())), nil
}
