package pinpad_test

import (
	"bytes"
	"context"
	"crypto/des"
	"errors"
	"testing"

	"posfw/drivers/pinpad"
	"posfw/drivers/pinpad/iso9564"
	"posfw/drivers/pinpad/mac"
	"posfw/drivers/pinpad/padsim"
	"posfw/drivers/testkit"
)

// Test keys of the master/session tests: never production keys.
var (
	testTMK = testkit.MustUnhex("0123456789ABCDEFFEDCBA9876543210")
	testMAK = testkit.MustUnhex("1C1C1C1C1C1C1C1C2A2A2A2A2A2A2A2A")
	testPIK = testkit.MustUnhex("3E3E3E3E3E3E3E3E4F4F4F4F4F4F4F4F")
	testTDK = testkit.MustUnhex("5B5B5B5B5B5B5B5B6D6D6D6D6D6D6D6D")
	mak8    = testkit.MustUnhex("7A7A7A7A7A7A7A7A")
)

// ecb encrypts (or decrypts) whole blocks under an 8- or 16-byte key, independently
// of the pad's code.
func ecb(key, in []byte, decrypt bool) []byte {
	k := key
	if len(key) == 16 {
		k = append(append([]byte(nil), key...), key[:8]...)
	}
	var out []byte
	if len(k) == 8 {
		c, _ := des.NewCipher(k)
		for i := 0; i < len(in); i += 8 {
			b := make([]byte, 8)
			if decrypt {
				c.Decrypt(b, in[i:i+8])
			} else {
				c.Encrypt(b, in[i:i+8])
			}
			out = append(out, b...)
		}
		return out
	}
	c, _ := des.NewTripleDESCipher(k)
	for i := 0; i < len(in); i += 8 {
		b := make([]byte, 8)
		if decrypt {
			c.Decrypt(b, in[i:i+8])
		} else {
			c.Encrypt(b, in[i:i+8])
		}
		out = append(out, b...)
	}
	return out
}

func check(key []byte, n int) []byte { return ecb(key, make([]byte, 8), false)[:n] }

// padWithTMK is a simulated pad with testTMK loaded through the protocol, under the
// transport key.
func padWithTMK(t *testing.T) (*pinpad.Driver, *padsim.Sim) {
	t.Helper()
	sim := padsim.New()
	d, _ := simPad(t, sim)
	cv, err := d.LoadTMK(context.Background(), ecb(testkit.MustUnhex(padsim.TestTransportKey), testTMK, false))
	if err != nil {
		t.Fatalf("LoadTMK = %v", err)
	}
	if want := check(testTMK, 4); !bytes.Equal(cv, want) {
		t.Fatalf("LoadTMK check value = %X; want %X", cv, want)
	}
	return d, sim
}

// TestLoadTMKParts: two clear components entered on the pad give the TMK (their XOR),
// whose check value the pad answers after the last; a part out of order is refused.
func TestLoadTMKParts(t *testing.T) {
	ctx := context.Background()
	d, _ := simPad(t, padsim.New())
	p1 := testkit.MustUnhex("11111111111111112222222222222222")
	p2 := make([]byte, 16)
	for i := range p2 {
		p2[i] = p1[i] ^ testTMK[i]
	}
	if _, _, err := d.LoadTMKPart(ctx, p2, 2, 2); err == nil {
		t.Errorf("LoadTMKPart(part 2 first) succeeded; want a refusal")
	}
	c1, tmk, err := d.LoadTMKPart(ctx, p1, 1, 2)
	if err != nil || !bytes.Equal(c1, check(p1, 4)) || tmk != nil {
		t.Fatalf("LoadTMKPart(1 of 2) = %X, %X, %v; want %X, nil, nil", c1, tmk, err, check(p1, 4))
	}
	c2, tmk, err := d.LoadTMKPart(ctx, p2, 2, 2)
	if err != nil || !bytes.Equal(c2, check(p2, 4)) || !bytes.Equal(tmk, check(testTMK, 4)) {
		t.Fatalf("LoadTMKPart(2 of 2) = %X, %X, %v; want %X, %X", c2, tmk, err, check(p2, 4), check(testTMK, 4))
	}
	// The TMK is the XOR of the parts: working keys under it load.
	k := pinpad.WorkingKeys{MAK: ecb(testTMK, testMAK, false), MAKCheck: check(testMAK, 4)}
	if err := d.LoadWorkingKeys(ctx, k); err != nil {
		t.Errorf("LoadWorkingKeys under the TMK made of parts = %v", err)
	}
}

// TestWorkingKeys: keys load all or none against their check values, and the pad's
// MACs, track encryption and session PIN blocks are the real algorithms under them.
func TestWorkingKeys(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0200 MTI to field 63 "), 40) // 840 bytes: four data fields
	good := pinpad.WorkingKeys{
		PIK: ecb(testTMK, testPIK, false), PIKCheck: check(testPIK, 4),
		MAK: ecb(testTMK, testMAK, false), MAKCheck: check(testMAK, 3),
		TDK: ecb(testTMK, testTDK, false), TDKCheck: check(testTDK, 4),
	}
	d, sim := padWithTMK(t)
	if err := d.LoadWorkingKeys(ctx, good); err != nil {
		t.Fatalf("LoadWorkingKeys = %v", err)
	}
	got, err := d.MAC(ctx, pinpad.MACX919, data)
	want, _ := mac.X919(testMAK, data)
	if err != nil || got != want {
		t.Errorf("MAC(X9.19) = %X, %v; want %X", got, err, want)
	}
	got, err = d.MAC(ctx, pinpad.MACCUPECB, data[:100])
	want, _ = mac.CUPECB(testMAK, data[:100])
	if err != nil || got != want {
		t.Errorf("MAC(CUP ECB) = %X, %v; want %X", got, err, want)
	}
	trk := testkit.MustUnhex("1234567890ABCDEF")
	enc, err := d.EncryptTrack(ctx, trk)
	if err != nil || !bytes.Equal(enc, ecb(testTDK, trk, false)) {
		t.Errorf("EncryptTrack = %X, %v; want %X", enc, err, ecb(testTDK, trk, false))
	}

	// PIN under the PIK.
	done := make(chan error, 1)
	go func() { done <- sim.Type("1234") }()
	digits, _ := pinpad.AccountDigits("4761739001010119")
	res, err := d.GetSessionPIN(ctx, pinpad.PINRequest{PANDigits: digits, Amount: 100})
	if err != nil {
		t.Fatalf("GetSessionPIN = %v", err)
	}
	<-done
	clear := [8]byte(ecb(testPIK, res.Block[:], true))
	pin, err := iso9564.DecodeFormat0(clear, "4761739001010119")
	if err != nil || pin != "1234" || res.KSN != ([10]byte{}) {
		t.Errorf("session PIN block decodes to %q, %v, KSN %v; want 1234 and a zero KSN", pin, err, res.KSN)
	}

	for _, tc := range []struct {
		name string
		k    pinpad.WorkingKeys
	}{
		{"MAK check wrong", pinpad.WorkingKeys{MAK: ecb(testTMK, mak8, false), MAKCheck: []byte{1, 2, 3, 4}}},
		{"PIK check wrong, MAK right", pinpad.WorkingKeys{MAK: ecb(testTMK, mak8, false), MAKCheck: check(mak8, 4),
			PIK: good.PIK, PIKCheck: []byte{0, 0, 0, 0}}},
		{"keys under another TMK", pinpad.WorkingKeys{MAK: ecb(testPIK, testMAK, false), MAKCheck: check(testMAK, 4)}},
	} {
		if err := d.LoadWorkingKeys(ctx, tc.k); !errors.Is(err, pinpad.ErrBadCheck) {
			t.Errorf("%s: LoadWorkingKeys = %v; want ErrBadCheck", tc.name, err)
		}
		// none loaded: the MAC is still under the old MAK
		got, err := d.MAC(ctx, pinpad.MACX919, data[:64])
		want, _ := mac.X919(testMAK, data[:64])
		if err != nil || got != want {
			t.Errorf("%s: after the refusal MAC = %X, %v; want %X under the keys held", tc.name, got, err, want)
		}
	}

	// A single-length MAK in a 16-byte area: E(MAK8) + 8 zero bytes, CUP ECB under DES.
	single := pinpad.WorkingKeys{MAK: append(ecb(testTMK, mak8, false), make([]byte, 8)...), MAKCheck: check(mak8, 4)}
	if err := d.LoadWorkingKeys(ctx, single); err != nil {
		t.Fatalf("LoadWorkingKeys(E(MAK8) + zeros) = %v", err)
	}
	got, err = d.MAC(ctx, pinpad.MACCUPECB, data[:77])
	want, _ = mac.CUPECB(mak8, data[:77])
	if err != nil || got != want {
		t.Errorf("MAC(CUP ECB, single MAK) = %X, %v; want %X", got, err, want)
	}
	if _, err := d.EncryptTrack(ctx, trk); !errors.Is(err, pinpad.ErrNoKey) {
		t.Errorf("EncryptTrack after keys without a TDK = %v; want ErrNoKey", err)
	}
}

// TestNoTMK: a pad without a TMK refuses working keys; without a MAK, MACs.
func TestNoTMK(t *testing.T) {
	ctx := context.Background()
	d, _ := simPad(t, padsim.New())
	if _, err := d.MAC(ctx, pinpad.MACX919, []byte("x")); !errors.Is(err, pinpad.ErrNoKey) {
		t.Errorf("MAC without keys = %v; want ErrNoKey", err)
	}
	k := pinpad.WorkingKeys{MAK: ecb(testTMK, testMAK, false), MAKCheck: check(testMAK, 4)}
	if err := d.LoadWorkingKeys(ctx, k); !errors.Is(err, pinpad.ErrNoKey) {
		t.Errorf("LoadWorkingKeys without a TMK = %v; want ErrNoKey", err)
	}
}
