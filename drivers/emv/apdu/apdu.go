// Package apdu is the command and response units of ISO/IEC 7816-4 as EMV uses them
// (EMV 4.4 Book 1 §9 and Book 3 §6): building and parsing APDUs, the status words, the
// Card interface every chip transport implements (the card simulator, the sim board's
// framed serial reader, PC/SC), and Exchange, which handles a T=0 card's 61xx (GET
// RESPONSE) and 6Cxx (wrong Le) answers as EMV Book 1 §9.3.1 asks of a terminal.
package apdu

import (
	"errors"
	"fmt"
)

// Card is a chip card behind any transport.
type Card interface {
	// PowerOn resets the card and returns its Answer To Reset.
	PowerOn() (atr []byte, err error)
	// Transmit sends one command APDU and returns the response APDU (data and SW1 SW2).
	Transmit(apdu []byte) ([]byte, error)
	// PowerOff deactivates the card.
	PowerOff() error
}

// Status words EMV kernels and the simulator use (ISO/IEC 7816-4 §5.6).
const (
	SWOK                  = 0x9000
	SWWarningSelected     = 0x6283 // selected file invalidated: a blocked application
	SWVerifyFailed        = 0x6300 // authentication failed (EXTERNAL AUTHENTICATE)
	SWWrongLength         = 0x6700
	SWSecurityNotSat      = 0x6982
	SWAuthBlocked         = 0x6983
	SWConditionsNotSat    = 0x6985
	SWWrongData           = 0x6A80
	SWFuncNotSupported    = 0x6A81 // card or application blocked
	SWFileNotFound        = 0x6A82
	SWRecordNotFound      = 0x6A83
	SWIncorrectP1P2       = 0x6A86
	SWReferencedNotFound  = 0x6A88 // GET DATA of an object the card does not have
	SWInsNotSupported     = 0x6D00
	SWClassNotSupported   = 0x6E00
	sw1MoreData           = 0x61
	sw1WrongLe            = 0x6C
	insGetResponse        = 0xC0
	maxGetResponseRounds  = 64
	maxResponseAccumulate = 4096
)

// Command is a command APDU. Le < 0 means none (cases 1 and 3); Le 0 asks for up to 256
// bytes.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Le               int
}

// Bytes encodes a short APDU (EMV uses no extended lengths).
func (c Command) Bytes() []byte {
	b := []byte{c.CLA, c.INS, c.P1, c.P2}
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Le >= 0 {
		b = append(b, byte(c.Le))
	}
	return b
}

// ErrMalformed is returned for a command or response that is not a short APDU.
var ErrMalformed = errors.New("apdu: malformed APDU")

// ParseCommand decodes a short command APDU: 4 bytes (case 1), 5 (case 2: Le), 5+Lc
// (case 3) or 6+Lc (case 4).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: -1}
	rest := b[4:]
	switch {
	case len(rest) == 0:
	case len(rest) == 1:
		c.Le = int(rest[0])
	default:
		lc := int(rest[0])
		switch {
		case lc == 0:
			return Command{}, fmt.Errorf("%w: Lc 0", ErrMalformed)
		case len(rest) == 1+lc:
		case len(rest) == 2+lc:
			c.Le = int(rest[1+lc])
		default:
			return Command{}, fmt.Errorf("%w: Lc %d with %d bytes after it", ErrMalformed, lc, len(rest)-1)
		}
		c.Data = rest[1 : 1+lc : 1+lc]
	}
	return c, nil
}

// Response is a response APDU.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes", ErrMalformed, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes encodes the response.
func (r Response) Bytes() []byte {
	return append(append([]byte(nil), r.Data...), byte(r.SW>>8), byte(r.SW))
}

// OK reports whether the status word is 9000.
func (r Response) OK() bool { return r.SW == SWOK }

// Exchange sends cmd and returns the card's final answer: on 61xx it fetches the data
// with GET RESPONSE (again while the card says more), on 6Cxx it sends the command
// again with Le = xx. A contactless or T=1 card never answers so, and passes through.
func Exchange(card Card, cmd []byte) (Response, error) {
	raw, err := card.Transmit(cmd)
	if err != nil {
		return Response{}, err
	}
	r, err := ParseResponse(raw)
	if err != nil {
		return Response{}, err
	}
	if c, perr := ParseCommand(cmd); r.SW>>8 == sw1WrongLe && perr == nil {
		c.Le = int(r.SW & 0xFF)
		if raw, err = card.Transmit(c.Bytes()); err != nil {
			return Response{}, err
		}
		if r, err = ParseResponse(raw); err != nil {
			return Response{}, err
		}
	}
	data := append([]byte(nil), r.Data...)
	for range maxGetResponseRounds {
		if r.SW>>8 != sw1MoreData {
			return Response{Data: data, SW: r.SW}, nil
		}
		gr := Command{CLA: 0x00, INS: insGetResponse, Le: int(r.SW & 0xFF)}
		if raw, err = card.Transmit(gr.Bytes()); err != nil {
			return Response{}, err
		}
		if r, err = ParseResponse(raw); err != nil {
			return Response{}, err
		}
		data = append(data, r.Data...)
		if len(data) > maxResponseAccumulate {
			break
		}
	}
	return Response{}, fmt.Errorf("%w: the card keeps answering 61xx", ErrMalformed)
}

// The EMV commands a kernel sends (Book 3 §6.5).

// SelectByName is SELECT by DF name (an AID, 1PAY.SYS.DDF01 or 2PAY.SYS.DDF01); next
// asks for the next application with the same partial name.
func SelectByName(name []byte, next bool) Command {
	c := Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00, Data: name, Le: 0}
	if next {
		c.P2 = 0x02
	}
	return c
}

// GetProcessingOptions is GPO with the PDOL's value wrapped in tag 83.
func GetProcessingOptions(pdolValue []byte) Command {
	data := append([]byte{0x83, byte(len(pdolValue))}, pdolValue...)
	return Command{CLA: 0x80, INS: 0xA8, Data: data, Le: 0}
}

// ReadRecord reads record rec of the file with short identifier sfi.
func ReadRecord(sfi, rec byte) Command {
	return Command{CLA: 0x00, INS: 0xB2, P1: rec, P2: sfi<<3 | 4, Le: 0}
}

// GetData reads a data object such as the ATC (9F36) or PIN try counter (9F17).
func GetData(tag uint16) Command {
	return Command{CLA: 0x80, INS: 0xCA, P1: byte(tag >> 8), P2: byte(tag), Le: 0}
}

// InternalAuthenticate asks the card to sign the DDOL's value (DDA).
func InternalAuthenticate(ddolValue []byte) Command {
	return Command{CLA: 0x00, INS: 0x88, Data: ddolValue, Le: 0}
}

// Reference control parameters of GENERATE AC (Book 3 Table 12).
const (
	AAC  = 0x00
	TC   = 0x40
	ARQC = 0x80
	CDA  = 0x10 // combined DDA/AC generation requested
)

// GenerateAC asks for a cryptogram of type p1 (AAC, TC, ARQC, maybe | CDA) over the
// CDOL's value.
func GenerateAC(p1 byte, cdolValue []byte) Command {
	return Command{CLA: 0x80, INS: 0xAE, P1: p1, Data: cdolValue, Le: 0}
}

// ExternalAuthenticate sends the Issuer Authentication Data (tag 91) to the card.
func ExternalAuthenticate(issuerAuthData []byte) Command {
	return Command{CLA: 0x00, INS: 0x82, Data: issuerAuthData, Le: -1}
}
