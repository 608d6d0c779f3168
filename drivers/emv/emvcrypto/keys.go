package emvcrypto

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

func digits(s, what string) error {
	if s == "" {
		return fmt.Errorf("emvcrypto: empty %s", what)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return fmt.Errorf("emvcrypto: %s has a non-digit", what)
		}
	}
	return nil
}

// ICCMasterKeyA derives a card's master key from the issuer master key by EMV Option A
// (Book 2 Annex A1.4.1): Y = the rightmost 16 digits of PAN ‖ PSN (left-padded with
// zeros), Z = 3DES(IMK)[Y ‖ Y ⊕ FF…], parity adjusted. psn "" means 00.
func ICCMasterKeyA(imk []byte, pan, psn string) ([]byte, error) {
	y, err := optionAData(pan, psn)
	if err != nil {
		return nil, err
	}
	return deriveMK(imk, y)
}

func optionAData(pan, psn string) ([]byte, error) {
	if psn == "" {
		psn = "00"
	}
	if err := digits(pan, "PAN"); err != nil {
		return nil, err
	}
	if err := digits(psn, "PAN sequence number"); err != nil {
		return nil, err
	}
	s := pan + psn
	if len(s) > 16 {
		s = s[len(s)-16:]
	}
	s = strings.Repeat("0", 16-len(s)) + s
	return hex.DecodeString(s)
}

func deriveMK(imk, y []byte) ([]byte, error) {
	in := make([]byte, 16)
	copy(in, y)
	for i := range 8 {
		in[8+i] = y[i] ^ 0xFF
	}
	z, err := EncryptECB(imk, in)
	if err != nil {
		return nil, err
	}
	return AdjustParity(z), nil
}

// ICCMasterKeyB derives by EMV Option B (Book 2 Annex A1.4.2), for PANs longer than 16
// digits: SHA-1 of the PAN ‖ PSN packed in BCD, decimalised to 16 digits; a PAN ‖ PSN of
// 16 digits or fewer uses Option A. It is here for Visa CVN 18's published vector.
func ICCMasterKeyB(imk []byte, pan, psn string) ([]byte, error) {
	if psn == "" {
		psn = "00"
	}
	if len(pan) <= 16 {
		return ICCMasterKeyA(imk, pan, psn)
	}
	if err := digits(pan+psn, "PAN and PAN sequence number"); err != nil {
		return nil, err
	}
	s := pan + psn
	if len(s)%2 == 1 {
		s = "0" + s
	}
	packed, _ := hex.DecodeString(s)
	sum := sha1.Sum(packed)
	h := hex.EncodeToString(sum[:])
	var y []byte
	for _, c := range h {
		if c >= '0' && c <= '9' && len(y) < 16 {
			y = append(y, byte(c))
		}
	}
	for _, c := range h {
		if c >= 'a' && c <= 'f' && len(y) < 16 {
			y = append(y, byte(c-'a'+'0'))
		}
	}
	yb, _ := hex.DecodeString(string(y))
	return deriveMK(imk, yb)
}

// SessionKey derives the common session key from a card master key and a
// diversification value r of 8 bytes (Book 2 Annex A1.3.1): SK = 3DES(MK)[r with byte
// 3 = F0 ‖ r with byte 3 = 0F], parity adjusted.
func SessionKey(mk, r []byte) ([]byte, error) {
	if len(r) != 8 {
		return nil, fmt.Errorf("emvcrypto: diversification value is %d bytes; want 8", len(r))
	}
	in := make([]byte, 16)
	copy(in, r)
	copy(in[8:], r)
	in[2], in[10] = 0xF0, 0x0F
	sk, err := EncryptECB(mk, in)
	if err != nil {
		return nil, err
	}
	return AdjustParity(sk), nil
}

// ACSessionKey is the application cryptogram session key for an ATC: SessionKey with
// r = ATC ‖ 00 00 00 00 00 00.
func ACSessionKey(mk, atc []byte) ([]byte, error) {
	if len(atc) != 2 {
		return nil, fmt.Errorf("emvcrypto: ATC is %d bytes; want 2", len(atc))
	}
	return SessionKey(mk, append(append([]byte(nil), atc...), 0, 0, 0, 0, 0, 0))
}
