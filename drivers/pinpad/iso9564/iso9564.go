// Package iso9564 builds and opens clear PIN blocks as specified by ISO 9564-1
// (Financial services — Personal Identification Number (PIN) management and
// security — Part 1: Basic principles and requirements for PINs in card-based
// systems), formats 0 and 3.
//
// Both formats are the XOR of two 16-nibble fields:
//
//	PIN field:  C L P P P P P/F ... P/F F F   C control (0 or 3), L PIN length 4-12,
//	                                          P PIN digit, F fill
//	PAN field:  0 0 0 0 A1 ... A12            the 12 rightmost PAN digits, check
//	                                          digit excluded, zero-padded on the left
//
// Format 0 (ANSI X9.8) fills with F; format 3 fills with random nibbles A-F, so the
// same PIN and PAN do not give the same block twice.
//
// A clear PIN block is as sensitive as the PIN: callers encrypt it at once (see
// package dukpt) and wipe it. Errors here name the problem, never the PIN, the PAN
// or the block. Buffers that held PIN digits are erased with dukpt.Wipe, the one
// wiping routine of the PIN pad code.
package iso9564

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"posfw/drivers/pinpad/dukpt"
)

// BlockSize is the length of a PIN block in bytes.
const BlockSize = 8

// PIN and PAN limits of ISO 9564-1 and ISO/IEC 7812-1.
const (
	MinPINLength = 4
	MaxPINLength = 12
	MinPANLength = 8
	MaxPANLength = 19
	panDigits    = 12 // PAN digits carried in the PAN field
)

// Errors returned for bad input. They are compared with errors.Is; decode errors
// wrap ErrInvalidBlock with the reason.
var (
	ErrPIN          = fmt.Errorf("iso9564: PIN must be %d to %d decimal digits", MinPINLength, MaxPINLength)
	ErrPAN          = fmt.Errorf("iso9564: PAN must be %d to %d decimal digits", MinPANLength, MaxPANLength)
	ErrInvalidBlock = errors.New("iso9564: invalid PIN block")
)

// format describes one PIN block format: its control nibble and which fill nibbles
// it allows. The formats are data so that building and checking share one table.
type format struct {
	control byte
	fillOK  func(nibble byte) bool
}

var (
	format0 = format{control: 0x0, fillOK: func(n byte) bool { return n == 0xF }}
	format3 = format{control: 0x3, fillOK: func(n byte) bool { return n >= 0xA }}
)

// Format0 returns the ISO 9564-1 format 0 clear PIN block for pin and pan. The
// caller encrypts and then wipes it.
func Format0(pin, pan string) ([BlockSize]byte, error) {
	return build(format0, pin, pan, func(fill []byte) error {
		for i := range fill {
			fill[i] = 0xF
		}
		return nil
	})
}

// Format3 returns the ISO 9564-1 format 3 clear PIN block for pin and pan, its fill
// nibbles drawn uniformly from A-F using rnd (crypto/rand when rnd is nil). The
// caller encrypts and then wipes it.
func Format3(pin, pan string, rnd io.Reader) ([BlockSize]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	return build(format3, pin, pan, func(fill []byte) error { return randomFill(fill, rnd) })
}

// DecodeFormat0 recovers the PIN from a format 0 clear PIN block, given the PAN the
// block was built with. A wrong PAN or a block decrypted under the wrong key gives
// an error wrapping ErrInvalidBlock (or, by chance, a wrong PIN).
func DecodeFormat0(block [BlockSize]byte, pan string) (string, error) {
	return decode(format0, block, pan)
}

// DecodeFormat3 recovers the PIN from a format 3 clear PIN block, given the PAN the
// block was built with.
func DecodeFormat3(block [BlockSize]byte, pan string) (string, error) {
	return decode(format3, block, pan)
}

// nibbles is a block spread out one 4-bit digit per byte, the unit the standard
// describes fields in.
type nibbles [2 * BlockSize]byte

func build(f format, pin, pan string, fillWith func([]byte) error) ([BlockSize]byte, error) {
	var out [BlockSize]byte
	if len(pin) < MinPINLength || len(pin) > MaxPINLength || !decimal(pin) {
		return out, ErrPIN
	}
	pf, err := panField(pan)
	if err != nil {
		return out, err
	}
	var n nibbles
	defer dukpt.Wipe(n[:])
	n[0] = f.control
	n[1] = byte(len(pin))
	for i := 0; i < len(pin); i++ {
		n[2+i] = pin[i] - '0'
	}
	if err := fillWith(n[2+len(pin):]); err != nil {
		return out, err
	}
	for i := range n {
		n[i] ^= pf[i]
	}
	for i := range out {
		out[i] = n[2*i]<<4 | n[2*i+1]
	}
	return out, nil
}

func decode(f format, block [BlockSize]byte, pan string) (string, error) {
	pf, err := panField(pan)
	if err != nil {
		return "", err
	}
	var n nibbles
	defer dukpt.Wipe(n[:])
	defer dukpt.Wipe(block[:])
	for i, b := range block {
		n[2*i] = b>>4 ^ pf[2*i]
		n[2*i+1] = b&0xF ^ pf[2*i+1]
	}
	if n[0] != f.control {
		return "", fmt.Errorf("%w: control field is not %X", ErrInvalidBlock, f.control)
	}
	l := int(n[1])
	if l < MinPINLength || l > MaxPINLength {
		return "", fmt.Errorf("%w: PIN length field out of range", ErrInvalidBlock)
	}
	for _, d := range n[2 : 2+l] {
		if d > 9 {
			return "", fmt.Errorf("%w: PIN field holds a non-decimal digit", ErrInvalidBlock)
		}
	}
	for _, d := range n[2+l:] {
		if !f.fillOK(d) {
			return "", fmt.Errorf("%w: fill digits do not match the format", ErrInvalidBlock)
		}
	}
	pin := make([]byte, l)
	defer dukpt.Wipe(pin)
	for i := range pin {
		pin[i] = '0' + n[2+i]
	}
	return string(pin), nil
}

// panField returns the PAN field as nibbles: four zeros, then the 12 rightmost PAN
// digits excluding the check digit, zero-padded on the left when the PAN is short.
func panField(pan string) (nibbles, error) {
	var n nibbles
	if len(pan) < MinPANLength || len(pan) > MaxPANLength || !decimal(pan) {
		return n, ErrPAN
	}
	body := pan[:len(pan)-1] // drop the check digit
	if len(body) > panDigits {
		body = body[len(body)-panDigits:]
	}
	for i, j := len(n)-len(body), 0; j < len(body); i, j = i+1, j+1 {
		n[i] = body[j] - '0'
	}
	return n, nil
}

// randomFill sets each fill nibble to A-F. A random byte maps to one of the six
// values by b%6; bytes of 252 and above are discarded so that all six stay equally
// likely.
func randomFill(fill []byte, rnd io.Reader) error {
	var buf [2 * BlockSize]byte
	defer dukpt.Wipe(buf[:])
	for i := 0; i < len(fill); {
		// Ask only for what is still missing, so a reader holding exactly the
		// bytes needed suffices.
		need := buf[:len(fill)-i]
		if _, err := io.ReadFull(rnd, need); err != nil {
			return fmt.Errorf("iso9564: reading random fill: %w", err)
		}
		for _, b := range need {
			if b >= 252 {
				continue
			}
			fill[i] = 0xA + b%6
			i++
		}
	}
	return nil
}

func decimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
