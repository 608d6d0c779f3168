package emvcrypto

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"
)

// PublicKey is an RSA public key as EMV carries it: modulus and exponent as bytes.
type PublicKey struct {
	N []byte // modulus, big-endian, its length is the key's N
	E []byte // exponent: 03 or 01 00 01
}

// PrivateKey is the signing half: only the simulators and the tests have one.
type PrivateKey struct {
	PublicKey
	D []byte
}

// Errors of recovery and verification.
var (
	ErrRecover = errors.New("emvcrypto: signature does not recover (wrong key or damaged data)")
	ErrHash    = errors.New("emvcrypto: hash of the signed data does not match")
	ErrFormat  = errors.New("emvcrypto: recovered data has the wrong format")
)

// The formats in byte 2 of recovered data (Book 2 Tables 6, 7, 14, 17).
const (
	FormatIssuerCert  = 0x02
	FormatSSAD        = 0x03
	FormatICCCert     = 0x04
	FormatSDAD        = 0x05
	hashSHA1          = 0x01
	pkAlgRSA          = 0x01
	header, trailer   = 0x6A, 0xBC
	shaLen            = sha1.Size
	padByte           = 0xBB
	issuerCertFixed   = 36 // N_CA − this = issuer key bytes in the certificate
	iccCertFixed      = 42 // N_I − this = ICC key bytes in the certificate
	ssadFixed         = 26 // N_I − this = pad bytes of signed static data
	sdadFixed         = 25 // N_IC − LDD − this = pad bytes of signed dynamic data
	maxRecoverableLen = 248
)

// recoverRaw is RSA public operation X = S^e mod n, the whole of EMV's "recovery".
// EMV exponents are 3 or 65537 (Book 2 §11.2): a longer one is refused, which also
// keeps hostile input from costing seconds.
func recoverRaw(pub PublicKey, s []byte) ([]byte, error) {
	n := len(pub.N)
	if n == 0 || n > maxRecoverableLen || len(pub.E) == 0 || len(pub.E) > 3 {
		return nil, fmt.Errorf("%w: key of %d bytes", ErrRecover, n)
	}
	if len(s) != n {
		return nil, fmt.Errorf("%w: %d bytes signed under a key of %d", ErrRecover, len(s), n)
	}
	m := new(big.Int).SetBytes(pub.N)
	x := new(big.Int).SetBytes(s)
	if x.Cmp(m) >= 0 {
		return nil, ErrRecover
	}
	x.Exp(x, new(big.Int).SetBytes(pub.E), m)
	out := x.FillBytes(make([]byte, n))
	if out[0] != header || out[n-1] != trailer {
		return nil, ErrRecover
	}
	return out, nil
}

// sign is the private operation S = X^d mod n over a message already laid out as the
// recovered data (header ... trailer).
func sign(priv *PrivateKey, x []byte) ([]byte, error) {
	if len(x) != len(priv.N) {
		return nil, fmt.Errorf("emvcrypto: %d bytes to sign under a key of %d", len(x), len(priv.N))
	}
	m := new(big.Int).SetBytes(priv.N)
	v := new(big.Int).SetBytes(x)
	if v.Cmp(m) >= 0 {
		return nil, errors.New("emvcrypto: message not below the modulus")
	}
	v.Exp(v, new(big.Int).SetBytes(priv.D), m)
	return v.FillBytes(make([]byte, len(priv.N))), nil
}

// Recovered is signed data after recovery: its format, the bytes the hash covers
// (from the format byte to before the hash) and the hash.
type Recovered struct {
	Format byte
	Body   []byte // recovered bytes from the format up to the hash: the signed part
	Hash   []byte // the SHA-1 hash the signer put in
}

// Recover applies pub to signed data and checks header, trailer, format and hash
// algorithm. It does not check the hash: that needs data the signature does not carry
// (see Check).
func Recover(pub PublicKey, signed []byte, format byte) (*Recovered, error) {
	x, err := recoverRaw(pub, signed)
	if err != nil {
		return nil, err
	}
	n := len(x)
	if n < 1+shaLen+1+4 || x[1] != format {
		return nil, fmt.Errorf("%w: format %02X, want %02X", ErrFormat, x[1], format)
	}
	r := &Recovered{Format: x[1], Body: x[1 : n-1-shaLen], Hash: x[n-1-shaLen : n-1]}
	// The hash algorithm indicator sits at a different offset in each format.
	at, known := map[byte]int{FormatIssuerCert: 10, FormatICCCert: 16, FormatSSAD: 1, FormatSDAD: 1}[format]
	if !known {
		return nil, fmt.Errorf("%w: unknown format %02X", ErrFormat, format)
	}
	if at >= len(r.Body) || r.Body[at] != hashSHA1 {
		return nil, fmt.Errorf("%w: hash algorithm is not SHA-1", ErrFormat)
	}
	return r, nil
}

// Check verifies the hash over the body and the data that follows it in the hash
// input (Book 2: remainder, exponent, static data, or dynamic data).
func (r *Recovered) Check(extra ...[]byte) error {
	h := sha1.New()
	h.Write(r.Body)
	for _, e := range extra {
		h.Write(e)
	}
	if !bytes.Equal(h.Sum(nil), r.Hash) {
		return ErrHash
	}
	return nil
}

func layout(n int, body []byte) []byte {
	x := make([]byte, 0, n)
	x = append(x, header)
	x = append(x, body...)
	return x
}

func finish(x []byte, extra ...[]byte) []byte {
	h := sha1.New()
	h.Write(x[1:])
	for _, e := range extra {
		h.Write(e)
	}
	return append(h.Sum(x), trailer)
}

// Cert is what an issuer or ICC public key certificate says (Book 2 Tables 6 and 14).
type Cert struct {
	ID     []byte // issuer identifier (4 bytes, leftmost PAN digits, F-padded) or PAN (10 bytes, F-padded)
	Expiry []byte // MMYY, BCD
	Serial []byte // 3 bytes
	Key    PublicKey
}

// SignIssuerCert makes an issuer public key certificate (tag 90) under the CA's key,
// with the issuer key remainder (tag 92) when the key does not fit.
func SignIssuerCert(ca *PrivateKey, c Cert) (cert, remainder []byte, err error) {
	return signCert(ca, c, FormatIssuerCert, 4, issuerCertFixed, nil)
}

// SignICCCert makes an ICC public key certificate (tag 9F46) under the issuer's key;
// its hash covers the static data to be authenticated (Book 2 §6.1).
func SignICCCert(issuer *PrivateKey, c Cert, staticData []byte) (cert, remainder []byte, err error) {
	return signCert(issuer, c, FormatICCCert, 10, iccCertFixed, staticData)
}

func signCert(signer *PrivateKey, c Cert, format byte, idLen, fixed int, staticData []byte) ([]byte, []byte, error) {
	n := len(signer.N)
	room := n - fixed
	if len(c.ID) != idLen || len(c.Expiry) != 2 || len(c.Serial) != 3 || room <= 0 {
		return nil, nil, errors.New("emvcrypto: certificate fields of the wrong length")
	}
	if len(c.Key.N) > 255 || len(c.Key.E) > 3 || len(c.Key.N) > n {
		return nil, nil, errors.New("emvcrypto: certified key too long")
	}
	body := []byte{format}
	body = append(append(append(body, c.ID...), c.Expiry...), c.Serial...)
	body = append(body, hashSHA1, pkAlgRSA, byte(len(c.Key.N)), byte(len(c.Key.E)))
	var rem []byte
	if len(c.Key.N) > room {
		body = append(body, c.Key.N[:room]...)
		rem = c.Key.N[room:]
	} else {
		body = append(body, c.Key.N...)
		body = append(body, bytes.Repeat([]byte{padByte}, room-len(c.Key.N))...)
	}
	x := finish(layout(n, body), rem, c.Key.E, staticData)
	s, err := sign(signer, x)
	return s, rem, err
}

// RecoverIssuerCert recovers and checks an issuer public key certificate under the CA
// key: format, hash over certificate, remainder and exponent, and that the issuer
// identifier matches the PAN's leading digits. Expiry is the kernel's to judge.
func RecoverIssuerCert(ca PublicKey, cert, remainder, exponent []byte, pan []byte) (Cert, error) {
	return recoverCert(ca, cert, remainder, exponent, FormatIssuerCert, 4, issuerCertFixed, pan, nil)
}

// RecoverICCCert recovers and checks an ICC public key certificate under the issuer key;
// the hash covers the static data to be authenticated, and the PAN must be the card's.
func RecoverICCCert(issuer PublicKey, cert, remainder, exponent, pan, staticData []byte) (Cert, error) {
	return recoverCert(issuer, cert, remainder, exponent, FormatICCCert, 10, iccCertFixed, pan, staticData)
}

// ParseCert reads the fields of a recovered certificate without checking its hash
// (for a published certificate whose signed static data is not published).
func ParseCert(r *Recovered, remainder []byte, idLen int) (Cert, error) {
	b := r.Body
	if len(b) < 1+idLen+2+3+4 {
		return Cert{}, ErrFormat
	}
	c := Cert{ID: b[1 : 1+idLen], Expiry: b[1+idLen : 3+idLen], Serial: b[3+idLen : 6+idLen]}
	p := b[6+idLen:]
	if p[1] != pkAlgRSA {
		return Cert{}, fmt.Errorf("%w: key algorithm %02X", ErrFormat, p[1])
	}
	keyLen := int(p[2])
	field := p[4:]
	switch {
	case keyLen <= len(field):
		for _, x := range field[keyLen:] {
			if x != padByte {
				return Cert{}, fmt.Errorf("%w: padding", ErrFormat)
			}
		}
		c.Key.N = bytes.Clone(field[:keyLen])
	case keyLen == len(field)+len(remainder):
		c.Key.N = append(bytes.Clone(field), remainder...)
	default:
		return Cert{}, fmt.Errorf("%w: key of %d bytes, %d in the certificate and %d in the remainder", ErrFormat, keyLen, len(field), len(remainder))
	}
	return c, nil
}

// The identifier lengths ParseCert takes: issuer certificates carry the issuer
// identifier, ICC certificates the PAN.
const (
	IssuerIDLen = 4
	ICCIDLen    = 10
)

func recoverCert(pub PublicKey, cert, remainder, exponent []byte, format byte, idLen, fixed int, pan, staticData []byte) (Cert, error) {
	r, err := Recover(pub, cert, format)
	if err != nil {
		return Cert{}, err
	}
	c, err := ParseCert(r, remainder, idLen)
	if err != nil {
		return Cert{}, err
	}
	if int(r.Body[6+idLen+3]) != len(exponent) {
		return Cert{}, fmt.Errorf("%w: exponent length", ErrFormat)
	}
	c.Key.E = bytes.Clone(exponent)
	if len(c.Key.N) <= len(pub.N)-fixed {
		remainder = nil // the whole key is in the certificate; no remainder is hashed
	}
	if err := r.Check(remainder, exponent, staticData); err != nil {
		return Cert{}, err
	}
	match := idMatches(c.ID, pan)
	if format == FormatICCCert {
		match = bytes.Equal(idDigits(c.ID), idDigits(pan))
	}
	if !match {
		return Cert{}, fmt.Errorf("%w: the certificate is not for this PAN", ErrFormat)
	}
	return c, nil
}

// idMatches compares an F-padded identifier (issuer: 3 to 8 digits; ICC: the PAN) with
// the PAN's digits: the identifier must be their beginning (all of them for the ICC).
func idMatches(id, pan []byte) bool {
	d := idDigits(id)
	return len(d) > 0 && bytes.HasPrefix(idDigits(pan), d)
}

func idDigits(id []byte) []byte {
	var d []byte
	for _, b := range id {
		for _, nib := range []byte{b >> 4, b & 0x0F} {
			if nib == 0x0F {
				return d
			}
			d = append(d, nib)
		}
	}
	return d
}

// SignStaticData makes Signed Static Application Data (tag 93) for SDA: the data
// authentication code and the hash of the static data to be authenticated.
func SignStaticData(issuer *PrivateKey, dac, staticData []byte) ([]byte, error) {
	n := len(issuer.N)
	if len(dac) != 2 || n < ssadFixed+1 {
		return nil, errors.New("emvcrypto: data authentication code is 2 bytes")
	}
	body := append([]byte{FormatSSAD, hashSHA1}, dac...)
	body = append(body, bytes.Repeat([]byte{padByte}, n-ssadFixed)...)
	return sign(issuer, finish(layout(n, body), staticData))
}

// VerifyStaticData recovers and checks Signed Static Application Data under the issuer
// key and returns the data authentication code (9F45).
func VerifyStaticData(issuer PublicKey, ssad, staticData []byte) ([]byte, error) {
	r, err := Recover(issuer, ssad, FormatSSAD)
	if err != nil {
		return nil, err
	}
	if err := r.Check(staticData); err != nil {
		return nil, err
	}
	return bytes.Clone(r.Body[2:4]), nil
}

// SignDynamicData makes Signed Dynamic Application Data (tag 9F4B, DDA and fDDA): the
// ICC dynamic data (its first byte the length of the ICC dynamic number, then the
// number, then whatever the variant adds) signed with the terminal's dynamic data (the
// DDOL's value) in the hash.
func SignDynamicData(icc *PrivateKey, iccDynamic, terminalDynamic []byte) ([]byte, error) {
	n := len(icc.N)
	if len(iccDynamic) > n-sdadFixed {
		return nil, errors.New("emvcrypto: ICC dynamic data too long for the key")
	}
	body := []byte{FormatSDAD, hashSHA1, byte(len(iccDynamic))}
	body = append(body, iccDynamic...)
	body = append(body, bytes.Repeat([]byte{padByte}, n-len(iccDynamic)-sdadFixed)...)
	return sign(icc, finish(layout(n, body), terminalDynamic))
}

// VerifyDynamicData recovers and checks Signed Dynamic Application Data under the ICC
// key and returns the ICC dynamic data.
func VerifyDynamicData(icc PublicKey, sdad, terminalDynamic []byte) ([]byte, error) {
	r, err := Recover(icc, sdad, FormatSDAD)
	if err != nil {
		return nil, err
	}
	if err := r.Check(terminalDynamic); err != nil {
		return nil, err
	}
	l := int(r.Body[2])
	if 3+l > len(r.Body) {
		return nil, fmt.Errorf("%w: ICC dynamic data length", ErrFormat)
	}
	return bytes.Clone(r.Body[3 : 3+l]), nil
}
