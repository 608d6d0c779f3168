package emvcrypto

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"

	"posfw/drivers/emv/tlv"
)

// ACTags is the data the application cryptogram covers, in order (DESIGN §7, the CVN
// 18-style list; Book 2 Table 26 plus the Issuer Application Data): amount authorised,
// amount other, terminal country, TVR, transaction currency, date, type, unpredictable
// number, AIP, ATC, IAD.
var ACTags = []tlv.Tag{0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36, 0x9F10}

// acLengths are the fixed lengths of ACTags but the last (9F10 is variable).
var acLengths = map[tlv.Tag]int{0x9F02: 6, 0x9F03: 6, 0x9F1A: 2, 0x95: 5, 0x5F2A: 2, 0x9A: 3, 0x9C: 1, 0x9F37: 4, 0x82: 2, 0x9F36: 2}

// ACData concatenates the values of ACTags from get. Every element must be present at
// its length: a cryptogram over wrong data would only fail later, at the issuer.
func ACData(get func(tlv.Tag) ([]byte, bool)) ([]byte, error) {
	var b []byte
	for _, t := range ACTags {
		v, ok := get(t)
		if !ok {
			return nil, fmt.Errorf("emvcrypto: cryptogram data lacks %s", t)
		}
		if n, fixed := acLengths[t]; fixed && len(v) != n {
			return nil, fmt.Errorf("emvcrypto: cryptogram data: %s is %d bytes; want %d", t, len(v), n)
		}
		b = append(b, v...)
	}
	return b, nil
}

// Cryptogram computes an application cryptogram (ARQC, TC or AAC: the card decides
// which it calls it) over data under the AC session key.
func Cryptogram(sk, data []byte) ([]byte, error) { return MACAlg3(sk, data) }

// ARPC1 computes the ARPC by method 1 (Book 2 §8.2.1): 3DES(SK)[ARQC ⊕ (ARC ‖ 00…)].
// The Issuer Authentication Data (tag 91) is ARPC ‖ ARC.
func ARPC1(sk, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != 8 || len(arc) != 2 {
		return nil, fmt.Errorf("emvcrypto: ARQC %d bytes and ARC %d bytes; want 8 and 2", len(arqc), len(arc))
	}
	x := append([]byte(nil), arqc...)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	return EncryptECB(sk, x)
}

// IssuerAuthData is tag 91 for method 1: ARPC ‖ ARC.
func IssuerAuthData(sk, arqc, arc []byte) ([]byte, error) {
	arpc, err := ARPC1(sk, arqc, arc)
	if err != nil {
		return nil, err
	}
	return append(arpc, arc...), nil
}

// ErrARPC is returned when Issuer Authentication Data does not verify.
var ErrARPC = errors.New("emvcrypto: ARPC does not verify")

// VerifyIssuerAuthData is the card's check of tag 91 (EXTERNAL AUTHENTICATE or the
// second GENERATE AC): the ARPC in it must be ARPC1 of the card's last ARQC and the ARC
// that follows it. It returns the ARC.
func VerifyIssuerAuthData(sk, arqc, iad []byte) ([]byte, error) {
	if len(iad) != 10 {
		return nil, fmt.Errorf("%w: issuer authentication data is %d bytes; want 10", ErrARPC, len(iad))
	}
	want, err := ARPC1(sk, arqc, iad[8:])
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(want, iad[:8]) != 1 {
		return nil, ErrARPC
	}
	return bytes.Clone(iad[8:]), nil
}

// ScriptMAC is the MAC of an issuer script command with secure messaging (Book 2
// §9.2.1, format 1): MAC algorithm 3 under the integrity session key SK_SMI (SessionKey
// of the card's MK_SMI with r = the ARQC) over CLA INS P1 P2 Lc ‖ ATC ‖ ARQC ‖ data,
// where Lc counts the data and the 8-byte MAC.
func ScriptMAC(skSMI, header, atc, arqc, data []byte) ([]byte, error) {
	if len(header) != 4 {
		return nil, fmt.Errorf("emvcrypto: script command header is %d bytes; want 4", len(header))
	}
	in := append(append([]byte(nil), header...), byte(len(data)+8))
	in = append(append(append(in, atc...), arqc...), data...)
	return MACAlg3(skSMI, in)
}

// ScriptCommand builds an issuer script command with its MAC: header ‖ Lc ‖ data ‖ MAC.
// The host simulator sends it in tag 86 inside template 71 or 72.
func ScriptCommand(skSMI, header, atc, arqc, data []byte) ([]byte, error) {
	mac, err := ScriptMAC(skSMI, header, atc, arqc, data)
	if err != nil {
		return nil, err
	}
	cmd := append(append([]byte(nil), header...), byte(len(data)+8))
	return append(append(cmd, data...), mac...), nil
}
