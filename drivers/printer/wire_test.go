package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/serialport"
)

// fakePort is a serial line to a scripted printer: Read returns in one byte
// at a time, then times out; Write records what the driver sends and, for
// a write of status requests only, queues answer's replies.
type fakePort struct {
	in      []byte
	out     bytes.Buffer
	answer  func(n escpos.StatusKind) []byte
	readErr error
	// sleep makes a timed-out Read take (at most 1 ms of) its timeout, so
	// that a driver waiting for a deadline does not spin.
	sleep   bool
	timeout time.Duration
}

func (f *fakePort) Read(b []byte) (int, error) {
	if f.readErr != nil {
		return 0, f.readErr
	}
	if len(f.in) == 0 {
		if f.sleep {
			time.Sleep(min(f.timeout, time.Millisecond))
		}
		return 0, serialport.ErrTimeout
	}
	n := copy(b[:1], f.in)
	f.in = f.in[n:]
	return n, nil
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.out.Write(b)
	if f.answer != nil && len(b)%3 == 0 {
		var replies []byte
		for i := 0; i < len(b); i += 3 {
			if b[i] != 0x10 || b[i+1] != 0x04 {
				return len(b), nil // receipt data: no reply
			}
			replies = append(replies, f.answer(escpos.StatusKind(b[i+2]))...)
		}
		f.in = append(f.in, replies...)
	}
	return len(b), nil
}

func (f *fakePort) SetReadTimeout(d time.Duration) error { f.timeout = d; return nil }

// Path names the scripted line.
func (f *fakePort) Path() string { return "fake" }

func (f *fakePort) Flush() error { f.in = nil; return nil }
func (f *fakePort) Close() error { return nil }

// printerIn answers DLE EOT as a printer in state s does.
func printerIn(s escpos.Status) func(escpos.StatusKind) []byte {
	return func(n escpos.StatusKind) []byte {
		b, err := s.Implied().Byte(n)
		if err != nil {
			return nil
		}
		return []byte{b}
	}
}

func onFake(f *fakePort, opt Options) *ESCPOS {
	f.sleep = true
	if opt.ReplyTimeout == 0 {
		opt.ReplyTimeout = 20 * time.Millisecond
	}
	return New(func() (serialport.Port, error) { return f, nil }, opt)
}

// req is the bytes of DLE EOT n for each n.
func req(kinds ...escpos.StatusKind) []byte {
	var b []byte
	for _, n := range kinds {
		b = append(b, 0x10, 0x04, byte(n))
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestWireBytes checks, byte for byte, what the driver puts on the line.
func TestWireBytes(t *testing.T) {
	check := req(escpos.OfflineCause, escpos.PaperSensor) // 10 04 02 10 04 04
	qr := new(escpos.Builder).QR("a\nb", 4, escpos.ECM).Bytes()
	tests := []struct {
		name       string
		state      escpos.Status
		checkEvery int
		receipt    []byte
		want       []byte
		wantErr    error
		wantSent   int
	}{
		{"one chunk", escpos.Status{}, 0, []byte("AB\nCD\n"),
			cat(check, []byte("AB\nCD\n"), check), nil, 6},
		{"a check after each line", escpos.Status{}, 1, []byte("AB\nCD\n"),
			cat(check, []byte("AB\n"), check, []byte("CD\n"), check), nil, 6},
		{"no line feed: no check inside", escpos.Status{}, 1, []byte("ABCD"),
			cat(check, []byte("ABCD"), check), nil, 4},
		{"not inside a QR code's data", escpos.Status{}, 1, cat([]byte("A\n"), qr, []byte("B\n")),
			cat(check, []byte("A\n"), check, qr, []byte("B\n"), check), nil, 2 + len(qr) + 2},
		{"after ESC d 10, a whole command", escpos.Status{}, 1, []byte("A\x1bd\nB"),
			cat(check, []byte("A\x1bd\n"), check, []byte("B"), check), nil, 5},
		{"paper out: nothing sent", escpos.Status{PaperOut: true}, 0, []byte("AB\n"),
			check, ErrPaperOut, 0},
		{"cover open: nothing sent", escpos.Status{CoverOpen: true}, 0, []byte("AB\n"),
			check, ErrCoverOpen, 0},
		{"autocutter error", escpos.Status{AutocutterError: true}, 0, []byte("AB\n"),
			check, ErrNotReady, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakePort{answer: printerIn(tt.state)}
			p := onFake(f, Options{CheckEvery: tt.checkEvery})
			err := p.Print(context.Background(), tt.receipt)
			if !bytes.Equal(f.out.Bytes(), tt.want) {
				t.Errorf("Print(%q) wrote\n% x\nwant\n% x", tt.receipt, f.out.Bytes(), tt.want)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("Print(%q) = %v; want nil", tt.receipt, err)
				}
				return
			}
			var pe *PrintError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Sent != tt.wantSent || pe.Total != len(tt.receipt) {
				t.Errorf("Print(%q) = %v; want %v with %d of %d bytes sent", tt.receipt, err, tt.wantErr, tt.wantSent, len(tt.receipt))
			}
		})
	}
}

func TestStatusWire(t *testing.T) {
	f := &fakePort{answer: printerIn(escpos.Status{PaperOut: true})}
	p := onFake(f, Options{})
	s, err := p.Status(context.Background())
	if want := req(1, 2, 3, 4); !bytes.Equal(f.out.Bytes(), want) {
		t.Errorf("Status wrote % x; want % x", f.out.Bytes(), want)
	}
	want := escpos.Status{PaperOut: true}.Implied()
	if err != nil || s != want {
		t.Errorf("Status() = %+v, %v; want %+v", s, err, want)
	}
}

func TestReadReplies(t *testing.T) {
	k2, k4 := escpos.OfflineCause, escpos.PaperSensor
	tests := []struct {
		in       []byte
		kinds    []escpos.StatusKind
		want     escpos.Status
		wantErr  error
		leftOver int // bytes after the last reply, not to be consumed
	}{
		{[]byte{0x12}, []escpos.StatusKind{k4}, escpos.Status{}, nil, 0},
		{[]byte{0x72}, []escpos.StatusKind{k4}, escpos.Status{PaperOut: true}, nil, 0},
		{[]byte{0x7E}, []escpos.StatusKind{k4}, escpos.Status{PaperOut: true, PaperNearEnd: true}, nil, 0},
		{[]byte{0x00, 'X', 0xFF, 0x11, 0x13, 0x72}, []escpos.StatusKind{k4}, escpos.Status{PaperOut: true}, nil, 0},
		{[]byte{0x16, 0x12}, []escpos.StatusKind{k2, k4}, escpos.Status{CoverOpen: true}, nil, 0},
		{[]byte{0x32, 'X', 0x72, 0x12, 0x12}, []escpos.StatusKind{k2, k4}, escpos.Status{PaperEndStop: true, PaperOut: true}, nil, 2},
		{nil, []escpos.StatusKind{k4}, escpos.Status{}, ErrNoReply, 0},
		{[]byte{'X', 0x00}, []escpos.StatusKind{k4}, escpos.Status{}, ErrNoReply, 0},
		{[]byte{0x12}, []escpos.StatusKind{k2, k4}, escpos.Status{}, ErrNoReply, 0},
	}
	for _, tt := range tests {
		f := &fakePort{in: tt.in}
		s, err := readReplies(context.Background(), f, tt.kinds, time.Now())
		switch {
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("readReplies(% x, %v) = %v; want %v", tt.in, tt.kinds, err, tt.wantErr)
		case tt.wantErr == nil && (err != nil || s != tt.want):
			t.Errorf("readReplies(% x, %v) = %+v, %v; want %+v", tt.in, tt.kinds, s, err, tt.want)
		case tt.wantErr == nil && len(f.in) != tt.leftOver:
			t.Errorf("readReplies(% x, %v) left %d bytes unread; want %d", tt.in, tt.kinds, len(f.in), tt.leftOver)
		}
	}
}

func TestReplyErrors(t *testing.T) {
	kinds := []escpos.StatusKind{escpos.PaperSensor}
	eio := fmt.Errorf("serial port /dev/pts/9: read: %w", syscall.EIO)
	f := &fakePort{readErr: eio}
	if _, err := readReplies(context.Background(), f, kinds, time.Now().Add(time.Second)); !errors.Is(err, ErrDeviceGone) {
		t.Errorf("readReplies on a port failing with %v = %v; want ErrDeviceGone", eio, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := readReplies(ctx, &fakePort{}, kinds, time.Now().Add(time.Second)); !errors.Is(err, context.Canceled) {
		t.Errorf("readReplies with a cancelled context = %v; want context.Canceled", err)
	}
	f = &fakePort{sleep: true}
	start := time.Now()
	_, err := readReplies(context.Background(), f, kinds, start.Add(30*time.Millisecond))
	if !errors.Is(err, ErrNoReply) || err.Error() != "printer: no status reply to DLE EOT 4" {
		t.Errorf("readReplies on a silent line = %v; want %q", err, "printer: no status reply to DLE EOT 4")
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("readReplies gave up after %v; want the 30ms deadline", d)
	}
}

// TestMissedReply: a printer that fails to answer once is asked again, and
// the driver is back in step.
func TestMissedReply(t *testing.T) {
	calls := 0
	ok := printerIn(escpos.Status{})
	f := &fakePort{answer: func(n escpos.StatusKind) []byte {
		calls++
		if calls == 1 {
			return nil
		}
		return ok(n)
	}}
	p := onFake(f, Options{})
	if _, err := p.Status(context.Background()); !errors.Is(err, ErrNoReply) {
		t.Fatalf("Status with the first reply lost = %v; want ErrNoReply", err)
	}
	if s, err := p.Status(context.Background()); err != nil || !s.Ready() {
		t.Errorf("Status after a lost reply = %+v, %v; want a ready printer", s, err)
	}
}

func TestCheckStatus(t *testing.T) {
	tests := []struct {
		s    escpos.Status
		want error
	}{
		{escpos.Status{}, nil},
		{escpos.Status{PaperNearEnd: true}, nil},
		{escpos.Status{PaperOut: true}, ErrPaperOut},
		{escpos.Status{PaperEndStop: true}, ErrPaperOut},
		{escpos.Status{CoverOpen: true}, ErrCoverOpen},
		{escpos.Status{CoverOpen: true, PaperOut: true}, ErrCoverOpen},
		{escpos.Status{Offline: true}, ErrNotReady},
		{escpos.Status{Error: true, Unrecoverable: true}, ErrNotReady},
	}
	for _, tt := range tests {
		if got := CheckStatus(tt.s); got != tt.want {
			t.Errorf("CheckStatus(%+v) = %v; want %v", tt.s, got, tt.want)
		}
	}
}

// TestSplitter lists every place a status request may go: after the line
// feeds the printer takes as such, never after a 0x0A that is data.
func TestSplitter(t *testing.T) {
	qr := new(escpos.Builder).QR("x\ny\n", 4, escpos.ECM).Bytes()
	tall := []byte{0x1d, 'v', '0', 0, 0, 0, 0, 0x0a} // GS v 0: 0 × 2560 dots, yH = 0x0A
	tests := []struct {
		name   string
		stream []byte
		want   []int
	}{
		{"lines", []byte("A\nB\n\nC"), []int{2, 4, 5, 6}},
		{"QR data", cat([]byte("A\n"), qr, []byte("B\n")), []int{2, len(qr) + 4}},
		{"GB18030", cat([]byte("\xb2\xe2\n"), []byte("\x81\x30\x81\x30\n")), []int{3, 8}},
		{"ESC d 10 is whole", []byte("A\x1bd\nB\n"), []int{4, 6}},
		{"pL of GS ( k is 10", []byte("\x1d(k\n\x001Q0\n\n\n\n\n\nX\n"), []int{16}},
		{"image header ending in 10", cat(tall, []byte("\n\n")), []int{9, 10}},
		{"barcode data ending in 10", []byte("\x1dk\x49\x03{B\nZ\n"), []int{9}},
	}
	for _, tt := range tests {
		s := newSplitter(tt.stream)
		var got []int
		for at := 0; at < len(tt.stream); {
			at = s.next(at + 1)
			got = append(got, at)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: places in % x = %v; want %v", tt.name, tt.stream, got, tt.want)
		}
	}
}

// FuzzReadReplies: whatever the printer sends, the reader returns without
// panicking; it takes the first bytes of a reply's shape as the replies,
// in order, and nothing else — so dropping all other bytes changes nothing —
// and consumes nothing after the last.
func FuzzReadReplies(f *testing.F) {
	f.Add([]byte{0x12, 0x72, 0x16, 0x12}, uint8(3))
	f.Add([]byte{0x00, 0xFF, 'X', 0x72}, uint8(0))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, nk uint8) {
		kinds := allKinds[:1+int(nk)%len(allKinds)]
		fp := &fakePort{in: bytes.Clone(data)}
		s, err := readReplies(context.Background(), fp, kinds, time.Now())

		var replies []byte
		var want escpos.Status
		for i, b := range data {
			if len(replies) < len(kinds) && want.Update(kinds[len(replies)], b) == nil {
				replies = append(replies, b)
				if len(replies) == len(kinds) && len(fp.in) != len(data)-i-1 {
					t.Fatalf("readReplies(% x) left %d bytes unread; want %d", data, len(fp.in), len(data)-i-1)
				}
			}
		}
		if len(replies) < len(kinds) {
			if !errors.Is(err, ErrNoReply) {
				t.Fatalf("readReplies(% x) with %d replies for %d requests = %v; want ErrNoReply", data, len(replies), len(kinds), err)
			}
			return
		}
		if err != nil || s != want {
			t.Fatalf("readReplies(% x) = %+v, %v; want %+v", data, s, err, want)
		}
		s2, err := readReplies(context.Background(), &fakePort{in: replies}, kinds, time.Now())
		if err != nil || s2 != s {
			t.Fatalf("readReplies(% x) = %+v, %v; with the strays dropped %+v", data, s, err, s2)
		}
	})
}
