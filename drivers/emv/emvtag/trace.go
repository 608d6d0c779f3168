package emvtag

import (
	"encoding/hex"
	"fmt"
	"strings"

	"posfw/drivers/emv/apdu"
	"posfw/drivers/emv/tlv"
)

// commandNames names the commands of EMV Book 3 §6.5 and the T=0 GET RESPONSE, by CLA
// class (high nibble 0, 8) and INS.
var commandNames = map[[2]byte]string{
	{0x00, 0xA4}: "SELECT", {0x80, 0xA8}: "GET PROCESSING OPTIONS", {0x00, 0xB2}: "READ RECORD",
	{0x80, 0xCA}: "GET DATA", {0x00, 0x88}: "INTERNAL AUTHENTICATE", {0x80, 0xAE}: "GENERATE AC",
	{0x00, 0x82}: "EXTERNAL AUTHENTICATE", {0x00, 0x84}: "GET CHALLENGE", {0x00, 0x20}: "VERIFY",
	{0x00, 0xC0}: "GET RESPONSE", {0x80, 0x1E}: "APPLICATION BLOCK", {0x80, 0x18}: "APPLICATION UNBLOCK",
	{0x80, 0x16}: "CARD BLOCK", {0x80, 0x24}: "PIN CHANGE/UNBLOCK", {0x80, 0xDA}: "PUT DATA",
}

// TraceCommand describes a command APDU for an APDU trace: its name, header and data.
// The data of VERIFY (a PIN block) and of issuer script commands (a new PIN, data for
// the card) are replaced by their length: a trace never carries a PIN.
func TraceCommand(raw []byte) string {
	c, err := apdu.ParseCommand(raw)
	if err != nil {
		return fmt.Sprintf("C: malformed APDU of %d bytes", len(raw))
	}
	class := c.CLA & 0xF0 // 84 (secure messaging) names as 80, 0C as 00
	if class != 0x00 && class != 0x80 {
		class = c.CLA
	}
	name, known := commandNames[[2]byte{class, c.INS}]
	if !known {
		name = "command"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "C: %s %02X%02X%02X%02X", name, c.CLA, c.INS, c.P1, c.P2)
	switch {
	case len(c.Data) == 0:
	case c.INS == 0x20 || c.INS == 0x24 || c.CLA&0x0C != 0: // VERIFY, PIN CHANGE, secure messaging
		fmt.Fprintf(&b, " data <redacted, %d bytes>", len(c.Data))
	case c.INS == 0xA4 && printable(c.Data):
		fmt.Fprintf(&b, " %q", c.Data)
	default:
		fmt.Fprintf(&b, " %s", strings.ToUpper(hex.EncodeToString(c.Data)))
	}
	if c.Le >= 0 {
		fmt.Fprintf(&b, " Le %02X", c.Le)
	}
	return b.String()
}

// TraceResponse describes a response APDU: its status word and its data as Describe
// gives it (sensitive elements redacted). Data that is not TLV is shown by length only,
// for it could be anything the card holds.
func TraceResponse(raw []byte) string {
	r, err := apdu.ParseResponse(raw)
	if err != nil {
		return fmt.Sprintf("R: malformed response of %d bytes", len(raw))
	}
	head := fmt.Sprintf("R: %04X", r.SW)
	if len(r.Data) == 0 {
		return head
	}
	l, err := tlv.Parse(r.Data)
	if err != nil {
		return fmt.Sprintf("%s, %d bytes that are not TLV", head, len(r.Data))
	}
	return head + "\n" + strings.TrimRight(indent(Describe(l)), "\n")
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "   " + l
		}
	}
	return strings.Join(lines, "")
}
