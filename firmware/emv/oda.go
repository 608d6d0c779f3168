package emv

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
)

// iccKey is the card's recovered public key.
type iccKey struct{ key emvcrypto.PublicKey }

// AIP bits (Book 3 Annex C1).
const (
	aipSDA        = 0x40
	aipDDA        = 0x20
	aipCVM        = 0x10
	aipTRM        = 0x08
	aipIssuerAuth = 0x04
	aipCDA        = 0x01
)

// offlineDataAuthentication picks CDA, else DDA, else SDA as both sides support them
// (Book 3 §10.3) and performs it; failures set TVR bits, the action codes decide.
func (t *Transaction) offlineDataAuthentication() error {
	aip, caps := t.res.AIP[0], t.k.P.Capabilities[2]
	var err error
	switch {
	case aip&aipCDA != 0 && caps&capCDA != 0:
		t.res.ODA = "cda"
		if _, err = t.recoverICCKey(); err != nil {
			t.set(tvrCDAFailed)
		}
		// The signature comes with GENERATE AC.
	case aip&aipDDA != 0 && caps&capDDA != 0:
		t.res.ODA = "dda"
		if err = t.dda(); err != nil {
			if errors.Is(err, errCardGone) {
				return err
			}
			t.set(tvrDDAFailed)
		}
	case aip&aipSDA != 0 && caps&capSDA != 0:
		t.res.ODA = "sda"
		if err = t.sda(); err != nil {
			t.set(tvrSDAFailed)
		}
	default:
		t.set(tvrODANotPerformed)
		return nil
	}
	t.setTSI(tsiODA)
	return nil
}

// staticData is the records' ODA data plus the objects 9F4A names (only the AIP may be
// named, Book 3 §10.3).
func (t *Transaction) staticData() ([]byte, error) {
	if !t.staticOK {
		return nil, fmt.Errorf("static data not read")
	}
	s := bytes.Clone(t.static)
	if tl, ok := t.data[0x9F4A]; ok {
		if !bytes.Equal(tl, []byte{0x82}) {
			return nil, fmt.Errorf("static data tag list %X names more than the AIP", tl)
		}
		s = append(s, t.res.AIP...)
	}
	return s, nil
}

func (t *Transaction) panBytes() []byte { return t.data[0x5A] }

// issuerKey recovers the issuer public key under the CA key (Book 2 §5.3, §6.3).
func (t *Transaction) issuerKey() (emvcrypto.PublicKey, error) {
	idx := t.data[0x8F]
	if len(idx) != 1 || len(t.res.AID) < 5 {
		return emvcrypto.PublicKey{}, fmt.Errorf("no CA public key index")
	}
	ca, ok := t.k.P.capk(t.res.AID[:5], idx[0])
	if !ok {
		return emvcrypto.PublicKey{}, fmt.Errorf("no CA public key %X/%02X", t.res.AID[:5], idx[0])
	}
	cert, err := emvcrypto.RecoverIssuerCert(ca, t.data[0x90], t.data[0x92], t.data[0x9F32], t.panBytes())
	if err != nil {
		return emvcrypto.PublicKey{}, err
	}
	if certExpired(cert.Expiry, t.txn.Time.Format("0601")) {
		return emvcrypto.PublicKey{}, fmt.Errorf("issuer certificate expired")
	}
	return cert.Key, nil
}

// certExpired compares a certificate's MMYY with today's YYMM.
func certExpired(mmyy []byte, todayYYMM string) bool {
	if len(mmyy) != 2 {
		return true
	}
	h := hex.EncodeToString(mmyy)
	return century(h[2:4]+h[0:2]+"01") < century(todayYYMM+"01")
}

func (t *Transaction) sda() error {
	static, err := t.staticData()
	if err != nil {
		return err
	}
	ik, err := t.issuerKey()
	if err != nil {
		return err
	}
	dac, err := emvcrypto.VerifyStaticData(ik, t.data[0x93], static)
	if err != nil {
		return err
	}
	t.data[0x9F45] = dac
	return nil
}

func (t *Transaction) recoverICCKey() (emvcrypto.PublicKey, error) {
	static, err := t.staticData()
	if err != nil {
		return emvcrypto.PublicKey{}, err
	}
	ik, err := t.issuerKey()
	if err != nil {
		return emvcrypto.PublicKey{}, err
	}
	cert, err := emvcrypto.RecoverICCCert(ik, t.data[0x9F46], t.data[0x9F48], t.data[0x9F47], t.panBytes(), static)
	if err != nil {
		return emvcrypto.PublicKey{}, err
	}
	if certExpired(cert.Expiry, t.txn.Time.Format("0601")) {
		return emvcrypto.PublicKey{}, fmt.Errorf("ICC certificate expired")
	}
	t.iccKey = &iccKey{cert.Key}
	return cert.Key, nil
}

// dda: INTERNAL AUTHENTICATE with the DDOL and the signature's check (Book 2 §6.5).
func (t *Transaction) dda() error {
	key, err := t.recoverICCKey()
	if err != nil {
		return err
	}
	raw, ok := t.data[0x9F49]
	if !ok {
		raw = t.aidp.DefaultDDOL
	}
	ddol, err := ParseCDOL(raw)
	if err != nil {
		return err
	}
	if !containsTag(ddol, 0x9F37) {
		return fmt.Errorf("DDOL without the unpredictable number")
	}
	val := emvtag.BuildDOL(ddol, t.dolGet)
	r, err := t.exchange(apdu.InternalAuthenticate(val))
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		return fmt.Errorf("INTERNAL AUTHENTICATE %04X", r.SW)
	}
	l, err := tlv.Parse(r.Data)
	if err != nil || len(l) != 1 {
		return fmt.Errorf("INTERNAL AUTHENTICATE answer")
	}
	sdad := l[0].Value
	if l[0].Tag == 0x77 {
		sdad = l[0].Children.Value(0x9F4B)
	} else if l[0].Tag != 0x80 {
		return fmt.Errorf("INTERNAL AUTHENTICATE answer template %s", l[0].Tag)
	}
	dyn, err := emvcrypto.VerifyDynamicData(key, sdad, val)
	if err != nil {
		return err
	}
	if len(dyn) > 0 && int(dyn[0]) < len(dyn) {
		t.data[0x9F4C] = bytes.Clone(dyn[1 : 1+int(dyn[0])])
	}
	return nil
}

func containsTag(d tlv.DOL, tag tlv.Tag) bool {
	for _, e := range d {
		if e.Tag == tag {
			return true
		}
	}
	return false
}

// verifyCDA checks a GENERATE AC answer's signed dynamic data and returns the
// cryptogram inside it (Book 2 §6.6.2).
func (t *Transaction) verifyCDA(ac ACResponse, cdol2V []byte) ([]byte, error) {
	if t.iccKey == nil {
		return nil, fmt.Errorf("no ICC key")
	}
	if len(ac.SDAD) == 0 {
		return nil, fmt.Errorf("no signed dynamic data")
	}
	dyn, err := emvcrypto.VerifyDynamicData(t.iccKey.key, ac.SDAD, t.data[0x9F37])
	if err != nil {
		return nil, err
	}
	if len(dyn) < 1 || int(dyn[0])+1 > len(dyn) {
		return nil, fmt.Errorf("CDA dynamic data")
	}
	d, err := emvcrypto.ParseCDADynamicData(dyn)
	if err != nil {
		return nil, err
	}
	if d.CID != ac.CID {
		return nil, fmt.Errorf("CDA: signed CID %02X, answered %02X", d.CID, ac.CID)
	}
	want := emvcrypto.TransactionDataHash(t.pdolVal, t.cdol1V, cdol2V, ac.Objs)
	if subtle.ConstantTimeCompare(want, d.TxnHash) != 1 {
		return nil, fmt.Errorf("CDA: transaction data hash differs")
	}
	t.data[0x9F4C] = bytes.Clone(d.Number)
	return d.AC, nil
}
