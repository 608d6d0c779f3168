package ui

import (
	"fmt"
	"strings"
)

// Key is one key of the terminal's keypad.
type Key string

// The keypad's keys besides the digits "0".."9".
const (
	KeyDot    Key = "."
	KeyEnter  Key = "ENTER"
	KeyCancel Key = "CANCEL"
	KeyClear  Key = "CLEAR"
	KeyUp     Key = "UP"
	KeyDown   Key = "DOWN"
	KeyMenu   Key = "MENU"
	KeyF1     Key = "F1"
	KeyF2     Key = "F2"
	KeyF3     Key = "F3"
	KeyF4     Key = "F4"
)

var namedKeys = []Key{KeyDot, KeyEnter, KeyCancel, KeyClear, KeyUp, KeyDown, KeyMenu, KeyF1, KeyF2, KeyF3, KeyF4}

// ParseKey reads a key name as typed in a script: a digit, ".", or one of ENTER CANCEL
// CLEAR UP DOWN MENU F1-F4 (any case).
func ParseKey(s string) (Key, error) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '9' {
		return Key(s), nil
	}
	u := Key(strings.ToUpper(s))
	for _, k := range namedKeys {
		if u == k {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown key %q (want 0-9 . ENTER CANCEL CLEAR UP DOWN MENU F1-F4)", s)
}

// Digit reports whether k is a digit key, and which.
func (k Key) Digit() (int, bool) {
	if len(k) == 1 && k[0] >= '0' && k[0] <= '9' {
		return int(k[0] - '0'), true
	}
	return 0, false
}
