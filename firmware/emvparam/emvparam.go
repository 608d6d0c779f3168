// Package emvparam is the EMV parameter set an acquirer downloads to its terminals:
// the AIDs the terminal accepts with their risk parameters (PBOC "IC卡参数") and the
// certification authority public keys (CAPK, "IC卡公钥"), as data. It reads and writes
// them in the BER-TLV layout of the China UnionPay POS parameter download (field 62 of
// the 0800/0810 exchanges with 60.3 = 370/380, package host), checks each key's
// checksum (EMV 4.4 Book 2 §11.2.2: SHA-1 over RID, index, modulus and exponent) and
// puts a set into the kernel's parameters (Set.Apply).
//
// It is pure logic, like firmware/emv: no journal, no host link, no screens. Every
// parser here reads what came over the line from a host; bad input is an error of
// one line, never a panic, and each is fuzzed.
//
// The values, as the download carries them (tags are CUP's; where public terminal code
// disagrees on a format, the choice is written in docs/decisions.md):
//
//	AID (IC parameter)                     CA public key
//	9F06 AID, 5-16 bytes                   9F06 RID, 5 bytes
//	DF01 ASI: 00 partial match, 01 exact   9F22 index, 1 byte
//	9F09 (or 9F08) version, 2 bytes        DF05 expiry, 8 ASCII digits YYYYMMDD
//	DF11 TAC default, 5 bytes              DF06 hash algorithm, 01 SHA-1
//	DF12 TAC online, 5 bytes               DF07 public key algorithm, 01 RSA
//	DF13 TAC denial, 5 bytes               DF02 modulus
//	9F1B floor limit, b4                   DF04 exponent (03 or 010001)
//	DF15 random selection threshold, b4    DF03 checksum, 20 bytes (SHA-1)
//	DF16 maximum target percentage, n2
//	DF17 target percentage, n2
//	DF14 default DDOL
//	DF18 online PIN capability, 01 yes
//	DF19 contactless floor limit, n12
//	DF20 contactless transaction limit, n12
//	DF21 contactless CVM limit, n12
//	9F7B electronic cash terminal limit, n12
package emvparam

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"posfw/drivers/emv/emvcrypto"
	"posfw/drivers/emv/tlv"
	"posfw/firmware/emv"
)

// Tags of the download.
const (
	TagAID           tlv.Tag = 0x9F06 // AID of an IC parameter, RID of a CA public key
	TagASI           tlv.Tag = 0xDF01
	TagVersion       tlv.Tag = 0x9F09
	TagCardVersion   tlv.Tag = 0x9F08 // what many CUP hosts send in place of 9F09
	TagTACDefault    tlv.Tag = 0xDF11
	TagTACOnline     tlv.Tag = 0xDF12
	TagTACDenial     tlv.Tag = 0xDF13
	TagDDOL          tlv.Tag = 0xDF14
	TagThreshold     tlv.Tag = 0xDF15
	TagMaxTarget     tlv.Tag = 0xDF16
	TagTarget        tlv.Tag = 0xDF17
	TagOnlinePIN     tlv.Tag = 0xDF18
	TagCLFloorLimit  tlv.Tag = 0xDF19
	TagCLTransaction tlv.Tag = 0xDF20
	TagCLCVMLimit    tlv.Tag = 0xDF21
	TagFloorLimit    tlv.Tag = 0x9F1B
	TagECLimit       tlv.Tag = 0x9F7B

	TagIndex    tlv.Tag = 0x9F22
	TagExpiry   tlv.Tag = 0xDF05
	TagHashAlg  tlv.Tag = 0xDF06
	TagPKAlg    tlv.Tag = 0xDF07
	TagModulus  tlv.Tag = 0xDF02
	TagExponent tlv.Tag = 0xDF04
	TagChecksum tlv.Tag = 0xDF03
)

// Algorithm indicators of a CA public key (Book 2 Annex B).
const (
	HashSHA1 = 0x01
	PKRSA    = 0x01
)

// ASI values (DF01).
const (
	ASIPartial = 0x00 // a card AID that begins with the terminal's matches
	ASIExact   = 0x01
)

// maxAmount12 is the largest n12 amount.
const maxAmount12 = 999_999_999_999

// AID is the terminal's parameters of one application, as downloaded.
type AID struct {
	AID     []byte
	Partial bool   // DF01 = 00
	Version []byte // 9F09, 2 bytes

	TACDefault, TACOnline, TACDenial []byte // 5 bytes each

	FloorLimit      int64 // 9F1B, minor units
	RandomThreshold int64 // DF15
	RandomMax       int   // DF16, 0-99
	RandomTarget    int   // DF17, 0-99
	DDOL            []byte
	OnlinePIN       bool // DF18

	CLFloorLimit, CLTransactionLimit, CLCVMLimit int64 // DF19, DF20, DF21
	ECLimit                                      int64 // 9F7B
}

// CAPK is a certification authority public key, as downloaded.
type CAPK struct {
	RID      []byte // 5 bytes
	Index    byte
	Expiry   string // YYYYMMDD
	HashAlg  byte
	PKAlg    byte
	Modulus  []byte
	Exponent []byte
	Checksum []byte // 20 bytes
}

// Ref names a CA public key in the host's list: RID, index and expiry.
type Ref struct {
	RID    []byte
	Index  byte
	Expiry string
}

// Name is "A000000333/F1", how screens and errors name a key.
func (k CAPK) Name() string { return Ref{RID: k.RID, Index: k.Index}.Name() }

// Name is "A000000333/F1".
func (r Ref) Name() string { return fmt.Sprintf("%X/%02X", r.RID, r.Index) }

// Checksum is the CA public key check value of EMV Book 2 §11.2.2 (Table 23): SHA-1
// over RID, index, modulus and exponent.
func Checksum(rid []byte, index byte, modulus, exponent []byte) []byte {
	h := sha1.New()
	h.Write(rid)
	h.Write([]byte{index})
	h.Write(modulus)
	h.Write(exponent)
	return h.Sum(nil)
}

// NewCAPK is a key with its checksum, expiring on expiry (YYYYMMDD).
func NewCAPK(rid []byte, index byte, expiry string, key emvcrypto.PublicKey) CAPK {
	return CAPK{RID: bytes.Clone(rid), Index: index, Expiry: expiry, HashAlg: HashSHA1, PKAlg: PKRSA,
		Modulus: bytes.Clone(key.N), Exponent: bytes.Clone(key.E), Checksum: Checksum(rid, index, key.N, key.E)}
}

// ErrChecksum: a key whose checksum does not match its RID, index, modulus and
// exponent (damaged on the way, or not the key the host meant). It is refused.
var ErrChecksum = errors.New("checksum does not match the key")

// Check reports the first thing wrong with k, the checksum included.
func (k CAPK) Check() error {
	switch {
	case len(k.RID) != 5:
		return fmt.Errorf("CA public key: RID is %d bytes; want 5", len(k.RID))
	case !validDate(k.Expiry):
		return fmt.Errorf("CA public key %s: expiry %q is not YYYYMMDD", k.Name(), k.Expiry)
	case k.HashAlg != HashSHA1:
		return fmt.Errorf("CA public key %s: hash algorithm %02X; only 01 (SHA-1) is known", k.Name(), k.HashAlg)
	case k.PKAlg != PKRSA:
		return fmt.Errorf("CA public key %s: key algorithm %02X; only 01 (RSA) is known", k.Name(), k.PKAlg)
	case len(k.Modulus) < 64 || len(k.Modulus) > 248 || k.Modulus[0] == 0:
		return fmt.Errorf("CA public key %s: modulus of %d bytes; want 64 to 248, no leading zero", k.Name(), len(k.Modulus))
	case !bytes.Equal(k.Exponent, []byte{3}) && !bytes.Equal(k.Exponent, []byte{1, 0, 1}):
		return fmt.Errorf("CA public key %s: exponent %X; want 03 or 010001", k.Name(), k.Exponent)
	case !bytes.Equal(k.Checksum, Checksum(k.RID, k.Index, k.Modulus, k.Exponent)):
		return fmt.Errorf("CA public key %s: %w (DF03)", k.Name(), ErrChecksum)
	}
	return nil
}

// Expired reports whether the key's expiry date is before day (both read as dates;
// a key is good through the whole of its expiry date).
func (k CAPK) Expired(day time.Time) bool {
	return k.Expiry < day.Format("20060102")
}

// validDate: 8 digits, a real calendar date.
func validDate(s string) bool {
	if len(s) != 8 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

// TLV is the key as field 62 of the download answer carries it.
func (k CAPK) TLV() []byte {
	return tlv.List{
		tlv.New(TagAID, k.RID), tlv.New(TagIndex, []byte{k.Index}), tlv.New(TagExpiry, []byte(k.Expiry)),
		tlv.New(TagHashAlg, []byte{k.HashAlg}), tlv.New(TagPKAlg, []byte{k.PKAlg}),
		tlv.New(TagModulus, k.Modulus), tlv.New(TagExponent, k.Exponent), tlv.New(TagChecksum, k.Checksum),
	}.Bytes()
}

// ParseCAPK reads a key from its TLV and checks it (checksum included): a key that
// fails any check is refused with the reason.
func ParseCAPK(b []byte) (CAPK, error) {
	l, err := tlv.Parse(b)
	if err != nil {
		return CAPK{}, fmt.Errorf("CA public key: %v", err)
	}
	one := func(t tlv.Tag) (byte, error) {
		v, ok := find(l, t)
		if !ok || len(v) != 1 {
			return 0, fmt.Errorf("CA public key: tag %s missing or not 1 byte", t)
		}
		return v[0], nil
	}
	var k CAPK
	var e1, e2, e3 error
	k.RID, _ = find(l, TagAID)
	k.Index, e1 = one(TagIndex)
	k.HashAlg, e2 = one(TagHashAlg)
	k.PKAlg, e3 = one(TagPKAlg)
	if err := firstErr(e1, e2, e3); err != nil {
		return CAPK{}, err
	}
	exp, _ := find(l, TagExpiry)
	k.Expiry = string(exp)
	k.Modulus, _ = find(l, TagModulus)
	k.Exponent, _ = find(l, TagExponent)
	k.Checksum, _ = find(l, TagChecksum)
	k = k.clone()
	if err := k.Check(); err != nil {
		return CAPK{}, err
	}
	return k, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (k CAPK) clone() CAPK {
	k.RID, k.Modulus, k.Exponent, k.Checksum = bytes.Clone(k.RID), bytes.Clone(k.Modulus), bytes.Clone(k.Exponent), bytes.Clone(k.Checksum)
	return k
}

// find is the value of the first top-level object with tag t.
func find(l tlv.List, t tlv.Tag) ([]byte, bool) {
	for _, o := range l {
		if o.Tag == t {
			return o.Value, true
		}
	}
	return nil, false
}

// TLV is the AID's parameters as field 62 of the download answer carries them.
func (a AID) TLV() []byte {
	asi := byte(ASIExact)
	if a.Partial {
		asi = ASIPartial
	}
	pin := byte(0)
	if a.OnlinePIN {
		pin = 1
	}
	l := tlv.List{
		tlv.New(TagAID, a.AID), tlv.New(TagASI, []byte{asi}), tlv.New(TagVersion, a.Version),
		tlv.New(TagTACDefault, a.TACDefault), tlv.New(TagTACOnline, a.TACOnline), tlv.New(TagTACDenial, a.TACDenial),
		tlv.New(TagFloorLimit, b4(a.FloorLimit)), tlv.New(TagThreshold, b4(a.RandomThreshold)),
		tlv.New(TagMaxTarget, n2(a.RandomMax)), tlv.New(TagTarget, n2(a.RandomTarget)),
		tlv.New(TagDDOL, a.DDOL), tlv.New(TagOnlinePIN, []byte{pin}),
		tlv.New(TagCLFloorLimit, n12(a.CLFloorLimit)), tlv.New(TagCLTransaction, n12(a.CLTransactionLimit)),
		tlv.New(TagCLCVMLimit, n12(a.CLCVMLimit)), tlv.New(TagECLimit, n12(a.ECLimit)),
	}
	return l.Bytes()
}

// n2 is a percentage 0-99 as one BCD byte (99 is 0x99, as hosts send it).
func n2(v int) []byte { return []byte{byte(v/10%10<<4 | v%10)} }

func b4(v int64) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// n12 is v as 12 BCD digits in 6 bytes.
func n12(v int64) []byte {
	b, _ := hex.DecodeString(fmt.Sprintf("%012d", v))
	return b
}

// parseN12 reads up to 12 BCD digits.
func parseN12(t tlv.Tag, v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 6 {
		return 0, fmt.Errorf("tag %s: %d bytes; want BCD of 1 to 6 bytes", t, len(v))
	}
	var n int64
	for _, c := range strings.ToUpper(hex.EncodeToString(v)) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("tag %s: %X is not BCD", t, v)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// ParseAID reads an AID's parameters from their TLV and checks them. Tags it does not
// know are skipped; the AID (9F06) is required, and what is missing takes the value of
// def (the kernel's built-in parameters for an application, emv.DefaultParams).
func ParseAID(b []byte, def emv.AIDParams) (AID, error) {
	l, err := tlv.Parse(b)
	if err != nil {
		return AID{}, fmt.Errorf("IC parameters: %v", err)
	}
	a := AID{
		Version: def.Version, TACDefault: def.TACDefault, TACOnline: def.TACOnline, TACDenial: def.TACDenial,
		FloorLimit: def.FloorLimit, RandomThreshold: def.RandomThreshold, RandomMax: def.RandomMax, RandomTarget: def.RandomTarget,
		DDOL: def.DefaultDDOL, OnlinePIN: true, CLFloorLimit: def.CLFloorLimit, CLTransactionLimit: def.CLTransactionLimit, CLCVMLimit: def.CLCVMLimit,
	}
	aid, ok := find(l, TagAID)
	if !ok || len(aid) < 5 || len(aid) > 16 {
		return AID{}, fmt.Errorf("IC parameters: AID (9F06) missing or not 5 to 16 bytes")
	}
	a.AID = aid
	bad := func(t tlv.Tag, why string) error { return fmt.Errorf("IC parameters of %X: tag %s %s", aid, t, why) }
	if _, ok := find(l, TagVersion); !ok {
		if v, ok := find(l, TagCardVersion); ok {
			l = append(l, tlv.New(TagVersion, v))
		}
	}
	for _, o := range l {
		v := o.Value
		switch o.Tag {
		case TagASI:
			if len(v) != 1 || v[0] > ASIExact {
				return AID{}, bad(o.Tag, "is not 00 or 01")
			}
			a.Partial = v[0] == ASIPartial
		case TagVersion:
			if len(v) != 2 {
				return AID{}, bad(o.Tag, "is not 2 bytes")
			}
			a.Version = v
		case TagTACDefault, TagTACOnline, TagTACDenial:
			if len(v) != 5 {
				return AID{}, bad(o.Tag, "is not 5 bytes")
			}
			*map[tlv.Tag]*[]byte{TagTACDefault: &a.TACDefault, TagTACOnline: &a.TACOnline, TagTACDenial: &a.TACDenial}[o.Tag] = v
		case TagFloorLimit, TagThreshold:
			if len(v) != 4 {
				return AID{}, bad(o.Tag, "is not 4 bytes")
			}
			n := int64(binary.BigEndian.Uint32(v))
			if o.Tag == TagFloorLimit {
				a.FloorLimit = n
			} else {
				a.RandomThreshold = n
			}
		case TagMaxTarget, TagTarget:
			if len(v) != 1 || v[0]>>4 > 9 || v[0]&0x0F > 9 {
				return AID{}, bad(o.Tag, "is not a percentage of 00 to 99 (BCD)")
			}
			pc := int(v[0]>>4)*10 + int(v[0]&0x0F)
			if o.Tag == TagMaxTarget {
				a.RandomMax = pc
			} else {
				a.RandomTarget = pc
			}
		case TagDDOL:
			if _, err := tlv.ParseDOL(v); err != nil || len(v) > 252 {
				return AID{}, bad(o.Tag, "is not a data object list")
			}
			a.DDOL = v
		case TagOnlinePIN:
			if len(v) != 1 {
				return AID{}, bad(o.Tag, "is not 1 byte")
			}
			a.OnlinePIN = v[0] != 0
		case TagCLFloorLimit, TagCLTransaction, TagCLCVMLimit, TagECLimit:
			n, err := parseN12(o.Tag, v)
			if err != nil {
				return AID{}, fmt.Errorf("IC parameters of %X: %v", aid, err)
			}
			*map[tlv.Tag]*int64{TagCLFloorLimit: &a.CLFloorLimit, TagCLTransaction: &a.CLTransactionLimit,
				TagCLCVMLimit: &a.CLCVMLimit, TagECLimit: &a.ECLimit}[o.Tag] = n
		}
	}
	a = a.clone()
	if err := a.Check(); err != nil {
		return AID{}, err
	}
	return a, nil
}

func (a AID) clone() AID {
	a.AID, a.Version, a.DDOL = bytes.Clone(a.AID), bytes.Clone(a.Version), bytes.Clone(a.DDOL)
	a.TACDefault, a.TACOnline, a.TACDenial = bytes.Clone(a.TACDefault), bytes.Clone(a.TACOnline), bytes.Clone(a.TACDenial)
	return a
}

// Check reports the first parameter the kernel could not run with.
func (a AID) Check() error {
	p := emv.DefaultParams()
	p.AIDs = []emv.AIDParams{a.kernel(p.AIDs[0])}
	p.CAPK = nil
	if err := p.Check(); err != nil {
		return fmt.Errorf("IC parameters of %X: %v", a.AID, strings.TrimPrefix(err.Error(), "emv params: "))
	}
	for _, v := range []int64{a.CLFloorLimit, a.CLTransactionLimit, a.CLCVMLimit, a.ECLimit} {
		if v < 0 || v > maxAmount12 {
			return fmt.Errorf("IC parameters of %X: contactless limit %d out of range", a.AID, v)
		}
	}
	return nil
}

// kernel is the AID as the kernel's parameters, with what the download does not carry
// (the label) from tmpl.
func (a AID) kernel(tmpl emv.AIDParams) emv.AIDParams {
	k := tmpl
	k.AID, k.Partial, k.Version = bytes.Clone(a.AID), a.Partial, bytes.Clone(a.Version)
	k.TACDefault, k.TACOnline, k.TACDenial = bytes.Clone(a.TACDefault), bytes.Clone(a.TACOnline), bytes.Clone(a.TACDenial)
	k.FloorLimit, k.RandomThreshold, k.RandomTarget, k.RandomMax = a.FloorLimit, a.RandomThreshold, a.RandomTarget, a.RandomMax
	k.DefaultDDOL = bytes.Clone(a.DDOL)
	k.CLTransactionLimit, k.CLCVMLimit, k.CLFloorLimit = a.CLTransactionLimit, a.CLCVMLimit, a.CLFloorLimit
	if !bytes.HasPrefix(a.AID, tmpl.AID[:min(5, len(tmpl.AID))]) {
		k.Label = "" // another payment system: its card names itself
	}
	return k
}

// Set is a downloaded parameter set: the AIDs and the CA public keys. Version is the
// journal's number of the set (1 for the first stored, counting up); 0 before it is
// stored.
type Set struct {
	Version int64
	AIDs    []AID
	CAPKs   []CAPK
}

// Digest is SHA-256 over the set's AIDs and keys in their TLV form, in order: two
// terminals holding the same parameters show the same digest.
func (s Set) Digest() string {
	h := sha256.New()
	for _, a := range s.AIDs {
		h.Write(a.TLV())
	}
	h.Write([]byte{0})
	for _, k := range s.CAPKs {
		h.Write(k.TLV())
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// Check reports the first AID or key of the set that cannot be used, and a set that
// names one AID or one key twice.
func (s Set) Check() error {
	if len(s.AIDs) == 0 && len(s.CAPKs) == 0 {
		return errors.New("EMV parameters: the set holds no AID and no CA public key")
	}
	seen := map[string]bool{}
	for _, a := range s.AIDs {
		if err := a.Check(); err != nil {
			return err
		}
		if seen["A"+string(a.AID)] {
			return fmt.Errorf("IC parameters of %X: given twice", a.AID)
		}
		seen["A"+string(a.AID)] = true
	}
	for _, k := range s.CAPKs {
		if err := k.Check(); err != nil {
			return err
		}
		if seen["K"+k.Name()] {
			return fmt.Errorf("CA public key %s: given twice", k.Name())
		}
		seen["K"+k.Name()] = true
	}
	return nil
}

// Usable is the set without the keys that expired before day: the kernel must not
// authenticate with them (EMV Book 2 §11.2.2).
func (s Set) Usable(day time.Time) Set {
	s.CAPKs = slices.DeleteFunc(slices.Clone(s.CAPKs), func(k CAPK) bool { return k.Expired(day) })
	return s
}

// Apply puts the set into the kernel's parameters: the downloaded AIDs in place of p's
// (each taking what the download does not carry, the label, from p's first AID) and the
// downloaded keys in place of p's. A set without AIDs leaves p's AIDs, one without
// keys p's keys. p.Check() holds afterwards for any set that passed Check.
func (s Set) Apply(p *emv.Params) {
	if len(s.AIDs) > 0 {
		tmpl := emv.DefaultParams().AIDs[0]
		if len(p.AIDs) > 0 {
			tmpl = p.AIDs[0]
		}
		aids := make([]emv.AIDParams, 0, len(s.AIDs))
		for _, a := range s.AIDs {
			aids = append(aids, a.kernel(tmpl))
		}
		p.AIDs = aids
	}
	if len(s.CAPKs) > 0 {
		keys := make([]emv.CAPK, 0, len(s.CAPKs))
		for _, k := range s.CAPKs {
			keys = append(keys, emv.CAPK{RID: bytes.Clone(k.RID), Index: k.Index,
				Key: emvcrypto.PublicKey{N: bytes.Clone(k.Modulus), E: bytes.Clone(k.Exponent)}})
		}
		p.CAPK = keys
	}
}
