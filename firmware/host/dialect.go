package host

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
)

// Dialect is how one acquirer's messages are written on the wire. The client and the
// host simulator speak in dialect-neutral fields — the iso87 field numbers and values
// of this package's doc — and the dialect maps them to its own fields and bytes:
// ISO87 is the identity, CUP maps batch and network codes into 60, original data into
// 61, totals into 48 (cupdialect.go). Everything else (matching, echoes, reversals,
// settlement, uploads) is the same in every dialect.
type Dialect interface {
	// Name is the config's name of the dialect: "iso87", "cup".
	Name() string
	// Encode packs a message (without the 2-byte length of the frame); the card's
	// fields are set from the card's bytes. With k.Sign set, the message carries a MAC
	// computed by it over what the dialect MACs; with k.Track set, a dialect that
	// encrypts track data (CUP) has it encrypt the track data block.
	Encode(mti string, f Fields, card CardFields, k Crypto) ([]byte, error)
	// Decode unpacks a message into neutral fields.
	Decode(b []byte) (*Decoded, error)
	// Canon is f as it comes back through the wire: what an answer repeating the
	// request's fields holds (a dialect may carry less than iso87 does, such as the
	// original's time of day).
	Canon(mti string, f Fields) Fields
	// MAC is the dialect's MAC algorithm: the pad's name and the host's function.
	MAC() (pinpad.MACAlgorithm, mac.Func)
	// WorkingKeys reads the keys of a sign-on answer (neutral fields) for the PIN pad.
	WorkingKeys(answer Fields) (pinpad.WorkingKeys, error)
	// IssueKeys is the acquirer's side of a sign-on: fresh keys from rnd for the
	// sign-on code netCode (neutral field 70), field 62 of the answer with them under
	// the master key tmk, and the clear keys the acquirer keeps.
	IssueKeys(tmk []byte, rnd io.Reader, netCode string) (f62 string, k ClearKeys, err error)
	// IsSignOn tells a sign-on's network code (neutral field 70) from an echo's.
	IsSignOn(netCode string) bool
	// Answering returns the dialect in which to answer a request (CUP: its TPDU
	// swapped).
	Answering(req *Decoded) Dialect
	// AnswerRoute is the route (Decoded.Route) an answer to this terminal's requests
	// carries — CUP: the TPDU with destination and source swapped — or nil when the
	// dialect has none.
	AnswerRoute() []byte
	// SettlementCompares zeroes what of the totals the dialect's 0500 does not carry,
	// so that the acquirer compares only what it was sent.
	SettlementCompares(t TotalsView) TotalsView
}

// TotalsView is the part of txn.Totals the acquirer compares.
type TotalsView struct {
	SalesCount, SalesAmount     int64
	RefundsCount, RefundsAmount int64
	VoidsCount, VoidsAmount     int64
}

// Crypto is what a dialect's Encode may ask of the keys' holder.
type Crypto struct {
	// Sign computes the MAC; nil: the message carries none.
	Sign Signer
	// Track encrypts a track data block under the TDK; nil: track data goes in clear.
	Track func(tdb []byte) ([]byte, error)
}

// ClearKeys are the working keys an acquirer issued (the terminal never sees them).
type ClearKeys struct {
	MAK, PIK, TDK []byte
}

// Signer computes a MAC over data: the PIN pad (Keys.MAC) on the terminal, the clear
// key at the acquirer.
type Signer func(data []byte) ([mac.Size]byte, error)

// Decoded is a message as a dialect read it.
type Decoded struct {
	MTI    string
	Fields Fields // every field present, neutral numbers; binary ones as raw bytes
	// Signed is what the MAC covers and MAC the MAC field's value; MAC is nil when the
	// message carries none.
	Signed, MAC []byte
	// Route is the CUP TPDU (nil in iso87).
	Route []byte
	// describe renders the message for a log, card data redacted.
	describe func() string
}

// LogValue renders the message for slog only when the record is logged.
func (d *Decoded) LogValue() slog.Value {
	if d == nil || d.describe == nil {
		return slog.StringValue("<nil message>")
	}
	return slog.StringValue(d.describe())
}

// Get returns a field, "" when absent.
func (d *Decoded) Get(id int) string { return d.Fields[id] }

// Verify checks the MAC of d with sign: nil, ErrNoMAC, or mac.ErrMismatch; another
// error when sign could not compute it.
func (d *Decoded) Verify(sign Signer) error {
	if d.MAC == nil {
		return ErrNoMAC
	}
	want, err := sign(d.Signed)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want[:], d.MAC) != 1 {
		return mac.ErrMismatch
	}
	return nil
}

// KeySigner is a Signer over a clear key (the acquirer's side).
func KeySigner(f mac.Func, key []byte) Signer {
	return func(data []byte) ([mac.Size]byte, error) { return f(key, data) }
}

// ParseDialect returns the dialect a config names, with the CUP settings.
func ParseDialect(name string, c CUPConfig) (Dialect, error) {
	switch name {
	case "", "iso87":
		return ISO87{}, nil
	case "cup":
		return NewCUP(c)
	}
	return nil, fmt.Errorf("host: dialect %q: want iso87 or cup", name)
}
