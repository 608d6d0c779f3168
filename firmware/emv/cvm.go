package emv

import (
	"bytes"
	"encoding/hex"
	"strconv"
)

// cardholderVerification walks the CVM list (Book 3 §10.5) and records 9F34, the TVR
// and the TSI. Offline PIN is not supported by this terminal (no PIN pad link for it):
// such rules fail as unsupported and the list goes on where it allows.
func (t *Transaction) cardholderVerification() error {
	if t.res.AIP[0]&aipCVM == 0 {
		return nil
	}
	raw, ok := t.data[0x8E]
	list, err := ParseCVMList(raw)
	if !ok || err != nil || len(list.Rules) == 0 {
		t.set(tvrICCDataMissing)
		t.res.CVMR = [3]byte{0x3F, 0x00, 0x00}
		return nil
	}
	t.setTSI(tsiCVM)
	performed := false
	for _, r := range list.Rules {
		if !t.conditionMet(r.Cond, list) {
			continue
		}
		status, known := t.perform(r)
		if !known {
			t.set(tvrUnrecognisedCVM)
		}
		switch status {
		case cvmOK:
			return nil
		case cvmUnsupported:
			if r.Cond == 0x03 {
				continue // "if the terminal supports the CVM": not met, next rule
			}
		case cvmFailed:
			performed = true
			t.res.CVMR = [3]byte{r.Code(), r.Cond, 0x01}
		}
		if !r.ApplyNext {
			break
		}
	}
	t.set(tvrCVMFailed)
	t.res.CVM = CVMFailed
	if !performed {
		t.res.CVMR = [3]byte{0x3F, 0x00, 0x01}
	}
	return nil
}

type cvmStatus int

const (
	cvmOK cvmStatus = iota
	cvmFailed
	cvmUnsupported
)

// perform does one CVM. known is false for a method the terminal does not recognise.
func (t *Transaction) perform(r CVMRule) (st cvmStatus, known bool) {
	caps := t.k.P.Capabilities[1]
	switch r.Method {
	case CVMFail:
		t.res.CVMR = [3]byte{r.Code(), r.Cond, 0x01}
		return cvmFailed, true
	case CVMNoCVM:
		if caps&capNoCVM == 0 {
			return cvmUnsupported, true
		}
		t.res.CVM, t.res.CVMR = NoCVM, [3]byte{r.Code(), r.Cond, 0x02}
		return cvmOK, true
	case CVMSignature:
		if caps&capSignature == 0 {
			return cvmUnsupported, true
		}
		t.res.CVM, t.res.CVMR = Signature, [3]byte{r.Code(), r.Cond, 0x00}
		return cvmOK, true
	case CVMOnlinePIN:
		if caps&capOnlinePIN == 0 {
			return cvmUnsupported, true
		}
		st := PINPadFailed
		if t.k.Hooks.PIN != nil {
			st = t.k.Hooks.PIN(t.res.Card)
		}
		switch st {
		case PINEntered:
			t.set(tvrOnlinePIN)
			t.onlinePIN = true
			t.res.CVM, t.res.CVMR = OnlinePIN, [3]byte{r.Code(), r.Cond, 0x00}
			return cvmOK, true
		case PINBypassed:
			t.set(tvrPINNotEntered)
		default:
			t.set(tvrPadAbsent)
		}
		t.res.CVMR = [3]byte{r.Code(), r.Cond, 0x01}
		return cvmFailed, true
	case CVMPlainPIN, CVMPlainPINSig, CVMEncPIN, CVMEncPINSig:
		return cvmUnsupported, true
	}
	return cvmUnsupported, r.Method <= cvmRecognisedMax
}

// conditionMet evaluates a CVM condition code (Book 3 Annex C3 Table 40). An unknown
// code is not met.
func (t *Transaction) conditionMet(cond byte, l CVMList) bool {
	attended := t.k.P.TerminalType&0x0F <= 3
	cash := t.txn.Type == 0x01
	inAppCurrency := bytes.Equal(t.data[0x9F42], t.k.P.Currency)
	amt := t.txn.Amount
	switch cond {
	case 0x00:
		return true
	case 0x01:
		return !attended && cash
	case 0x02:
		return !cash && t.txn.Type != 0x09
	case 0x03:
		return true // "if the terminal supports the CVM": perform judges it
	case 0x04:
		return attended && cash
	case 0x05:
		return t.txn.Type == 0x09
	case 0x06:
		return inAppCurrency && amt < int64(l.X)
	case 0x07:
		return inAppCurrency && amt > int64(l.X)
	case 0x08:
		return inAppCurrency && amt < int64(l.Y)
	case 0x09:
		return inAppCurrency && amt > int64(l.Y)
	}
	return false
}

// amountOf reads an n 12 amount.
func amountOf(b []byte) int64 {
	v, err := strconv.ParseInt(hex.EncodeToString(b), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
