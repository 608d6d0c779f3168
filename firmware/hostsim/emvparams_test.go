package hostsim

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"posfw/firmware/emvparam"
	"posfw/firmware/host"
	"posfw/firmware/host/iso87"
)

// TestEMVDownload: the terminal downloads the acquirer's CA public keys and AIDs over
// TCP in each dialect (0820 queries, 0800 downloads, the ends), the AID list in two
// query rounds, and gets the set the acquirer holds.
func TestEMVDownload(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		first := e.stan
		set, err := e.c.DownloadEMV(context.Background(), func() (int64, error) { return e.next(), nil })
		if err != nil {
			t.Fatalf("DownloadEMV = %v", err)
		}
		want := DefaultEMVParams()
		if !reflect.DeepEqual(set.AIDs, want.AIDs) || !reflect.DeepEqual(set.CAPKs, want.CAPKs) {
			t.Errorf("downloaded %d AIDs, %d keys; want the acquirer's %d and %d, equal", len(set.AIDs), len(set.CAPKs), len(want.AIDs), len(want.CAPKs))
		}
		if set.Digest() != want.Digest() {
			t.Errorf("digest %s; want %s", set.Digest(), want.Digest())
		}
		// Keys: query, 1 key, end. AIDs: 2 query rounds (3 + 1), 4 AIDs, end.
		if got := e.stan - first; got != 10 {
			t.Errorf("%d messages; want 10", got)
		}
	})
}

// TestEMVDownloadRefusesBadKey: a key whose checksum does not match refuses the whole
// download with one line naming the key.
func TestEMVDownloadRefusesBadKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, d host.Dialect) {
		e := startIn(t, d)
		bad := DefaultEMVParams()
		bad.CAPKs[0].Modulus[7] ^= 0x10
		e.srv.SetEMVParams(bad)
		_, err := e.c.DownloadEMV(context.Background(), func() (int64, error) { return e.next(), nil })
		if !errors.Is(err, host.ErrEMVDownload) || !errors.Is(err, emvparam.ErrChecksum) ||
			!strings.Contains(err.Error(), "A000000333/F1") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("DownloadEMV(damaged key) = %v; want one line refusing key A000000333/F1 for its checksum", err)
		}
	})
}

// FuzzEMVRequests: any field 62 and code of an EMV parameter query or download is
// answered (a list, an entry, '0' or a format error), never a panic, and every answer
// is one the terminal reads.
func FuzzEMVRequests(f *testing.F) {
	srv, _ := fuzzServer(f)
	q, _ := emvparam.Query(0)
	set := DefaultEMVParams()
	f.Add(true, host.NetCAPKQuery, q)
	f.Add(true, host.NetAIDQuery, []byte("103"))
	f.Add(false, host.NetCAPKDownload, emvparam.KeyRequest(emvparam.Ref{RID: set.CAPKs[0].RID, Index: set.CAPKs[0].Index}))
	f.Add(false, host.NetAIDDownload, emvparam.AIDRequest(set.AIDs[2].AID))
	f.Add(false, host.NetAIDEnd, []byte{})
	f.Fuzz(func(t *testing.T, query bool, code string, f62 []byte) {
		mti := "0800"
		if query {
			mti = "0820"
		}
		fields := host.Fields{11: "000009", 41: testTID, 42: testMID, 70: code}
		if len(f62) > 0 {
			fields[62] = host.EMVField62(host.ISO87{}, f62)
		}
		msg, err := host.Build(mti, fields)
		if err != nil {
			return // not a message the terminal could send
		}
		in, err := iso87.Pack(msg)
		if err != nil {
			return
		}
		a := srv.handle(in, Fault{Mode: OK})
		checkAnswer(t, in, a)
		if a.act != actAnswer {
			return
		}
		resp, err := host.ISO87{}.Decode(a.frame)
		if err != nil {
			t.Fatalf("answer not decodable: %v", err)
		}
		if resp.Get(39) != host.CodeApproved {
			return
		}
		b, err := host.ParseEMVField62(host.ISO87{}, resp.Get(62))
		if err != nil {
			t.Fatalf("answer's 62: %v", err)
		}
		switch {
		case code == host.NetCAPKQuery:
			_, _, err = emvparam.ParseRefList(b)
		case code == host.NetAIDQuery:
			_, _, err = emvparam.ParseAIDList(b)
		case code == host.NetCAPKDownload || code == host.NetAIDDownload:
			_, _, err = emvparam.ParseAnswer(b)
		}
		if err != nil {
			t.Fatalf("answer to %s %s the terminal cannot read: %v", mti, code, err)
		}
	})
}
