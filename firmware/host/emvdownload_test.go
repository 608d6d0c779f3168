package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"posfw/firmware/emvparam"
	"posfw/firmware/host/cup"
)

// What a CUP acquirer sends, byte for byte as public terminal code shows it: UnionPay's
// CA public key index 08 (expiry 2024-12-31) and the IC parameters of its debit AID.
const (
	hostKey08 = "9F0605A0000003339F220108DF05083230323431323331DF060101DF070101DF028190" +
		"B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1" +
		"CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C54" +
		"5A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D5" +
		"39E5064360EA4850FED2D1BF" + "DF040103DF0314EE23B616C95C02652AD18860E48787C079E8E85A"
	hostDebitAID = "9F0608A000000333010101DF0101009F08020020DF1105D84000A800DF1205D84004F800" +
		"DF130500100000009F1B0400000000DF150400000000DF160199DF170199DF14039F3704DF1801019F7B06000000100000" +
		"DF1906000000100000DF2006000000100000DF2106000000100000"
	hostKeyList = "9F0605A0000003339F220108DF05083230323431323331"
	hostAIDList = "9F0608A000000333010101"
)

func hexBytes(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestCUPEMVDownload: against a CUP acquirer that answers with the bytes real hosts
// send, the terminal's requests are CUP's (0820 with 60.3 = 372 and 62 = "100", 0800
// with 370 and 9F06 9F22, the ends) and it reads the key (checksum and all) and the
// AID's parameters; a key answered with a damaged checksum refuses the download.
func TestCUPEMVDownload(t *testing.T) {
	d := testCUP(t, cup.NetSignOnDouble)
	var damage atomic.Bool
	addr, frames := cupHost(t, d, func(req *Decoded, raw []byte) []byte {
		var f62 string
		switch req.Get(70) {
		case NetCAPKQuery:
			f62 = "1" + hexBytes(hostKeyList)
		case NetCAPKDownload:
			if req.Get(62) != hexBytes("9F0605A0000003339F220108") {
				return cupReply(d, req, "30", nil, nil)
			}
			k := []byte(hexBytes(hostKey08))
			if damage.Load() {
				k[len(k)-1] ^= 1
			}
			f62 = "1" + string(k)
		case NetAIDQuery:
			f62 = "1" + hexBytes(hostAIDList)
		case NetAIDDownload:
			f62 = "1" + hexBytes(hostDebitAID)
		case NetCAPKEnd, NetAIDEnd:
			return cupReply(d, req, "00", nil, nil)
		default:
			return cupReply(d, req, "30", nil, nil)
		}
		return cupReply(d, req, "00", nil, Fields{62: f62})
	})
	c := New(Config{Address: addr, ConnectTimeout: time.Second, ResponseTimeout: 2 * time.Second,
		TerminalID: "TERM0001", MerchantID: testMID, Dialect: d, Now: func() time.Time { return day1 }, Location: time.UTC})
	var stan int64
	next := func() (int64, error) { stan++; return stan, nil }
	set, err := c.DownloadEMV(context.Background(), next)
	if err != nil {
		t.Fatalf("DownloadEMV = %v", err)
	}
	if len(set.CAPKs) != 1 || set.CAPKs[0].Name() != "A000000333/08" || set.CAPKs[0].Expiry != "20241231" ||
		len(set.AIDs) != 1 || fmt.Sprintf("%X", set.AIDs[0].AID) != "A000000333010101" || set.AIDs[0].CLCVMLimit != 100000 || !set.AIDs[0].Partial {
		t.Errorf("set = %+v; want key A000000333/08 and AID A000000333010101 (partial, CVM limit 1000.00)", set)
	}
	for i, want := range []struct{ mti, f60, f62 string }{
		{"0820", "00000000372", "100"},
		{"0800", "00000000370", hexBytes("9F0605A0000003339F220108")},
		{"0800", "00000000371", ""},
		{"0820", "00000000382", "100"},
		{"0800", "00000000380", hexBytes(hostAIDList)},
		{"0800", "00000000381", ""},
	} {
		msg, _, _, err := d.codec.Unpack(<-frames)
		if err != nil {
			t.Fatal(err)
		}
		mti, _ := msg.GetMTI()
		f60, _ := msg.GetString(60)
		f62, _ := msg.GetBytes(62)
		if mti != want.mti || f60 != want.f60 || string(f62) != want.f62 {
			t.Errorf("request %d: %s 60=%s 62=%X; want %s 60=%s 62=%X", i+1, mti, f60, f62, want.mti, want.f60, want.f62)
		}
	}

	damage.Store(true)
	_, err = c.DownloadEMV(context.Background(), next)
	if !errors.Is(err, ErrEMVDownload) || !errors.Is(err, emvparam.ErrChecksum) {
		t.Errorf("DownloadEMV(damaged checksum) = %v; want refused for the checksum", err)
	}
}
