package ui

import "posfw/ui/i18n"

// Lang is a screen language: the one of package i18n, named here for the screens.
type Lang = i18n.Lang

// Languages of screens and receipts.
const (
	English = i18n.English
	Chinese = i18n.Chinese
)

// ParseLang accepts "zh" and "en".
func ParseLang(s string) (Lang, bool) { return i18n.ParseLang(s) }

// Text is a message in both languages: the one text type of package i18n, which the
// transaction rules and the receipts use too, so a refusal or a response code's words
// go on screen as they are. English wording follows the prompt vocabulary of DESIGN §4
// (Operator, Amount, Card, PIN, Password, ...) so scripts can drive any flow.
type Text = i18n.Text

// Messages the screens share.
var (
	MsgNotAvailable = Text{EN: "Not available yet", ZH: "暂未开放"}
	MsgPressCancel  = Text{EN: "CANCEL: back", ZH: "取消键返回"}
	MsgMore         = Text{EN: "UP/DOWN: more", ZH: "上下键翻页"}
	MsgNoModem      = Text{EN: "No modem", ZH: "无模块"}
)
