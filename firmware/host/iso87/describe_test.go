package iso87

import (
	"fmt"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	msg, err := Unpack(goldens[1].bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := `MTI  0210
F3   Processing Code: 000000
F4   Amount, Transaction: 12345
F7   Transmission Date and Time: 0412153000
F11  System Trace Audit Number: 000123
F12  Time, Local Transaction: 153001
F13  Date, Local Transaction: 0412
F37  Retrieval Reference Number: 041215300123
F38  Authorization Identification Response: AB12
F39  Response Code: 00
F41  Card Acceptor Terminal Identification: TERM0001
F42  Card Acceptor Identification Code: MERCHANT0000001
F49  Currency Code, Transaction: 156
F64  Message Authentication Code: [8 bytes redacted]
`
	if got := Describe(msg); got != want {
		t.Errorf("Describe(0210) =\n%s\nwant\n%s", got, want)
	}
}

// TestDescribeRedacts checks that no card data of the 0200 survives into
// the description: no 7 consecutive PAN digits (first 6 + last 4 is all a
// log may show), no track 2, PIN block or MAC, in any encoding.
func TestDescribeRedacts(t *testing.T) {
	msg := goldens[0].build(t)
	if err := msg.Field(53, "2600000000000001"); err != nil {
		t.Fatal(err)
	}
	if err := msg.Field(128, testMAC); err != nil {
		t.Fatal(err)
	}
	if err := msg.Field(62, "FFFF9876543210E00001"); err != nil {
		t.Fatal(err)
	}
	got := Describe(msg)

	for _, want := range []string{
		"F2   Primary Account Number: 476173******0119\n",
		"F35  Track 2 Data: [34 bytes redacted]\n",
		"F52  PIN Data: [8 bytes redacted]\n",
		"F53  Security Related Control Information: [16 bytes redacted]\n",
		"F64  Message Authentication Code: [8 bytes redacted]\n",
		"F128 Message Authentication Code 2: [8 bytes redacted]\n",
		"[20 bytes redacted]\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe(0200) has no line %q; got\n%s", want, got)
		}
	}
	secrets := []string{testTrack2, testPIN, fmt.Sprintf("%X", testPIN), fmt.Sprintf("%x", testPIN),
		testMAC, fmt.Sprintf("%X", testMAC), "2600000000000001", "29122011143800000", "FFFF9876543210E00001"}
	for i := 0; i+7 <= len(testPAN); i++ {
		secrets = append(secrets, testPAN[i:i+7])
	}
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("Describe(0200) contains card data %q:\n%s", s, got)
		}
	}
}

func TestMaskPAN(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"4761739001010119", "476173******0119"},
		{"6212345678901234567", "621234*********4567"},
		{"4111111111111", "411111***1111"},
		{"411111111111", "************"}, // too short to show 10 digits
		{"", ""},
	} {
		if got := maskPAN([]byte(tt.in)); got != tt.want {
			t.Errorf("maskPAN(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribeQuotesControlCharacters(t *testing.T) {
	msg := goldens[5].build(t)
	if err := msg.Field(63, "ok\nF39  Response Code: 00"); err != nil {
		t.Fatal(err)
	}
	got := Describe(msg)
	if want := `F63  Reserved Private 63: "ok\nF39  Response Code: 00"` + "\n"; !strings.Contains(got, want) {
		t.Errorf("Describe() = \n%s\nwant a line %q", got, want)
	}
	if Describe(nil) != "<nil message>" {
		t.Errorf("Describe(nil) = %q; want %q", Describe(nil), "<nil message>")
	}
}
