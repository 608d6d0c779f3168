package update

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a dotted decimal release number: 1.4.2.
type Version []int

// ParseVersion parses a dotted decimal version of one to four parts.
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 4 {
		return nil, fmt.Errorf("version %q: want dotted decimal such as 1.4.2", clip(s))
	}
	v := make(Version, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999999 || (len(p) > 1 && p[0] == '0') || strings.HasPrefix(p, "+") {
			return nil, fmt.Errorf("version %q: want dotted decimal such as 1.4.2", clip(s))
		}
		v[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as a is older than, the same as or newer than b; missing
// parts count as 0 (1.4 = 1.4.0).
func Compare(a, b Version) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// older reports whether version a is older than b; both have been checked.
func older(a, b string) bool {
	va, _ := ParseVersion(a)
	vb, _ := ParseVersion(b)
	return Compare(va, vb) < 0
}
