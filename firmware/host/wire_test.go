package host

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"posfw/drivers/pinpad/mac"
	"posfw/firmware/host/iso87"
	"posfw/firmware/txn"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Test keys. testMAK's KCV, 08D7B4, is the published check value of this
// well-known test key.
const (
	testTMK = "404142434445464748494A4B4C4D4E4F"
	testMAK = "0123456789ABCDEFFEDCBA9876543210"
)

func TestMessagesTable(t *testing.T) {
	for _, m := range Messages {
		// ISO 8583:1987: the answer is the request's MTI with the function
		// digit 0 → 1, and a repeat (xx01) is answered like the original.
		want := m.MTI[:2] + string(m.MTI[2]+1) + "0"
		if m.Response != want {
			t.Errorf("Messages: %s is answered by %s; want %s", m.MTI, m.Response, want)
		}
		if got, ok := LookupMessage(m.MTI); !ok || got != m {
			t.Errorf("LookupMessage(%s) = %v, %v", m.MTI, got, ok)
		}
	}
	for _, mti := range []string{"0210", "0100", "", "9999"} {
		if _, ok := LookupMessage(mti); ok {
			t.Errorf("LookupMessage(%q) found a request", mti)
		}
	}
}

func TestFinancials(t *testing.T) {
	for _, tt := range []struct {
		typ       txn.Type
		mti, proc string
	}{
		{txn.Sale, "0200", "000000"},
		{txn.Void, "0200", "020000"},
		{txn.Refund, "0220", "200000"},
	} {
		f, ok := FinancialOf(tt.typ)
		if !ok || f.MTI != tt.mti || f.Proc != tt.proc {
			t.Errorf("FinancialOf(%s) = %+v, %v; want %s %s", tt.typ, f, ok, tt.mti, tt.proc)
		}
		if g, ok := FinancialByProc(tt.proc); !ok || g.Type != tt.typ {
			t.Errorf("FinancialByProc(%s) = %+v, %v; want %s", tt.proc, g, ok, tt.typ)
		}
	}
	if _, ok := FinancialOf(txn.ManualRefund); ok {
		t.Errorf("FinancialOf(manual refund) found a message: manual refunds are never sent")
	}
}

func TestEntryModeCode(t *testing.T) {
	for _, tt := range []struct {
		mode txn.EntryMode
		pin  bool
		want string
		ok   bool
	}{
		{txn.Swiped, true, "021", true},
		{txn.Swiped, false, "022", true},
		{txn.Keyed, false, "012", true},
		{txn.Chip, true, "051", true},
		{txn.Tapped, false, "072", true},
		{txn.NoEntry, false, "", false},
	} {
		if got, ok := EntryModeCode(tt.mode, tt.pin); got != tt.want || ok != tt.ok {
			t.Errorf("EntryModeCode(%q, %v) = %q, %v; want %q, %v", tt.mode, tt.pin, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMACField(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    Fields
		want int
	}{
		{"primary bitmap only", Fields{3: "000000", 11: "000001"}, 64},
		{"with field 90", Fields{11: "000001", 90: OriginalData{MTI: "0200", STAN: 1}.String()}, 128},
		{"with field 70", Fields{11: "000001", 70: "001"}, 128},
		{"MAC field 128 alone does not count", Fields{11: "000001", 128: "\x00\x00\x00\x00\x00\x00\x00\x00"}, 64},
	} {
		msg, err := Build("0200", tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := MACField(msg); got != tt.want {
			t.Errorf("%s: MACField() = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestPackMAC checks the MAC definition: X9.19 over the packed message up to
// the MAC field's 16 hex digits, which end the message; and that CheckMAC
// refuses a message with any byte changed.
func TestPackMAC(t *testing.T) {
	key := unhex(t, testMAK)
	for _, tt := range []struct {
		name  string
		mti   string
		f     Fields
		field int
	}{
		{"0200 sale: field 64", "0200", Fields{
			2: "4761739001010119", 3: "000000", 4: "12345", 11: "000123", 41: "TERM0001",
		}, 64},
		{"0400 reversal: field 128", "0400", Fields{
			3: "000000", 4: "12345", 11: "000123", 39: "98", 41: "TERM0001",
			90: OriginalData{"0200", 123, "0412153000"}.String(),
		}, 128},
	} {
		msg, err := Build(tt.mti, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := PackMAC(msg, key)
		if err != nil {
			t.Fatalf("%s: PackMAC() = %v", tt.name, err)
		}
		want, _ := mac.X919(key, b[:len(b)-16])
		if got := string(b[len(b)-16:]); got != strings.ToUpper(hex.EncodeToString(want[:])) {
			t.Errorf("%s: MAC on the wire = %s; want X9.19 of the bytes before it, %X", tt.name, got, want)
		}
		if f, _ := msg.GetBytes(tt.field); !bytes.Equal(f, want[:]) {
			t.Errorf("%s: field %d = %X; want %X", tt.name, tt.field, f, want)
		}
		got, err := iso87.Unpack(b)
		if err != nil {
			t.Fatalf("%s: Unpack(PackMAC()) = %v", tt.name, err)
		}
		if err := CheckMAC(b, got, key); err != nil {
			t.Errorf("%s: CheckMAC(PackMAC()) = %v", tt.name, err)
		}
		for i := range b {
			bad := bytes.Clone(b)
			bad[i] ^= 0x01
			m, err := iso87.Unpack(bad)
			if err != nil {
				continue // no longer a message at all
			}
			if err := CheckMAC(bad, m, key); err == nil {
				t.Errorf("%s: CheckMAC() accepts the message with byte %d changed", tt.name, i)
			}
		}
		other := unhex(t, testTMK)
		if err := CheckMAC(b, got, other); !errors.Is(err, mac.ErrMismatch) {
			t.Errorf("%s: CheckMAC() under another key = %v; want %v", tt.name, err, mac.ErrMismatch)
		}
	}
}

func TestCheckMACWithoutMAC(t *testing.T) {
	msg, _ := Build("0210", Fields{11: "000001", 39: "00"})
	b, err := iso87.Pack(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMAC(b, msg, unhex(t, testMAK)); !errors.Is(err, ErrNoMAC) {
		t.Errorf("CheckMAC(no field 64) = %v; want %v", err, ErrNoMAC)
	}
}

func TestKeyBlock(t *testing.T) {
	tmk, mak := unhex(t, testTMK), unhex(t, testMAK)
	kb, err := SealKey(tmk, mak)
	if err != nil {
		t.Fatal(err)
	}
	// The encrypted key, computed here with crypto/des directly.
	c, _ := des.NewTripleDESCipher(append(bytes.Clone(tmk), tmk[:8]...))
	var want [16]byte
	c.Encrypt(want[:8], mak[:8])
	c.Encrypt(want[8:], mak[8:])
	if kb.Key != want {
		t.Errorf("SealKey().Key = %X; want %X", kb.Key, want)
	}
	if got := hex.EncodeToString(kb.KCV[:]); got != "08d7b4" {
		t.Errorf("SealKey().KCV = %s; want 08d7b4", got)
	}
	s := kb.String()
	if want := strings.ToUpper(hex.EncodeToString(want[:])) + "08D7B4"; s != want {
		t.Errorf("KeyBlock.String() = %s; want %s", s, want)
	}
	kbs, err := ParseKeyBlocks(s + s)
	if err != nil || len(kbs) != 2 || kbs[0] != kb || kbs[1] != kb {
		t.Fatalf("ParseKeyBlocks(two blocks) = %v, %v", kbs, err)
	}
	got, err := kbs[0].Open(tmk)
	if err != nil || !bytes.Equal(got, mak) {
		t.Errorf("Open() = %X, %v; want %X", got, err, mak)
	}
	if _, err := kb.Open(unhex(t, testMAK)); !errors.Is(err, ErrKeyCheck) {
		t.Errorf("Open(wrong master key) = %v; want %v", err, ErrKeyCheck)
	}
	bad := kb
	bad.KCV[0] ^= 1
	if _, err := bad.Open(tmk); !errors.Is(err, ErrKeyCheck) {
		t.Errorf("Open(wrong KCV) = %v; want %v", err, ErrKeyCheck)
	}
}

func TestParseKeyBlocksErrors(t *testing.T) {
	good := strings.Repeat("A", 32) + "08D7B4"
	for _, s := range []string{
		"", good[:37], good + "0", good + good + good,
		strings.ToLower(good), "G" + good[1:], good[:32] + "08D7BZ",
	} {
		if kbs, err := ParseKeyBlocks(s); err == nil {
			t.Errorf("ParseKeyBlocks(%q) = %v; want an error", s, kbs)
		}
	}
}

func TestOriginalData(t *testing.T) {
	o := OriginalData{MTI: "0200", STAN: 123, DateTime: "0412153000"}
	const want = "0200" + "000123" + "0412153000" + "00000000000" + "00000000000"
	if got := o.String(); got != want {
		t.Errorf("OriginalData.String() = %q; want %q", got, want)
	}
	if got, err := ParseOriginalData(want); err != nil || got != o {
		t.Errorf("ParseOriginalData(%q) = %+v, %v; want %+v", want, got, err, o)
	}
	if got := (OriginalData{MTI: "0200"}).String(); got != "0200000000"+zeroDateTime+strings.Repeat("0", 22) {
		t.Errorf("OriginalData without a time = %q", got)
	}
	for _, s := range []string{"", want[:41], want + "0", "0200ABC123" + want[10:]} {
		if _, err := ParseOriginalData(s); err == nil {
			t.Errorf("ParseOriginalData(%q) succeeded; want an error", s)
		}
	}
}

func TestTotals(t *testing.T) {
	tot := txn.Totals{
		Sales:           txn.Total{Count: 3, Amount: 12345},
		Refunds:         txn.Total{Count: 1, Amount: 500},
		Voids:           txn.Total{Count: 2, Amount: 2000},
		ManualRefunds:   txn.Total{Count: 0, Amount: 0},
		ReversalsFailed: txn.Total{Count: 999_999, Amount: 999_999_999_999},
	}
	const want = "000003000000012345" + "000001000000000500" + "000002000000002000" +
		"000000000000000000" + "999999999999999999"
	got, err := EncodeTotals(tot)
	if err != nil || got != want {
		t.Fatalf("EncodeTotals() = %q, %v; want %q", got, err, want)
	}
	back, err := ParseTotals(got)
	if err != nil || back != tot {
		t.Errorf("ParseTotals(%q) = %+v, %v; want %+v", got, back, err, tot)
	}
	for _, bad := range []txn.Totals{
		{Sales: txn.Total{Count: 1_000_000}},
		{Refunds: txn.Total{Amount: 1_000_000_000_000}},
		{Voids: txn.Total{Amount: -1}},
	} {
		if s, err := EncodeTotals(bad); err == nil {
			t.Errorf("EncodeTotals(%+v) = %q; want an error", bad, s)
		}
	}
	for _, s := range []string{"", want[:89], want + "0", strings.Replace(want, "3", "x", 1)} {
		if _, err := ParseTotals(s); err == nil {
			t.Errorf("ParseTotals(%q) succeeded; want an error", s)
		}
	}
}

func TestFormatSTAN(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{1, "000001"}, {123, "000123"}, {999_999, "999999"}, {0, ""}, {1_000_000, ""}, {-1, ""}} {
		got, err := FormatSTAN(tt.n)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("FormatSTAN(%d) = %q, %v; want %q", tt.n, got, err, tt.want)
		}
	}
}
