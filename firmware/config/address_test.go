package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddress: host.address is host:port with a real host and a port from 1 to 65535;
// a bad one is refused in one line naming the key.
func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		reason string // "" accepted
	}{
		{"10.0.0.1:5000", ""},
		{"acquirer.example.com:8583", ""},
		{"acquirer-1.example.com.:8583", ""},
		{"[2001:db8::1]:8583", ""},
		{"localhost:1", ""},
		{"1.2.3.4:65535", ""},
		{"1.2.3.4:99999", `port "99999" is not a number from 1 to 65535`},
		{"1.2.3.4:65536", "port"},
		{"1.2.3.4:0", `port "0" is not a number`},
		{"1.2.3.4:00080", "port"},
		{"1.2.3.4:+80", "port"},
		{"1.2.3.4:-1", "port"},
		{"1.2.3.4:http", `port "http"`},
		{"1.2.3.4:", `port ""`},
		{"evil host:1", `host "evil host" is neither an IP address nor a DNS name`},
		{"evil\nhost:1", "neither an IP address nor a DNS name"},
		{"host_name:1", "neither"},
		{"-host:1", "neither"},
		{"host-:1", "neither"},
		{"a..b:1", "neither"},
		{strings.Repeat("a", 64) + ".com:1", "neither"},
		{":8583", "has no host"},
		{"", "is not host:port"},
		{"nowhere", "is not host:port"},
		{"1.2.3.4:80:90", "is not host:port"},
	} {
		src := file(map[string]string{"host.address": quote(tc.addr)})
		_, err := Parse("t.toml", src)
		if tc.reason == "" {
			if err != nil {
				t.Errorf("host.address %q: %v; want accepted", tc.addr, err)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "host.address" || !strings.Contains(ce.Reason, tc.reason) {
			t.Errorf("host.address %q: got %v; want key host.address, reason containing %q", tc.addr, err, tc.reason)
			continue
		}
		if strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("host.address %q: error %q spans lines", tc.addr, err)
		}
	}
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// TestMasterKeyFileMode: a key file that group or others may read or write, or that is
// not a regular file, is refused; and the config key is refused whatever the file (the
// TMK lives in the PIN pad).
func TestMasterKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	key := []byte("404142434445464748494A4B4C4D4E4F\n")
	for _, tc := range []struct {
		name   string
		make   func(p string) error
		reason string // "" accepted
	}{
		{"0600", func(p string) error { return writeMode(p, key, 0o600) }, ""},
		{"0400", func(p string) error { return writeMode(p, key, 0o400) }, ""},
		{"0644", func(p string) error { return writeMode(p, key, 0o644) }, "has mode 0644: group and others must have no access"},
		{"0640", func(p string) error { return writeMode(p, key, 0o640) }, "has mode 0640"},
		{"0602", func(p string) error { return writeMode(p, key, 0o602) }, "has mode 0602"},
		{"symbolic link", func(p string) error {
			if err := writeMode(p+".real", key, 0o600); err != nil {
				return err
			}
			return os.Symlink(p+".real", p)
		}, "not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "not a regular file"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".key")
		if err := tc.make(p); err != nil {
			t.Fatal(err)
		}
		_, err := Parse("t.toml", file(map[string]string{"host.master_key_file": quote(p)}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "host.master_key_file" || !strings.Contains(ce.Reason, "PIN pad") {
			t.Errorf("key file %s in the config: got %v; want host.master_key_file refused (the TMK is in the PIN pad)", tc.name, err)
		}
		if tc.reason == "" {
			if _, err := MasterKey(p); err != nil {
				t.Errorf("MasterKey(%s) = %v; want the key", tc.name, err)
			}
			continue
		}
		if _, err := MasterKey(p); err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("MasterKey(%s) = %v; want refused: %q", tc.name, err, tc.reason)
		}
	}
}

// writeMode writes b to p with exactly mode perm, whatever the umask.
func writeMode(p string, b []byte, perm os.FileMode) error {
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(p, perm)
}
