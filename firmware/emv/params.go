// Package emv is the terminal's EMV/PBOC kernel: contact (EMV 4.4 Book 3 and 4, PBOC 3.0
// JR/T 0025) and contactless in the qPBOC style (JR/T 0025.12), over any apdu.Card —
// a cardsim card in tests, a chip reader on a serial line, a PC/SC reader.
//
// It is pure logic in the manner of firmware/txn: it imports drivers/emv/* and nothing
// of the journal, the host link or the screens. What the terminal decides comes in as
// Params (data) and Hooks (the cashier's choice of application, the PIN pad); what the
// host answered comes in through Transaction.Complete. Card data (PAN, track 2, expiry)
// stays in memory on the Result for the host message and is redacted by its String.
package emv

import (
	"bytes"
	"fmt"

	"posfw/drivers/emv/emvcrypto"
)

// AIDParams are the terminal's parameters of one application it accepts.
type AIDParams struct {
	AID     []byte // the terminal's AID (9F06)
	Partial bool   // partial selection: a card AID that begins with AID matches
	Label   string // what the terminal calls it when the card gives no label
	Version []byte // terminal application version number (9F09), 2 bytes

	// Terminal action codes (Book 3 §10.7), 5 bytes each, as the TVR.
	TACDenial, TACOnline, TACDefault []byte

	// Terminal risk management (Book 3 §10.6), amounts in minor units.
	FloorLimit      int64 // at or above it the transaction goes online
	RandomThreshold int64 // below it, RandomTarget percent are sent online at random
	RandomTarget    int   // target percentage, 0–99
	RandomMax       int   // maximum target percentage, up to the floor limit, 0–99

	DefaultDDOL []byte // DDOL when the card has none (9F37 by default)

	// Contactless (qPBOC) limits, minor units; 0 means none.
	CLTransactionLimit int64 // above it: "please insert card"
	CLCVMLimit         int64 // above it a CVM is required
	CLFloorLimit       int64 // above it an online cryptogram is required
}

// CAPK is a certification authority public key (Book 2 §11.2.2) by RID and index.
type CAPK struct {
	RID   []byte // 5 bytes
	Index byte   // tag 8F on the card
	Key   emvcrypto.PublicKey
}

// Params are the terminal's EMV parameters: what the acquirer downloads (AIDs, CA
// public keys) and what the terminal is (capabilities, type, country, currency).
type Params struct {
	AIDs []AIDParams
	CAPK []CAPK

	Country          []byte // 9F1A, n 3 in 2 bytes (0156)
	Currency         []byte // 5F2A (0156)
	CurrencyExponent byte   // 5F36
	Capabilities     []byte // 9F33, 3 bytes
	AddCapabilities  []byte // 9F40, 5 bytes
	TerminalType     byte   // 9F35 (22: attended, online with offline capability)
	IFDSerial        string // 9F1E, 8 characters
	TTQ              []byte // 9F66 of the contactless reader, 4 bytes (bits of byte 2 are set per transaction)
	MerchantCategory []byte // 9F15, 2 bytes

	// Fallback: after this many chip read failures of one card a swipe of a
	// chip card is taken as a fallback (see Swipe).
	ChipFailuresBeforeFallback int
}

// Terminal capability bits (9F33, Book 4 Annex A2) the kernel reads.
const (
	capOnlinePIN = 0x40 // byte 2: enciphered PIN for online verification
	capSignature = 0x20 // byte 2: signature (paper)
	capNoCVM     = 0x08 // byte 2: no CVM required
	capSDA       = 0x80 // byte 3
	capDDA       = 0x40 // byte 3
	capCDA       = 0x08 // byte 3
)

// TestAID is the UnionPay RID's debit/credit AID prefix the test cards carry.
var TestAID = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01}

// DefaultParams are the parameters for the simulator and tests: UnionPay's AIDs
// (partial selection of A000000333010101/02/03...), China's country and currency, an
// attended online terminal with online PIN, signature and no CVM, SDA/DDA/CDA, and the
// test CA public key (RID A000000333 index F1, never in a production list).
func DefaultParams() *Params {
	return &Params{
		AIDs: []AIDParams{{
			AID: bytes.Clone(TestAID), Partial: true, Label: "UnionPay", Version: []byte{0x00, 0x30},
			TACDenial:  []byte{0x00, 0x10, 0x00, 0x00, 0x00},
			TACOnline:  []byte{0xDC, 0x40, 0x04, 0xF8, 0x00},
			TACDefault: []byte{0xDC, 0x40, 0x00, 0xA8, 0x00},
			// PBOC terminals here are online: a floor limit of 0 sends every contact sale online.
			FloorLimit: 0, RandomThreshold: 0, RandomTarget: 0, RandomMax: 0,
			DefaultDDOL:        []byte{0x9F, 0x37, 0x04},
			CLTransactionLimit: 100000, // 1000.00
			CLCVMLimit:         30000,  // 300.00
			CLFloorLimit:       50000,  // 500.00
		}},
		CAPK:             []CAPK{{RID: bytes.Clone(emvcrypto.TestRID), Index: emvcrypto.TestCAPKIndex, Key: emvcrypto.TestCAPK()}},
		Country:          []byte{0x01, 0x56},
		Currency:         []byte{0x01, 0x56},
		CurrencyExponent: 2,
		Capabilities:     []byte{0xE0, capOnlinePIN | capSignature | capNoCVM, capSDA | capDDA | capCDA},
		AddCapabilities:  []byte{0x60, 0x00, 0xF0, 0xA0, 0x01},
		TerminalType:     0x22,
		IFDSerial:        "POSFW001",
		TTQ:              []byte{0x36, 0x00, 0x00, 0x00}, // qPBOC, contact chip, online PIN, signature
		MerchantCategory: []byte{0x53, 0x11},

		ChipFailuresBeforeFallback: 3,
	}
}

// Check reports the first parameter that cannot work.
func (p *Params) Check() error {
	switch {
	case len(p.AIDs) == 0:
		return fmt.Errorf("emv params: no AID")
	case len(p.Country) != 2 || len(p.Currency) != 2:
		return fmt.Errorf("emv params: country and currency codes are 2 bytes")
	case len(p.Capabilities) != 3 || len(p.AddCapabilities) != 5 || len(p.TTQ) != 4:
		return fmt.Errorf("emv params: 9F33 is 3 bytes, 9F40 5, 9F66 4")
	case len(p.IFDSerial) != 8:
		return fmt.Errorf("emv params: IFD serial number (9F1E) is 8 characters")
	}
	for i, a := range p.AIDs {
		switch {
		case len(a.AID) < 5 || len(a.AID) > 16:
			return fmt.Errorf("emv params: AID %d: 5 to 16 bytes", i+1)
		case len(a.TACDenial) != 5 || len(a.TACOnline) != 5 || len(a.TACDefault) != 5:
			return fmt.Errorf("emv params: AID %X: action codes are 5 bytes", a.AID)
		case len(a.Version) != 2:
			return fmt.Errorf("emv params: AID %X: version is 2 bytes", a.AID)
		case a.RandomTarget < 0 || a.RandomTarget > 99 || a.RandomMax < a.RandomTarget || a.RandomMax > 99:
			return fmt.Errorf("emv params: AID %X: random selection percentages", a.AID)
		case a.FloorLimit < 0 || a.RandomThreshold < 0 || a.RandomThreshold > a.FloorLimit && a.FloorLimit > 0:
			return fmt.Errorf("emv params: AID %X: floor limit and random selection threshold", a.AID)
		}
	}
	for _, k := range p.CAPK {
		if len(k.RID) != 5 || len(k.Key.N) == 0 {
			return fmt.Errorf("emv params: CA public key %X/%02X: RID is 5 bytes and the modulus set", k.RID, k.Index)
		}
	}
	return nil
}

// capk finds a CA public key.
func (p *Params) capk(rid []byte, index byte) (emvcrypto.PublicKey, bool) {
	for _, k := range p.CAPK {
		if bytes.Equal(k.RID, rid) && k.Index == index {
			return k.Key, true
		}
	}
	return emvcrypto.PublicKey{}, false
}

// aid finds the terminal's parameters for a card's AID.
func (p *Params) aid(cardAID []byte) (*AIDParams, bool) {
	for i := range p.AIDs {
		a := &p.AIDs[i]
		if bytes.Equal(a.AID, cardAID) || a.Partial && bytes.HasPrefix(cardAID, a.AID) {
			return a, true
		}
	}
	return nil, false
}
