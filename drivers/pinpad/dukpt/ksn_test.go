package dukpt_test

import (
	"errors"
	"math/bits"
	"strings"
	"testing"

	"posfw/drivers/pinpad/dukpt"
	"posfw/drivers/pinpad/iso9564"
)

func TestParseKSN(t *testing.T) {
	for _, tt := range []struct {
		in      string
		counter uint32
		err     string // substring of the error; "" for success
	}{
		{"FFFF9876543210E00000", 0, ""},
		{"ffff9876543210e00001", 1, ""},
		{"FFFF9876543210EFFC00", 0x0FFC00, ""},
		{"FFFF9876543210FFFFFF", dukpt.MaxCounter, ""},
		{"0000000000001FFFFFFF", dukpt.MaxCounter, ""},
		{"", 0, "must be 20 hex digits, got 0 characters"},
		{"FFFF9876543210E0000", 0, "got 19 characters"},
		{"FFFF9876543210E000000", 0, "got 21 characters"},
		{"FFFF9876543210E0000G", 0, "non-hex character at position 20"},
		{"FFFF 876543210E00000", 0, "non-hex character at position 5"},
		{"FFFF9876543210E0000\n", 0, "non-hex character at position 20"},
		{"FFFF9876543210E000é", 0, "non-hex character at position 19"},
	} {
		k, err := dukpt.ParseKSN(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseKSN(%q) error %v; want nil", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseKSN(%q) error %v; want one containing %q", tt.in, err, tt.err)
		case err == nil && k.Counter() != tt.counter:
			t.Errorf("ParseKSN(%q).Counter() = %#x; want %#x", tt.in, k.Counter(), tt.counter)
		case err == nil && k.String() != strings.ToUpper(tt.in):
			t.Errorf("ParseKSN(%q).String() = %q; want %q", tt.in, k.String(), strings.ToUpper(tt.in))
		}
	}
}

func TestKSNCounterFields(t *testing.T) {
	k := ksn(t, "FFFF9876543210EFFC00")
	if got := k.Initial().String(); got != "FFFF9876543210E00000" {
		t.Errorf("Initial() = %s; want FFFF9876543210E00000", got)
	}
	// The counter is only the low 21 bits: the device-id bits above it survive.
	got, err := k.WithCounter(dukpt.MaxCounter)
	if err != nil || got.String() != "FFFF9876543210FFFFFF" {
		t.Errorf("WithCounter(max) = %s, %v; want FFFF9876543210FFFFFF", got, err)
	}
	if _, err := k.WithCounter(dukpt.MaxCounter + 1); err == nil {
		t.Errorf("WithCounter(2^21) succeeded; want an error")
	}
}

func TestKSNNext(t *testing.T) {
	// The X9.24-1 test sequence after EFF800 steps over every counter with more than
	// 10 one-bits: EFF803 (11 bits) and so on are never used.
	want := []string{"EFF801", "EFF802", "EFF804", "EFF808", "EFF810", "EFF820", "EFF840", "EFF880", "EFF900", "EFFA00", "EFFC00", "F00000", "F00001"}
	k := ksn(t, "FFFF9876543210EFF800")
	for _, w := range want {
		next, err := k.Next()
		if err != nil || next.String() != "FFFF9876543210"+w {
			t.Fatalf("%s.Next() = %s, %v; want FFFF9876543210%s", k, next, err, w)
		}
		k = next
	}
	if next, err := ksn(t, "FFFF9876543210E00000").Next(); err != nil || next.String() != "FFFF9876543210E00001" {
		t.Errorf("initial KSN Next() = %s, %v; want ...E00001", next, err)
	}
	// From an unusable counter (11 one-bits) Next still lands on the next valid one.
	if next, err := ksn(t, "FFFF9876543210E007FF").Next(); err != nil || next.String() != "FFFF9876543210E00800" {
		t.Errorf("E007FF.Next() = %s, %v; want ...E00800", next, err)
	}
	// The last usable counter has its 10 top bits set; after it the device is done.
	last := ksn(t, "FFFF9876543210FFF800")
	if next, err := last.Next(); !errors.Is(err, dukpt.ErrExhausted) || next != last {
		t.Errorf("FFF800.Next() = %s, %v; want the same KSN and ErrExhausted", next, err)
	}
}

// TestKSNNextCoversEveryCounter walks a device's whole life: it must visit exactly
// the counters with 1 to 10 one-bits, in increasing order — sum of C(21,k) for k
// = 1..10, i.e. 2^20 - 1 = 1,048,575 transactions.
func TestKSNNextCoversEveryCounter(t *testing.T) {
	k := ksn(t, "FFFF9876543210E00000")
	n, prev := 0, uint32(0)
	for {
		next, err := k.Next()
		if errors.Is(err, dukpt.ErrExhausted) {
			break
		}
		if err != nil {
			t.Fatalf("Next after %s: %v", k, err)
		}
		c := next.Counter()
		if c <= prev || bits.OnesCount32(c) > 10 || next.Initial() != k.Initial() {
			t.Fatalf("Next after %s = %s: not an increasing usable counter of the same device", k, next)
		}
		// Nothing usable was skipped.
		for s := prev + 1; s < c; s++ {
			if bits.OnesCount32(s) <= 10 {
				t.Fatalf("Next after %s skipped usable counter %#x", k, s)
			}
		}
		k, prev = next, c
		n++
	}
	if n != 1<<20-1 {
		t.Errorf("device gave %d KSNs; want %d", n, 1<<20-1)
	}
}

func TestDevice(t *testing.T) {
	d := dukpt.NewDevice(key(t, testIPEK), ksn(t, testKSN))
	clear, err := iso9564.Format0(testPIN, testPAN)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range x924Vectors[:5] {
		k, tk, err := d.Next()
		if err != nil || k.String() != v.ksn {
			t.Fatalf("Device.Next() = %s, %v; want %s", k, err, v.ksn)
		}
		pk, _ := dukpt.WorkingKey(tk, dukpt.PINEncryption)
		if epb := dukpt.EncryptPINBlock(pk, clear); epb != block(t, v.epb) {
			t.Errorf("PIN block at %s = %X; want %s", k, epb, v.epb)
		}
		if d.KSN() != k {
			t.Errorf("Device.KSN() = %s after Next gave %s", d.KSN(), k)
		}
	}

	// Resumed from a persisted KSN it carries on after it.
	d = dukpt.NewDevice(key(t, testIPEK), ksn(t, "FFFF9876543210EFFC00"))
	k, tk, err := d.Next()
	pk, _ := dukpt.WorkingKey(tk, dukpt.PINEncryption)
	if err != nil || k.String() != "FFFF9876543210F00000" || dukpt.EncryptPINBlock(pk, clear) != block(t, "73EC88AD0AC5830E") {
		t.Errorf("resumed Device.Next() = %s, %v; want FFFF9876543210F00000 and its X9.24 PIN block", k, err)
	}

	// At exhaustion it stays put and says so.
	last := ksn(t, "FFFF9876543210FFF800")
	d = dukpt.NewDevice(key(t, testIPEK), last)
	if k, _, err := d.Next(); !errors.Is(err, dukpt.ErrExhausted) || k != last || d.KSN() != last {
		t.Errorf("exhausted Device.Next() = %s, %v; want %s and ErrExhausted", k, err, last)
	}

	// A wiped device derives nothing.
	d = dukpt.NewDevice(key(t, testIPEK), ksn(t, testKSN))
	d.Wipe()
	if _, tk, err := d.Next(); err == nil || tk != (dukpt.Key{}) {
		t.Errorf("wiped Device.Next() = key, %v; want an error and no key", err)
	}
}

func FuzzParseKSN(f *testing.F) {
	f.Add(testKSN)
	f.Add("ffff9876543210e00001")
	f.Add("FFFF9876543210E0000G")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := dukpt.ParseKSN(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || k != (dukpt.KSN{}) {
				t.Fatalf("ParseKSN(%q) = %v, %q; want zero KSN and a one-line error", s, k, err)
			}
			return
		}
		// Round trip, and the counter is exactly the low 21 bits.
		if k.String() != strings.ToUpper(s) {
			t.Fatalf("ParseKSN(%q).String() = %q", s, k.String())
		}
		if again, err := dukpt.ParseKSN(k.String()); err != nil || again != k {
			t.Fatalf("ParseKSN(String()) = %v, %v; want %v", again, err, k)
		}
		if c := k.Counter(); c > dukpt.MaxCounter {
			t.Fatalf("Counter() = %#x exceeds 21 bits", c)
		}
		if w, err := k.Initial().WithCounter(k.Counter()); err != nil || w != k {
			t.Fatalf("Initial().WithCounter(Counter()) = %v, %v; want %v", w, err, k)
		}
	})
}
