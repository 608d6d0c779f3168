package emvparam

import (
	"bytes"
	"fmt"

	"posfw/drivers/emv/tlv"
)

// The first byte of field 62 in the answers of the download (ASCII, as CUP hosts send it).
const (
	// StatusNone: a query has nothing (more) to list; a download has no such AID or key.
	StatusNone = '0'
	// StatusLast: a query's list ends with this answer; a download's parameters follow.
	StatusLast = '1'
	// StatusMore: a query's list goes on: ask again from the number received so far.
	StatusMore = '2'
)

// MaxEntries is the most AIDs or keys a query may list in all: the request counts what
// it received in two digits.
const MaxEntries = 99

// Query is field 62 of a query request (0820, 60.3 = 372 or 382): "1" and, in two
// digits, how many entries the terminal has received so far ("100" at the start).
func Query(received int) ([]byte, error) {
	if received < 0 || received > MaxEntries {
		return nil, fmt.Errorf("EMV parameter query: %d entries received; at most %d", received, MaxEntries)
	}
	return fmt.Appendf(nil, "1%02d", received), nil
}

// ParseQuery reads field 62 of a query request: the number of entries received.
func ParseQuery(b []byte) (int, error) {
	if len(b) != 3 || b[0] != '1' || b[1] < '0' || b[1] > '9' || b[2] < '0' || b[2] > '9' {
		return 0, fmt.Errorf("EMV parameter query: field 62 %q; want 1 and two digits", b)
	}
	return int(b[1]-'0')*10 + int(b[2]-'0'), nil
}

// ParseAnswer splits field 62 of an answer into its status byte and what follows.
func ParseAnswer(b []byte) (byte, []byte, error) {
	if len(b) == 0 {
		return 0, nil, fmt.Errorf("EMV parameter answer: field 62 is empty")
	}
	switch b[0] {
	case StatusNone, StatusLast, StatusMore:
		return b[0], b[1:], nil
	}
	return 0, nil, fmt.Errorf("EMV parameter answer: status %q; want 0, 1 or 2", b[0])
}

// AIDList is field 62 of an IC parameter query answer: status, then each AID as 9F06.
func AIDList(status byte, aids [][]byte) []byte {
	b := []byte{status}
	for _, a := range aids {
		b = tlv.New(TagAID, a).Append(b)
	}
	return b
}

// ParseAIDList reads field 62 of an IC parameter query answer.
func ParseAIDList(b []byte) (byte, [][]byte, error) {
	st, rest, err := ParseAnswer(b)
	if err != nil {
		return 0, nil, err
	}
	l, err := tlv.Parse(rest)
	if err != nil {
		return 0, nil, fmt.Errorf("IC parameter list: %v", err)
	}
	var aids [][]byte
	for _, o := range l {
		if o.Tag != TagAID {
			continue
		}
		if len(o.Value) < 5 || len(o.Value) > 16 {
			return 0, nil, fmt.Errorf("IC parameter list: AID of %d bytes; want 5 to 16", len(o.Value))
		}
		aids = append(aids, bytes.Clone(o.Value))
	}
	return st, aids, nil
}

// RefList is field 62 of a CA public key query answer: status, then each key as 9F06
// (RID), 9F22 (index) and DF05 (expiry).
func RefList(status byte, refs []Ref) []byte {
	b := []byte{status}
	for _, r := range refs {
		b = append(b, tlv.List{tlv.New(TagAID, r.RID), tlv.New(TagIndex, []byte{r.Index}), tlv.New(TagExpiry, []byte(r.Expiry))}.Bytes()...)
	}
	return b
}

// ParseRefList reads field 62 of a CA public key query answer. Each 9F06 begins an
// entry; its 9F22 is required, its DF05 optional.
func ParseRefList(b []byte) (byte, []Ref, error) {
	st, rest, err := ParseAnswer(b)
	if err != nil {
		return 0, nil, err
	}
	l, err := tlv.Parse(rest)
	if err != nil {
		return 0, nil, fmt.Errorf("CA public key list: %v", err)
	}
	var refs []Ref
	index := false
	for _, o := range l {
		switch o.Tag {
		case TagAID:
			if len(refs) > 0 && !index {
				return 0, nil, fmt.Errorf("CA public key list: RID %X without an index", refs[len(refs)-1].RID)
			}
			if len(o.Value) != 5 {
				return 0, nil, fmt.Errorf("CA public key list: RID of %d bytes; want 5", len(o.Value))
			}
			refs, index = append(refs, Ref{RID: bytes.Clone(o.Value)}), false
		case TagIndex:
			if len(refs) == 0 || index || len(o.Value) != 1 {
				return 0, nil, fmt.Errorf("CA public key list: index (9F22) out of place or not 1 byte")
			}
			refs[len(refs)-1].Index, index = o.Value[0], true
		case TagExpiry:
			if len(refs) > 0 {
				refs[len(refs)-1].Expiry = string(o.Value)
			}
		}
	}
	if len(refs) > 0 && !index {
		return 0, nil, fmt.Errorf("CA public key list: RID %X without an index", refs[len(refs)-1].RID)
	}
	return st, refs, nil
}

// KeyRequest is field 62 of a CA public key download request (0800, 60.3 = 370): the
// key's RID (9F06) and index (9F22).
func KeyRequest(r Ref) []byte {
	return tlv.List{tlv.New(TagAID, r.RID), tlv.New(TagIndex, []byte{r.Index})}.Bytes()
}

// ParseKeyRequest reads field 62 of a CA public key download request.
func ParseKeyRequest(b []byte) (Ref, error) {
	l, err := tlv.Parse(b)
	if err != nil {
		return Ref{}, fmt.Errorf("CA public key request: %v", err)
	}
	rid, _ := find(l, TagAID)
	idx, _ := find(l, TagIndex)
	if len(rid) != 5 || len(idx) != 1 {
		return Ref{}, fmt.Errorf("CA public key request: want 9F06 of 5 bytes and 9F22 of 1")
	}
	return Ref{RID: bytes.Clone(rid), Index: idx[0]}, nil
}

// AIDRequest is field 62 of an IC parameter download request (0800, 60.3 = 380): the
// AID (9F06).
func AIDRequest(aid []byte) []byte { return tlv.New(TagAID, aid).Bytes() }

// ParseAIDRequest reads field 62 of an IC parameter download request.
func ParseAIDRequest(b []byte) ([]byte, error) {
	l, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("IC parameter request: %v", err)
	}
	aid, _ := find(l, TagAID)
	if len(aid) < 5 || len(aid) > 16 {
		return nil, fmt.Errorf("IC parameter request: want 9F06 of 5 to 16 bytes")
	}
	return bytes.Clone(aid), nil
}
