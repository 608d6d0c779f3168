package escpos

import (
	"testing"
)

// The replies below are from the DLE EOT tables of the Epson ESC/POS
// reference: each is 0x12 (the fixed bits) plus the bits of what is wrong.
func TestStatusByte(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Status
		n    StatusKind
		want byte
	}{
		{"online", Status{}, PrinterStatus, 0x12},
		{"offline", Status{Offline: true}, PrinterStatus, 0x1A},
		{"drawer pin 3 high", Status{DrawerHigh: true}, PrinterStatus, 0x16},
		{"waiting for recovery", Status{WaitingRecovery: true}, PrinterStatus, 0x32},
		{"feed button", Status{FeedButton: true}, PrinterStatus, 0x52},
		{"no offline cause", Status{}, OfflineCause, 0x12},
		{"cover open", Status{CoverOpen: true}, OfflineCause, 0x16},
		{"feeding by button", Status{FeedingPaper: true}, OfflineCause, 0x1A},
		{"paper-end stop", Status{PaperEndStop: true}, OfflineCause, 0x32},
		{"error", Status{Error: true}, OfflineCause, 0x52},
		{"no error", Status{}, ErrorCause, 0x12},
		{"autocutter error", Status{AutocutterError: true}, ErrorCause, 0x1A},
		{"unrecoverable", Status{Unrecoverable: true}, ErrorCause, 0x32},
		{"auto-recoverable", Status{AutoRecoverable: true}, ErrorCause, 0x52},
		{"paper adequate", Status{}, PaperSensor, 0x12},
		{"paper near end", Status{PaperNearEnd: true}, PaperSensor, 0x1E},
		{"paper out", Status{PaperOut: true}, PaperSensor, 0x72},
		{"paper out, near end too", Status{PaperOut: true, PaperNearEnd: true}, PaperSensor, 0x7E},
		{"other kinds' fields do not leak", Status{CoverOpen: true, PaperOut: true}, PrinterStatus, 0x12},
	} {
		got, err := tt.s.Byte(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("%s: Status%+v.Byte(%d) = 0x%02X, %v; want 0x%02X", tt.name, tt.s, tt.n, got, err, tt.want)
		}
	}
}

func TestStatusUpdate(t *testing.T) {
	for _, tt := range []struct {
		n    StatusKind
		b    byte
		want Status
	}{
		{PrinterStatus, 0x12, Status{}},
		{PrinterStatus, 0x1A, Status{Offline: true}},
		{PrinterStatus, 0x7E, Status{DrawerHigh: true, Offline: true, WaitingRecovery: true, FeedButton: true}},
		{OfflineCause, 0x16, Status{CoverOpen: true}},
		{OfflineCause, 0x72, Status{PaperEndStop: true, Error: true}},
		{ErrorCause, 0x1A, Status{AutocutterError: true}},
		{ErrorCause, 0x16, Status{}}, // bit 2 is undefined for n = 3
		{PaperSensor, 0x1E, Status{PaperNearEnd: true}},
		{PaperSensor, 0x7E, Status{PaperNearEnd: true, PaperOut: true}},
		{PaperSensor, 0x16, Status{PaperNearEnd: true}}, // one sensor bit is enough
		{PaperSensor, 0x32, Status{PaperOut: true}},
	} {
		var got Status
		if err := got.Update(tt.n, tt.b); err != nil || got != tt.want {
			t.Errorf("Update(%d, 0x%02X) = %+v, %v; want %+v", tt.n, tt.b, got, err, tt.want)
		}
	}
}

func TestStatusUpdateKeepsOtherKinds(t *testing.T) {
	s := Status{CoverOpen: true, PaperNearEnd: true}
	if err := s.Update(PaperSensor, 0x72); err != nil {
		t.Fatal(err)
	}
	if want := (Status{CoverOpen: true, PaperOut: true}); s != want {
		t.Errorf("after Update(4, 0x72): %+v; want %+v", s, want)
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tt := range []struct {
		n    StatusKind
		b    byte
		want string
	}{
		{0, 0x12, "escpos: DLE EOT 0 is not a status this package reads (1-4)"},
		{7, 0x12, "escpos: DLE EOT 7 is not a status this package reads (1-4)"},
		{PaperSensor, 0x00, "escpos: 0x00 is not a DLE EOT reply (bits 7-0 must read 0xx1xx10)"},
		{PaperSensor, 0x13, "escpos: 0x13 is not a DLE EOT reply (bits 7-0 must read 0xx1xx10)"},
		{PaperSensor, 0x92, "escpos: 0x92 is not a DLE EOT reply (bits 7-0 must read 0xx1xx10)"},
		{PrinterStatus, 'A', "escpos: 0x41 is not a DLE EOT reply (bits 7-0 must read 0xx1xx10)"},
	} {
		s := Status{Offline: true}
		err := s.Update(tt.n, tt.b)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Update(%d, 0x%02X) = %v; want %s", tt.n, tt.b, err, tt.want)
		}
		if s != (Status{Offline: true}) {
			t.Errorf("Update(%d, 0x%02X) changed the status to %+v on error", tt.n, tt.b, s)
		}
	}
	if _, err := (Status{}).Byte(5); err == nil {
		t.Errorf("Byte(5) succeeded; want an error")
	}
}

// TestStatusImplied: a simulator that runs out of paper answers DLE EOT 1,
// 2 and 4 as a real printer does.
func TestStatusImplied(t *testing.T) {
	for _, tt := range []struct {
		name  string
		s     Status
		want  [4]byte // replies to n = 1, 2, 3, 4
		ready bool
	}{
		{"ready", Status{}, [4]byte{0x12, 0x12, 0x12, 0x12}, true},
		{"near end still prints", Status{PaperNearEnd: true}, [4]byte{0x12, 0x12, 0x12, 0x1E}, true},
		{"paper out", Status{PaperOut: true, PaperNearEnd: true}, [4]byte{0x1A, 0x32, 0x12, 0x7E}, false},
		{"cover open", Status{CoverOpen: true}, [4]byte{0x1A, 0x16, 0x12, 0x12}, false},
		{"autocutter jam", Status{AutocutterError: true}, [4]byte{0x1A, 0x52, 0x1A, 0x12}, false},
	} {
		s := tt.s.Implied()
		var got [4]byte
		for n := PrinterStatus; n <= PaperSensor; n++ {
			got[n-1], _ = s.Byte(n)
		}
		if got != tt.want || s.Ready() != tt.ready {
			t.Errorf("%s: replies % X, Ready() %v; want % X, %v", tt.name, got, s.Ready(), tt.want, tt.ready)
		}
		// What the firmware reads back says the same.
		var read Status
		for n := PrinterStatus; n <= PaperSensor; n++ {
			if err := read.Update(n, got[n-1]); err != nil {
				t.Fatal(err)
			}
		}
		if read != s {
			t.Errorf("%s: read back %+v; want %+v", tt.name, read, s)
		}
	}
}
