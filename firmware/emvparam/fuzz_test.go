package emvparam

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"posfw/firmware/emv"
)

// The parsers read field 62 as a host sent it: any bytes end in a value or an error of
// one line, never a panic, and what is read encodes to something read back the same.

func FuzzParseCAPK(f *testing.F) {
	b, _ := hex.DecodeString(unionPay08)
	f.Add(b)
	f.Add(testKey().TLV())
	f.Add([]byte{0x9F, 0x06, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseCAPK(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		again, err := ParseCAPK(k.TLV())
		if err != nil || !reflect.DeepEqual(again, k) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, k)
		}
	})
}

func FuzzParseAID(f *testing.F) {
	def := emv.DefaultParams().AIDs[0]
	f.Add(unionPayAID(1).TLV())
	f.Add([]byte{0x9F, 0x06, 0x07, 0xA0, 0, 0, 3, 0x33, 1, 1, 0xDF, 0x01, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAID(b, def)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		again, err := ParseAID(a.TLV(), def)
		if err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, a)
		}
		p := emv.DefaultParams()
		Set{AIDs: []AID{a}}.Apply(p)
		if err := p.Check(); err != nil {
			t.Fatalf("an accepted AID the kernel refuses: %v", err)
		}
	})
}

func FuzzParseLists(f *testing.F) {
	f.Add(RefList(StatusMore, []Ref{{RID: []byte{0xA0, 0, 0, 3, 0x33}, Index: 1, Expiry: "20301231"}}))
	f.Add(AIDList(StatusLast, [][]byte{{0xA0, 0, 0, 3, 0x33, 1, 1}}))
	f.Add([]byte("100"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, refs, err := ParseRefList(b); err == nil {
			if st2, again, err := ParseRefList(RefList(st, refs)); err != nil || st2 != st || len(again) != len(refs) {
				t.Fatalf("ref list round trip: %v", err)
			}
		}
		if st, aids, err := ParseAIDList(b); err == nil {
			if _, again, err := ParseAIDList(AIDList(st, aids)); err != nil || len(again) != len(aids) {
				t.Fatalf("AID list round trip: %v", err)
			}
		}
		if n, err := ParseQuery(b); err == nil {
			if q, _ := Query(n); !bytes.Equal(q, b) {
				t.Fatalf("query %q read as %d", b, n)
			}
		}
		if r, err := ParseKeyRequest(b); err == nil {
			if _, err := ParseKeyRequest(KeyRequest(r)); err != nil {
				t.Fatal(err)
			}
		}
		ParseAIDRequest(b)
	})
}
