package qr

import (
	"errors"
	"strconv"
)

// Wallet is the payment network behind a customer-presented code.
type Wallet string

// Wallets a terminal takes.
const (
	WeChat   Wallet = "wechat"
	Alipay   Wallet = "alipay"
	UnionPay Wallet = "unionpay"
)

// codeRule is one wallet's code: its first two digits and its length in digits.
type codeRule struct {
	wallet         Wallet
	first, last    int // range of the two-digit prefix
	minLen, maxLen int // total digits
}

// codeRules are the wallets' published code formats: WeChat Pay's payment code is 18
// digits starting 10–15; Alipay's is 16 to 24 digits starting 25–30; UnionPay's QR
// payment code is 19 digits starting 62. The ranges do not overlap, so a code names
// at most one wallet.
var codeRules = []codeRule{
	{WeChat, 10, 15, 18, 18},
	{Alipay, 25, 30, 16, 24},
	{UnionPay, 62, 62, 19, 19},
}

// ErrNotPaymentCode is the error of a scanned code that is no wallet's payment code:
// refused before anything is sent.
var ErrNotPaymentCode = errors.New("not a WeChat Pay, Alipay or UnionPay payment code")

// Classify returns the wallet of a customer-presented payment code, or
// ErrNotPaymentCode. The error never holds the code.
func Classify(code string) (Wallet, error) {
	if len(code) < 2 || !digits(code) {
		return "", ErrNotPaymentCode
	}
	prefix, _ := strconv.Atoi(code[:2])
	for _, r := range codeRules {
		if prefix >= r.first && prefix <= r.last && len(code) >= r.minLen && len(code) <= r.maxLen {
			return r.wallet, nil
		}
	}
	return "", ErrNotPaymentCode
}

// MaskCode is a payment code as the journal and the slip may show it: its first
// four and last four digits, the rest starred, so that a code cannot be replayed
// from the evidence and a customer can still recognise theirs.
func MaskCode(code string) string {
	if len(code) <= 8 {
		return "****"
	}
	b := []byte(code)
	for i := 4; i < len(b)-4; i++ {
		b[i] = '*'
	}
	return string(b)
}
