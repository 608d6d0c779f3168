package emv

import (
	"bytes"
	"errors"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/emvtag"
)

// HostResult is the host's answer to the authorisation request.
type HostResult struct {
	// Answered is false when no valid answer came (timeout, no line): the kernel
	// then decides by the default action codes, as "unable to go online".
	Answered bool
	// ResponseCode is the ISO 8583 response code (field 39), the ARC when field 55
	// carries no 8A.
	ResponseCode string
	// ICC is the host's field 55, read by ParseHostICC.
	ICC HostICC
}

// approving reports whether an ARC approves (PBOC: 00, and 10/11 partial/VIP).
func approving(arc string) bool { return arc == "00" || arc == "10" || arc == "11" }

// Complete finishes an Online contact transaction with the host's answer (Book 3
// §10.9–10.11): issuer authentication (EXTERNAL AUTHENTICATE, or 91 in CDOL2), the
// scripts of template 71, the second GENERATE AC, the scripts of 72. The result is
// Approved, Declined, or ReverseApproved (the host approved and the card did not).
// For a tap the card is gone: the host's answer decides alone.
func (t *Transaction) Complete(h HostResult) Result {
	if t.res.Outcome != Online {
		return t.result()
	}
	// Field 39 is the host's decision: the MAC and the echoes were checked on it. The ARC
	// in 55 (8A) is what the card is told; if the two disagree the card is asked to
	// decline — an approval in 39 then ends reversed, never a TC the journal calls a
	// decline.
	arc := h.ICC.ARC
	if arc == "" {
		arc = h.ResponseCode
	}
	approved39 := h.Answered && approving(h.ResponseCode) // the journal's approval: reversed unless the card agrees
	hostApproved := approved39 && approving(arc)
	if h.Answered && !hostApproved && approving(arc) {
		arc = h.ResponseCode
	}
	if t.res.Interface == "contactless" {
		t.res.ARC = arc
		t.data[0x8A] = []byte(arc)
		if hostApproved {
			t.res.Outcome = Approved
		} else {
			t.res.Outcome = Declined
		}
		return t.result()
	}
	defer t.card.PowerOff()
	want := byte(apdu.AAC)
	switch {
	case !h.Answered:
		// Unable to go online (Book 3 §10.11): the default action codes decide.
		want, arc = apdu.TC, "Y3"
		if t.matches(t.aidp.TACDefault, t.actionCode(0x9F0D, 0xFF)) {
			want, arc = apdu.AAC, "Z3"
		}
	case hostApproved:
		want = apdu.TC
	}
	if len(arc) != 2 {
		arc = "Z3"
	}
	t.res.ARC = arc
	t.data[0x8A] = []byte(arc)

	if err := t.issuerAuthentication(h); err != nil {
		return t.cardGone(approved39)
	}
	if err := t.scripts(h.ICC.Scripts71, tvrScriptBefore); err != nil {
		return t.cardGone(approved39)
	}
	err := t.secondGenerateAC(want)
	if errors.Is(err, errCardGone) {
		return t.cardGone(approved39)
	}
	var cardTC bool
	if err == nil {
		cardTC = t.res.CID&0xC0 == apdu.TC
		t.scripts(h.ICC.Scripts72, tvrScriptAfter) // the card's decision stands whatever they do
	}
	switch {
	case hostApproved && cardTC:
		t.res.Outcome = Approved
	case approved39:
		t.res.Outcome = ReverseApproved
		t.res.Reason = "Card declined after host approval"
		if err != nil {
			t.res.Reason += ": " + err.Error()
		}
	case !h.Answered && cardTC:
		t.res.Outcome = Approved // offline approval after the host did not answer (Y3)
	default:
		t.res.Outcome = Declined
	}
	return t.result()
}

// Abort ends an Online transaction that will not be completed (the sale was
// cancelled before the host was asked): the card is asked for an AAC, as EMV ends a
// transaction the terminal gives up, and powered off. The result is Declined.
func (t *Transaction) Abort() Result {
	if t.res.Outcome != Online {
		return t.result()
	}
	defer t.card.PowerOff()
	t.res.ARC, t.data[0x8A] = "Z3", []byte("Z3")
	if t.res.Interface == "contact" {
		t.secondGenerateAC(apdu.AAC) // its answer cannot change the outcome
	}
	t.res.Outcome, t.res.Reason = Declined, "Cancelled"
	return t.result()
}

// cardGone ends a transaction whose card stopped answering after the host's answer.
func (t *Transaction) cardGone(hostApproved bool) Result {
	if hostApproved {
		t.res.Outcome, t.res.Reason = ReverseApproved, "Card removed after host approval"
	} else {
		t.res.Outcome, t.res.Reason = Declined, "Card removed"
	}
	return t.result()
}

// issuerAuthentication sends 91 by EXTERNAL AUTHENTICATE when the card supports it and
// its CDOL2 does not ask for 91 itself.
func (t *Transaction) issuerAuthentication(h HostResult) error {
	iad := h.ICC.IssuerAuth
	if len(iad) == 0 || t.res.AIP[0]&aipIssuerAuth == 0 {
		return nil
	}
	t.data[0x91] = bytes.Clone(iad)
	if cdol2, err := ParseCDOL(t.data[0x8D]); err == nil && containsTag(cdol2, 0x91) {
		return nil // it goes to the card with the second GENERATE AC
	}
	r, err := t.exchange(apdu.ExternalAuthenticate(iad))
	if err != nil {
		return err
	}
	t.setTSI(tsiIssuerAuth)
	if r.SW != apdu.SWOK {
		t.set(tvrIssuerAuthFailed)
	}
	return nil
}

// scripts runs issuer scripts (Book 3 §10.10): each command in turn; a status other
// than 90xx, 62xx or 63xx ends that script as failed. 9F5B gets a result per script.
func (t *Transaction) scripts(scripts []Script, failBit Bit) error {
	for _, s := range scripts {
		t.setTSI(tsiScripts)
		result := byte(0x20) // performed
		for i, c := range s.Commands {
			r, err := t.exchangeRaw(c)
			if err != nil {
				t.res.Scripts = append(t.res.Scripts, append([]byte{0x10 | byte(min(i+1, 14))}, scriptID(s)...)...)
				t.set(failBit)
				return err
			}
			if sw1 := r.SW >> 8; sw1 != 0x90 && sw1 != 0x62 && sw1 != 0x63 {
				result = 0x10 | byte(min(i+1, 14))
				t.set(failBit)
				break
			}
		}
		t.res.Scripts = append(t.res.Scripts, append([]byte{result}, scriptID(s)...)...)
	}
	return nil
}

func scriptID(s Script) []byte {
	if len(s.ID) == 4 {
		return bytes.Clone(s.ID)
	}
	return []byte{0, 0, 0, 0}
}

// exchangeRaw sends an issuer script command as the issuer built it.
func (t *Transaction) exchangeRaw(raw []byte) (apdu.Response, error) {
	if t.k.Trace != nil {
		t.k.Trace(emvtag.TraceCommand(raw))
	}
	r, err := apdu.Exchange(t.card, raw)
	if err != nil {
		return r, errors.Join(errCardGone, err)
	}
	if t.k.Trace != nil {
		t.k.Trace(emvtag.TraceResponse(r.Bytes()))
	}
	return r, nil
}

// secondGenerateAC asks for TC or AAC with CDOL2 (Book 3 §10.11).
func (t *Transaction) secondGenerateAC(want byte) error {
	cdol2, err := ParseCDOL(t.data[0x8D])
	if err != nil {
		return err
	}
	v := emvtag.BuildDOL(cdol2, t.dolGet)
	p1 := want
	cda := t.res.ODA == "cda" && want == apdu.TC && t.iccKey != nil
	if cda {
		p1 |= apdu.CDA
	}
	r, err := t.exchange(apdu.GenerateAC(p1, v))
	if err != nil {
		return err
	}
	if r.SW != apdu.SWOK {
		t.res.CID = apdu.AAC
		return errors.New("card refused the second GENERATE AC (" + swString(r.SW) + ")")
	}
	ac, err := t.takeAC(r.Data, cda, v)
	if err != nil {
		t.res.CID = apdu.AAC
		return err
	}
	if ac.CID&0xC0 == apdu.TC && want == apdu.AAC {
		t.res.CID = apdu.AAC // never more than asked
	}
	return nil
}

func swString(sw uint16) string {
	const hexd = "0123456789ABCDEF"
	return string([]byte{hexd[sw>>12], hexd[sw>>8&0xF], hexd[sw>>4&0xF], hexd[sw&0xF]})
}
