package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pan=4111111111111111 ok", "pan=411111******1111 ok"},
		{"6222021234567890128", "622202*********0128"},
		{"amount=000000001234 stan=000123", "amount=000000001234 stan=000123"},
		{"4111111111111112", "4111111111111112"}, // fails Luhn: not a PAN
		{"track ;4111111111111111=2512101?", "track ;411111******1111=2512101?"},
		{"", ""},
	} {
		if got := string(Redact([]byte(tc.in))); got != tc.want {
			t.Errorf("Redact(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, "posfw.log", 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		fmt.Fprintf(w, "line %02d card 4111111111111111 padding padding\n", i)
	}
	w.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "posfw.log*"))
	if len(files) != 3 {
		t.Errorf("log files = %v; want posfw.log plus 2 rotated", files)
	}
	cur, _ := os.ReadFile(filepath.Join(dir, "posfw.log"))
	if !strings.Contains(string(cur), "line 09") {
		t.Errorf("current log = %q; want the last line", cur)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "4111111111111111") {
			t.Errorf("%s holds a full PAN", f)
		}
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v; want 0600", f, st.Mode().Perm())
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add([]byte("4111111111111111"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := Redact(b)
		if len(out) != len(b) {
			t.Fatalf("Redact changed the length: %d -> %d", len(b), len(out))
		}
		// Redacting is idempotent: nothing it leaves behind still looks like a PAN.
		if string(Redact(out)) != string(out) {
			t.Errorf("Redact(Redact(%q)) changed again", b)
		}
	})
}
