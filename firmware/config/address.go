package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// CheckAddress checks an acquirer address, host:port, and returns what is wrong with
// it or "". The host is an IP address or a DNS name (RFC 1123 labels: letters, digits
// and inner hyphens, 1 to 63 characters each, 253 in all); the port is a number from 1
// to 65535. Without this a typo such as "1.2.3.4:99999" or "evil host:1" would only show
// at the first sale, as "host down".
func CheckAddress(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if host == "" {
		return fmt.Sprintf("%q has no host before the port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
		return fmt.Sprintf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	if net.ParseIP(host) == nil && !dnsName(host) {
		return fmt.Sprintf("%q: host %q is neither an IP address nor a DNS name", addr, host)
	}
	return ""
}

// dnsName reports whether s is a host name by RFC 1123 (a final dot allowed).
func dnsName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// CheckKeyFile refuses a key file that others could have read or replaced: it must be
// a regular file (not a link, which could point anywhere) with no permission bits for
// its group or others (chmod 600). what names the file in the error.
func CheckKeyFile(what, path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s %s cannot be read", what, path)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: group and others must have no access (chmod 600 it, and change the key if others could read it)", what, path, perm)
	}
	return nil
}
