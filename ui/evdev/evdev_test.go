package evdev

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"posfw/drivers/testkit"
	"posfw/ui"
)

// event encodes one struct input_event of size bytes, as the kernel writes it
// on a little-endian machine.
func event(size int, typ, code uint16, value int32) []byte {
	b := make([]byte, size)
	half := (size - 8) / 2
	binary.LittleEndian.PutUint32(b, 0x65a1b2c3)             // tv_sec
	binary.LittleEndian.PutUint32(b[half:], 123456)          // tv_usec
	binary.LittleEndian.PutUint16(b[size-8:], typ)           // type
	binary.LittleEndian.PutUint16(b[size-6:], code)          // code
	binary.LittleEndian.PutUint32(b[size-4:], uint32(value)) // value
	return b
}

// What a USB numeric keypad sends for KP1 held until it autorepeats once,
// then released: EV_MSC scan code, press, EV_SYN, repeat, release, EV_SYN.
// Written out by hand from linux/input.h's layout (no keypad was at hand to
// record), byte for byte as the kernel delivers it.
const (
	recorded64 = `
c3b2a16500000000 40e2010000000000 0400 0400 59000700
c3b2a16500000000 40e2010000000000 0100 4f00 01000000
c3b2a16500000000 40e2010000000000 0000 0000 00000000
c3b2a16500000000 40e2010000000000 0100 4f00 02000000
c3b2a16500000000 40e2010000000000 0100 4f00 00000000
c3b2a16500000000 40e2010000000000 0000 0000 00000000`
	recorded32 = `
c3b2a165 40e20100 0400 0400 59000700
c3b2a165 40e20100 0100 4f00 01000000
c3b2a165 40e20100 0000 0000 00000000
c3b2a165 40e20100 0100 4f00 02000000
c3b2a165 40e20100 0100 4f00 00000000
c3b2a165 40e20100 0000 0000 00000000`
)

func TestRecorded(t *testing.T) {
	for _, tt := range []struct {
		size int
		rec  string
	}{{24, recorded64}, {16, recorded32}} {
		var got []ui.Key
		err := NewReader(bytes.NewReader(testkit.Unhex(t, tt.rec)), tt.size).Run(context.Background(), func(k ui.Key) bool {
			got = append(got, k)
			return true
		})
		if err != nil || !reflect.DeepEqual(got, []ui.Key{"1"}) {
			t.Errorf("Run(recorded %d-byte events) = %q, %v; want [1], nil", tt.size, got, err)
		}
	}
}

func TestRun(t *testing.T) {
	const evRel, evMsc, evSyn = 2, 4, 0
	in := [][3]int{ // type, code, value
		{EvKey, 11, 1}, {evSyn, 0, 0}, {EvKey, 11, 0}, // KEY_0 press, release
		{EvKey, 2, 2},                  // KEY_1 autorepeat: ignored
		{EvKey, 30, 1},                 // KEY_A: not a keypad key
		{evRel, 2, 1},                  // code 2 of a mouse wheel, not KEY_1
		{evMsc, 4, 0x70059},            // scan code
		{EvKey, 83, 1},                 // KEY_KPDOT
		{EvKey, 1, 1},                  // KEY_ESC
		{EvKey, 14, 1},                 // KEY_BACKSPACE
		{EvKey, 96, 1},                 // KEY_KPENTER
		{EvKey, 139, 1},                // KEY_MENU
		{EvKey, 62, 1}, {EvKey, 62, 0}, // KEY_F4
	}
	want := []ui.Key{"0", ui.KeyDot, ui.KeyCancel, ui.KeyClear, ui.KeyEnter, ui.KeyMenu, ui.KeyF4}
	for _, size := range []int{16, 24} {
		var stream []byte
		for _, e := range in {
			stream = append(stream, event(size, uint16(e[0]), uint16(e[1]), int32(e[2]))...)
		}
		var got []ui.Key
		err := NewReader(bytes.NewReader(stream), size).Run(context.Background(), func(k ui.Key) bool {
			got = append(got, k)
			return false // a full queue drops the key, and Run goes on
		})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Run(%d-byte events) = %q, %v; want %q, nil", size, got, err, want)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, tt := range []struct {
		name string
		code uint16
		want ui.Key
	}{
		{"KEY_0", 11, "0"}, {"KEY_1", 2, "1"}, {"KEY_5", 6, "5"}, {"KEY_9", 10, "9"},
		{"KEY_KP0", 82, "0"}, {"KEY_KP1", 79, "1"}, {"KEY_KP2", 80, "2"}, {"KEY_KP3", 81, "3"},
		{"KEY_KP4", 75, "4"}, {"KEY_KP5", 76, "5"}, {"KEY_KP6", 77, "6"},
		{"KEY_KP7", 71, "7"}, {"KEY_KP8", 72, "8"}, {"KEY_KP9", 73, "9"},
		{"KEY_DOT", 52, ui.KeyDot}, {"KEY_KPDOT", 83, ui.KeyDot},
		{"KEY_ENTER", 28, ui.KeyEnter}, {"KEY_KPENTER", 96, ui.KeyEnter},
		{"KEY_ESC", 1, ui.KeyCancel}, {"KEY_BACKSPACE", 14, ui.KeyClear},
		{"KEY_UP", 103, ui.KeyUp}, {"KEY_DOWN", 108, ui.KeyDown},
		{"KEY_F1", 59, ui.KeyF1}, {"KEY_F2", 60, ui.KeyF2}, {"KEY_F3", 61, ui.KeyF3}, {"KEY_F4", 62, ui.KeyF4},
		{"KEY_MENU", 139, ui.KeyMenu}, {"KEY_M", 50, ui.KeyMenu},
		{"KEY_A", 30, ""}, {"KEY_KPMINUS", 74, ""}, {"KEY_RESERVED", 0, ""},
	} {
		got, ok := Event{Type: EvKey, Code: tt.code, Value: 1}.Key()
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s press: Key() = %q, %v; want %q", tt.name, got, ok, tt.want)
		}
		if _, err := ui.ParseKey(string(got)); ok && err != nil {
			t.Errorf("%s maps to %q, which is not a ui key: %v", tt.name, got, err)
		}
	}
}

func TestErrors(t *testing.T) {
	one := event(24, EvKey, 2, 1)
	for _, tt := range []struct {
		name string
		r    io.Reader
		size int
		want string // "" for a clean end
	}{
		{"empty", bytes.NewReader(nil), 24, ""},
		{"truncated", bytes.NewReader(append(one, one[:10]...)), 24, "evdev: truncated event: 10 of 24 bytes"},
		{"truncated 32-bit", bytes.NewReader(one[:15]), 16, "evdev: truncated event: 15 of 16 bytes"},
		{"bad size", bytes.NewReader(one), 20, "evdev: event size 20, want 16 or 24"},
		{"negative size", bytes.NewReader(one), -1, "evdev: event size -1, want 16 or 24"},
		{"read error", iotest.ErrReader(errors.New("no such device")), 24, "evdev: no such device"},
	} {
		err := NewReader(tt.r, tt.size).Run(context.Background(), func(ui.Key) bool { return true })
		if got := errString(err); got != tt.want {
			t.Errorf("%s: Run = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCancel checks that ending ctx interrupts a read that waits on a quiet
// device (a pipe stands in for it: both can have read deadlines).
func TestCancel(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	keys := make(chan ui.Key, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, pr, func(k ui.Key) bool { keys <- k; return true }) }()
	pw.Write(event(EventSize, EvKey, 28, 1))
	select {
	case k := <-keys:
		if k != ui.KeyEnter {
			t.Errorf("pressed %q; want ENTER", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no key read from the pipe")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting on the device after cancel")
	}
}

func FuzzReader(f *testing.F) {
	f.Add(event(24, EvKey, 2, 1), true)
	f.Add(event(16, EvKey, 2, 1), false)
	f.Add(append(event(24, EvKey, 28, 1), 1, 2, 3), true)
	f.Fuzz(func(t *testing.T, data []byte, big bool) {
		size := 16
		if big {
			size = 24
		}
		r := NewReader(bytes.NewReader(data), size)
		n := 0
		for {
			e, err := r.Read()
			if err == io.EOF {
				if len(data)%size != 0 {
					t.Fatalf("EOF after %d bytes of %d-byte events with %d left over", len(data), size, len(data)%size)
				}
				break
			}
			if err != nil {
				if len(data)%size == 0 || n != len(data)/size || !strings.Contains(err.Error(), "truncated") {
					t.Fatalf("Read after %d events of %d bytes = %v", n, len(data), err)
				}
				break
			}
			// Round trip: the event is the last 8 bytes of its record.
			var b [8]byte
			binary.LittleEndian.PutUint16(b[:], e.Type)
			binary.LittleEndian.PutUint16(b[2:], e.Code)
			binary.LittleEndian.PutUint32(b[4:], uint32(e.Value))
			if rec := data[n*size:][:size]; !bytes.Equal(b[:], rec[size-8:]) {
				t.Fatalf("event %d = %+v; its bytes are % x", n, e, rec)
			}
			n++
		}
		if n != len(data)/size {
			t.Fatalf("read %d events from %d bytes; want %d", n, len(data), len(data)/size)
		}
	})
}

func BenchmarkRead(b *testing.B) {
	stream := bytes.Repeat(event(EventSize, EvKey, 2, 1), 1024)
	br := bytes.NewReader(stream)
	r := NewReader(br, EventSize)
	for b.Loop() {
		if _, err := r.Read(); err == io.EOF {
			br.Reset(stream)
		}
	}
}

// TestKeypadReopens: the device goes away (here: a file whose events end) and comes
// back; Keypad.Run reports the loss and reads the reopened device's keys, with no
// one calling Open again.
func TestKeypadReopens(t *testing.T) {
	path := t.TempDir() + "/event0"
	if err := os.WriteFile(path, event(EventSize, EvKey, 2, 1), 0o600); err != nil { // KEY_1
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []ui.Key
	lost := 0
	done := make(chan struct{})
	go func() {
		Keypad{Path: path, Retry: time.Millisecond, Lost: func(error) { lost++ }}.Run(ctx, func(k ui.Key) bool {
			got = append(got, k)
			if len(got) == 3 {
				cancel()
			}
			return true
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Keypad.Run did not come back after the device reopened")
	}
	if len(got) != 3 || got[2] != "1" || lost < 2 {
		t.Errorf("keys %q after %d losses; want three 1s, read across at least 2 reopenings", got, lost)
	}
}
