package emv

import (
	"bytes"
	"fmt"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/emvtag"
	"posfw/drivers/emv/tlv"
)

// TTQ byte 2 bits the reader sets per transaction (qPBOC, JR/T 0025.12 Annex).
const (
	ttqOnlineRequired = 0x80
	ttqCVMRequired    = 0x40
)

// CTQ byte 1 bits (9F6C).
const (
	ctqOnlinePIN       = 0x80
	ctqSignature       = 0x40
	ctqOnlineIfODAFail = 0x20
	ctqSwitchIfODAFail = 0x10
)

// ContactlessAllowed is the pre-processing check before the field is turned on: a
// sale over every contactless transaction limit must be inserted.
func (k *Kernel) ContactlessAllowed(amount int64) bool {
	for _, a := range k.P.AIDs {
		if a.CLTransactionLimit == 0 || amount <= a.CLTransactionLimit {
			return true
		}
	}
	return false
}

// Contactless runs one tap (qPBOC): PPSE, SELECT, GPO — where the card decides online
// (ARQC) or offline (TC, with fDDA) or declines — and the records, all while the card
// is in the field; then the card may go. An Online result waits for Complete with the
// host's answer; there is no second GENERATE AC. Over the contactless transaction
// limit, or when the card asks for another interface, the result is InsertCard.
func (k *Kernel) Contactless(card apdu.Card, txn Txn) (*Transaction, Result) {
	t := k.newTransaction(card, txn, "contactless")
	if err := k.check(); err != nil {
		return t, t.fail(err)
	}
	if !k.ContactlessAllowed(txn.Amount) {
		t.res.Outcome, t.res.Reason = InsertCard, "Over the contactless limit: please insert card"
		return t, t.result()
	}
	if _, err := card.PowerOn(); err != nil {
		return t, t.fail(errChip{err})
	}
	defer card.PowerOff() // one tap: nothing more is asked of the card
	if err := t.tap(); err != nil {
		return t, t.fail(err)
	}
	return t, t.result()
}

func (t *Transaction) tap() error {
	if err := t.selectApplication(true); err != nil {
		return err
	}
	a := t.aidp
	if a.CLTransactionLimit > 0 && t.txn.Amount > a.CLTransactionLimit {
		t.res.Outcome, t.res.Reason = InsertCard, "Over the contactless limit: please insert card"
		return nil
	}
	ttq := bytes.Clone(t.k.P.TTQ)
	if t.txn.Amount > a.CLFloorLimit {
		ttq[1] |= ttqOnlineRequired
	}
	cvmRequired := t.txn.Amount > a.CLCVMLimit
	if cvmRequired {
		ttq[1] |= ttqCVMRequired
	}
	t.data[0x9F66] = ttq
	// GPO: the card's answer is the decision.
	var pdol tlv.DOL
	if raw, ok := t.data[0x9F38]; ok {
		var err error
		if pdol, err = ParseCDOL(raw); err != nil {
			return err
		}
	}
	if !containsTag(pdol, 0x9F66) {
		t.res.Outcome, t.res.Reason = InsertCard, "Card is not a qPBOC card: please insert card"
		return nil
	}
	r, err := t.exchange(apdu.GetProcessingOptions(buildDOL(pdol, t)))
	if err != nil {
		return err
	}
	switch r.SW {
	case apdu.SWOK:
	case 0x6984, apdu.SWConditionsNotSat, 0x6986:
		t.res.Outcome, t.res.Reason = InsertCard, fmt.Sprintf("Card asks for another interface (%04X): please insert card", r.SW)
		return nil
	default:
		return terminate("Card refused the tap (GPO %04X)", r.SW)
	}
	l, err := tlv.Parse(r.Data)
	if err != nil || len(l) != 1 || l[0].Tag != 0x77 {
		return fmt.Errorf("%w: qPBOC GPO answer", ErrCardData)
	}
	if err := t.store(l[0].Children); err != nil {
		return err
	}
	t.signedTVR = bytes.Clone(t.res.TVR[:])
	for _, tag := range []tlv.Tag{0x82, 0x9F36, 0x9F26, 0x9F27, 0x57} {
		if _, ok := t.data[tag]; !ok {
			return fmt.Errorf("%w: qPBOC GPO answer without %s", ErrCardData, tag)
		}
	}
	t.res.AIP = bytes.Clone(t.data[0x82])
	t.res.CID, t.res.ATC, t.res.AC = t.data[0x9F27][0], bytes.Clone(t.data[0x9F36]), bytes.Clone(t.data[0x9F26])
	if err := t.readRecords(); err != nil { // an empty AFL reads nothing: track 2 gives the PAN
		return err
	}
	ctq := t.data[0x9F6C]
	var ctq1 byte
	if len(ctq) == 2 {
		ctq1 = ctq[0]
	}
	switch t.res.CID & 0xC0 {
	case apdu.AAC:
		t.res.Outcome, t.res.ARC = Declined, "Z1"
		return nil
	case apdu.ARQC:
		t.res.Outcome = Online
	case apdu.TC:
		t.res.Outcome, t.res.ARC = Approved, "Y1"
		t.processingRestrictions()
		err := t.fdda()
		switch {
		case err != nil && ctq1&ctqOnlineIfODAFail != 0 && t.onlineCapable():
			t.res.Outcome, t.res.ARC = Online, ""
		case err != nil && ctq1&ctqSwitchIfODAFail != 0:
			t.res.Outcome, t.res.Reason = InsertCard, "Card authentication failed: please insert card"
			return nil
		case err != nil:
			t.res.Outcome, t.res.ARC, t.res.Reason = Declined, "Z1", "Card authentication failed"
			return nil
		case t.res.Has(tvrExpired):
			t.res.Outcome, t.res.ARC, t.res.Reason = Declined, "Z1", "Card expired"
			return nil
		}
	default:
		return terminate("Card answered CID %02X", t.res.CID)
	}
	if t.res.ARC != "" {
		t.data[0x8A] = []byte(t.res.ARC)
	}
	// CVM (qPBOC): only over the CVM limit; the card's CTQ says which.
	switch {
	case !cvmRequired:
		t.res.CVM, t.res.CVMR = NoCVM, [3]byte{0x1F, 0x00, 0x02}
	case ctq1&ctqOnlinePIN != 0 && t.res.Outcome == Online && t.k.P.Capabilities[1]&capOnlinePIN != 0:
		st := PINPadFailed
		if t.k.Hooks.PIN != nil {
			st = t.k.Hooks.PIN(t.res.Card)
		}
		if st == PINEntered {
			t.set(tvrOnlinePIN)
			t.res.CVM, t.res.CVMR = OnlinePIN, [3]byte{0x02, 0x00, 0x00}
			break
		}
		t.set(tvrCVMFailed)
		t.res.CVM, t.res.CVMR = CVMFailed, [3]byte{0x02, 0x00, 0x01}
		t.res.Outcome, t.res.Reason = Declined, "PIN not entered"
	case t.k.P.Capabilities[1]&capSignature != 0:
		t.res.CVM, t.res.CVMR = Signature, [3]byte{0x1E, 0x00, 0x00}
	default:
		t.set(tvrCVMFailed)
		t.res.CVM, t.res.CVMR = CVMFailed, [3]byte{0x3F, 0x00, 0x01}
		t.res.Outcome, t.res.Reason = Declined, "No cardholder verification possible"
	}
	return nil
}

func buildDOL(d tlv.DOL, t *Transaction) []byte {
	t.pdolVal = emvtag.BuildDOL(d, t.dolGet)
	return t.pdolVal
}

// fdda verifies the fast DDA signature of an offline tap (qPBOC): the ICC key from the
// records, the signature over 9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69.
func (t *Transaction) fdda() error {
	t.res.ODA = "fdda"
	t.setTSI(tsiODA)
	key, err := t.recoverICCKey()
	if err != nil {
		t.set(tvrDDAFailed)
		return err
	}
	term := append(append(append(bytes.Clone(t.data[0x9F37]), t.data[0x9F02]...), t.data[0x5F2A]...), t.data[0x9F69]...)
	dyn, err := emvcrypto.VerifyDynamicData(key, t.data[0x9F4B], term)
	if err != nil {
		t.set(tvrDDAFailed)
		return err
	}
	if len(dyn) > 0 && int(dyn[0]) < len(dyn) {
		t.data[0x9F4C] = bytes.Clone(dyn[1 : 1+int(dyn[0])])
	}
	return nil
}
