package dukpt

import (
	"encoding/binary"
	"fmt"
)

// DeriveIPEK returns the Initial PIN Encryption Key the BDK owner injects into the
// device named by ksn (X9.24-1:2009 A.6): the leftmost 8 bytes of the KSN with its
// counter cleared, TDES-encrypted under the BDK for the left half and under the BDK
// XOR C0C0C0C000000000C0C0C0C000000000 for the right half. The counter in ksn is
// ignored, so any KSN of the device gives its IPEK. The caller wipes the result.
func DeriveIPEK(bdk Key, ksn KSN) Key {
	defer Wipe(bdk[:])
	base := ksn.Initial()
	var ipek Key
	tdesBlock(&bdk).Encrypt(ipek[:8], base[:8])
	bdk = xorKey(bdk, kvariant)
	tdesBlock(&bdk).Encrypt(ipek[8:], base[:8])
	return ipek
}

// DeriveTransactionKey returns the current transaction key of the transaction named
// by ksn, from the device's IPEK: the host-side procedure of X9.24-1:2009 A.3, which
// starts from the IPEK and applies the non-reversible key generation process once for
// each one-bit of the counter, from the most significant down. It refuses a zero
// counter and a counter with more than 10 one-bits, which no device produces.
// The caller wipes the result.
func DeriveTransactionKey(ipek Key, ksn KSN) (Key, error) {
	counter := ksn.Counter()
	if err := validCounter(counter); err != nil {
		return Key{}, err
	}
	// The KSN register: the rightmost 64 bits of the KSN, counter cleared, into
	// which the counter's bits are OR-ed one at a time.
	reg := binary.BigEndian.Uint64(ksn[2:]) &^ MaxCounter
	key := ipek
	for bit := uint32(1) << (CounterBits - 1); bit != 0; bit >>= 1 {
		if counter&bit == 0 {
			continue
		}
		reg |= uint64(bit)
		key = nonReversible(key, reg)
	}
	Wipe(ipek[:])
	return key, nil
}

// nonReversible is the non-reversible key generation process for a double-length
// key (X9.24-1:2009 A.2, "Non-reversible Key Generation Process"): with the KSN
// register R and key K = KL|KR, the new right half is DES(KL, R^KR)^KR and the new
// left half is the same computation under K XOR C0C0C0C000000000C0C0C0C000000000.
func nonReversible(k Key, reg uint64) Key {
	var r [8]byte
	binary.BigEndian.PutUint64(r[:], reg)
	var out Key
	half(out[8:], &k, &r)
	k = xorKey(k, kvariant)
	half(out[:8], &k, &r)
	Wipe(k[:])
	return out
}

// half computes DES(KL, R XOR KR) XOR KR into dst.
func half(dst []byte, k *Key, r *[8]byte) {
	var t [8]byte
	for i := range t {
		t[i] = r[i] ^ k[8+i]
	}
	desBlock(k[:8]).Encrypt(t[:], t[:])
	for i := range t {
		dst[i] = t[i] ^ k[8+i]
	}
	Wipe(t[:])
}

// Usage names what a working key derived from a transaction key protects.
type Usage int

// The working-key usages of X9.24-1:2009 A.4.1 (Table A-1 and Figure A-2).
const (
	PINEncryption Usage = iota // PIN blocks, request direction
	MACRequest                 // MAC on the request (or both directions)
	MACResponse                // MAC on the response
	DataRequest                // data encryption, request (or both directions)
	DataResponse               // data encryption, response
)

// variants is X9.24-1:2009 Table A-1: the mask each usage XORs into the transaction
// key. The data-encryption keys then go through a one-way step (Figure A-2): each
// half of the variant key is TDES-encrypted under the variant key itself, so a data
// key does not reveal the transaction key it came from.
var variants = [...]struct {
	name   string
	mask   Key
	oneWay bool
}{
	PINEncryption: {"PIN encryption", Key{7: 0xFF, 15: 0xFF}, false},
	MACRequest:    {"MAC request", Key{6: 0xFF, 14: 0xFF}, false},
	MACResponse:   {"MAC response", Key{4: 0xFF, 12: 0xFF}, false},
	DataRequest:   {"data request", Key{5: 0xFF, 13: 0xFF}, true},
	DataResponse:  {"data response", Key{3: 0xFF, 11: 0xFF}, true},
}

// String returns the usage's name as the standard writes it.
func (u Usage) String() string {
	if u < 0 || int(u) >= len(variants) {
		return fmt.Sprintf("Usage(%d)", int(u))
	}
	return variants[u].name
}

// WorkingKey returns the key for usage u derived from a current transaction key
// (X9.24-1:2009 A.4.1). The caller wipes the result.
func WorkingKey(transactionKey Key, u Usage) (Key, error) {
	if u < 0 || int(u) >= len(variants) {
		return Key{}, fmt.Errorf("dukpt: unknown key usage %d", int(u))
	}
	v := variants[u]
	k := xorKey(transactionKey, v.mask)
	Wipe(transactionKey[:])
	if !v.oneWay {
		return k, nil
	}
	var out Key
	b := tdesBlock(&k)
	b.Encrypt(out[:8], k[:8])
	b.Encrypt(out[8:], k[8:])
	Wipe(k[:])
	return out, nil
}

// EncryptPINBlock encrypts an 8-byte clear PIN block (ISO 9564 format 0, say) under
// a PIN encryption key with TDES in ECB mode, as the PIN pad does before the block
// leaves it. The caller wipes the clear block.
func EncryptPINBlock(pinKey Key, clear [8]byte) [8]byte {
	var out [8]byte
	tdesBlock(&pinKey).Encrypt(out[:], clear[:])
	Wipe(pinKey[:])
	Wipe(clear[:])
	return out
}

// DecryptPINBlock is the inverse of EncryptPINBlock, used by the host to recover the
// clear PIN block. The caller wipes the result.
func DecryptPINBlock(pinKey Key, enc [8]byte) [8]byte {
	var out [8]byte
	tdesBlock(&pinKey).Decrypt(out[:], enc[:])
	Wipe(pinKey[:])
	return out
}
