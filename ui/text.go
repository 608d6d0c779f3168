package ui

// Lang is a screen language.
type Lang string

// Languages of screens and receipts.
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

// In returns the text in lang.
func (t Text) In(lang Lang) string {
	if lang == Chinese && t.ZH != "" {
		return t.ZH
	}
	return t.EN
}

// Messages the screens share.
var (
	MsgNotAvailable = Text{"Not available yet", "暂未开放"}
	MsgPressCancel  = Text{"CANCEL: back", "取消键返回"}
	MsgMore         = Text{"UP/DOWN: more", "上下键翻页"}
	MsgNoModem      = Text{"No modem", "无模块"}
)
