package app

import (
	"strings"
	"testing"

	"posfw/drivers/pinpad"
)

// TestAccountDigits: the digits read from the PAN's bytes are pinpad.AccountDigits'
// for every length it takes, and bad PANs are refused without quoting them.
func TestAccountDigits(t *testing.T) {
	for _, pan := range []string{
		"12345678", "123456789012", "1234567890123", "6222021234567894", "4000000000000000002", // 8, 12, 13, 16, 19 digits
		"1234567", "12345678901234567890", "62220212345678a4", "",
	} {
		got, gotErr := accountDigits([]byte(pan))
		want, wantErr := pinpad.AccountDigits(pan)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("accountDigits(%q) = %q, %v; want %q, %v", pan, got, gotErr, want, wantErr)
		}
		if gotErr != nil && len(pan) > 4 && strings.Contains(gotErr.Error(), pan) {
			t.Errorf("accountDigits(%q) error %q quotes the PAN", pan, gotErr)
		}
	}
}
