// Package serialport opens the terminal's serial devices — RS-232 lines, USB-serial adapters
// and the pseudo-terminals the simulators use — with one API.
//
// It is built on go.bug.st/serial rather than github.com/tarm/serial: measured on PTYs,
// tarm's Close blocks forever while a Read is pending, its read timeouts surface as io.EOF
// (which ends an AT-command reader) and custom baud rates fail. go.bug.st/serial's Close
// unblocks a pending Read, and a read timeout returns (0, nil), which this package turns
// into ErrTimeout so callers can tell "nothing yet" from "device gone".
//
// Line settings follow the POSIX termios model (raw mode, no flow control): baud rate,
// data bits, parity and stop bits as in EIA/TIA-232 asynchronous framing.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"
)

// Parity is the parity bit of an asynchronous serial frame.
type Parity string

// Parities a serial device may use.
const (
	ParityNone Parity = "none"
	ParityEven Parity = "even"
	ParityOdd  Parity = "odd"
)

// Bauds lists the line rates a port may be configured for. Other rates are refused at
// configuration time rather than failing on a device later.
var Bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// Config is how a port is opened. The zero value of a field means its default:
// 8 data bits, no parity, 1 stop bit, no read timeout.
type Config struct {
	Baud     int
	DataBits int
	Parity   Parity
	StopBits int
	// ReadTimeout bounds each Read; 0 means a Read blocks until data arrives or the port closes.
	ReadTimeout time.Duration
}

// ErrTimeout is returned by Read when the read timeout passed with no byte received.
var ErrTimeout = errors.New("serial read timed out")

// ErrClosed is returned by Read and Write once the port is closed or the device is gone
// (a USB adapter unplugged, a simulator's PTY closed).
var ErrClosed = errors.New("serial port closed or device gone")

// Port is an open serial line.
type Port interface {
	io.ReadWriteCloser
	// SetReadTimeout changes the read timeout; 0 disables it.
	SetReadTimeout(d time.Duration) error
	// Flush discards bytes received but not yet read.
	Flush() error
	// Path is the device path the port was opened from.
	Path() string
}

// Opener opens a device's serial line. Every serial driver is built on one rather than
// on an open port, so that it can open the line again by itself after the device went
// away (a USB adapter unplugged and plugged back, a simulator's PTY replaced).
type Opener func() (Port, error)

// PathOpener is the Opener of the device at path (a /dev/serial/by-id link keeps
// naming the same device across a replug), opened with the line settings of c.
func PathOpener(path string, c Config) Opener {
	return func() (Port, error) { return Open(path, c) }
}

// Validate reports whether c describes a line this package can open.
func (c Config) Validate() error {
	if !validBaud(c.Baud) {
		return fmt.Errorf("baud %d is not one of %v", c.Baud, Bauds)
	}
	switch c.DataBits {
	case 0, 7, 8:
	default:
		return fmt.Errorf("data bits %d: want 7 or 8", c.DataBits)
	}
	switch c.Parity {
	case "", ParityNone, ParityEven, ParityOdd:
	default:
		return fmt.Errorf("parity %q: want none, even or odd", c.Parity)
	}
	switch c.StopBits {
	case 0, 1, 2:
	default:
		return fmt.Errorf("stop bits %d: want 1 or 2", c.StopBits)
	}
	if c.ReadTimeout < 0 {
		return fmt.Errorf("read timeout %v is negative", c.ReadTimeout)
	}
	return nil
}

func validBaud(b int) bool {
	for _, v := range Bauds {
		if v == b {
			return true
		}
	}
	return false
}

func (c Config) mode() *serial.Mode {
	m := &serial.Mode{BaudRate: c.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	if c.DataBits != 0 {
		m.DataBits = c.DataBits
	}
	switch c.Parity {
	case ParityEven:
		m.Parity = serial.EvenParity
	case ParityOdd:
		m.Parity = serial.OddParity
	}
	if c.StopBits == 2 {
		m.StopBits = serial.TwoStopBits
	}
	return m
}

// Open opens the serial device at path with the line settings of c.
func Open(path string, c Config) (Port, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("serial port %s: %w", path, err)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("serial port %s: %w", path, errors.Unwrap(err))
	}
	p, err := serial.Open(path, c.mode())
	if err != nil {
		return nil, fmt.Errorf("serial port %s: %v", path, err)
	}
	port := &port{p: p, path: path}
	if err := port.SetReadTimeout(c.ReadTimeout); err != nil {
		p.Close()
		return nil, err
	}
	return port, nil
}

type port struct {
	p       serial.Port
	path    string
	timeout time.Duration
}

func (p *port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.p.Read(b)
	if err != nil {
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
			return n, ErrClosed
		}
		return n, fmt.Errorf("serial port %s: read: %w", p.path, err)
	}
	if n == 0 {
		// go.bug.st/serial reports an expired read timeout as (0, nil).
		return 0, ErrTimeout
	}
	return n, nil
}

func (p *port) Write(b []byte) (int, error) {
	n, err := p.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("serial port %s: write: %w", p.path, err)
	}
	return n, nil
}

func (p *port) SetReadTimeout(d time.Duration) error {
	t := d
	if d == 0 {
		t = serial.NoTimeout
	}
	if err := p.p.SetReadTimeout(t); err != nil {
		return fmt.Errorf("serial port %s: set read timeout: %v", p.path, err)
	}
	p.timeout = d
	return nil
}

func (p *port) Flush() error { return p.p.ResetInputBuffer() }

func (p *port) Close() error { return p.p.Close() }

func (p *port) Path() string { return p.path }
