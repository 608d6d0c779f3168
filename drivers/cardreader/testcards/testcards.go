// Package testcards is the simulator's catalogue of test cards
// (DESIGN.md §4): magnetic stripe cards, by stable name, that `posfw simctl
// card swipe NAME` presents and the host simulator knows how to answer.
//
// The PANs are made up, in the UnionPay (62) and Visa (4) ranges, with a
// correct Luhn check digit (ISO/IEC 7812-1). Their tracks follow ISO/IEC 7813
// as package iso7813 encodes them.
package testcards

import (
	"bytes"

	"posfw/drivers/cardreader/iso7813"
)

// PIN is the correct PIN of the "pin" card.
const PIN = "1234"

// Entry is one catalogue card and how the simulated world treats it.
type Entry struct {
	// Name is the card's stable name, as simctl takes it.
	Name string
	// Card is the card's magnetic stripe content.
	Card iso7813.Card
	// PIN is the correct PIN, "" for a card whose service code asks for none.
	PIN string
	// Response is the ISO 8583 response code the host simulator gives a sale
	// with this card (amount rules aside): "00" approves.
	Response string
	// BadLRC says the reader sends the swipe with a wrong track 2 LRC.
	BadLRC bool
}

// entry is a catalogue row; strings, so that every Lookup builds fresh byte
// slices that the caller may wipe without harming the catalogue.
type entry struct {
	name        string
	pan         string
	cardholder  string
	expiry      string
	serviceCode string // 101: magnetic stripe only, no PIN; 120: PIN required
	disc1       string
	disc2       string
	pin         string
	response    string
	badLRC      bool
}

// catalogue lists the cards in the order Names returns them.
var catalogue = []entry{
	{name: "ok", pan: "6222021234567894", cardholder: "ZHANG/SAN", expiry: "4912", serviceCode: "101",
		disc1: "000001230000", disc2: "0000012300", response: "00"},
	{name: "ok2", pan: "4000001234567899", cardholder: "SMITH/JOHN", expiry: "4912", serviceCode: "101",
		disc1: "000004560000", disc2: "0000045600", response: "00"},
	{name: "pin", pan: "6222029876543214", cardholder: "LI/SI", expiry: "4912", serviceCode: "120",
		disc1: "000007890000", disc2: "0000078900", pin: PIN, response: "00"},
	// 51: insufficient funds.
	{name: "nsf", pan: "6222025555000013", cardholder: "WANG/WU", expiry: "4912", serviceCode: "101",
		disc1: "000003210000", disc2: "0000032100", response: "51"},
	// Expired December 2019; 54 (expired card) should the terminal send it.
	{name: "expired", pan: "4000009876543219", cardholder: "ZHAO/LIU", expiry: "1912", serviceCode: "101",
		disc1: "000006540000", disc2: "0000065400", response: "54"},
	// A good card that the reader sends with a broken LRC.
	{name: "bad-track", pan: "6222026666000025", cardholder: "QIAN/QI", expiry: "4912", serviceCode: "101",
		disc1: "000009870000", disc2: "0000098700", response: "00", badLRC: true},
	// The stripe of the chip test card "fallback" (drivers/emv/cardsim), whose chip does
	// not answer: service code 201 sends the cashier to the chip first (issue 16).
	{name: "fallback", pan: "6212260000000100", cardholder: "TEST/FALLBACK", expiry: "3012", serviceCode: "201",
		disc1: "000001000000", disc2: "0000010000", response: "00"},
}

func (e *entry) export() Entry {
	return Entry{
		Name: e.name,
		Card: iso7813.Card{
			PAN:            []byte(e.pan),
			Name:           e.cardholder,
			Expiry:         e.expiry,
			ServiceCode:    e.serviceCode,
			Discretionary1: []byte(e.disc1),
			Discretionary2: []byte(e.disc2),
		},
		PIN:      e.pin,
		Response: e.response,
		BadLRC:   e.badLRC,
	}
}

func find(name string) *entry {
	for i := range catalogue {
		if catalogue[i].name == name {
			return &catalogue[i]
		}
	}
	return nil
}

// Names returns the catalogue's card names, in a fixed order.
func Names() []string {
	names := make([]string, len(catalogue))
	for i := range catalogue {
		names[i] = catalogue[i].name
	}
	return names
}

// Find returns the named catalogue entry.
func Find(name string) (Entry, bool) {
	e := find(name)
	if e == nil {
		return Entry{}, false
	}
	return e.export(), true
}

// Lookup returns the named card. The Card is a fresh copy: wiping it does not
// change the catalogue.
func Lookup(name string) (iso7813.Card, bool) {
	e, ok := Find(name)
	return e.Card, ok
}

// ByPAN returns the entry of the card with this PAN, for the host simulator,
// which sees the PAN and not the name.
func ByPAN(pan []byte) (Entry, bool) {
	for i := range catalogue {
		if string(pan) == catalogue[i].pan {
			return catalogue[i].export(), true
		}
	}
	return Entry{}, false
}

// Frame returns what the simulated reader sends when the named card is
// swiped, or nil for an unknown name. For "bad-track" the track 2 LRC is
// wrong.
func Frame(name string) []byte {
	e, ok := Find(name)
	if !ok {
		return nil
	}
	frame := iso7813.Encode(e.Card)
	if e.BadLRC {
		breakTrack2LRC(frame)
	}
	return frame
}

// breakTrack2LRC changes the track 2 LRC character, the one before CR LF, to
// another character of the 4-bit alphabet (ASCII 0x30 to 0x3F).
func breakTrack2LRC(frame []byte) {
	i := bytes.LastIndexByte(frame, '\r') - 1
	if i >= 0 {
		frame[i] ^= 1
	}
}
