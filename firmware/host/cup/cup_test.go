package cup

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// Test card data: a well-known Visa test PAN, never a real card.
const (
	testPAN    = "4761739001010119"
	testTrack2 = "4761739001010119=29122011143800000" // 34 characters
	testPIN    = "\x12\x34\x56\x78\x90\xAB\xCD\xEF"
	testMAC    = "4A3F9C01" // a CUP MAC is 8 ASCII hex characters
	// testICC is a request's chip data: ARQC (9F26), ATC (9F36), TVR (95).
	testICC = "\x9F\x26\x08\x11\x22\x33\x44\x55\x66\x77\x88" + "\x9F\x36\x02\x00\x01" + "\x95\x05\x00\x00\x00\x80\x00"
)

type segment struct {
	name string
	b    string
}

// bin is a segment written in hex.
func bin(name, h string) segment {
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		panic(err)
	}
	return segment{name, string(b)}
}

// golden is a message given as field values and as the bytes a CUP host expects,
// written out by hand field by field from the layout in the package doc.
type golden struct {
	name   string
	mti    string
	f22    Field22
	fields map[int]string // binary and card fields hold raw bytes
	wire   []segment      // TPDU, header, MTI, bitmap, then each field
}

var routing = []segment{bin("TPDU", "60 00 03 00 00"), bin("header", "60 31 00 31 00 00")}

var goldens = []golden{
	{
		// The sign-on request of public CUP terminal code: 60 = 00 000001 003 (type 00,
		// batch 000001, double-length keys), 63 = operator 001.
		name: "0800 sign-on", mti: "0800",
		fields: map[int]string{11: "000001", 41: "12345678", 42: "123456789012345", 60: "00000001003", 63: "001"},
		wire: []segment{
			bin("MTI", "08 00"),
			bin("bitmap", "0020000000C00012"), // 11 | 41 42 | 60 63
			bin("F11", "00 00 01"),
			{"F41", "12345678"},
			{"F42", "123456789012345"},
			bin("F60", "00 11 00 00 00 01 00 30"), // 11 digits, left-aligned, 0 nibble last
			bin("F63", "00 03"), {"F63 value", "001"},
		},
	},
	{
		name: "0810 sign-on answer, 001: 8-byte PIK and MAK", mti: "0810",
		fields: map[int]string{
			11: "000001", 12: "101530", 13: "1205", 32: "48020000", 37: "120510153001", 39: "00",
			41: "12345678", 42: "123456789012345", 60: "00000001001",
			62: "\x11\x22\x33\x44\x55\x66\x77\x88\x01\x02\x03\x04\x99\xAA\xBB\xCC\xDD\xEE\xFF\x00\x05\x06\x07\x08",
		},
		wire: []segment{
			bin("MTI", "08 10"),
			bin("bitmap", "003800010AC00014"), // 11 12 13 | 32 | 37 39 | 41 42 | 60 62
			bin("F11", "00 00 01"),
			bin("F12", "10 15 30"),
			bin("F13", "12 05"),
			bin("F32", "08 48 02 00 00"),
			{"F37", "120510153001"},
			{"F39", "00"},
			{"F41", "12345678"},
			{"F42", "123456789012345"},
			bin("F60", "00 11 00 00 00 01 00 10"),
			bin("F62", "00 24 11 22 33 44 55 66 77 88 01 02 03 04 99 AA BB CC DD EE FF 00 05 06 07 08"),
		},
	},
	{
		name: "0200 sale, swiped with PIN, field 22 left-aligned", mti: "0200",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 11: "000123", 12: "153000", 13: "0412", 14: "2912",
			22: "021", 25: "00", 26: "12", 35: testTrack2, 41: "TERM0001", 42: "MERCHANT0000001",
			49: "156", 52: testPIN, 53: "2600000000000000", 60: "22000007",
			62: "\xFF\xFF\x98\x76\x54\x32\x10\xE0\x00\x01", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "02 00"),
			bin("bitmap", "703C04C020C09815"),
			bin("F2", "16 47 61 73 90 01 01 01 19"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 45"),
			bin("F11", "00 01 23"),
			bin("F12", "15 30 00"),
			bin("F13", "04 12"),
			bin("F14", "29 12"),
			bin("F22", "02 10"),
			bin("F25", "00"),
			bin("F26", "12"),
			bin("F35", "34 47 61 73 90 01 01 01 19 D2 91 22 01 11 43 80 00 00"),
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F52", "12 34 56 78 90 AB CD EF"),
			bin("F53", "26 00 00 00 00 00 00 00"),
			bin("F60", "00 08 22 00 00 07"),
			bin("F62", "00 10 FF FF 98 76 54 32 10 E0 00 01"),
			{"F64", testMAC},
		},
	},
	{
		name: "0200 sale, field 22 right-aligned", mti: "0200", f22: Right22,
		fields: map[int]string{3: "000000", 4: "1", 11: "000124", 22: "012", 41: "TERM0001", 42: "MERCHANT0000001", 49: "156", 60: "22000007"},
		wire: []segment{
			bin("MTI", "02 00"),
			bin("bitmap", "3020040000C08010"), // 3 4 | 11 | 22 | 41 42 | 49 | 60
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 00 00 01"),
			bin("F11", "00 01 24"),
			bin("F22", "00 12"),
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 08 22 00 00 07"),
		},
	},
	{
		name: "0210 sale answer", mti: "0210",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 11: "000123", 12: "153001", 13: "0412", 14: "2912",
			25: "00", 32: "48020000", 37: "041215300123", 38: "A1B2C3", 39: "00",
			41: "TERM0001", 42: "MERCHANT0000001", 44: "0102030405", 49: "156", 60: "22000007",
			63: "CUP", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "02 10"),
			bin("bitmap", "703C00810ED08013"),
			bin("F2", "16 47 61 73 90 01 01 01 19"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 45"),
			bin("F11", "00 01 23"),
			bin("F12", "15 30 01"),
			bin("F13", "04 12"),
			bin("F14", "29 12"),
			bin("F25", "00"),
			bin("F32", "08 48 02 00 00"),
			{"F37", "041215300123"},
			{"F38", "A1B2C3"},
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			bin("F44", "10"), {"F44 value", "0102030405"},
			{"F49", "156"},
			bin("F60", "00 08 22 00 00 07"),
			bin("F63", "00 03"), {"F63 value", "CUP"},
			{"F64", testMAC},
		},
	},
	{
		name: "0200 void: 200000, 60.1 = 23, 61 = original batch, trace, date", mti: "0200",
		fields: map[int]string{
			2: testPAN, 3: "200000", 4: "12345", 11: "000125", 12: "160000", 13: "0412", 22: "022",
			25: "00", 35: testTrack2, 37: "041215300123", 38: "A1B2C3", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "23000007", 61: "0000070001230412", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "02 00"),
			bin("bitmap", "703804802CC08019"),
			bin("F2", "16 47 61 73 90 01 01 01 19"),
			bin("F3", "20 00 00"),
			bin("F4", "00 00 00 01 23 45"),
			bin("F11", "00 01 25"),
			bin("F12", "16 00 00"),
			bin("F13", "04 12"),
			bin("F22", "02 20"),
			bin("F25", "00"),
			bin("F35", "34 47 61 73 90 01 01 01 19 D2 91 22 01 11 43 80 00 00"),
			{"F37", "041215300123"},
			{"F38", "A1B2C3"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 08 23 00 00 07"),
			bin("F61", "00 16 00 00 07 00 01 23 04 12"),
			{"F64", testMAC},
		},
	},
	{
		name: "0220 refund: 200000, 60.1 = 25, 37 and 61", mti: "0220",
		fields: map[int]string{
			2: testPAN, 3: "200000", 4: "500", 11: "000126", 12: "161000", 13: "0413", 22: "022",
			25: "00", 35: testTrack2, 37: "041215300123", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "25000008", 61: "0000000000000412", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "02 20"),
			bin("bitmap", "7038048028C08019"),
			bin("F2", "16 47 61 73 90 01 01 01 19"),
			bin("F3", "20 00 00"),
			bin("F4", "00 00 00 00 05 00"),
			bin("F11", "00 01 26"),
			bin("F12", "16 10 00"),
			bin("F13", "04 13"),
			bin("F22", "02 20"),
			bin("F25", "00"),
			bin("F35", "34 47 61 73 90 01 01 01 19 D2 91 22 01 11 43 80 00 00"),
			{"F37", "041215300123"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 08 25 00 00 08"),
			bin("F61", "00 16 00 00 00 00 00 00 04 12"),
			{"F64", testMAC},
		},
	},
	{
		name: "0400 reversal, reason 98", mti: "0400",
		fields: map[int]string{
			3: "000000", 4: "12398", 11: "000127", 25: "00", 37: "041215300124", 39: "98", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "22000007", 61: "0000070001270412", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "04 00"),
			bin("bitmap", "302000800AC08019"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 98"),
			bin("F11", "00 01 27"),
			bin("F25", "00"),
			{"F37", "041215300124"},
			{"F39", "98"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 08 22 00 00 07"),
			bin("F61", "00 16 00 00 07 00 01 27 04 12"),
			{"F64", testMAC},
		},
	},
	{
		name: "0410 reversal answer", mti: "0410",
		fields: map[int]string{
			3: "000000", 4: "12398", 11: "000127", 12: "170000", 13: "0412", 25: "00", 37: "041215300124", 39: "00",
			41: "TERM0001", 42: "MERCHANT0000001", 49: "156", 60: "22000007", 61: "0000070001270412", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "04 10"),
			bin("bitmap", "303800800AC08019"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 98"),
			bin("F11", "00 01 27"),
			bin("F12", "17 00 00"),
			bin("F13", "04 12"),
			bin("F25", "00"),
			{"F37", "041215300124"},
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 08 22 00 00 07"),
			bin("F61", "00 16 00 00 07 00 01 27 04 12"),
			{"F64", testMAC},
		},
	},
	{
		name: "0500 settlement with totals in 48 and the journal head in 62", mti: "0500",
		fields: map[int]string{
			11: "000130", 41: "TERM0001", 42: "MERCHANT0000001",
			// debit 123.45 in 2, credit 5.00 in 1, flag 0; no foreign cards
			48: "0000000123450020000000005000010" + "0000000000000000000000000000000",
			49: "156", 60: "00000007201", 62: "12:00112233445566778899AABBCCDDEEFF", 63: "001", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "05 00"),
			bin("bitmap", "0020000000C18017"),
			bin("F11", "00 01 30"),
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			bin("F48", "00 62 00 00 00 01 23 45 00 20 00 00 00 00 50 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
			{"F49", "156"},
			bin("F60", "00 11 00 00 00 07 20 10"),
			bin("F62", "00 35"), {"F62 value", "12:00112233445566778899AABBCCDDEEFF"},
			bin("F63", "00 03"), {"F63 value", "001"},
			{"F64", testMAC},
		},
	},
	{
		name: "0510 settlement answer", mti: "0510",
		fields: map[int]string{
			11: "000130", 12: "180000", 13: "0412", 15: "0412", 39: "00", 41: "TERM0001", 42: "MERCHANT0000001",
			48: "0000000123450020000000005000011" + "0000000000000000000000000000000",
			49: "156", 60: "00000007201", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "05 10"),
			bin("bitmap", "003A000002C18011"),
			bin("F11", "00 01 30"),
			bin("F12", "18 00 00"),
			bin("F13", "04 12"),
			bin("F15", "04 12"),
			{"F39", "00"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			bin("F48", "00 62 00 00 00 01 23 45 00 20 00 00 00 00 50 00 01 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
			{"F49", "156"},
			bin("F60", "00 11 00 00 00 07 20 10"),
			{"F64", testMAC},
		},
	},
	{
		name: "0320 batch upload of one record: 60.3 = 203, 61 = the record", mti: "0320",
		fields: map[int]string{
			3: "000000", 4: "12345", 11: "000131", 37: "041215300123", 38: "A1B2C3", 41: "TERM0001",
			42: "MERCHANT0000001", 49: "156", 60: "22000007203", 61: "0000070001230412", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "03 20"),
			bin("bitmap", "302000000CC08019"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 45"),
			bin("F11", "00 01 31"),
			{"F37", "041215300123"},
			{"F38", "A1B2C3"},
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F60", "00 11 22 00 00 07 20 30"),
			bin("F61", "00 16 00 00 07 00 01 23 04 12"),
			{"F64", testMAC},
		},
	},
	{
		// A chip sale: 22 = 051 (chip, PIN), 23 = card sequence number 001 (n3, BCD
		// right-aligned), 55 = the chip data (b...255: a 2-byte BCD length in bytes, then
		// the bytes), 60 = 22 000007 000 6 0 (60.3 none, 60.4 contact and contactless
		// reader, 60.5 not a fallback).
		name: "0200 chip sale", mti: "0200",
		fields: map[int]string{
			2: testPAN, 3: "000000", 4: "12345", 11: "000125", 12: "153000", 13: "0412", 14: "2912",
			22: "051", 23: "001", 25: "00", 35: testTrack2, 41: "TERM0001", 42: "MERCHANT0000001",
			49: "156", 55: testICC, 60: "2200000700060", 64: testMAC,
		},
		wire: []segment{
			bin("MTI", "02 00"),
			bin("bitmap", "703C068020C08211"), // 2 3 4 | 11 12 13 14 | 22 23 | 25 | 35 | 41 42 | 49 55 | 60 64
			bin("F2", "16 47 61 73 90 01 01 01 19"),
			bin("F3", "00 00 00"),
			bin("F4", "00 00 00 01 23 45"),
			bin("F11", "00 01 25"),
			bin("F12", "15 30 00"),
			bin("F13", "04 12"),
			bin("F14", "29 12"),
			bin("F22", "05 10"),
			bin("F23", "00 01"),
			bin("F25", "00"),
			bin("F35", "34 47 61 73 90 01 01 01 19 D2 91 22 01 11 43 80 00 00"),
			{"F41", "TERM0001"},
			{"F42", "MERCHANT0000001"},
			{"F49", "156"},
			bin("F55", "00 23 9F 26 08 11 22 33 44 55 66 77 88 9F 36 02 00 01 95 05 00 00 00 80 00"),
			bin("F60", "00 13 22 00 00 07 00 06 00"),
			{"F64", testMAC},
		},
	},
}

func (g golden) codec() Codec {
	return Codec{TPDU: TPDU{0x60, 0x00, 0x03, 0x00, 0x00}, Header: Header{0x60, 0x31, 0x00, 0x31, 0x00, 0x00}, Field22: g.f22}
}

func (g golden) bytes() []byte {
	var b []byte
	for _, s := range append(append([]segment(nil), routing...), g.wire...) {
		b = append(b, s.b...)
	}
	return b
}

// TestPackGolden: each message packs to the bytes written by hand.
func TestPackGolden(t *testing.T) {
	for _, g := range goldens {
		c := g.codec()
		msg := c.NewMessage()
		msg.MTI(g.mti)
		for id, v := range g.fields {
			if err := msg.BinaryField(id, []byte(v)); err != nil {
				t.Fatalf("%s: field %d: %v", g.name, id, err)
			}
		}
		got, err := c.Pack(msg)
		if err != nil {
			t.Errorf("%s: Pack = %v", g.name, err)
			continue
		}
		want := g.bytes()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%X\nwant\n%X\n%s", g.name, got, want, firstDiff(got, g))
		}
	}
}

// firstDiff names the segment where got first differs.
func firstDiff(got []byte, g golden) string {
	off := 0
	for _, s := range append(append([]segment(nil), routing...), g.wire...) {
		end := off + len(s.b)
		if end > len(got) || !bytes.Equal(got[off:end], []byte(s.b)) {
			return "first difference in " + s.name
		}
		off = end
	}
	return "extra bytes at the end"
}

// TestUnpackGolden: the bytes unpack to the fields, with TPDU and header apart.
func TestUnpackGolden(t *testing.T) {
	for _, g := range goldens {
		c := g.codec()
		msg, tpdu, hdr, err := c.Unpack(g.bytes())
		if err != nil {
			t.Errorf("%s: Unpack = %v", g.name, err)
			continue
		}
		if tpdu != c.TPDU || hdr != c.Header {
			t.Errorf("%s: TPDU, header = %X %X; want %X %X", g.name, tpdu, hdr, c.TPDU, c.Header)
		}
		if mti, _ := msg.GetMTI(); mti != g.mti {
			t.Errorf("%s: MTI = %q; want %q", g.name, mti, g.mti)
		}
		fs := msg.GetFields()
		for id, want := range g.fields {
			f, ok := fs[id]
			if !ok {
				t.Errorf("%s: field %d missing", g.name, id)
				continue
			}
			got, _ := f.Bytes()
			if id == 35 {
				want = strings.ReplaceAll(want, "D", "=")
			}
			if id == 4 {
				want = strings.TrimLeft(want, "0")
				got = bytes.TrimLeft(got, "0")
			}
			if string(got) != want {
				t.Errorf("%s: field %d = %q; want %q", g.name, id, got, want)
			}
		}
		if len(fs) != len(g.fields)+2 { // + MTI and bitmap
			t.Errorf("%s: %d fields; want %d", g.name, len(fs)-2, len(g.fields))
		}
	}
}

// TestUnpackRefuses: what is not the canonical encoding of a message is refused with
// an error that quotes no card data.
func TestUnpackRefuses(t *testing.T) {
	sale := goldens[2].bytes()
	c := goldens[2].codec()
	odd := append([]byte(nil), goldens[0].bytes()...)
	odd[len(odd)-6] = 0x31 // F60's pad nibble: ...00 31, before F63's 5 bytes
	hexNibble := append([]byte(nil), sale...)
	hexNibble[PrefixLen+2+8+1] = 0x4A // a nibble A in the PAN
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"prefix only", sale[:PrefixLen]},
		{"cut short", sale[:len(sale)-3]},
		{"trailing byte", append(append([]byte(nil), sale...), 0)},
		{"pad nibble not 0", odd},
		{"letter nibble in the PAN", hexNibble},
		{"unknown field 5", append(append([]byte(nil), sale[:PrefixLen+2]...), append([]byte{0x08, 0, 0, 0, 0, 0, 0, 0}, 0x12)...)},
	} {
		_, _, _, err := c.Unpack(tc.b)
		if err == nil {
			t.Errorf("%s: Unpack accepted it", tc.name)
			continue
		}
		if strings.Contains(err.Error(), "4761739") {
			t.Errorf("%s: error %q quotes the PAN", tc.name, err)
		}
	}
}

// TestDescribeRedacts: Describe shows no PAN, track, PIN block, key or MAC.
func TestDescribeRedacts(t *testing.T) {
	for _, g := range goldens {
		msg, _, _, err := g.codec().Unpack(g.bytes())
		if err != nil {
			t.Fatal(err)
		}
		d := Describe(msg)
		for _, secret := range []string{testPAN, "29122011143800000", "1234567890ABCDEF", "1122334455667788", "FFFF9876543210E00001", testMAC} {
			if strings.Contains(strings.ToUpper(d), secret) {
				t.Errorf("%s: Describe shows %q:\n%s", g.name, secret, d)
			}
		}
		if _, ok := g.fields[2]; ok && !strings.Contains(d, "476173******0119") {
			t.Errorf("%s: Describe does not show the masked PAN:\n%s", g.name, d)
		}
	}
}

// TestSwapped: the host answers with destination and source exchanged.
func TestSwapped(t *testing.T) {
	got := TPDU{0x60, 0x00, 0x03, 0x01, 0x02}.Swapped()
	if want := (TPDU{0x60, 0x01, 0x02, 0x00, 0x03}); got != want {
		t.Errorf("Swapped = %X; want %X", got, want)
	}
}

// TestMACData: the MAC covers the MTI up to the byte before field 64.
func TestMACData(t *testing.T) {
	b := goldens[2].bytes()
	d, err := MACData(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := b[PrefixLen : len(b)-MACLen]; !bytes.Equal(d, want) || d[0] != 0x02 || d[1] != 0x00 {
		t.Errorf("MACData = %X; want %X", d, want)
	}
}
