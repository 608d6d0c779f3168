package operator

import (
	"errors"
	"strings"
	"testing"
)

// fast are cheap parameters for tests; DefaultParams is tested once, below.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Known answers from the reference implementation (phc-winner-argon2 src/test.c,
// argon2id version 0x13, password "password", salt "somesalt").
var vectors = []string{
	"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
	"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
	"$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg",
}

func TestReferenceVectors(t *testing.T) {
	for _, v := range vectors {
		h, err := ParseHash(v)
		if err != nil {
			t.Errorf("ParseHash(%q) = %v", v, err)
			continue
		}
		if got := h.String(); got != v {
			t.Errorf("ParseHash(%q).String() = %q; want the input", v, got)
		}
		for _, tc := range []struct {
			password string
			want     bool
		}{{"password", true}, {"Password", false}, {"", false}, {"password\x00", false}} {
			if ok, err := h.Verify(tc.password); ok != tc.want || err != nil {
				t.Errorf("ParseHash(%q).Verify(%q) = %v, %v; want %v, nil", v, tc.password, ok, err, tc.want)
			}
		}
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, p := range []Params{fast, DefaultParams, {Memory: 32, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16}} {
		h, err := NewHash("123456", p)
		if err != nil {
			t.Fatalf("NewHash(%+v) = %v", p, err)
		}
		s := h.String()
		if !strings.HasPrefix(s, "$argon2id$v=19$") || strings.Contains(s, "123456") {
			t.Errorf("NewHash(%+v).String() = %q; want a PHC argon2id string without the password", p, s)
		}
		back, err := ParseHash(s)
		if err != nil || back.Params != p {
			t.Errorf("ParseHash(%q) = %+v, %v; want params %+v", s, back.Params, err, p)
		}
		for _, tc := range []struct {
			password string
			want     bool
		}{{"123456", true}, {"123457", false}, {"12345", false}, {"", false}} {
			if ok, err := back.Verify(tc.password); ok != tc.want || err != nil {
				t.Errorf("Verify(%q) under %+v = %v, %v; want %v", tc.password, p, ok, err, tc.want)
			}
		}
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := NewHash("0000", fast)
	b, _ := NewHash("0000", fast)
	if a.String() == b.String() {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", a)
	}
}

func TestNewHashRefusesBadParams(t *testing.T) {
	for _, p := range []Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 7, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: MaxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 4},
	} {
		if _, err := NewHash("0000", p); err == nil {
			t.Errorf("NewHash(%+v) succeeded; want an error", p)
		}
		// Verify must refuse them too, never reach argon2's panics.
		if _, err := (Hash{Params: p, Salt: make([]byte, 16)}).Verify("0000"); err == nil {
			t.Errorf("Hash{%+v}.Verify succeeded; want an error", p)
		}
	}
}

func TestParseHashErrors(t *testing.T) {
	good := vectors[0]
	for _, tc := range []struct {
		name, s string
	}{
		{"empty", ""},
		{"no leading $", strings.TrimPrefix(good, "$")},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(good, "argon2id", "argon2d", 1)},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"no version", "$argon2id$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{"params reordered", strings.Replace(good, "m=256,t=2,p=1", "t=2,m=256,p=1", 1)},
		{"param missing", strings.Replace(good, "m=256,t=2,p=1", "m=256,t=2", 1)},
		{"extra param", strings.Replace(good, "p=1", "p=1,k=1", 1)},
		{"leading zero", strings.Replace(good, "m=256", "m=0256", 1)},
		{"plus sign", strings.Replace(good, "t=2", "t=+2", 1)},
		{"empty number", strings.Replace(good, "t=2", "t=", 1)},
		{"time 0", strings.Replace(good, "t=2", "t=0", 1)},
		{"threads 0", strings.Replace(good, "p=1", "p=0", 1)},
		{"memory too big", strings.Replace(good, "m=256", "m=262144", 1)},
		{"memory overflow", strings.Replace(good, "m=256", "m=99999999999", 1)},
		{"memory below 8p", strings.Replace(good, "m=256", "m=7", 1)},
		{"salt padded", strings.Replace(good, "c29tZXNhbHQ", "c29tZXNhbHQ=", 1)},
		{"salt bad char", strings.Replace(good, "c29tZXNhbHQ", "c29tZX!hbHQ", 1)},
		{"salt stray bits", strings.Replace(good, "c29tZXNhbHQ", "c29tZXNhbHR", 1)},
		{"salt with CR", strings.Replace(good, "c29tZXNhbHQ", "c29tZX\rNhbHQ", 1)},
		{"key with LF", strings.Replace(good, "nf65EO", "nf65\nEO", 1)},
		{"salt too short", strings.Replace(good, "c29tZXNhbHQ", "c29t", 1)},
		{"key too short", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQ"},
		{"key missing", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"},
		{"trailing field", good + "$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	} {
		_, err := ParseHash(tc.s)
		if !errors.Is(err, ErrBadHash) {
			t.Errorf("%s: ParseHash(%q) = %v; want an ErrBadHash", tc.name, tc.s, err)
			continue
		}
		if strings.Contains(err.Error(), "nf65EOgLrQ") || strings.Contains(err.Error(), "c29tZX") {
			t.Errorf("%s: ParseHash error %q quotes the hash", tc.name, err)
		}
	}
}

// BenchmarkHashVerify is one login's password check under the production parameters:
// the figure that must stay under 300 ms on one 32-bit ARM core. Run it there with
//
//	GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 go test -c -o op.test ./firmware/operator
//	./op.test -test.run='^$' -test.bench=Hash -test.cpu=1
func BenchmarkHashVerify(b *testing.B) {
	h, err := NewHash("123456", DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := h.Verify("123456"); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkHashParse is reading a stored hash back (on every login).
func BenchmarkHashParse(b *testing.B) {
	for b.Loop() {
		if _, err := ParseHash(vectors[0]); err != nil {
			b.Fatal(err)
		}
	}
}
