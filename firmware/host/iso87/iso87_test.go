package iso87

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// Test card data: a well-known Visa test PAN, never a real card.
const (
	testPAN    = "4761739001010119"
	testTrack2 = "4761739001010119=29122011143800000"
	testPIN    = "\x12\x34\x56\x78\x90\xAB\xCD\xEF" // an (encrypted) PIN block
	testMAC    = "\xA1\xB2\xC3\xD4\xE5\xF6\x07\x18"
	// testICC is a request's chip data: ARQC (9F26), ATC (9F36), TVR (95).
	testICC = "\x9F\x26\x08\x11\x22\x33\x44\x55\x66\x77\x88" + "\x9F\x36\x02\x00\x01" + "\x95\x05\x00\x00\x00\x80\x00"
	// testHostICC is an answer's: issuer authentication data (91: ARPC, ARC) and ARC (8A).
	testHostICC = "\x91\x0A\xA1\xB2\xC3\xD4\xE5\xF6\x07\x18\x30\x30" + "\x8A\x02\x30\x30"
)

// segment is one piece of an expected wire message: a name for error
// messages and its bytes.
type segment struct {
	name string
	b    string
}

// bin is a segment written in hex (bitmaps, frame headers).
func bin(name, h string) segment {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return segment{name, string(b)}
}

// golden is a message given as field values and as the bytes jPOS's
// ISO87APackagerBBitmap would produce for it, written out by hand from the
// packager's field definitions.
type golden struct {
	name   string
	mti    string
	fields map[int]string // binary fields hold raw bytes
	wire   []segment      // MTI, bitmap(s), then each field in order
}

var goldens = []golden{
	{
		name: "0200 sale",
		mti:  "0200",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 7: "0412153000", 11: "000123",
			12: "153000", 13: "0412", 14: "2912", 22: "021", 25: "00",
			35: testTrack2, 41: "TERM0001", 42: "MERCHANT0000001", 49: "156",
			52: testPIN, 64: testMAC,
		},
		wire: []segment{
			{"MTI", "0200"},
			// bits 2 3 4 7 | 11 12 13 14 | 22 | 25 | 35 | 41 42 | 49 52 | 64
			bin("bitmap", "723C048020C09001"),
			{"F2", "16" + testPAN},
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000123"},
			{"F12", "153000"},
			{"F13", "0412"},
			{"F14", "2912"},
			{"F22", "021"},
			{"F25", "00"},
			{"F35", "34" + testTrack2},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F52", "1234567890ABCDEF"},
			{"F64", "A1B2C3D4E5F60718"},
		},
	},
	{
		name: "0210 sale response",
		mti:  "0210",
		fields: map[int]string{
			3: "000000", 4: "12345", 7: "0412153000", 11: "000123", 12: "153001",
			13: "0412", 37: "041215300123", 38: "AB12", 39: "00",
			41: "TERM0001", 42: "MERCHANT0000001", 49: "156", 64: testMAC,
		},
		wire: []segment{
			{"MTI", "0210"},
			// bits 3 4 7 | 11 12 13 | - | - | 37 38 39 | 41 42 | 49 | 64
			bin("bitmap", "323800000EC08001"),
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000123"},
			{"F12", "153001"},
			{"F13", "0412"},
			{"F37", "041215300123"},
			{"F38", "AB12  "}, // IF_CHAR pads with spaces
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F64", "A1B2C3D4E5F60718"},
		},
	},
	{
		name:   "0800 sign-on",
		mti:    "0800",
		fields: map[int]string{7: "0412080000", 11: "000001", 41: "TERM0001", 70: "001"},
		wire: []segment{
			{"MTI", "0800"},
			// bits 1 (secondary bitmap) 7 | 11 | 41
			bin("primary bitmap", "8220000000800000"),
			// bit 70
			bin("secondary bitmap", "0400000000000000"),
			{"F7", "0412080000"},
			{"F11", "000001"},
			{"F41", "TERM0001"},
			{"F70", "001"},
		},
	},
	{
		name: "0810 sign-on response",
		mti:  "0810",
		fields: map[int]string{
			7: "0412080000", 11: "000001", 39: "00", 41: "TERM0001",
			62: "0123456789ABCDEFFEDCBA987654321008D7B4", 70: "001",
		},
		wire: []segment{
			{"MTI", "0810"},
			// bits 1 7 | 11 | 39 | 41 | 62
			bin("primary bitmap", "8220000002800004"),
			bin("secondary bitmap", "0400000000000000"),
			{"F7", "0412080000"},
			{"F11", "000001"},
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F62", "038" + "0123456789ABCDEFFEDCBA987654321008D7B4"},
			{"F70", "001"},
		},
	},
	{
		name: "0400 reversal",
		mti:  "0400",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 7: "0412153045", 11: "000124",
			22: "021", 25: "00", 39: "98", 41: "TERM0001", 42: "MERCHANT0000001",
			49: "156", 90: "0200" + "000123" + "0412153000" + "00000000000" + "00000000000",
		},
		wire: []segment{
			{"MTI", "0400"},
			// bits 1 2 3 4 7 | 11 | 22 | 25 | 39 | 41 42 | 49
			bin("primary bitmap", "F220048002C08000"),
			// bit 90
			bin("secondary bitmap", "0000004000000000"),
			{"F2", "16" + testPAN},
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153045"},
			{"F11", "000124"},
			{"F22", "021"},
			{"F25", "00"},
			{"F39", "98"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			// original MTI, STAN, date/time, acquirer and forwarder ids
			{"F90", "0200" + "000123" + "0412153000" + "00000000000" + "00000000000"},
		},
	},
	{
		name: "0500 settlement",
		mti:  "0500",
		fields: map[int]string{
			3: "920000", 7: "0412230000", 11: "000125", 41: "TERM0001",
			42: "MERCHANT0000001", 60: "000042", 63: "001000000012345000000000000",
		},
		wire: []segment{
			{"MTI", "0500"},
			// bits 3 7 | 11 | 41 42 | 60 63
			bin("bitmap", "2220000000C00012"),
			{"F3", "920000"},
			{"F7", "0412230000"},
			{"F11", "000125"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F60", "006000042"},
			{"F63", "027001000000012345000000000000"},
		},
	},
	{
		// A chip sale: field 23 as IFA_NUMERIC(3), field 55 as IFA_LLLCHAR(999)
		// carrying the BER-TLV bytes as they are (jPOS maps them 1:1 through
		// ISO-8859-1), its length counting bytes.
		name: "0200 chip sale",
		mti:  "0200",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 7: "0412153000", 11: "000124",
			12: "153000", 13: "0412", 14: "2912", 22: "051", 23: "001", 25: "00",
			35: testTrack2, 41: "TERM0001", 42: "MERCHANT0000001", 49: "156",
			52: testPIN, 55: testICC, 64: testMAC,
		},
		wire: []segment{
			{"MTI", "0200"},
			// bits 2 3 4 7 | 11 12 13 14 | 22 23 | 25 | 35 | 41 42 | 49 52 55 | 64
			bin("bitmap", "723C068020C09201"),
			{"F2", "16" + testPAN},
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000124"},
			{"F12", "153000"},
			{"F13", "0412"},
			{"F14", "2912"},
			{"F22", "051"},
			{"F23", "001"},
			{"F25", "00"},
			{"F35", "34" + testTrack2},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F52", "1234567890ABCDEF"},
			{"F55 length", "023"},
			bin("F55", "9F26081122334455667788"+"9F36020001"+"95050000008000"),
			{"F64", "A1B2C3D4E5F60718"},
		},
	},
	{
		name: "0210 chip sale response",
		mti:  "0210",
		fields: map[int]string{
			3: "000000", 4: "12345", 7: "0412153000", 11: "000124", 12: "153001",
			13: "0412", 37: "041215300124", 38: "AB13", 39: "00",
			41: "TERM0001", 42: "MERCHANT0000001", 49: "156", 55: testHostICC, 64: testMAC,
		},
		wire: []segment{
			{"MTI", "0210"},
			// bits 3 4 7 | 11 12 13 | - | - | 37 38 39 | 41 42 | 49 55 | 64
			bin("bitmap", "323800000EC08201"),
			{"F3", "000000"},
			{"F4", "000000012345"},
			{"F7", "0412153000"},
			{"F11", "000124"},
			{"F12", "153001"},
			{"F13", "0412"},
			{"F37", "041215300124"},
			{"F38", "AB13  "},
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			{"F55 length", "016"},
			bin("F55", "910A"+"A1B2C3D4E5F607183030"+"8A023030"),
			{"F64", "A1B2C3D4E5F60718"},
		},
	},
}

// build creates the message g describes.
func (g golden) build(tb testing.TB) *iso8583.Message {
	tb.Helper()
	msg := iso8583.NewMessage(Spec)
	msg.MTI(g.mti)
	for id, v := range g.fields {
		if err := msg.Field(id, v); err != nil {
			tb.Fatalf("%s: Field(%d): %v", g.name, id, err)
		}
	}
	return msg
}

func (g golden) bytes() []byte {
	var b []byte
	for _, s := range g.wire {
		b = append(b, s.b...)
	}
	return b
}

// TestPackGolden checks packed messages against the hand-written bytes,
// segment by segment, so that a failure names the field that is wrong.
func TestPackGolden(t *testing.T) {
	for _, g := range goldens {
		got, err := Pack(g.build(t))
		if err != nil {
			t.Errorf("%s: Pack() = %v", g.name, err)
			continue
		}
		off := 0
		for _, s := range g.wire {
			end := min(off+len(s.b), len(got))
			if seg := got[off:end]; string(seg) != s.b {
				t.Errorf("%s: Pack() %s = %q (% X); want %q (% X)", g.name, s.name, seg, seg, s.b, s.b)
			}
			off += len(s.b)
		}
		if len(got) != off {
			t.Errorf("%s: Pack() is %d bytes; want %d", g.name, len(got), off)
		}
	}
}

// TestUnpackGolden decodes the hand-written bytes and checks every field.
func TestUnpackGolden(t *testing.T) {
	for _, g := range goldens {
		msg, err := Unpack(g.bytes())
		if err != nil {
			t.Errorf("%s: Unpack() = %v", g.name, err)
			continue
		}
		if mti, _ := msg.GetMTI(); mti != g.mti {
			t.Errorf("%s: MTI = %q; want %q", g.name, mti, g.mti)
		}
		for id, want := range g.fields {
			got, err := msg.GetBytes(id)
			if err != nil || string(got) != want {
				t.Errorf("%s: field %d = %q, %v; want %q", g.name, id, got, err, want)
			}
		}
		if got, want := len(msg.GetFields()), len(g.fields)+2; got != want {
			t.Errorf("%s: %d fields set (with MTI and bitmap); want %d", g.name, got, want)
		}
	}
}

func TestAmountIsMinorUnits(t *testing.T) {
	msg, err := Unpack(goldens[0].bytes())
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Amount int64 `iso8583:"4"`
	}
	if err := msg.Unmarshal(&v); err != nil {
		t.Fatal(err)
	}
	if v.Amount != 12345 {
		t.Errorf("amount = %d; want 12345 (minor units)", v.Amount)
	}
}

func TestPackErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		id    int
		value string
		want  string
	}{
		{"letter in PAN", 2, "47617390010A0119", `character 12 is not allowed in an "n" field`},
		{"PAN longer than 19", 2, "47617390010101190000", "20"},
		{"letter in track 2", 35, "4761739001010119=2912X", `"z" field`},
		{"short STAN", 11, "123", "should be fixed"},
		{"letter in STAN", 11, "00012A", `"n" field`},
		{"negative amount", 4, "-5", `"n" field`},
		{"13-digit amount", 4, "1234567890123", "should be fixed"},
		{"7-byte PIN block", 52, "\x01\x02\x03\x04\x05\x06\x07", "should be fixed"},
		{"TID too long", 41, "TERMINAL1", "should be fixed"},
		{"non-ASCII text", 63, "结算", "ASCII"},
	} {
		msg := goldens[0].build(t)
		if err := msg.Field(tt.id, tt.value); err != nil {
			t.Fatalf("%s: Field(%d) = %v", tt.name, tt.id, err)
		}
		_, err := Pack(msg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Pack() = %v; want an error containing %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), testPAN[6:12]) || strings.Contains(err.Error(), tt.value) {
			t.Errorf("%s: Pack() error %q quotes card data", tt.name, err)
		}
	}
	if _, err := Pack(nil); err == nil {
		t.Errorf("Pack(nil) = nil error; want an error")
	}
}

func TestUnpackErrors(t *testing.T) {
	sale, settle := goldens[0].bytes(), goldens[5].bytes()
	replaceIn := func(msg []byte, old, new string) []byte {
		if !bytes.Contains(msg, []byte(old)) {
			t.Fatalf("golden message has no %q", old)
		}
		return bytes.Replace(msg, []byte(old), []byte(new), 1)
	}
	replace := func(old, new string) []byte { return replaceIn(sale, old, new) }
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty message"},
		{"trailing bytes", append(bytes.Clone(sale), "00"...), "2 unexpected bytes after the last field"},
		{"lower-case hex MAC", replace("A1B2C3D4E5F60718", "a1b2c3d4e5f60718"), "non-canonical"},
		{"non-hex PIN block", replace("1234567890ABCDEF", "1234567890ABCDEG"), "hex"},
		{"letter in amount", replace("000000012345", "0000000123A5"), `"n" field`},
		{"plus sign in amount", replace("000000012345", "+00000012345"), `"n" field`},
		{"plus sign in PAN length", replace("16"+testPAN, "+6"+testPAN), "field 49"}, // reads 6 digits, then misaligns
		// the same on the last field decodes, and only the canonical check catches it
		{"plus sign in last LLL", replaceIn(settle, "027001", "+27001"), "non-canonical encoding at offset 66"},
		{"PAN length over 19", replace("16"+testPAN, "20"+testPAN), "20"},
		{"unknown field 5", append([]byte("0200"), bin("", "0800000000000000").b...), "field 5"},
		{"letter in MTI", replace("0200", "02A0"), "MTI"},
	} {
		msg, err := Unpack(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Unpack() = %v; want an error containing %q", tt.name, err, tt.want)
		}
		if msg != nil {
			t.Errorf("%s: Unpack() returned a message with its error", tt.name)
		}
		if err != nil && strings.Contains(err.Error(), testPAN[6:12]) {
			t.Errorf("%s: Unpack() error %q quotes the PAN", tt.name, err)
		}
	}
}

// TestUnpackTruncated cuts the 0200 at every length: the bitmap promises
// fields that are missing, so every prefix must fail cleanly.
func TestUnpackTruncated(t *testing.T) {
	sale := goldens[0].bytes()
	for n := 1; n < len(sale); n++ {
		msg, err := Unpack(sale[:n])
		if err == nil {
			t.Errorf("Unpack(first %d of %d bytes) = %v, nil; want an error", n, len(sale), Describe(msg))
			continue
		}
		if strings.Contains(err.Error(), testPAN[6:12]) {
			t.Errorf("Unpack(first %d bytes) error %q quotes the PAN", n, err)
		}
	}
}

// TestSpecFieldLengths guards the table itself: a field whose
// length or type is changed must show up here even when no golden
// message uses it.
func TestSpecFieldLengths(t *testing.T) {
	// Field: wire length of a full-size value, from ISO87APackagerBBitmap.
	want := map[int]int{
		2: 2 + 19, 3: 6, 4: 12, 7: 10, 11: 6, 12: 6, 13: 4, 14: 4, 22: 3, 23: 3, 25: 2,
		35: 2 + 37, 37: 12, 38: 6, 39: 2, 41: 8, 42: 15, 49: 3, 52: 16, 53: 16, 55: 3 + 999,
		60: 3 + 999, 62: 3 + 999, 63: 3 + 999, 64: 16, 70: 3, 90: 42, 128: 16,
	}
	for id, n := range want {
		f, ok := Spec.Fields[id]
		if !ok {
			t.Errorf("Spec has no field %d", id)
			continue
		}
		msg := iso8583.NewMessage(Spec)
		msg.MTI("0200")
		full := strings.Repeat("1", f.Spec().Length)
		if err := msg.Field(id, full); err != nil {
			t.Fatalf("Field(%d): %v", id, err)
		}
		b, err := Pack(msg)
		if err != nil {
			t.Errorf("field %d: Pack() = %v", id, err)
			continue
		}
		bitmaps := 8
		if id > 64 {
			bitmaps = 16
		}
		if got := len(b) - 4 - bitmaps; got != n {
			t.Errorf("field %d: %d bytes on the wire; want %d", id, got, n)
		}
	}
	if got, want := len(Spec.Fields), len(want)+2; got != want {
		t.Errorf("Spec has %d fields; want %d", got, want)
	}
}

// TestPackRecoversPanic packs a message whose spec lacks an encoder, which
// makes moov-io dereference nil: Pack must return an error, not panic.
func TestPackRecoversPanic(t *testing.T) {
	broken := &iso8583.MessageSpec{Fields: map[int]field.Field{
		0: field.NewString(&field.Spec{Length: 4, Pref: prefix.ASCII.Fixed}), // no Enc
		1: Spec.Fields[1],
	}}
	msg := iso8583.NewMessage(broken)
	msg.MTI("0200")
	if _, err := Pack(msg); err == nil || !strings.Contains(err.Error(), "malformed message (runtime error") {
		t.Errorf("Pack(message with nil encoder) = %v; want a recovered runtime error", err)
	}
}

func TestSafelyDoesNotQuotePanicValues(t *testing.T) {
	err := safely("unpack", func() error { panic("bad PAN " + testPAN) })
	if err == nil || strings.Contains(err.Error(), testPAN) {
		t.Errorf("safely(panic with PAN) = %v; want an error without the PAN", err)
	}
}
