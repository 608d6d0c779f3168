package emvtag

import (
	"strings"
	"testing"

	"posfw/drivers/testkit"
)

func TestTrace(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		resp      bool
		want      string
		never     string
	}{
		{"SELECT PSE", "00A40400 0E 315041592E5359532E4444463031 00", false, `C: SELECT 00A40400 "1PAY.SYS.DDF01" Le 00`, ""},
		{"GPO", "80A80000 04 8302 0156 00", false, "C: GET PROCESSING OPTIONS 80A80000 83020156 Le 00", ""},
		{"VERIFY: PIN block redacted", "00200080 08 241234FFFFFFFFFF", false, "C: VERIFY 00200080 data <redacted, 8 bytes>", "241234"},
		{"script: PIN change redacted", "84240002 10 0011223344556677 8899AABBCCDDEEFF", false, "C: PIN CHANGE/UNBLOCK 84240002 data <redacted, 16 bytes>", "00112233"},
		{"GET RESPONSE", "00C0000010", false, "C: GET RESPONSE 00C00000 Le 10", ""},
		{"malformed", "00A4", false, "C: malformed APDU of 2 bytes", ""},
		{"record with the PAN", "70 0A 5A 08 6212260000000019 9000", true,
			"R: 9000\n   70 READ RECORD Response Message Template\n     5A Application Primary Account Number (PAN): <redacted, 8 bytes>", "6212260000000019"},
		{"not TLV", "6212260000000019 9000", true, "R: 9000, 8 bytes that are not TLV", "6212"},
		{"status only", "6A82", true, "R: 6A82", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := testkit.MustUnhex(tt.raw)
			got := TraceCommand(raw)
			if tt.resp {
				got = TraceResponse(raw)
			}
			if got != tt.want {
				t.Errorf("trace = %q; want %q", got, tt.want)
			}
			if tt.never != "" && strings.Contains(got, tt.never) {
				t.Errorf("trace %q shows %s", got, tt.never)
			}
		})
	}
}

// FuzzTrace: any bytes give a line, never a panic.
func FuzzTrace(f *testing.F) {
	f.Add(testkit.MustUnhex("00A40400 0E 315041592E5359532E4444463031 00"))
	f.Add(testkit.MustUnhex("70 0A 5A 08 6212260000000019 9000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if TraceCommand(b) == "" || TraceResponse(b) == "" {
			t.Fatalf("empty trace for % X", b)
		}
	})
}
