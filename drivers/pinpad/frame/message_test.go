package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"posfw/drivers/testkit"
)

func TestParseMessageRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"one byte", "10", ErrShort},
		{"response without status", "90 01", ErrShort},
		{"unknown command", "7f 01", ErrUnknownCommand},
		{"field cut short", "11 01 10 05 41 42", ErrField},
		{"field header cut short", "11 01 10 00 11", ErrField},
		{"required field missing", "11 01 10 00", ErrField},
		{"field twice", "11 01 10 00 11 00 10 00", ErrField},
		{"control character in text", "11 01 10 01 07 11 00", ErrField},
		{"text not UTF-8", "11 01 10 01 ff 11 00", ErrField},
		{"PAN digits not digits", "12 01 20 0c 34 30 31 32 33 34 35 36 37 38 39 41" +
			"21 0c 30 30 30 30 30 30 30 30 31 32 33 34 22 01 04 23 01 0c 24 02 01 2c 25 01 00", ErrField},
		{"PAN digits 13 long", "12 01 20 0d 34 30 31 32 33 34 35 36 37 38 39 30 39" +
			"21 0c 30 30 30 30 30 30 30 30 31 32 33 34 22 01 04 23 01 0c 24 02 01 2c 25 01 00", ErrField},
		{"KSN 9 bytes", "94 01 00 04 09 ff ff 98 76 54 32 10 e0 00", ErrField},
		{"info answer without KSN", "90 01 00 01 01 41 02 01 42 03 01 43", ErrField},
		{"card hash PAN 11 digits", "15 01 26 0b 34 30 31 32 33 34 35 36 37 38 39", ErrField},
		{"card hash PAN not digits", "15 01 26 0c 34 30 31 32 33 34 35 36 37 38 39 41", ErrField},
		{"seal without hash", "16 01 40 08 00 00 00 00 00 00 00 05", ErrField},
		{"seal id 4 bytes", "16 01 40 04 00 00 00 05 41 20" + strings.Repeat(" aa", 32), ErrField},
		{"anchor answer without MAC", "97 01 00 40 08 00 00 00 00 00 00 00 05 41 20" + strings.Repeat(" aa", 32), ErrField},
	} {
		_, err := ParseMessage(testkit.Unhex(t, tc.payload))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: ParseMessage(%s) = %v; want %v", tc.name, tc.payload, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "401234567") {
			t.Errorf("%s: error %q quotes the PAN digits", tc.name, err)
		}
	}
}

func TestParseMessageAccepted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    string // Message.String
	}{
		{"display with empty lines", "11 01 10 00 11 00", `display request #1 line1="" line2=""`},
		{"unknown field skipped", "10 02 7e 02 aa bb", `info request #2 tag 7E=(2 bytes)`},
		{"cancelled answer has no fields", "92 03 01", `get PIN response #3 cancelled`},
		{"answer to an unknown command", "ff 04 06", `command 7F response #4 unknown command`},
		{"info answer", "90 05 00 01 01 41 02 01 42 03 01 43 04 0a ff ff 98 76 54 32 10 e0 00 03",
			`info response #5 done model="A" serial="B" firmware="C" KSN=FFFF9876543210E00003`},
	} {
		p := testkit.Unhex(t, tc.payload)
		m, err := ParseMessage(p)
		if err != nil || m.String() != tc.want {
			t.Errorf("%s: ParseMessage(%s) = %v, %v; want %s", tc.name, tc.payload, m, err, tc.want)
			continue
		}
		back, err := m.Marshal(nil)
		if err != nil || !bytes.Equal(back, p) {
			t.Errorf("%s: Marshal(ParseMessage(%s)) = % x, %v; want the same bytes", tc.name, tc.payload, back, err)
		}
	}
}

func TestUnknownCommandKeepsSeq(t *testing.T) {
	m, err := ParseMessage(testkit.Unhex(t, "7f 2a 01 00"))
	if !errors.Is(err, ErrUnknownCommand) || m.Command != 0x7f || m.Seq != 0x2a || m.Response {
		t.Errorf("ParseMessage(7f 2a ...) = %+v, %v; want command 7F request #42, ErrUnknownCommand", m, err)
	}
}

func TestMarshalRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"unknown command", Message{Command: 0x7f}},
		{"missing field", Message{Command: CmdDisplay, Fields: []Field{Text(TagLine1, "x")}}},
		{"line too long", Message{Command: CmdDisplay, Fields: []Field{Text(TagLine1, strings.Repeat("x", 65)), Text(TagLine2, "")}}},
		{"value over 255 bytes", Message{Command: CmdInfo, Fields: []Field{Bytes(0x7e, make([]byte, 256))}}},
		{"OK answer missing its fields", Message{Command: CmdGetPIN, Response: true}},
	} {
		if _, err := tc.m.Marshal(nil); err == nil {
			t.Errorf("%s: Marshal(%v) succeeded; want an error", tc.name, tc.m)
		}
	}
}

// TestStringRedacts: PAN digits, PIN block and key never reach a log line.
func TestStringRedacts(t *testing.T) {
	m := Message{Command: CmdGetPIN, Seq: 1, Fields: []Field{
		Text(TagPANDigits, "401234567890"),
		Bytes(TagPINBlock, testkit.Unhex(t, "1B9C1845EB993A7A")),
		Bytes(TagIPEK, testkit.Unhex(t, "6AC292FAA1315B4D858AB3A3D7D5933A")),
		Text(TagPAN, "6222021234567893214"),
	}}
	s := m.String()
	for _, secret := range []string{"401234567890", "1B9C1845", "1b9c1845", "6AC292FA", "6ac292fa", "62220212"} {
		if strings.Contains(s, secret) {
			t.Errorf("Message.String() = %q; shows a secret value", s)
		}
	}
	if !strings.Contains(s, "PIN block=(8 bytes)") {
		t.Errorf("Message.String() = %q; want the PIN block's length", s)
	}
}

func TestWipe(t *testing.T) {
	p := testkit.Unhex(t, "92 01 00 30 08 1b 9c 18 45 eb 99 3a 7a 04 0a ff ff 98 76 54 32 10 e0 00 01")
	m, err := ParseMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	m.Wipe()
	if !bytes.Equal(p[5:13], make([]byte, 8)) {
		t.Errorf("after Wipe the payload holds % x where the PIN block was; want zeros", p[5:13])
	}
}

// FuzzParseMessage: no panic, and whatever parses marshals back to the same bytes.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"10 01",
		"11 01 10 00 11 00",
		"12 07 20 0c 34 30 31 32 33 34 35 36 37 38 39 30 21 0c 30 30 30 30 30 30 30 30 31 32 33 34 22 01 04 23 01 0c 24 02 01 2c 25 01 00",
		"92 07 00 30 08 1b 9c 18 45 eb 99 3a 7a 04 0a ff ff 98 76 54 32 10 e0 00 01",
		"ff 04 06",
		"15 01 26 0d 34 30 31 32 33 34 35 36 37 38 39 30 39",
		"16 02 40 08 00 00 00 00 00 00 00 05 41 20" + strings.Repeat(" aa", 32),
		"97 03 00 40 08 00 00 00 00 00 00 00 05 41 20" + strings.Repeat(" aa", 32) + " 42 20" + strings.Repeat(" bb", 32),
		"98 04 09",
	} {
		f.Add(testkit.Unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := ParseMessage(p)
		if err != nil {
			return
		}
		back, err := m.Marshal(nil)
		if err != nil {
			t.Fatalf("Marshal(ParseMessage(% x)) = %v; want it to marshal", p, err)
		}
		if !bytes.Equal(back, p) {
			t.Fatalf("Marshal(ParseMessage(% x)) = % x; want the same bytes", p, back)
		}
		_ = m.String()
	})
}
