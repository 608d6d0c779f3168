package dukpt

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// KSNSize is the length of a TDES DUKPT Key Serial Number.
const KSNSize = 10

// Layout of the transaction counter inside a KSN (X9.24-1:2009 A.1).
const (
	// CounterBits is the width of the transaction counter: the KSN's rightmost 21
	// bits. The 59 bits to its left identify the device and its BDK.
	CounterBits = 21
	// MaxCounter is the largest value the counter field holds.
	MaxCounter = 1<<CounterBits - 1
	// maxOnes is the most one-bits a counter may carry: a device holds 21 future
	// keys and can reach a counter only through at most 10 derivations, so it skips
	// any value with more (X9.24-1:2009 A.2, "New Key-2"/"Request PIN Entry 1").
	maxOnes = 10
)

// ErrExhausted reports that a device has used every counter value its initial key
// allows (a little over a million PIN blocks) and must be given a new initial key.
var ErrExhausted = errors.New("dukpt: transaction counter exhausted; the device needs a new initial key")

// KSN is a 10-byte TDES DUKPT Key Serial Number: initial key serial number (BDK id
// and device id) followed by the 21-bit transaction counter. It is not secret.
type KSN [KSNSize]byte

// ParseKSN decodes a KSN written as 20 hexadecimal digits (either case).
func ParseKSN(s string) (KSN, error) {
	var k KSN
	if err := parseKSN(k[:], s); err != nil {
		return KSN{}, err
	}
	return k, nil
}

// parseKSN decodes exactly len(dst) bytes of hex into dst. A KSN is not secret, so
// its errors may say where the bad character is.
func parseKSN(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("dukpt: KSN must be %d hex digits, got %d characters", 2*len(dst), len(s))
	}
	if i := strings.IndexFunc(s, notHex); i >= 0 {
		return fmt.Errorf("dukpt: KSN has a non-hex character at position %d", i+1)
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("dukpt: KSN is not hexadecimal: %w", err)
	}
	return nil
}

func notHex(r rune) bool {
	return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
}

// String returns the KSN as 20 upper-case hexadecimal digits, the form PIN pads and
// host messages carry.
func (k KSN) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// Counter returns the transaction counter: the KSN's rightmost 21 bits.
func (k KSN) Counter() uint32 {
	return uint32(k[7]&0x1F)<<16 | uint32(k[8])<<8 | uint32(k[9])
}

// WithCounter returns k with its transaction counter replaced by c, or an error if c
// does not fit in 21 bits.
func (k KSN) WithCounter(c uint32) (KSN, error) {
	if c > MaxCounter {
		return k, fmt.Errorf("dukpt: counter %d does not fit in %d bits", c, CounterBits)
	}
	k[7] = k[7]&0xE0 | byte(c>>16)
	k[8] = byte(c >> 8)
	k[9] = byte(c)
	return k, nil
}

// Initial returns the initial KSN: k with a zero counter. It names the device (and
// its IPEK) independently of the transaction.
func (k KSN) Initial() KSN {
	k[7] &= 0xE0
	k[8], k[9] = 0, 0
	return k
}

// Next returns the KSN of the device's next transaction: the smallest counter above
// k's with at most 10 one-bits, which is where the X9.24-1 originating algorithm
// lands after skipping the counters it has no key for. It returns ErrExhausted once
// the 21-bit counter would overflow.
func (k KSN) Next() (KSN, error) {
	c := k.Counter() + 1
	for bits.OnesCount32(c) > maxOnes {
		// Every value between c and c+lowbit(c) keeps all of c's one-bits and adds
		// lower ones, so none of them qualifies: jump straight past them.
		c += c & -c
	}
	if c > MaxCounter {
		return k, ErrExhausted
	}
	return k.WithCounter(c)
}

// validCounter reports why a KSN cannot name a transaction key, or nil.
func validCounter(c uint32) error {
	switch {
	case c == 0:
		return errors.New("dukpt: KSN counter is zero; no transaction uses the initial key")
	case bits.OnesCount32(c) > maxOnes:
		return fmt.Errorf("dukpt: KSN counter has %d one-bits; a device never uses more than %d", bits.OnesCount32(c), maxOnes)
	}
	return nil
}
