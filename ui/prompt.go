package ui

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Prompt words of DESIGN §4: scripts and tests wait for them on screen.
var (
	WordAmount     = Text{EN: "Amount", ZH: "金额"}
	WordCard       = Text{EN: "Insert/tap/swipe card", ZH: "请插卡/挥卡/刷卡"}
	WordPIN        = Text{EN: "PIN", ZH: "密码"}
	WordPassword   = Text{EN: "Password", ZH: "密码"}
	WordSupervisor = Text{EN: "Supervisor", ZH: "主管"}
	WordOperator   = Text{EN: "Operator", ZH: "操作员"}
	WordTrace      = Text{EN: "Trace", ZH: "凭证号"}
	WordRRN        = Text{EN: "RRN", ZH: "参考号"}
	WordDate       = Text{EN: "Date (MMDD)", ZH: "日期(月日)"}
	WordConfirm    = Text{EN: "Confirm: ENTER", ZH: "确认请按确认键"}
	WordApproved   = Text{EN: "Approved", ZH: "交易成功"}
	WordDeclined   = Text{EN: "Declined", ZH: "交易失败"}
	WordRefused    = Text{EN: "Refused", ZH: "交易拒绝"}
	WordProcessing = Text{EN: "Processing", ZH: "处理中"}
	WordRemoveCard = Text{EN: "Remove card", ZH: "请取卡"}
	WordPrinting   = Text{EN: "Printing", ZH: "正在打印"}
	WordManual     = Text{EN: "F1: key card number", ZH: "F1: 手输卡号"}
)

// maxAmountDigits bounds amount entry to what ISO 8583 field 4 carries comfortably.
const maxAmountDigits = 10

// FormatAmount is minor units as 12.34.
func FormatAmount(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

// Amount asks for an amount as payment terminals do: digits shift in from the right
// (1 2 3 4 → 12.34), CLEAR deletes the last digit, CANCEL leaves, ENTER accepts a
// non-zero amount. extra lines (e.g. "Refundable 50.00") are shown under the title.
func (u *UI) Amount(ctx context.Context, title Text, extra ...string) (int64, error) {
	var v int64
	digits := 0
	for {
		lines := []string{Center(u.T(title), u.cols)}
		lines = append(lines, extra...)
		lines = append(lines, u.T(WordAmount)+":", Columns("", FormatAmount(v), u.cols))
		u.Show(lines...)
		k, err := u.ReadKey(ctx, 0)
		if err != nil {
			return 0, err
		}
		switch k {
		case KeyCancel:
			return 0, ErrCancel
		case KeyClear:
			v /= 10
			digits = max(digits-1, 0)
		case KeyEnter:
			if v > 0 {
				return v, nil
			}
		default:
			if d, ok := k.Digit(); ok && digits < maxAmountDigits && (v > 0 || d > 0) {
				v = v*10 + int64(d)
				digits++
			}
		}
	}
}

// Digits asks for a number of minLen..maxLen digits (a trace no., an RRN, a date, a
// password). With mask the digits show as '*'. CLEAR deletes the last digit; CANCEL
// on an empty entry leaves, on a non-empty one clears it.
func (u *UI) Digits(ctx context.Context, title, label Text, minLen, maxLen int, mask bool, extra ...string) (string, error) {
	b, err := u.digits(ctx, title, label, minLen, maxLen, mask, extra...)
	defer clear(b)
	return string(b), err
}

// DigitBytes is Digits for card data (a keyed card number): the digits come back in
// a []byte of the caller's, which it must clear once done, never in a string that
// could not be wiped.
func (u *UI) DigitBytes(ctx context.Context, title, label Text, minLen, maxLen int, mask bool, extra ...string) ([]byte, error) {
	return u.digits(ctx, title, label, minLen, maxLen, mask, extra...)
}

// digits reads the entry into one buffer, sized once so that appending never leaves
// an unwiped copy behind, and wipes it on every way out but ENTER.
func (u *UI) digits(ctx context.Context, title, label Text, minLen, maxLen int, mask bool, extra ...string) ([]byte, error) {
	b := make([]byte, 0, maxLen)
	for {
		shown := string(b)
		if mask {
			shown = strings.Repeat("*", len(b))
		}
		lines := []string{Center(u.T(title), u.cols)}
		lines = append(lines, extra...)
		lines = append(lines, u.T(label)+":", shown+"_")
		u.Show(lines...)
		k, err := u.ReadKey(ctx, 0)
		if err != nil {
			clear(b)
			return nil, err
		}
		switch k {
		case KeyCancel:
			if len(b) == 0 {
				return nil, ErrCancel
			}
			clear(b)
			b = b[:0]
		case KeyClear:
			if len(b) > 0 {
				b[len(b)-1] = 0
				b = b[:len(b)-1]
			}
		case KeyEnter:
			if len(b) >= minLen {
				return b, nil
			}
		default:
			if _, ok := k.Digit(); ok && len(b) < maxLen {
				b = append(b, k[0])
			}
		}
	}
}

// Confirm shows lines and waits: ENTER → true, CANCEL → false.
func (u *UI) Confirm(ctx context.Context, title Text, lines ...string) (bool, error) {
	page := []string{Center(u.T(title), u.cols)}
	page = append(page, lines...)
	for len(page) < u.rows-1 {
		page = append(page, "")
	}
	page = append(page[:u.rows-1], u.T(WordConfirm))
	u.Show(page...)
	for {
		k, err := u.ReadKey(ctx, 0)
		if err != nil {
			return false, err
		}
		switch k {
		case KeyEnter:
			return true, nil
		case KeyCancel:
			return false, nil
		}
	}
}

// Result shows an outcome until ENTER or CANCEL, or for at most wait.
func (u *UI) Result(ctx context.Context, wait time.Duration, lines ...string) error {
	for len(lines) < u.rows-1 {
		lines = append(lines, "")
	}
	lines = append(lines[:u.rows-1], u.T(Text{EN: "ENTER: done", ZH: "按确认键返回"}))
	u.Show(lines...)
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		k, err := u.ReadKey(ctx, left)
		if err == ErrTimeout {
			return nil
		}
		if err != nil {
			return err
		}
		if k == KeyEnter || k == KeyCancel {
			return nil
		}
	}
}

// Choose shows numbered options and returns the index picked (CANCEL: ErrCancel).
func (u *UI) Choose(ctx context.Context, title Text, options []Text) (int, error) {
	chosen := -1
	items := make([]Item, len(options))
	for i, o := range options {
		i := i
		items[i] = Item{Label: o, Run: func(context.Context) error { chosen = i; return errChosen }}
	}
	err := u.Menu(ctx, title, items)
	if err == errChosen {
		return chosen, nil
	}
	if err == nil {
		return 0, ErrCancel
	}
	return 0, err
}

var errChosen = fmt.Errorf("chosen")
