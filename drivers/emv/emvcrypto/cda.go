package emvcrypto

import (
	"crypto/sha1"
	"fmt"

	"posfw/drivers/emv/tlv"
)

// CDA: combined DDA/application cryptogram generation (Book 2 §6.6). The card signs,
// with its ICC key, ICC dynamic data that hold the cryptogram and a hash of the
// transaction's data, so that the terminal knows the cryptogram came from the card it
// authenticated.

// CDADynamicData lays out the ICC dynamic data of a CDA signature (Book 2 Table 22):
// length of the ICC dynamic number, the number, the Cryptogram Information Data, the
// application cryptogram and the transaction data hash code.
func CDADynamicData(number []byte, cid byte, ac, txnHash []byte) []byte {
	b := append([]byte{byte(len(number))}, number...)
	b = append(append(b, cid), ac...)
	return append(b, txnHash...)
}

// CDAData is what the terminal reads from recovered CDA dynamic data.
type CDAData struct {
	Number  []byte // ICC dynamic number
	CID     byte   // Cryptogram Information Data, to compare with 9F27 of the answer
	AC      []byte // the application cryptogram (9F26 for field 55)
	TxnHash []byte // transaction data hash code
}

// ParseCDADynamicData splits recovered ICC dynamic data of a CDA signature.
func ParseCDADynamicData(d []byte) (CDAData, error) {
	if len(d) < 1 {
		return CDAData{}, fmt.Errorf("%w: empty CDA dynamic data", ErrFormat)
	}
	n := int(d[0])
	if n < 2 || n > 8 || len(d) != 1+n+1+8+sha1.Size {
		return CDAData{}, fmt.Errorf("%w: CDA dynamic data of %d bytes with a number of %d", ErrFormat, len(d), n)
	}
	return CDAData{Number: d[1 : 1+n], CID: d[1+n], AC: d[2+n : 10+n], TxnHash: d[10+n:]}, nil
}

// TransactionDataHash is the transaction data hash code of CDA (Book 2 §6.6.1): SHA-1
// of the PDOL's value (as sent in GET PROCESSING OPTIONS), the CDOL1's value, for the
// second GENERATE AC the CDOL2's value, and the data objects of the GENERATE AC answer
// in the order they came, each with its tag and length, except the signed dynamic
// application data (9F4B).
func TransactionDataHash(pdolValue, cdol1Value, cdol2Value []byte, answer tlv.List) []byte {
	h := sha1.New()
	h.Write(pdolValue)
	h.Write(cdol1Value)
	h.Write(cdol2Value)
	answer.Walk(func(o tlv.TLV) {
		if o.Tag != 0x9F4B {
			h.Write(o.Bytes())
		}
	})
	return h.Sum(nil)
}
