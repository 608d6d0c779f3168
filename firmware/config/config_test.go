package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSimDefaults(t *testing.T) {
	c := Sim()
	if c.TerminalID != "SIM00001" || c.CurrencyCode() != "156" || c.CurrencyDigits() != 2 {
		t.Errorf("Sim() = %s %s/%d; want SIM00001 156/2", c.TerminalID, c.CurrencyCode(), c.CurrencyDigits())
	}
	if c.Limits.DuplicateWindow.Duration != 120*time.Second {
		t.Errorf("duplicate window = %v; want 2m0s", c.Limits.DuplicateWindow)
	}
}

const good = `
terminal_id = "12345678"
merchant_id = "123456789012345"
merchant_name = "Shop"
[host]
address = "10.0.0.1:5000"
`

func TestParseDefaults(t *testing.T) {
	c, err := Parse("t.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Currency != "CNY" || c.Host.ResponseTimeout.Duration != 30*time.Second || c.Board != "sim" {
		t.Errorf("defaults = %s %v %s; want CNY 30s sim", c.Currency, c.Host.ResponseTimeout, c.Board)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, extra, key, reason string
	}{
		{"unknown key", "colour = \"red\"", "colour", "unknown key"},
		{"unknown nested", "[limits]\nmax_amout = 5", "limits.max_amout", "unknown key"},
		{"short tid", `terminal_id = "123"`, "terminal_id", "exactly 8"},
		{"currency", `currency = "XXX"`, "currency", "not one of"},
		{"language", `language = "fr"`, "language", "not one of"},
		{"dialect", "[host]\ndialect = \"x25\"", "host.dialect", "not one of"},
		{"address", "[host]\naddress = \"nowhere\"", "host.address", "host:port"},
		{"timeout", "[host]\nresponse_timeout = \"1h\"", "host.response_timeout", "outside"},
		{"bad duration", "[host]\nresponse_timeout = \"soon\"", "", "duration"},
		{"amount", "[limits]\nmax_amount = -1", "limits.max_amount", "between"},
		{"apn", "[modem]\napn = \"a b\"", "modem.apn", "not an APN"},
		{"syntax", "terminal_id = ", "", "line"},
		{"tls ca", "[host]\ntls_ca = \"/nonexistent.pem\"", "host.tls_ca", "cannot be read"},
		{"master key", "[host]\nmaster_key_file = \"/nonexistent.key\"", "host.master_key_file", "cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Later keys override earlier ones in this test by building the file in order.
			src := strings.Replace(good, "[host]\naddress = \"10.0.0.1:5000\"\n", "", 1)
			host := "\n[host]\naddress = \"10.0.0.1:5000\"\n"
			switch {
			case strings.HasPrefix(tc.extra, "[host]"):
				src = src + strings.Replace(tc.extra, "[host]", strings.TrimRight(host, "\n"), 1)
				if tc.key == "host.address" {
					src = strings.Replace(src, "address = \"10.0.0.1:5000\"\n", "", 1)
				}
			case strings.HasPrefix(tc.extra, "["):
				src = src + host + tc.extra
			default:
				src = tc.extra + "\n" + src + host
				if tc.key == "terminal_id" {
					src = strings.Replace(src, "terminal_id = \"12345678\"\n", "", 1)
				}
			}
			_, err := Parse("t.toml", []byte(src))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%q) = %v; want a *config.Error", src, err)
			}
			if ce.File != "t.toml" || ce.Key != tc.key || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("Parse error = %q (key %q); want key %q, reason containing %q", err, ce.Key, tc.key, tc.reason)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines; want one line", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "posfw.toml")
	if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Errorf("Load(%s) = %v", p, err)
	}
	if _, err := Load(p + ".missing"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add(simTOML)
	f.Add([]byte("[host\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("fuzz.toml", b)
		if err == nil && (len(c.TerminalID) != 8 || c.Limits.MaxAmount <= 0) {
			t.Errorf("Parse accepted an invalid config: %+v", c)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	})
}

func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		ok      bool
	}{
		{"404142434445464748494A4B4C4D4E4F\n", true},
		{"4041424344454647", false},
		{"zz4142434445464748494A4B4C4D4E4F", false},
	} {
		p := filepath.Join(dir, "tmk")
		os.WriteFile(p, []byte(tc.content), 0o600)
		k, err := MasterKey(p)
		if (err == nil) != tc.ok || (tc.ok && len(k) != 16) {
			t.Errorf("MasterKey(%q) = %x, %v; want ok %v", tc.content, k, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.content[:8]) {
			t.Errorf("error %q quotes the key", err)
		}
	}
}
