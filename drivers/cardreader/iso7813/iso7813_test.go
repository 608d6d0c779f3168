package iso7813

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	testPAN = "6222021234567894"
	// goldenFrame's LRC characters were computed apart from this package.
	goldenFrame    = "%B6222021234567894^ZHANG/SAN^4912101000001230000?L;6222021234567894=49121010000012300?4\r\n"
	goldenNoTrack1 = "%E?;6222021234567894=49121010000012300?4\r\n"
)

// t1 and t2 wrap data in sentinels and its LRC (lrc itself is checked against
// independent vectors in TestLRC), so that a test can build a well-formed
// track around one bad field.
func t1(data string) string {
	b := "%" + data + "?"
	return b + string(track1Spec.lrc([]byte(b)))
}

func t2(data string) string {
	b := ";" + data + "?"
	return b + string(track2Spec.lrc([]byte(b)))
}

var (
	okT1 = t1("B" + testPAN + "^ZHANG/SAN^4912101000001230000")
	okT2 = t2(testPAN + "=49121010000012300")
)

var goldenCard = Card{
	PAN:            []byte(testPAN),
	Name:           "ZHANG/SAN",
	Expiry:         "4912",
	ServiceCode:    "101",
	Discretionary1: []byte("000001230000"),
	Discretionary2: []byte("0000012300"),
}

// sameCard compares cards field by field (nil and empty slices are equal).
func sameCard(a, b Card) bool {
	return bytes.Equal(a.PAN, b.PAN) && a.Name == b.Name && a.Expiry == b.Expiry &&
		a.ServiceCode == b.ServiceCode && bytes.Equal(a.Discretionary1, b.Discretionary1) &&
		bytes.Equal(a.Discretionary2, b.Discretionary2)
}

// dump shows every field; Card's own String masks them, which is no help in a
// test failure about test cards.
func dump(c Card) string {
	return fmt.Sprintf("{PAN:%q Name:%q Expiry:%q SC:%q D1:%q D2:%q}",
		c.PAN, c.Name, c.Expiry, c.ServiceCode, c.Discretionary1, c.Discretionary2)
}

func TestLRC(t *testing.T) {
	for _, tt := range []struct {
		spec  *trackSpec
		chars string
		want  byte
	}{
		// Panasonic JS-170 service manual: ID "B00012F", check byte 7.
		{&track2Spec, ";00012?", '7'},
		// MagTek TTL reader manual, section 3: B 0 F gives LRC 4.
		{&track2Spec, ";0?", '4'},
		{&track2Spec, ";" + testPAN + "=49121010000012300?", '4'},
		{&track1Spec, "%B" + testPAN + "^ZHANG/SAN^4912101000001230000?", 'L'},
		// "%?": codes 0x05 ^ 0x1F = 0x1A, ASCII 0x3A.
		{&track1Spec, "%?", ':'},
	} {
		if got := tt.spec.lrc([]byte(tt.chars)); got != tt.want {
			t.Errorf("track %d lrc(%q) = %q; want %q", tt.spec.num, tt.chars, got, tt.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, tt := range []struct {
		digits string
		want   bool
	}{
		{"79927398713", true}, // the textbook example
		{"4012888888881881", true},
		{"4761739001010010", true},
		{testPAN, true},
		{"6222021234567890", false},
		{"79927398710", false},
		{"4012888888881882", false},
		{"0", true},
		{"", false},
		{"40128888888818a1", false},
		{"4012 8888 8888 1881", false},
	} {
		if got := Luhn(tt.digits); got != tt.want {
			t.Errorf("Luhn(%q) = %v; want %v", tt.digits, got, tt.want)
		}
		if got := Luhn([]byte(tt.digits)); got != tt.want {
			t.Errorf("Luhn([]byte(%q)) = %v; want %v", tt.digits, got, tt.want)
		}
	}
}

func TestCheckDigit(t *testing.T) {
	for _, tt := range []struct {
		payload string
		want    byte
		ok      bool
	}{
		{"7992739871", '3', true},
		{"622202123456789", '4', true},
		{"401288888888188", '1', true},
		{"000", '0', true},
		{"", 0, false},
		{"12a", 0, false},
	} {
		got, ok := CheckDigit(tt.payload)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CheckDigit(%q) = %q, %v; want %q, %v", tt.payload, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParse(t *testing.T) {
	disc13 := "0123456789012"
	disc41 := strings.Repeat("7", 41)
	for _, tt := range []struct {
		name  string
		frame string
		want  Card
	}{
		{"golden", goldenFrame, goldenCard},
		{"track 1 not read", goldenNoTrack1, Card{
			PAN: []byte(testPAN), Expiry: "4912", ServiceCode: "101", Discretionary2: []byte("0000012300"),
		}},
		{"12-digit PAN, no discretionary data", t1("B123456789015^AB^2501201") + t2("123456789015=2501201") + "\r\n", Card{
			PAN: []byte("123456789015"), Name: "AB", Expiry: "2501", ServiceCode: "201",
		}},
		{"19-digit PAN", "%E?" + t2("6222021234567890128=3012620") + "\r\n", Card{
			PAN: []byte("6222021234567890128"), Expiry: "3012", ServiceCode: "620",
		}},
		{"track 2 discretionary with separator", "%E?" + t2(testPAN+"=4912101123=45") + "\r\n", Card{
			PAN: []byte(testPAN), Expiry: "4912", ServiceCode: "101", Discretionary2: []byte("123=45"),
		}},
		{"track 1 discretionary with ^ and letters", t1("B"+testPAN+"^LI/SI^4912101A^B C") + okT2 + "\r\n", Card{
			PAN: []byte(testPAN), Name: "LI/SI", Expiry: "4912", ServiceCode: "101",
			Discretionary1: []byte("A^B C"), Discretionary2: []byte("0000012300"),
		}},
		{"LRC character is the end sentinel", "%E?;123456789015=3012201??\r\n", Card{
			PAN: []byte("123456789015"), Expiry: "3012", ServiceCode: "201",
		}},
		{"tracks at maximum length (79, 40)", t1("B"+testPAN+"^ZHANG/SAN^4912101"+disc41) + t2(testPAN+"=4912101"+disc13) + "\r\n", Card{
			PAN: []byte(testPAN), Name: "ZHANG/SAN", Expiry: "4912", ServiceCode: "101",
			Discretionary1: []byte(disc41), Discretionary2: []byte(disc13),
		}},
	} {
		got, err := Parse([]byte(tt.frame))
		if err != nil || !sameCard(got, tt.want) {
			t.Errorf("%s: Parse(%q) = %s, %v; want %s, nil", tt.name, tt.frame, dump(got), err, dump(tt.want))
		}
	}
}

func TestParseErrors(t *testing.T) {
	// Track 2 with a good LRC and otherwise good fields after a bad PAN.
	t2pan := func(pan string) string { return "%E?" + t2(pan+"=4912101") + "\r\n" }
	t2tail := func(tail string) string { return "%E?" + t2(testPAN+"="+tail) + "\r\n" }
	t1body := func(body string) string { return t1("B"+testPAN+"^"+body) + okT2 + "\r\n" }
	badLRC := func(track string) string {
		n := len(track) - 1
		return track[:n] + string(track[n]^1)
	}
	for _, tt := range []struct {
		name  string
		frame string
		track int
		want  error
	}{
		{"empty", "", 0, ErrTruncated},
		{"no CR LF", okT1 + okT2, 0, ErrTruncated},
		{"LF only", okT1 + okT2 + "\n", 0, ErrTruncated},
		{"only CR LF", "\r\n", 1, ErrTruncated},
		{"track 2 missing", okT1 + "\r\n", 2, ErrTruncated},
		{"track 2 LRC missing", okT1 + ";" + testPAN + "=4912101?\r\n", 2, ErrTruncated},
		{"track 1 start sentinel missing", okT1[1:] + okT2 + "\r\n", 1, ErrMissingSentinel},
		{"track 2 start sentinel missing", okT1 + okT2[1:] + "\r\n", 2, ErrMissingSentinel},
		{"track 2 end sentinel missing", okT1 + ";" + testPAN + "=4912101\r\n", 2, ErrMissingSentinel},
		{"track 1 LRC", badLRC(okT1) + okT2 + "\r\n", 1, ErrBadLRC},
		{"track 2 LRC", okT1 + badLRC(okT2) + "\r\n", 2, ErrBadLRC},
		{"binary before track 1", "\xff" + okT1 + okT2 + "\r\n", 1, ErrGarbage},
		{"lower case in track 1", t1body("zhang/san^4912101"), 1, ErrGarbage},
		{"letter in track 2", "%E?;" + testPAN + "=49A2101?0\r\n", 2, ErrGarbage},
		{"LRC outside alphabet", "%E?;" + testPAN + "=4912101?A\r\n", 2, ErrGarbage},
		{"control character in track 2 data", t2tail("4912101:1"), 2, ErrGarbage},
		{"second start sentinel in track 1", t1("B"+testPAN+"^ZHANG%SAN^4912101") + okT2 + "\r\n", 1, ErrGarbage},
		{"bytes after track 2", okT1 + okT2 + "X\r\n", 0, ErrGarbage},
		{"CR LF between tracks", okT1 + "\r\n" + okT2 + "\r\n", 2, ErrGarbage},
		{"track 1 too long", t1body("ZHANG/SAN^4912101" + strings.Repeat("7", 42)), 1, ErrTooLong},
		{"track 2 too long", t2tail("4912101" + strings.Repeat("7", 14)), 2, ErrTooLong},
		{"format code A", t1("A"+testPAN+"^ZHANG/SAN^4912101") + okT2 + "\r\n", 1, ErrFormatCode},
		{"empty track 1", t1("") + okT2 + "\r\n", 1, ErrFormatCode},
		{"track 1 no separators", t1("B"+testPAN+"ZHANG/SAN4912101") + okT2 + "\r\n", 1, ErrFieldSeparator},
		{"track 1 second separator", t1body("ZHANG/SAN4912101"), 1, ErrFieldSeparator},
		{"track 2 separator", "%E?" + t2(testPAN+"4912101") + "\r\n", 2, ErrFieldSeparator},
		{"PAN 11 digits", t2pan("62220212345"), 2, ErrBadPAN},
		{"PAN 20 digits", t2pan("62220212345678901234"), 2, ErrBadPAN},
		{"PAN empty", t2pan(""), 2, ErrBadPAN},
		{"PAN with a letter", t1("B6222021234X67894^ZHANG/SAN^4912101") + okT2 + "\r\n", 1, ErrBadPAN},
		{"Luhn", t2pan("6222021234567895"), 2, ErrLuhn},
		{"name 1 character", t1body("Z^4912101"), 1, ErrBadName},
		{"name 27 characters", t1body(strings.Repeat("N", 27) + "^4912101"), 1, ErrBadName},
		{"month 13", t2tail("4913101"), 2, ErrBadExpiry},
		{"month 00", t2tail("4900101"), 2, ErrBadExpiry},
		{"expiry short", t2tail("49"), 2, ErrBadExpiry},
		{"expiry absent", t1body("ZHANG/SAN^^101"), 1, ErrBadExpiry},
		{"expiry letters", t1body("ZHANG/SAN^49A2101"), 1, ErrBadExpiry},
		{"service code short", t2tail("491210"), 2, ErrBadServiceCode},
		{"service code reserved first digit", t2tail("4912301"), 2, ErrBadServiceCode},
		{"service code reserved second digit", t2tail("4912131"), 2, ErrBadServiceCode},
		{"service code reserved third digit", t2tail("4912108"), 2, ErrBadServiceCode},
		{"service code letter", t1body("ZHANG/SAN^49121A1"), 1, ErrBadServiceCode},
		{"track 2 not read", okT1 + ";E?\r\n", 2, ErrUnreadable},
		{"nothing read", "%E?;E?\r\n", 2, ErrUnreadable},
		{"tracks disagree on expiry", t1body("ZHANG/SAN^4911101"), 0, ErrTrackMismatch},
		{"tracks disagree on PAN", t1("B4012888888881881^ZHANG/SAN^4912101") + okT2 + "\r\n", 0, ErrTrackMismatch},
		{"tracks disagree on service code", t1body("ZHANG/SAN^4912201"), 0, ErrTrackMismatch},
	} {
		_, err := Parse([]byte(tt.frame))
		var e *Error
		if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Track != tt.track {
			t.Errorf("%s: Parse(%q) = %v; want track %d: %v", tt.name, tt.frame, err, tt.track, tt.want)
			continue
		}
		if strings.Contains(err.Error(), testPAN[:12]) {
			t.Errorf("%s: Parse(%q) error %q contains the PAN", tt.name, tt.frame, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&Error{Track: 2, Err: ErrBadLRC}, "iso7813: track 2: LRC mismatch"},
		{&Error{Err: ErrTruncated}, "iso7813: frame: frame truncated"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}

func TestParseTrack(t *testing.T) {
	tr1, err := ParseTrack1([]byte(okT1))
	if err != nil || string(tr1.PAN) != testPAN || tr1.Name != "ZHANG/SAN" || tr1.Expiry != "4912" ||
		tr1.ServiceCode != "101" || string(tr1.Discretionary) != "000001230000" {
		t.Errorf("ParseTrack1(%q) = %q %q %q %q %q, %v", okT1, tr1.PAN, tr1.Name, tr1.Expiry, tr1.ServiceCode, tr1.Discretionary, err)
	}
	if got := tr1.Encode(); string(got) != okT1 {
		t.Errorf("Track1.Encode() = %q; want %q", got, okT1)
	}
	tr2, err := ParseTrack2([]byte(okT2))
	if err != nil || string(tr2.PAN) != testPAN || tr2.Expiry != "4912" || tr2.ServiceCode != "101" ||
		string(tr2.Discretionary) != "0000012300" {
		t.Errorf("ParseTrack2(%q) = %q %q %q %q, %v", okT2, tr2.PAN, tr2.Expiry, tr2.ServiceCode, tr2.Discretionary, err)
	}
	if got := tr2.Encode(); string(got) != okT2 {
		t.Errorf("Track2.Encode() = %q; want %q", got, okT2)
	}
	for _, tt := range []struct {
		in    string
		parse func([]byte) error
		want  error
	}{
		{"%E?", func(b []byte) error { _, err := ParseTrack1(b); return err }, ErrUnreadable},
		{";E?", func(b []byte) error { _, err := ParseTrack2(b); return err }, ErrUnreadable},
		{okT1 + "X", func(b []byte) error { _, err := ParseTrack1(b); return err }, ErrGarbage},
		{okT2 + "0", func(b []byte) error { _, err := ParseTrack2(b); return err }, ErrGarbage},
		{okT2, func(b []byte) error { _, err := ParseTrack1(b); return err }, ErrMissingSentinel},
		{okT1, func(b []byte) error { _, err := ParseTrack2(b); return err }, ErrGarbage},
	} {
		if err := tt.parse([]byte(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("parse(%q) = %v; want %v", tt.in, err, tt.want)
		}
	}
}

func TestEncode(t *testing.T) {
	if got := Encode(goldenCard); string(got) != goldenFrame {
		t.Errorf("Encode(golden) = %q; want %q", got, goldenFrame)
	}
	noName := goldenCard
	noName.Name = ""
	if got := Encode(noName); string(got) != goldenNoTrack1 {
		t.Errorf("Encode(no name) = %q; want %q", got, goldenNoTrack1)
	}
	if got, want := (Swipe{}).Encode(), "%E?;E?\r\n"; string(got) != want {
		t.Errorf("Swipe{}.Encode() = %q; want %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range []Card{
		goldenCard,
		{PAN: []byte("4012888888881881"), Name: "SMITH/JOHN", Expiry: "2702", ServiceCode: "201"},
		{PAN: []byte("6222021234567890128"), Expiry: "3012", ServiceCode: "620", Discretionary2: []byte("1=2")},
		{PAN: []byte("123456789015"), Name: "A B", Expiry: "2501", ServiceCode: "947", Discretionary1: []byte("^X")},
	} {
		frame := Encode(c)
		got, err := Parse(frame)
		if err != nil || !sameCard(got, c) {
			t.Errorf("Parse(Encode(%s)) = %s, %v", dump(c), dump(got), err)
		}
	}
}

func TestMasked(t *testing.T) {
	for _, tt := range []struct{ pan, want string }{
		{testPAN, "622202******7894"},
		{"6222021234567890128", "622202*********0128"},
		{"123456789015", "123456**9015"},
		{"12345678901", "***********"},
		{"", ""},
	} {
		if got := (Card{PAN: []byte(tt.pan)}).Masked(); got != tt.want {
			t.Errorf("Card{PAN: %q}.Masked() = %q; want %q", tt.pan, got, tt.want)
		}
	}
}

// TestNoCardDataInOutput formats every type with every common verb: none may
// show the full PAN or the discretionary data.
func TestNoCardDataInOutput(t *testing.T) {
	s, err := ParseSwipe([]byte(goldenFrame))
	if err != nil {
		t.Fatalf("ParseSwipe(golden) = %v", err)
	}
	secrets := []string{testPAN, "000001230000", "0000012300", fmt.Sprintf("%x", testPAN)}
	for _, v := range []any{goldenCard, &goldenCard, *s.Track1, s.Track1, *s.Track2, s.Track2, s, Swipe{}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %[1]v"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range secrets {
				if strings.Contains(out, secret) {
					t.Errorf("Sprintf(%q, %T) = %q; shows card data", verb, v, out)
				}
			}
			if _, ok := v.(Swipe); ok && len(out) > 0 && !strings.Contains(out, "not read") && !strings.Contains(out, "622202******7894") {
				t.Errorf("Sprintf(%q, Swipe) = %q; want masked PANs", verb, out)
			}
		}
	}
	if got, want := fmt.Sprint(goldenCard), "622202******7894"; got != want {
		t.Errorf("Sprint(card) = %q; want %q", got, want)
	}
	if got, want := fmt.Sprint(s), "track 1 622202******7894, track 2 622202******7894"; got != want {
		t.Errorf("Sprint(swipe) = %q; want %q", got, want)
	}
}

func TestExpired(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	for _, tt := range []struct {
		expiry string
		now    time.Time
		want   bool
	}{
		{"2812", time.Date(2028, 12, 31, 23, 59, 59, 0, cst), false},
		{"2812", time.Date(2029, 1, 1, 0, 0, 0, 0, cst), true},
		// 2028-12-31 17:00 UTC is already 2029 in Beijing.
		{"2812", time.Date(2028, 12, 31, 17, 0, 0, 0, time.UTC).In(cst), true},
		{"2812", time.Date(2028, 12, 31, 17, 0, 0, 0, time.UTC), false},
		{"2801", time.Date(2027, 12, 1, 0, 0, 0, 0, cst), false},
		{"1912", time.Date(2026, 6, 1, 0, 0, 0, 0, cst), true},
		{"4912", time.Date(2026, 6, 1, 0, 0, 0, 0, cst), false},
		{"2813", time.Date(2026, 6, 1, 0, 0, 0, 0, cst), true},
		{"", time.Date(2026, 6, 1, 0, 0, 0, 0, cst), true},
	} {
		if got := (Card{Expiry: tt.expiry}).Expired(tt.now); got != tt.want {
			t.Errorf("Card{Expiry: %q}.Expired(%v) = %v; want %v", tt.expiry, tt.now, got, tt.want)
		}
	}
}

func TestServiceCode(t *testing.T) {
	for _, tt := range []struct {
		code      string
		chip, pin bool
	}{
		{"101", false, false},
		{"201", true, false},
		{"221", true, false},
		{"501", false, false},
		{"601", true, false},
		{"701", false, false},
		{"901", false, false},
		{"100", false, true},
		{"102", false, false},
		{"103", false, true},
		{"104", false, false},
		{"105", false, true},
		{"106", false, true},
		{"107", false, true},
		{"220", true, true},
		// Not a valid code: no chip to fall back to, and ask for a PIN.
		{"301", false, true},
		{"", false, true},
	} {
		c := Card{ServiceCode: tt.code}
		if got := c.ChipCard(); got != tt.chip {
			t.Errorf("Card{ServiceCode: %q}.ChipCard() = %v; want %v", tt.code, got, tt.chip)
		}
		if got := c.PINRequired(); got != tt.pin {
			t.Errorf("Card{ServiceCode: %q}.PINRequired() = %v; want %v", tt.code, got, tt.pin)
		}
	}
}

func TestTrack2Equivalent(t *testing.T) {
	if got, want := goldenCard.Track2Equivalent(), testPAN+"=49121010000012300"; string(got) != want {
		t.Errorf("Track2Equivalent() = %q; want %q", got, want)
	}
}

func TestWipe(t *testing.T) {
	frame := []byte(goldenFrame)
	c, err := Parse(frame)
	if err != nil {
		t.Fatalf("Parse(golden) = %v", err)
	}
	// Parse copies: clearing the reader's buffer must not change the card.
	clear(frame)
	if !sameCard(c, goldenCard) {
		t.Fatalf("after clearing the frame, card = %s; want %s", dump(c), dump(goldenCard))
	}
	pan, d1, d2 := c.PAN, c.Discretionary1, c.Discretionary2
	cp := c
	c.Wipe()
	if c.PAN != nil || c.Discretionary1 != nil || c.Discretionary2 != nil {
		t.Errorf("after Wipe, card = %s; want no PAN or discretionary data", dump(c))
	}
	for _, b := range [][]byte{pan, d1, d2, cp.PAN} {
		if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Errorf("after Wipe, memory holds %q; want zeros", b)
		}
	}

	s, err := ParseSwipe([]byte(goldenFrame))
	if err != nil {
		t.Fatalf("ParseSwipe(golden) = %v", err)
	}
	p1, p2 := s.Track1.PAN, s.Track2.PAN
	s.Wipe()
	if s.Track1.PAN != nil || s.Track2.Discretionary != nil || bytes.ContainsFunc(append(p1, p2...), func(r rune) bool { return r != 0 }) {
		t.Errorf("after Swipe.Wipe, tracks hold %q %q", p1, p2)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		goldenFrame, goldenNoTrack1, "%E?;E?\r\n", okT1 + okT2, "\r\n", "",
		t1("B123456789015^AB^2501201") + t2("123456789015=2501201") + "\r\n",
		okT1 + ";" + testPAN + "=4912101?\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c, err := Parse(frame)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Track < 0 || e.Track > 2 {
				t.Fatalf("Parse(%q) = %v; want an *Error", frame, err)
			}
			return
		}
		if n := len(c.PAN); n < 12 || n > 19 || !Luhn(c.PAN) {
			t.Fatalf("Parse(%q) accepted PAN %q", frame, c.PAN)
		}
		if out := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(out, string(c.PAN)) {
			t.Fatalf("formatting %s shows the PAN: %q", dump(c), out)
		}
		again := Encode(c)
		if !bytes.Equal(again, frame) {
			t.Fatalf("Encode(Parse(%q)) = %q; want the same frame", frame, again)
		}
		c2, err := Parse(again)
		if err != nil || !sameCard(c2, c) {
			t.Fatalf("Parse(Encode(%s)) = %s, %v", dump(c), dump(c2), err)
		}
	})
}

func FuzzCheckDigit(f *testing.F) {
	f.Add("622202123456789")
	f.Add("0")
	f.Fuzz(func(t *testing.T, payload string) {
		d, ok := CheckDigit(payload)
		if !ok {
			if payload != "" && allDigits([]byte(payload)) {
				t.Fatalf("CheckDigit(%q) failed on digits", payload)
			}
			return
		}
		if !Luhn(payload + string(d)) {
			t.Fatalf("Luhn(%q + CheckDigit = %q) = false", payload, d)
		}
		for wrong := byte('0'); wrong <= '9'; wrong++ {
			if wrong != d && Luhn(payload+string(wrong)) {
				t.Fatalf("Luhn(%q) = true with wrong check digit", payload+string(wrong))
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	frame := []byte(goldenFrame)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		c, err := Parse(frame)
		if err != nil {
			b.Fatal(err)
		}
		c.Wipe()
	}
}

func BenchmarkParseBadLRC(b *testing.B) {
	frame := []byte(okT1 + okT2[:len(okT2)-1] + "5\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(frame); err == nil {
			b.Fatal("Parse accepted a bad LRC")
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Encode(goldenCard)
	}
}
