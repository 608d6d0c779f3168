package diag

import (
	"strings"
	"testing"
)

func TestRedactConfig(t *testing.T) {
	in := "terminal_id = \"T1\"\n[host]\naddress = \"10.0.0.1:8583\"\nmaster_key_file = \"/etc/posfw/tmk\"\n  admin_password = \"12345678\"\nPIN_key=abcd\n"
	got := string(RedactConfig([]byte(in)))
	for _, secret := range []string{"/etc/posfw/tmk", "12345678", "abcd"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted config holds %q:\n%s", secret, got)
		}
	}
	for _, kept := range []string{"terminal_id = \"T1\"", "address = \"10.0.0.1:8583\"", "master_key_file = \"[not in the archive]\""} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted config lost %q:\n%s", kept, got)
		}
	}
}
