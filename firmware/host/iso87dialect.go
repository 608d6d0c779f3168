package host

import (
	"errors"
	"fmt"
	"io"

	"github.com/moov-io/iso8583"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/iso87"
)

// ISO87 is the iso87 dialect (package iso87): its fields are the neutral fields, the
// MAC is X9.19 in field 64 or 128, the working keys are KeyBlocks.
type ISO87 struct{}

var _ Dialect = ISO87{}

// Name is "iso87".
func (ISO87) Name() string { return "iso87" }

// Encode builds and packs the message; with sign, the MAC goes in MACField as 16 hex
// digits over everything before them.
func (ISO87) Encode(mti string, f Fields, card CardFields, k Crypto) ([]byte, error) {
	msg, err := buildRequest(mti, f, card)
	if err != nil {
		return nil, err
	}
	if k.Sign == nil {
		return iso87.Pack(msg)
	}
	return packSigned(msg, k.Sign)
}

// packSigned packs msg with a MAC from sign in its MAC field.
func packSigned(msg *iso8583.Message, sign Signer) ([]byte, error) {
	msg.UnsetField(64)
	msg.UnsetField(128)
	f := MACField(msg)
	if err := msg.BinaryField(f, make([]byte, mac.Size)); err != nil {
		return nil, fmt.Errorf("host: set MAC field: %v", err)
	}
	b, err := iso87.Pack(msg)
	if err != nil {
		return nil, err
	}
	m, err := sign(b[:len(b)-macHexLen])
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("host: MAC: %w", err)
	}
	hexUpper(b[len(b)-macHexLen:], m[:])
	return b, nil
}

// Decode unpacks an iso87 message.
func (ISO87) Decode(b []byte) (*Decoded, error) {
	msg, err := iso87.Unpack(b)
	if err != nil {
		return nil, err
	}
	d := fieldsOf(msg)
	d.describe = func() string { return iso87.Describe(msg) }
	f := MACField(msg)
	if v, ok := d.Fields[f]; ok {
		// iso87.Unpack accepts only the canonical encoding, so the MAC field's 16 hex
		// digits end b.
		if len(v) != mac.Size || len(b) < macHexLen {
			return nil, errors.New("host: malformed MAC field")
		}
		d.MAC, d.Signed = []byte(v), b[:len(b)-macHexLen]
	}
	return d, nil
}

// fieldsOf reads every field of msg as bytes.
func fieldsOf(msg *iso8583.Message) *Decoded {
	d := &Decoded{Fields: Fields{}}
	d.MTI, _ = msg.GetMTI()
	for id, f := range msg.GetFields() {
		if id < 2 {
			continue
		}
		if b, err := f.Bytes(); err == nil {
			d.Fields[id] = string(b)
		}
	}
	return d
}

// Canon is f: iso87 carries every neutral field as it is.
func (ISO87) Canon(_ string, f Fields) Fields { return f }

// MAC is ANSI X9.19.
func (ISO87) MAC() (pinpad.MACAlgorithm, mac.Func) { return pinpad.MACX919, mac.X919 }

// WorkingKeys reads field 62 of 0810: the MAC key's KeyBlock, then optionally the PIN
// key's, with 3-byte check values.
func (ISO87) WorkingKeys(answer Fields) (pinpad.WorkingKeys, error) {
	kbs, err := ParseKeyBlocks(answer[62])
	if err != nil {
		return pinpad.WorkingKeys{}, err
	}
	k := pinpad.WorkingKeys{MAK: kbs[0].Key[:], MAKCheck: kbs[0].KCV[:]}
	if len(kbs) > 1 {
		k.PIK, k.PIKCheck = kbs[1].Key[:], kbs[1].KCV[:]
	}
	return k, nil
}

// IssueKeys draws a double-length MAK and PIK and seals both under tmk.
func (ISO87) IssueKeys(tmk []byte, rnd io.Reader, _ string) (string, ClearKeys, error) {
	mak, pik := make([]byte, KeySize), make([]byte, KeySize)
	if _, err := io.ReadFull(rnd, mak); err != nil {
		return "", ClearKeys{}, err
	}
	if _, err := io.ReadFull(rnd, pik); err != nil {
		return "", ClearKeys{}, err
	}
	mb, err := SealKey(tmk, mak)
	if err != nil {
		return "", ClearKeys{}, err
	}
	pb, err := SealKey(tmk, pik)
	if err != nil {
		return "", ClearKeys{}, err
	}
	return mb.String() + pb.String(), ClearKeys{MAK: mak, PIK: pik}, nil
}

// IsSignOn: 70 = 001.
func (ISO87) IsSignOn(netCode string) bool { return netCode == NetSignOn }

// Answering is the same dialect.
func (d ISO87) Answering(*Decoded) Dialect { return d }

// AnswerRoute is nil: iso87 frames carry no route.
func (ISO87) AnswerRoute() []byte { return nil }

// SettlementCompares keeps sales, refunds and voids: field 63 carries them all.
func (ISO87) SettlementCompares(t TotalsView) TotalsView { return t }

// buildRequest is Build with the card's fields set from their bytes: the fields keep
// the slices (moov's Binary fields do), which the card's owner wipes after the request.
func buildRequest(mti string, f Fields, card CardFields) (*iso8583.Message, error) {
	msg, err := Build(mti, f)
	if err != nil {
		return nil, err
	}
	for id, b := range card {
		if err := msg.BinaryField(id, b); err != nil {
			return nil, fmt.Errorf("field %d: %v", id, err)
		}
	}
	return msg, nil
}
