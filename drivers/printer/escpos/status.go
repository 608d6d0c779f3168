package escpos

import "fmt"

// StatusKind is the n of DLE EOT n: which status byte to send back.
type StatusKind byte

// The status bytes of DLE EOT n.
const (
	PrinterStatus StatusKind = 1 // on/off line, drawer, feed button
	OfflineCause  StatusKind = 2 // cover, paper-end stop, error
	ErrorCause    StatusKind = 3 // autocutter, unrecoverable, auto-recoverable
	PaperSensor   StatusKind = 4 // roll paper near end, paper out
)

// Status is what the printer reports in its DLE EOT replies. Each field
// is carried by one kind of reply (see statusBits).
type Status struct {
	// PrinterStatus (n = 1)
	DrawerHigh      bool // drawer kick-out connector pin 3 is high
	Offline         bool
	WaitingRecovery bool // waiting for online recovery
	FeedButton      bool // the paper feed button is being pressed

	// OfflineCause (n = 2)
	CoverOpen    bool
	FeedingPaper bool // paper is being fed by the feed button
	PaperEndStop bool // printing stopped because the paper ran out
	Error        bool // an error occurred (ErrorCause says which)

	// ErrorCause (n = 3)
	AutocutterError bool // recoverable with DLE ENQ once cleared
	Unrecoverable   bool
	AutoRecoverable bool // e.g. head overheat: printing resumes by itself

	// PaperSensor (n = 4)
	PaperNearEnd bool
	PaperOut     bool
}

// statusBits is the layout of the DLE EOT replies (Epson ESC/POS, DLE
// EOT): which bits of which reply carry which condition. The paper sensor
// reports each sensor on two bits, both set when it triggers.
var statusBits = []struct {
	kind  StatusKind
	mask  byte
	field func(*Status) *bool
}{
	{PrinterStatus, 0x04, func(s *Status) *bool { return &s.DrawerHigh }},
	{PrinterStatus, 0x08, func(s *Status) *bool { return &s.Offline }},
	{PrinterStatus, 0x20, func(s *Status) *bool { return &s.WaitingRecovery }},
	{PrinterStatus, 0x40, func(s *Status) *bool { return &s.FeedButton }},
	{OfflineCause, 0x04, func(s *Status) *bool { return &s.CoverOpen }},
	{OfflineCause, 0x08, func(s *Status) *bool { return &s.FeedingPaper }},
	{OfflineCause, 0x20, func(s *Status) *bool { return &s.PaperEndStop }},
	{OfflineCause, 0x40, func(s *Status) *bool { return &s.Error }},
	{ErrorCause, 0x08, func(s *Status) *bool { return &s.AutocutterError }},
	{ErrorCause, 0x20, func(s *Status) *bool { return &s.Unrecoverable }},
	{ErrorCause, 0x40, func(s *Status) *bool { return &s.AutoRecoverable }},
	{PaperSensor, 0x0C, func(s *Status) *bool { return &s.PaperNearEnd }},
	{PaperSensor, 0x60, func(s *Status) *bool { return &s.PaperOut }},
}

// Every reply reads 0xx1xx10 in binary: bits 1 and 4 set, 0 and 7 clear.
// That is how a host tells a DLE EOT reply from other bytes the printer
// sends (Epson: "identification of send status").
const (
	statusFixedMask = 0x93
	statusFixed     = 0x12
)

// Update sets the fields that a reply of kind n carries from the reply b.
// A sensor reported on two bits counts as triggered when either is set.
func (s *Status) Update(n StatusKind, b byte) error {
	if n < PrinterStatus || n > PaperSensor {
		return fmt.Errorf("escpos: DLE EOT %d is not a status this package reads (1-4)", n)
	}
	if b&statusFixedMask != statusFixed {
		return fmt.Errorf("escpos: 0x%02X is not a DLE EOT reply (bits 7-0 must read 0xx1xx10)", b)
	}
	for _, f := range statusBits {
		if f.kind == n {
			*f.field(s) = b&f.mask != 0
		}
	}
	return nil
}

// Byte returns the reply of kind n that a printer in state s sends: what
// the simulator answers to DLE EOT n.
func (s Status) Byte(n StatusKind) (byte, error) {
	if n < PrinterStatus || n > PaperSensor {
		return 0, fmt.Errorf("escpos: DLE EOT %d is not a status this package builds (1-4)", n)
	}
	b := byte(statusFixed)
	for _, f := range statusBits {
		if f.kind == n && *f.field(&s) {
			b |= f.mask
		}
	}
	return b, nil
}

// Implied returns s with the conditions that a printer derives from the
// others set too, so that a simulator need only say what happened: out of
// paper stops printing; an error of any cause is an error; an open cover,
// a paper-end stop or an error take the printer off line.
func (s Status) Implied() Status {
	s.PaperEndStop = s.PaperEndStop || s.PaperOut
	s.Error = s.Error || s.AutocutterError || s.Unrecoverable || s.AutoRecoverable
	s.Offline = s.Offline || s.CoverOpen || s.PaperEndStop || s.Error
	return s
}

// Ready reports whether the printer can print a receipt now.
func (s Status) Ready() bool {
	return !s.Offline && !s.CoverOpen && !s.PaperOut && !s.PaperEndStop && !s.Error
}
