package qr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Merchant is what a terminal's dynamic merchant-presented code says about the
// merchant: from the terminal's configuration, the same on every code.
type Merchant struct {
	// AccountID is the ID of the merchant account information template, 26–51
	// (26 when empty).
	AccountID string
	// GUID is the template's globally unique identifier (its 00): the acquirer's
	// or payment network's application identifier or reverse domain name, as the
	// acquirer assigns it, e.g. "A000000333" or "com.example.pay".
	GUID string
	// MerchantID is the merchant's identifier under GUID (the template's 01).
	MerchantID string
	// MCC is the merchant category code, four digits.
	MCC string
	// Currency is the ISO 4217 numeric currency, "156" for CNY.
	Currency string
	// Exponent is the currency's number of decimals (2 for CNY).
	Exponent int
	// Country is ISO 3166-1 alpha 2, "CN".
	Country string
	// Name and City are the merchant's, as the customer's wallet shows them (at
	// most 25 and 15 characters).
	Name, City string
}

// Order is one sale's part of a dynamic code.
type Order struct {
	// Amount in minor units (fen); it must be positive.
	Amount int64
	// BillNumber is the terminal's merchant order number (62/01), which the
	// acquirer's notification and the refund quote.
	BillNumber string
	// TerminalLabel is the terminal id (62/07).
	TerminalLabel string
	// Reference is an optional reference label (62/05).
	Reference string
}

// Build returns the dynamic (point of initiation 12) merchant-presented payload of
// order at merchant m, CRC included. It refuses a field that does not fit the
// specification's format rather than truncating it.
func Build(m Merchant, o Order) (string, error) {
	acct := m.AccountID
	if acct == "" {
		acct = "26"
	}
	if n, err := strconv.Atoi(acct); err != nil || len(acct) != 2 || n < 26 || n > 51 {
		return "", errorf("merchant account information ID %q is not 26 to 51", acct)
	}
	if m.GUID == "" || m.MerchantID == "" {
		return "", errorf("merchant account information needs a GUID and a merchant id")
	}
	if o.Amount <= 0 {
		return "", errorf("amount %d is not positive", o.Amount)
	}
	if o.BillNumber == "" {
		return "", errorf("a dynamic code needs a bill number (the order number)")
	}
	var b builder
	b.add(IDFormat, "01")
	b.add(IDInitiation, InitiationDynamic)
	var a builder
	a.add("00", m.GUID)
	a.add("01", m.MerchantID)
	b.add(acct, a.String())
	b.add(IDMCC, m.MCC)
	b.add(IDCurrency, m.Currency)
	b.add(IDAmount, FormatAmount(o.Amount, m.Exponent))
	b.add(IDCountry, m.Country)
	b.add(IDMerchantName, m.Name)
	b.add(IDMerchantCity, m.City)
	var add builder
	add.add(AddBillNumber, o.BillNumber)
	if o.Reference != "" {
		add.add(AddReference, o.Reference)
	}
	if o.TerminalLabel != "" {
		add.add(AddTerminalLabel, o.TerminalLabel)
	}
	b.add(IDAdditional, add.String())
	for _, x := range []*builder{&a, &add} {
		if x.err != nil {
			b.err = x.err
		}
	}
	if b.err != nil {
		return "", b.err
	}
	s := b.String() + IDCRC + "04"
	s += fmt.Sprintf("%04X", CRC16([]byte(s)))
	// What is built is what Parse takes: the one set of format rules.
	if _, err := Parse(s); err != nil {
		return "", err
	}
	return s, nil
}

// builder writes data objects.
type builder struct {
	strings.Builder
	err error
}

func (b *builder) add(id, v string) {
	n := utf8.RuneCountInString(v)
	switch {
	case b.err != nil:
		return
	case n == 0:
		b.err = errorf("data object %s is empty", id)
	case n > 99:
		b.err = errorf("data object %s is %d characters, more than 99", id, n)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7F }):
		b.err = errorf("data object %s holds a control character or is not UTF-8", id)
	}
	if b.err == nil {
		fmt.Fprintf(b, "%s%02d%s", id, n, v)
	}
}

// FormatAmount writes minor units as the payload's amount: decimals only as many as
// the currency has, e.g. 2372 fen → "23.72", 500 → "5.00".
func FormatAmount(minor int64, exponent int) string {
	s := strconv.FormatInt(minor, 10)
	if exponent <= 0 {
		return s
	}
	if len(s) <= exponent {
		s = strings.Repeat("0", exponent-len(s)+1) + s
	}
	return s[:len(s)-exponent] + "." + s[len(s)-exponent:]
}

// ParseAmount reads a payload's amount into minor units of a currency with
// exponent decimals; more decimals than that are refused.
func ParseAmount(v string, exponent int) (int64, error) {
	if !validAmount(v) {
		return 0, errorf("amount is not digits with one decimal point")
	}
	whole, frac, _ := strings.Cut(v, ".")
	if len(frac) > exponent {
		return 0, errorf("amount has %d decimals; the currency has %d", len(frac), exponent)
	}
	frac += strings.Repeat("0", exponent-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errorf("amount out of range")
	}
	return n, nil
}
