package emv

import (
	"fmt"
	"strings"
)

// Outcome is where a transaction stands after a kernel step.
type Outcome int

// Outcomes.
const (
	// Online: the card asked for the issuer (ARQC). Send Result.Field55 to the host,
	// then call Transaction.Complete with its answer.
	Online Outcome = iota + 1
	// Approved: offline (TC) or online with the card's TC.
	Approved
	// Declined: by the card (AAC) or by the host.
	Declined
	// ReverseApproved: the host approved but the card declined or refused the second
	// GENERATE AC (or was gone): the app must reverse the host's approval.
	ReverseApproved
	// Refused: the kernel ended the transaction (blocked application, no common
	// application, card removed, data the card should not send); Reason says why.
	// Not a chip failure: no fallback to the stripe.
	Refused
	// ChipError: the chip could not be read (no answer to reset, garbage). It counts
	// toward fallback to the magnetic stripe (see Swipe).
	ChipError
	// InsertCard: contactless only — the amount is over the contactless limit or the
	// card asked for another interface: "please insert card".
	InsertCard
	// CardRead: ReadCard read the card's application data; no cryptogram was asked for.
	CardRead
)

var outcomeNames = map[Outcome]string{Online: "online", Approved: "approved", Declined: "declined",
	ReverseApproved: "card declined after host approval", Refused: "refused", ChipError: "chip error", InsertCard: "insert card",
	CardRead: "card read"}

func (o Outcome) String() string {
	if s, ok := outcomeNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// CVM is the cardholder verification the kernel settled on.
type CVM int

// CVMs the terminal performs.
const (
	NoCVM CVM = iota
	OnlinePIN
	Signature
	CVMFailed // no rule succeeded (TVR byte 3 bit 8)
)

func (c CVM) String() string {
	return [...]string{"no CVM", "online PIN", "signature", "CVM failed"}[c]
}

// POS entry modes (ISO 8583 field 22, first two digits) the host dialects send.
const (
	EntrySwipe       = "02"
	EntryChip        = "05"
	EntryContactless = "07"
	EntryFallback    = "80" // magnetic stripe after the chip failed
)

// CardData is what the host message needs of the card: in memory only. String and
// the fmt verbs show the masked PAN, never the rest (DESIGN §5).
//
// PAN and Track2 are bytes, not strings, so that they can be wiped (Wipe, and
// Transaction.Wipe for the kernel's own copies) once the host has the request: a Go
// string cannot be overwritten and would keep the card number in memory (or in a core
// dump) for the life of the process.
type CardData struct {
	PAN         []byte // ASCII digits
	PSN         string // two digits, "" when the card has none
	Track2      []byte // 57 as the card gives it (BCD, D separator)
	Expiry      string // YYMMDD
	ServiceCode string // 3 digits
}

// Masked is the PAN as receipts show it: first 6, last 4.
func (c CardData) Masked() string {
	if len(c.PAN) < 10 {
		return strings.Repeat("*", len(c.PAN))
	}
	return string(c.PAN[:6]) + strings.Repeat("*", len(c.PAN)-10) + string(c.PAN[len(c.PAN)-4:])
}

// Wipe zeroes the PAN and track 2 in place.
func (c *CardData) Wipe() {
	clear(c.PAN)
	clear(c.Track2)
}

// String shows the masked PAN only.
func (c CardData) String() string { return "card " + c.Masked() }

// GoString is String, so that %#v cannot print card data.
func (c CardData) GoString() string { return c.String() }

// Format makes every verb print String: %v, %+v and %x of a Result holding card data
// print nothing of it.
func (c CardData) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// Result is the state of a transaction after a kernel step.
type Result struct {
	Outcome   Outcome
	Reason    string // Refused, ChipError, InsertCard: one line for the screen and the log
	Interface string // "contact" or "contactless"
	EntryMode string // EntryChip, EntryContactless (EntryFallback/EntrySwipe come from Swipe)
	Fallback  bool   // a fallback transaction: the host dialect's fallback indicator

	AID   []byte // 84/4F of the selected application
	Label string // 50 or 9F12, for the slip

	TVR     [5]byte
	TSI     [2]byte
	AIP     []byte
	ATC     []byte
	AC      []byte // the last application cryptogram (9F26)
	CID     byte   // its Cryptogram Information Data (9F27)
	CVM     CVM
	CVMR    [3]byte // 9F34
	ODA     string  // "sda", "dda", "cda", "fdda" or "" when none was performed
	ARC     string  // 8A given to the card ("00", "51", "Y3", "Z3", ...)
	Scripts []byte  // 9F5B issuer script results, 5 bytes a script

	Card CardData
	// Field55 is the ICC data for the host (after the first GENERATE AC / the GPO of a
	// tap; after Complete, for the advice/reversal/TC upload).
	Field55 []byte
}

// String is a one-line summary for logs: no card data.
func (r Result) String() string {
	s := fmt.Sprintf("%s %s AID %X TVR %X TSI %X CID %02X %s", r.Interface, r.Outcome, r.AID, r.TVR, r.TSI, r.CID, r.CVM)
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// Bit is one bit of the TVR (Book 3 Annex C5) or TSI (C6): byte index from 0, mask.
type Bit struct{ Byte, Mask byte }

var (
	tvrODANotPerformed  = Bit{0, 0x80}
	tvrSDAFailed        = Bit{0, 0x40}
	tvrICCDataMissing   = Bit{0, 0x20}
	tvrDDAFailed        = Bit{0, 0x08}
	tvrCDAFailed        = Bit{0, 0x04}
	tvrVersionsDiffer   = Bit{1, 0x80}
	tvrExpired          = Bit{1, 0x40}
	tvrNotEffective     = Bit{1, 0x20}
	tvrServiceNotAllow  = Bit{1, 0x10}
	tvrNewCard          = Bit{1, 0x08}
	tvrCVMFailed        = Bit{2, 0x80}
	tvrUnrecognisedCVM  = Bit{2, 0x40}
	tvrPadAbsent        = Bit{2, 0x10}
	tvrPINNotEntered    = Bit{2, 0x08}
	tvrOnlinePIN        = Bit{2, 0x04}
	tvrFloorLimit       = Bit{3, 0x80}
	tvrLowerOffline     = Bit{3, 0x40}
	tvrUpperOffline     = Bit{3, 0x20}
	tvrRandomOnline     = Bit{3, 0x10}
	tvrIssuerAuthFailed = Bit{4, 0x40}
	tvrScriptBefore     = Bit{4, 0x20}
	tvrScriptAfter      = Bit{4, 0x10}

	tsiODA        = Bit{0, 0x80}
	tsiCVM        = Bit{0, 0x40}
	tsiCardRisk   = Bit{0, 0x20}
	tsiIssuerAuth = Bit{0, 0x10}
	tsiTermRisk   = Bit{0, 0x08}
	tsiScripts    = Bit{0, 0x04}
)

// TVR bits exported for the app and tests, by name as Book 3 Annex C5 calls them.
var (
	TVRODANotPerformed  = tvrODANotPerformed
	TVRSDAFailed        = tvrSDAFailed
	TVRDDAFailed        = tvrDDAFailed
	TVRCDAFailed        = tvrCDAFailed
	TVRExpired          = tvrExpired
	TVRNotEffective     = tvrNotEffective
	TVRCVMFailed        = tvrCVMFailed
	TVROnlinePIN        = tvrOnlinePIN
	TVRFloorLimit       = tvrFloorLimit
	TVRRandomOnline     = tvrRandomOnline
	TVRLowerOffline     = tvrLowerOffline
	TVRUpperOffline     = tvrUpperOffline
	TVRNewCard          = tvrNewCard
	TVRIssuerAuthFailed = tvrIssuerAuthFailed
	TVRScriptAfter      = tvrScriptAfter
)

// Has reports whether the TVR has bit b.
func (r Result) Has(b Bit) bool { return r.TVR[b.Byte]&b.Mask != 0 }
