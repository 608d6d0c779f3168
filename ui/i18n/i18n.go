// Package i18n is the terminal's one bilingual text type: every message a cashier,
// a supervisor or a receipt reader sees exists in English and Chinese (DESIGN §4).
//
// It is a leaf: it imports nothing of posfw, so that the transaction rules (txn),
// the screens (ui) and the receipts all say things with the same type and no layer
// converts one message type into another. The layering test holds it to that.
package i18n

// Lang is a screen language.
type Lang string

// The languages of screens; receipts print both.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// ParseLang accepts "zh" and "en".
func ParseLang(s string) (Lang, bool) {
	switch Lang(s) {
	case English, Chinese:
		return Lang(s), true
	}
	return "", false
}

// Text is a message in both languages. English wording follows the prompt vocabulary
// of DESIGN §4 (Operator, Amount, Card, PIN, Password, ...) so scripts can drive any flow.
type Text struct{ EN, ZH string }

// In returns the text in lang; a text with no Chinese falls back to its English.
func (t Text) In(lang Lang) string {
	if lang == Chinese && t.ZH != "" {
		return t.ZH
	}
	return t.EN
}

// Both is the text as a bilingual receipt line prints it: Chinese, then English.
func (t Text) Both() string {
	if t.ZH == "" {
		return t.EN
	}
	return t.ZH + " " + t.EN
}
