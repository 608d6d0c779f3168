package emvcrypto

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"posfw/drivers/emv/tlv"
)

// Issuer is the issuer's side of the cryptogram scheme of DESIGN §7, for the host
// simulator: it holds the issuer master keys and derives each card's keys from its PAN
// and PAN sequence number (Option A), as a real issuer's HSM does.
type Issuer struct {
	MKAC  []byte // issuer master key for application cryptograms
	MKSMI []byte // issuer master key for secure messaging integrity (scripts)
}

// TestIssuer is the issuer named name of the test PKI (TestIssuerMasterKey): the card
// simulator's profiles name it, and the host simulator holds the same keys.
func TestIssuer(name string) Issuer {
	return Issuer{MKAC: TestIssuerMasterKey(name, "AC"), MKSMI: TestIssuerMasterKey(name, "SMI")}
}

// CardKeys derives a card's master keys (AC and SMI) by Option A.
func (is Issuer) CardKeys(pan, psn string) (mkAC, mkSMI []byte, err error) {
	if mkAC, err = ICCMasterKeyA(is.MKAC, pan, psn); err != nil {
		return nil, nil, err
	}
	if mkSMI, err = ICCMasterKeyA(is.MKSMI, pan, psn); err != nil {
		return nil, nil, err
	}
	return mkAC, mkSMI, nil
}

// ErrCryptogram is returned when an ARQC (or TC, AAC) does not verify.
var ErrCryptogram = errors.New("emvcrypto: application cryptogram does not verify")

// VerifyCryptogram checks an application cryptogram (9F26) against the data the
// terminal sent in field 55 (get returns each of ACTags).
func (is Issuer) VerifyCryptogram(pan, psn string, get func(tlv.Tag) ([]byte, bool), ac []byte) error {
	sk, err := is.sessionKey(pan, psn, get)
	if err != nil {
		return err
	}
	data, err := ACData(get)
	if err != nil {
		return err
	}
	want, err := Cryptogram(sk, data)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, ac) != 1 {
		return ErrCryptogram
	}
	return nil
}

func (is Issuer) sessionKey(pan, psn string, get func(tlv.Tag) ([]byte, bool)) ([]byte, error) {
	mk, err := ICCMasterKeyA(is.MKAC, pan, psn)
	if err != nil {
		return nil, err
	}
	atc, ok := get(0x9F36)
	if !ok {
		return nil, fmt.Errorf("emvcrypto: no ATC (9F36)")
	}
	return ACSessionKey(mk, atc)
}

// IssuerAuthData is the answer's tag 91 (ARPC method 1 ‖ ARC) for the card's ARQC.
func (is Issuer) IssuerAuthData(pan, psn string, atc, arqc, arc []byte) ([]byte, error) {
	sk, err := is.sessionKey(pan, psn, func(tlv.Tag) ([]byte, bool) { return atc, true })
	if err != nil {
		return nil, err
	}
	return IssuerAuthData(sk, arqc, arc)
}

// ScriptCommand builds an issuer script command for the card (tag 86): its MAC under
// the card's SMI session key for this ARQC.
func (is Issuer) ScriptCommand(pan, psn string, atc, arqc, header, data []byte) ([]byte, error) {
	_, mkSMI, err := is.CardKeys(pan, psn)
	if err != nil {
		return nil, err
	}
	sk, err := SessionKey(mkSMI, arqc)
	if err != nil {
		return nil, err
	}
	return ScriptCommand(sk, header, atc, arqc, data)
}
