package config

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
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

// file writes a config: the good one with the keys of set replaced or added
// ("host.dialect" goes in [host]); a value of "" drops the key.
func file(set map[string]string) []byte {
	keys := map[string]string{
		"terminal_id": `"12345678"`, "merchant_id": `"123456789012345"`, "merchant_name": `"Shop"`,
		"host.address": `"10.0.0.1:5000"`,
	}
	for k, v := range set {
		keys[k] = v
	}
	sections := map[string][]string{}
	for k, v := range keys {
		if v == "" {
			continue
		}
		sec, key, ok := strings.Cut(k, ".")
		if !ok {
			sec, key = "", k
		}
		sections[sec] = append(sections[sec], key+" = "+v)
	}
	var b strings.Builder
	for _, sec := range []string{"", "host", "limits", "modem", "update"} {
		if sec != "" && len(sections[sec]) > 0 {
			b.WriteString("[" + sec + "]\n")
		}
		lines := sections[sec]
		sort.Strings(lines)
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	return []byte(b.String())
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name        string
		set         map[string]string
		key, reason string
	}{
		{"unknown key", map[string]string{"colour": `"red"`}, "colour", "unknown key"},
		{"unknown nested", map[string]string{"limits.max_amout": "5"}, "limits.max_amout", "unknown key"},
		{"short tid", map[string]string{"terminal_id": `"123"`}, "terminal_id", "exactly 8"},
		{"currency", map[string]string{"currency": `"XXX"`}, "currency", "not one of"},
		{"language", map[string]string{"language": `"fr"`}, "language", "not one of"},
		{"dialect", map[string]string{"host.dialect": `"x25"`}, "host.dialect", "not one of"},
		{"address", map[string]string{"host.address": `"nowhere"`}, "host.address", "host:port"},
		{"timeout", map[string]string{"host.response_timeout": `"1h"`}, "host.response_timeout", "outside"},
		{"bad duration", map[string]string{"host.response_timeout": `"soon"`}, "", "duration"},
		{"amount", map[string]string{"limits.max_amount": "-1"}, "limits.max_amount", "between"},
		{"apn", map[string]string{"modem.apn": `"a b"`}, "modem.apn", "not an APN"},
		{"missing tid", map[string]string{"terminal_id": ""}, "terminal_id", "exactly 8"},
		{"tls ca", map[string]string{"host.tls_ca": `"/nonexistent.pem"`}, "host.tls_ca", "cannot be read"},
		{"master key file", map[string]string{"host.master_key_file": `"/nonexistent.key"`}, "host.master_key_file", "lives in the PIN pad"},
		{"tpdu", map[string]string{"host.tpdu": `"60000300"`}, "host.tpdu", "10 hex digits"},
		{"header", map[string]string{"host.header": `"6031003100ZZ"`}, "host.header", "12 hex digits"},
		{"field 22", map[string]string{"host.field22": `"middle"`}, "host.field22", "not one of"},
		{"sign-on code", map[string]string{"host.sign_on": `"002"`}, "host.sign_on", "not one of"},
		{"settlement totals", map[string]string{"host.settlement_totals": `"both"`}, "host.settlement_totals", "not one of"},
		{"time zone", map[string]string{"timezone": `"Mars/Olympus_Mons"`}, "timezone", "not a time zone name"},
		{"time zone path", map[string]string{"timezone": `"../../etc/passwd"`}, "timezone", "not a time zone name"},
		{"system zone", map[string]string{"timezone": `"Local"`}, "timezone", "not allowed"},
		{"no zone for USD", map[string]string{"currency": `"USD"`}, "timezone", "must be set for currency USD"},
		{"pin key", map[string]string{"host.pin_key": `"clear"`}, "host.pin_key", "not one of"},
		{"recover after", map[string]string{"modem.recover_after": `"10ms"`}, "modem.recover_after", "outside"},
		{"update root", map[string]string{"update.root": `"opt/posfw"`}, "update.root", "absolute"},
		{"update listen", map[string]string{"update.listen": `"7411"`}, "update.listen", "host:port"},
		{"update key", map[string]string{"update.keys": `["abcd"]`}, "update.keys", "64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := file(tc.set)
			_, err := Parse("t.toml", src)
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
	if _, err := Parse("t.toml", []byte("terminal_id = ")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Parse of a broken line = %v; want the line named", err)
	}
	if _, err := Parse("t.toml", file(nil)); err != nil {
		t.Errorf("the good file was refused: %v", err)
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

// TestLocation: the terminal's zone is the configured one, else its currency's; a CNY
// terminal is on Beijing time whatever the machine's TZ says.
func TestLocation(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{nil, "Asia/Shanghai"},
		{map[string]string{"currency": `"HKD"`}, "Asia/Hong_Kong"},
		{map[string]string{"currency": `"USD"`, "timezone": `"America/New_York"`}, "America/New_York"},
		{map[string]string{"timezone": `"UTC"`}, "UTC"},
		{map[string]string{"timezone": `"Asia/Urumqi"`}, "Asia/Urumqi"},
	} {
		c, err := Parse("t.toml", file(tc.set))
		if err != nil {
			t.Errorf("Parse(%v) = %v", tc.set, err)
			continue
		}
		if got := c.Location().String(); got != tc.want {
			t.Errorf("Parse(%v).Location() = %s; want %s", tc.set, got, tc.want)
		}
	}
	at := time.Date(2026, 12, 5, 16, 40, 0, 0, time.UTC) // 00:40 the next day in Beijing
	if got := Sim().Location(); at.In(got).Format("0102 15:04") != "1206 00:40" {
		t.Errorf("Sim().Location() = %v puts %v at %s; want 1206 00:40", got, at, at.In(got).Format("0102 15:04"))
	}
	if got := (&Config{Currency: "EUR"}).Location(); got != time.UTC {
		t.Errorf("Location of an unchecked EUR config = %v; want UTC", got)
	}
}
