package ui_test

import (
	"errors"
	"testing"

	"posfw/ui"
)

// TestDigitBytes: a keyed card number comes back in bytes (CLEAR edits it), and
// CANCEL on an empty entry gives nothing.
func TestDigitBytes(t *testing.T) {
	label := ui.Text{EN: "Card number", ZH: "卡号"}
	for _, tc := range []struct {
		name string
		keys []ui.Key
		want string
		err  error
	}{
		{"typed", keys("6222021234567894", ui.KeyEnter), "6222021234567894", nil},
		{"corrected", keys("62220212345678955", ui.KeyClear, ui.KeyClear, "4", ui.KeyEnter), "6222021234567894", nil},
		{"too short, then long enough", keys("62220", ui.KeyEnter, "2123456", ui.KeyEnter), "622202123456", nil},
		{"longer than the field", keys("62220212345678940000", ui.KeyEnter), "6222021234567894000", nil},
		{"cancelled", keys("6222", ui.KeyCancel, ui.KeyCancel), "", ui.ErrCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, d, ctx := newUI(t, ui.English)
			type result struct {
				b   []byte
				err error
			}
			got := make(chan result, 1)
			go func() {
				b, err := u.DigitBytes(ctx, ui.Text{EN: "Sale", ZH: "消费"}, label, 12, 19, false)
				got <- result{b, err}
			}()
			waitFor(t, ctx, d, "Card number")
			for _, k := range tc.keys {
				u.Press(k)
			}
			r := <-got
			if string(r.b) != tc.want || !errors.Is(r.err, tc.err) {
				t.Errorf("DigitBytes = %q, %v; want %q, %v", r.b, r.err, tc.want, tc.err)
			}
		})
	}
}

// keys spells digits as keys, with other keys between.
func keys(parts ...any) []ui.Key {
	var ks []ui.Key
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			for _, c := range p {
				ks = append(ks, ui.Key(string(c)))
			}
		case ui.Key:
			ks = append(ks, p)
		}
	}
	return ks
}
