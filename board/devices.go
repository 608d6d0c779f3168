package board

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"posfw/drivers/cardreader"
	"posfw/drivers/chipreader"
	"posfw/drivers/emv/pcsc"
	"posfw/drivers/gpio"
	"posfw/drivers/modem"
	"posfw/drivers/pinpad"
	"posfw/drivers/printer"
	"posfw/drivers/printer/escpos"
	"posfw/drivers/scanner"
	"posfw/drivers/serialport"
)

// Device is the face every opened device shows, in the manner of periph.io's
// conn.Resource: what it is and where (String), and how to let it go (Close). Every
// driver in a Devices set is one, and so is an absent device.
type Device interface {
	String() string
	Close() error
}

// Devices are every device a board defines, opened by Open and closed by one Close.
// Each serial driver is built on an Opener of its line and opens it again by itself
// after the device went away (a USB unplug), so no caller reconnects anything.
//
// A device the board does not have (its port is "none") is an absent device: a value
// of the field's type whose every call fails with an error matching ErrAbsent (an
// absent card reader's Read waits for a card that never comes), so a flow meets "no
// printer" as an error like any other, never as a nil.
type Devices struct {
	Reader  cardreader.Reader
	Pad     pinpad.Pad
	Printer printer.Printer
	Modem   modem.Device
	// Scanner is the barcode/QR scanner; a board without [serial.scanner] has an
	// absent one.
	Scanner scanner.Scanner
	// Chip and Contactless are the contact chip reader and the contactless reader; a
	// board without [serial.chip] or [serial.contactless] has an absent one.
	Chip, Contactless chipreader.Device
	// Indicators are the GPIO lines: buzzer, LEDs, paper sensor, modem power.
	Indicators *Indicators

	board *Board
}

// ErrAbsent is the error of every call to a device the board does not have.
var ErrAbsent = errors.New("not on this board")

// None is the Port value of a device the terminal does not have.
const None = "none"

// Options are what opening the devices needs beyond the board.
type Options struct {
	// APN is the modem's data APN, set up each time its port opens.
	APN string
}

// Open opens every device b defines. Serial lines open at each driver's first use (and
// again after an unplug), so a device missing now is reported by its first call and
// comes back when it is plugged in; GPIO lines that cannot be claimed leave the
// indicators absent, with Indicators.Err saying why.
func Open(b *Board, o Options) (*Devices, error) {
	d := &Devices{board: b}
	if open, ok, err := b.opener("cardreader"); err != nil {
		return nil, err
	} else if ok {
		d.Reader = cardreader.NewMagStripe(open)
	} else {
		d.Reader = absentReader{}
	}
	if open, ok, err := b.opener("pinpad"); err != nil {
		return nil, err
	} else if ok {
		d.Pad = pinpad.New(open, pinpad.Config{})
	} else {
		d.Pad = absentPad{}
	}
	if open, ok, err := b.opener("printer"); err != nil {
		return nil, err
	} else if ok {
		d.Printer = printer.New(open, printer.Options{Baud: b.Serial["printer"].Baud})
	} else {
		d.Printer = absentPrinter{}
	}
	if open, ok, err := b.opener("modem"); err != nil {
		return nil, err
	} else if ok {
		m, err := modem.New(open, modem.Options{APN: o.APN})
		if err != nil {
			return nil, err
		}
		d.Modem = m
	} else {
		d.Modem = absentModem{}
	}
	if open, ok, err := b.opener("scanner"); err != nil {
		return nil, err
	} else if ok {
		trig, _ := scanner.ParseTrigger(b.Serial["scanner"].Trigger) // checked by Parse
		d.Scanner = scanner.New(open, scanner.Options{Trigger: trig})
	} else {
		d.Scanner = absentScanner{}
	}
	for _, r := range []struct {
		dev     string
		name    string
		set     *chipreader.Device
		arrival chipreader.Event
	}{{"chip", "chip reader", &d.Chip, chipreader.EventInserted}, {"contactless", "contactless reader", &d.Contactless, chipreader.EventTapped}} {
		if port := b.Serial[r.dev].Port; pcscPort(r.dev, port) { // a USB CCID reader through pcscd
			*r.set = pcsc.New(strings.TrimPrefix(port, PCSC), pcsc.Options{Name: r.name, Arrival: r.arrival})
		} else if open, ok, err := b.opener(r.dev); err != nil {
			return nil, err
		} else if ok {
			*r.set = chipreader.New(open, chipreader.Options{Name: r.name})
		} else {
			*r.set = absentChip{r.name}
		}
	}
	d.Indicators = openIndicators(b.GPIO)
	return d, nil
}

// Absent is the device set of a terminal without devices: every one absent. Tests of
// screens that need no device use it.
func Absent(b *Board) *Devices {
	return &Devices{Reader: absentReader{}, Pad: absentPad{}, Printer: absentPrinter{}, Modem: absentModem{},
		Scanner: absentScanner{}, Chip: absentChip{"chip reader"}, Contactless: absentChip{"contactless reader"}, Indicators: &Indicators{Err: fmt.Errorf("GPIO lines: %w", ErrAbsent)}, board: b}
}

// opener is the Opener of device's serial line, and false when the board does not
// have the device.
func (b *Board) opener(device string) (serialport.Opener, bool, error) {
	s, ok := b.Serial[device]
	switch {
	case !ok || s.Port == None || s.Port == PTY:
		// A "pty" no simulator was attached to has no device behind it either.
		return nil, false, nil
	}
	open := serialport.PathOpener(s.Port, s.Config())
	return func() (serialport.Port, error) {
		p, err := open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", device, err)
		}
		return p, nil
	}, true, nil
}

// All lists the set's devices, for a technician's listing and for Close.
func (d *Devices) All() []Device {
	return []Device{named{d.Reader, "card reader"}, named{d.Pad, "PIN pad"}, named{d.Printer, "printer"}, d.Modem, d.Scanner, d.Chip, d.Contactless, d.Indicators}
}

// Board is the board the devices were opened from.
func (d *Devices) Board() *Board { return d.board }

// Close closes every device; the errors of those that failed are joined.
func (d *Devices) Close() error {
	var errs []error
	for _, dev := range d.All() {
		if err := dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dev, err))
		}
	}
	return errors.Join(errs...)
}

// named gives a driver without a String of its own the name of its kind.
type named struct {
	closer interface{ Close() error }
	name   string
}

func (n named) String() string {
	if s, ok := n.closer.(fmt.Stringer); ok {
		return s.String()
	}
	return n.name
}

func (n named) Close() error { return n.closer.Close() }

// Indicators are the terminal's GPIO lines: the buzzer and LEDs that tell the cashier
// an outcome without looking at the screen, the paper sensor and the modem's power
// control. When the lines could not be claimed Err says why and every method is a
// no-op that reports it.
type Indicators struct {
	Buzzer      *gpio.Buzzer
	Green, Red  *gpio.LED
	PaperSensor *gpio.PaperSensor
	ModemPower  *gpio.ModemPower
	// Err is why the lines are absent, nil when they are there.
	Err error
}

// openIndicators claims the board's GPIO lines by function.
func openIndicators(names map[string]string) *Indicators {
	ind, err := claimIndicators(names)
	if err != nil {
		return &Indicators{Err: fmt.Errorf("GPIO lines: %w", err)}
	}
	return ind
}

func claimIndicators(names map[string]string) (*Indicators, error) {
	lines, err := gpio.NewLines(names)
	if err != nil {
		return nil, err
	}
	var ind Indicators
	if ind.Buzzer, err = gpio.NewBuzzer(lines.Buzzer, gpio.High, nil); err != nil {
		return nil, err
	}
	if ind.Green, err = gpio.NewLED(lines.LEDGreen, gpio.High, nil); err != nil {
		return nil, err
	}
	if ind.Red, err = gpio.NewLED(lines.LEDRed, gpio.High, nil); err != nil {
		return nil, err
	}
	if ind.PaperSensor, err = gpio.NewPaperSensor(lines.PaperSensor, gpio.PaperOpts{Present: gpio.High}); err != nil {
		return nil, err
	}
	if ind.ModemPower, err = gpio.NewModemPower(lines.ModemPower, lines.ModemReset, gpio.ModemOpts{Active: gpio.High}); err != nil {
		return nil, err
	}
	return &ind, nil
}

// Outcome beeps and lights green for an approval, red with the long double beep for
// anything else. It returns at once; the pattern plays on.
func (i *Indicators) Outcome(ctx context.Context, ok bool) {
	if i.Err != nil {
		return
	}
	pat := gpio.BeepDeclined
	if ok {
		pat = gpio.BeepApproved
	}
	i.Buzzer.Play(context.WithoutCancel(ctx), pat)
	i.Green.Set(ok)
	i.Red.Set(!ok)
}

func (i *Indicators) String() string {
	if i.Err != nil {
		return "GPIO lines (absent: " + i.Err.Error() + ")"
	}
	return "GPIO lines"
}

// Close stops the buzzer and turns the LEDs off.
func (i *Indicators) Close() error {
	if i.Err != nil {
		return nil
	}
	return errors.Join(i.Buzzer.Stop(), i.Green.Set(false), i.Red.Set(false))
}

// Present reports whether dev is a device the board has, not an absent one. Flows need
// not ask (an absent device fails each call with ErrAbsent); start-up asks it of the
// devices a terminal cannot run without.
func Present(dev any) bool {
	_, isAbsent := dev.(interface{ absent() })
	return !isAbsent
}

// absent is the error of a device kind the board does not have.
func absent(kind string) error { return fmt.Errorf("%s: %w", kind, ErrAbsent) }

// absentReader is a reader no card ever reaches: its Read waits for ctx, as the card
// prompt of a terminal without a reader waits for a keyed card.
type absentReader struct{}

func (absentReader) Read(ctx context.Context) (cardreader.Presentation, error) {
	<-ctx.Done()
	return cardreader.Presentation{}, ctx.Err()
}
func (absentReader) String() string { return "card reader (absent)" }
func (absentReader) absent()        {}
func (absentReader) Close() error   { return nil }

type absentPrinter struct{}

func (absentPrinter) Status(context.Context) (escpos.Status, error) {
	return escpos.Status{}, absent("printer")
}
func (absentPrinter) Print(context.Context, []byte) error { return absent("printer") }
func (absentPrinter) String() string                      { return "printer (absent)" }
func (absentPrinter) absent()                             {}
func (absentPrinter) Close() error                        { return nil }

type absentPad struct{}

func (absentPad) Info(context.Context) (pinpad.Info, error) { return pinpad.Info{}, absent("PIN pad") }
func (absentPad) Display(context.Context, string, string) error {
	return absent("PIN pad")
}
func (absentPad) GetPIN(context.Context, pinpad.PINRequest) (pinpad.PINResult, error) {
	return pinpad.PINResult{}, absent("PIN pad")
}
func (absentPad) Cancel(context.Context) error { return absent("PIN pad") }
func (absentPad) CardHash(context.Context, []byte) (string, error) {
	return "", absent("PIN pad")
}
func (absentPad) Seal(context.Context, int64, []byte) ([]byte, error) {
	return nil, absent("PIN pad")
}
func (absentPad) Anchor(context.Context) (int64, []byte, []byte, error) {
	return 0, nil, nil, absent("PIN pad")
}
func (absentPad) CheckSeal(context.Context, int64, []byte, []byte) (bool, error) {
	return false, absent("PIN pad")
}
func (absentPad) String() string { return "PIN pad (absent)" }
func (absentPad) absent()        {}
func (absentPad) Close() error   { return nil }

type absentModem struct{}

func (absentModem) Signal(context.Context) (modem.Signal, error) {
	return modem.Signal{}, absent("modem")
}
func (absentModem) Registration(context.Context) (modem.Registration, error) {
	return 0, absent("modem")
}
func (absentModem) SIMState(context.Context) (string, error) { return "", absent("modem") }
func (absentModem) Operator(context.Context) (string, error) { return "", absent("modem") }
func (absentModem) IMEI(context.Context) (string, error)     { return "", absent("modem") }
func (absentModem) DataActive(context.Context) (bool, error) { return false, absent("modem") }
func (absentModem) Activate(context.Context) error           { return absent("modem") }
func (absentModem) Reattach(context.Context) error           { return absent("modem") }
func (absentModem) FunctionReset(context.Context) error      { return absent("modem") }
func (absentModem) String() string                           { return "modem (absent)" }
func (absentModem) absent()                                  {}
func (absentModem) Close() error                             { return nil }

// absentChip is a chip or contactless reader the board does not have: no card ever
// arrives (Wait waits for ctx), and a card request fails with ErrAbsent.
type absentChip struct{ name string }

func (a absentChip) Wait(ctx context.Context) (chipreader.Event, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}
func (a absentChip) PowerOn() ([]byte, error)        { return nil, absent(a.name) }
func (a absentChip) Transmit([]byte) ([]byte, error) { return nil, absent(a.name) }
func (a absentChip) PowerOff() error                 { return absent(a.name) }
func (a absentChip) String() string                  { return a.name + " (absent)" }
func (absentChip) absent()                           {}
func (absentChip) Close() error                      { return nil }

// absentScanner is the scanner of a board without one: a flow asking it for a code
// hears at once that there is none, and can offer to type the code instead.
type absentScanner struct{}

func (absentScanner) Read(context.Context) (string, error) { return "", absent("scanner") }
func (absentScanner) String() string                       { return "scanner (absent)" }
func (absentScanner) absent()                              {}
func (absentScanner) Close() error                         { return nil }
