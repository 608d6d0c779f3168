// Package board describes terminal hardware as data: which device sits on which serial
// port at which line rate, which GPIO line does what, and what kind of display and keypad
// the terminal has. A board is a TOML file; two are built in: "sim" (the simulated
// terminal of posfw sim) and "rpi-terminal" (the reference hardware). Every key is
// checked when the board is loaded: unknown keys, missing ports and bad values are
// refused with the file, the key and the reason.
package board

import (
	"embed"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"posfw/drivers/scanner"
	"posfw/drivers/serialport"
)

// Board is one terminal's hardware.
type Board struct {
	Name        string            `toml:"name"`
	Description string            `toml:"description"`
	Display     Display           `toml:"display"`
	Keypad      Keypad            `toml:"keypad"`
	Serial      map[string]Serial `toml:"serial"`
	GPIO        map[string]string `toml:"gpio"`
	// File is where the board was loaded from (a built-in name for embedded boards).
	File string `toml:"-"`
}

// Display is the terminal's screen.
type Display struct {
	// Kind is "headless" (in memory), "tui" (a laptop terminal) or "framebuffer".
	Kind   string `toml:"kind"`
	Device string `toml:"device"`
	// Cols and Rows size the text grid the UI draws on; a CJK character takes two columns.
	Cols int `toml:"cols"`
	Rows int `toml:"rows"`
}

// Keypad is where key presses come from.
type Keypad struct {
	// Kind is "control" (the simulator's control socket) or "evdev".
	Kind   string `toml:"kind"`
	Device string `toml:"device"`
}

// Serial is one device's serial line.
type Serial struct {
	// Port is a device path (best a /dev/serial/by-id link, which keeps naming the
	// same device across a USB replug), "pty" for a simulator on a pseudo-terminal,
	// or "none" for a device this terminal does not have.
	Port     string `toml:"port"`
	Baud     int    `toml:"baud"`
	DataBits int    `toml:"data_bits"`
	Parity   string `toml:"parity"`
	StopBits int    `toml:"stop_bits"`
	// Trigger is how a barcode scanner is started and stopped: "none" (presentation
	// mode, the default), "honeywell" or "newland" (package drivers/scanner). Only
	// the scanner has one.
	Trigger string `toml:"trigger"`
}

// PTY is the Port value of a device that a simulator provides on a pseudo-terminal.
const PTY = "pty"

// PCSC prefixes the Port of a chip or contactless reader that pcscd drives (a USB CCID
// reader): "pcsc:NAME" is the PC/SC reader called NAME or whose name contains it
// ("pcsc:ACR39U", "pcsc:Virtual PCD 00 00"); such a port has no serial settings.
const PCSC = "pcsc:"

// pcscPort reports whether device's port p is a PC/SC reader, which only the chip and
// contactless readers may be.
func pcscPort(device, p string) bool {
	return strings.HasPrefix(p, PCSC) && (device == "chip" || device == "contactless")
}

// Config is the serial configuration of the line.
func (s Serial) Config() serialport.Config {
	return serialport.Config{Baud: s.Baud, DataBits: s.DataBits, Parity: serialport.Parity(s.Parity), StopBits: s.StopBits}
}

// SerialDevices are the device kinds a board wires to serial lines; each must be present.
var SerialDevices = []string{"cardreader", "pinpad", "printer", "modem"}

// OptionalSerialDevices are the serial device kinds a board may leave out: a board
// without one has no such device, as if its port were "none".
var OptionalSerialDevices = []string{"scanner", "chip", "contactless"}

// GPIOLines are the GPIO functions a board names; each must be present.
var GPIOLines = []string{"buzzer", "led_green", "led_red", "paper_sensor", "modem_power", "modem_reset"}

// DisplayKinds and KeypadKinds are the backends this firmware knows.
var (
	DisplayKinds = []string{"headless", "tui", "framebuffer"}
	KeypadKinds  = []string{"control", "evdev"}
)

//go:embed boards/*.toml
var builtin embed.FS

// Builtin lists the names of the boards compiled into the binary.
func Builtin() []string {
	entries, _ := builtin.ReadDir("boards")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return names
}

// Load returns the built-in board called name, or reads name as a board file when it
// contains a path separator or ends in .toml.
func Load(name string) (*Board, error) {
	if strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".toml") {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		return Parse(name, b)
	}
	b, err := builtin.ReadFile("boards/" + name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("board %q: no such built-in board (have %s) and not a .toml file", name, strings.Join(Builtin(), ", "))
	}
	return Parse(name+" (built-in)", b)
}

// Error is a refused board file.
type Error struct {
	File, Key, Reason string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("board %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("board %s: %s: %s", e.File, e.Key, e.Reason)
}

var (
	devicePath = regexp.MustCompile(`^/dev/[A-Za-z0-9_./-]+$`)
	lineName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// Parse decodes and checks a board definition; file names it in errors.
func Parse(file string, data []byte) (*Board, error) {
	var b Board
	md, err := toml.Decode(string(data), &b)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if pe, ok := err.(toml.ParseError); ok {
			msg = fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, &Error{File: file, Reason: msg}
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, &Error{file, und[0].String(), "unknown key"}
	}
	b.File = file
	if key, reason := b.check(); reason != "" {
		return nil, &Error{file, key, reason}
	}
	return &b, nil
}

// check returns the first key that is wrong and why.
func (b *Board) check() (key, reason string) {
	if !lineName.MatchString(strings.ReplaceAll(b.Name, "-", "_")) {
		return "name", fmt.Sprintf("%q is not a board name (letters, digits, - and _)", b.Name)
	}
	if !contains(DisplayKinds, b.Display.Kind) {
		return "display.kind", fmt.Sprintf("%q is not one of %s", b.Display.Kind, strings.Join(DisplayKinds, ", "))
	}
	if b.Display.Cols < 16 || b.Display.Cols > 80 {
		return "display.cols", fmt.Sprintf("%d is outside 16 to 80", b.Display.Cols)
	}
	if b.Display.Rows < 4 || b.Display.Rows > 40 {
		return "display.rows", fmt.Sprintf("%d is outside 4 to 40", b.Display.Rows)
	}
	if b.Display.Kind == "framebuffer" && !devicePath.MatchString(b.Display.Device) {
		return "display.device", fmt.Sprintf("%q is not a device path like /dev/fb0", b.Display.Device)
	}
	if !contains(KeypadKinds, b.Keypad.Kind) {
		return "keypad.kind", fmt.Sprintf("%q is not one of %s", b.Keypad.Kind, strings.Join(KeypadKinds, ", "))
	}
	if b.Keypad.Kind == "evdev" && !devicePath.MatchString(b.Keypad.Device) {
		return "keypad.device", fmt.Sprintf("%q is not a device path like /dev/input/event0", b.Keypad.Device)
	}
	all := append(append([]string(nil), SerialDevices...), OptionalSerialDevices...)
	for _, name := range sortedKeys(b.Serial) {
		if !contains(all, name) {
			return "serial." + name, fmt.Sprintf("unknown device kind (want %s)", strings.Join(all, ", "))
		}
	}
	for _, name := range all {
		s, ok := b.Serial[name]
		if !ok && contains(OptionalSerialDevices, name) {
			continue
		}
		if !ok {
			return "serial." + name, "missing: every board names the port of each device"
		}
		if name == "scanner" {
			if _, err := scanner.ParseTrigger(s.Trigger); err != nil {
				return "serial.scanner.trigger", fmt.Sprintf("%q is not one of none, honeywell, newland", s.Trigger)
			}
		} else if s.Trigger != "" {
			return "serial." + name + ".trigger", "only a scanner has a trigger"
		}
		if s.Port == "" {
			return "serial." + name + ".port", "missing"
		}
		if pcscPort(name, s.Port) {
			if strings.TrimSpace(strings.TrimPrefix(s.Port, PCSC)) == "" {
				return "serial." + name + ".port", fmt.Sprintf("%q names no PC/SC reader (pcsc:NAME)", s.Port)
			}
			continue
		}
		if s.Port != PTY && s.Port != None && !devicePath.MatchString(s.Port) {
			return "serial." + name + ".port", fmt.Sprintf("%q is neither a /dev path, %q nor %q", s.Port, PTY, None)
		}
		if err := s.Config().Validate(); err != nil {
			return "serial." + name, err.Error()
		}
	}
	// Two devices cannot share a serial port (every "pty" is a simulator's own).
	ports := map[string]string{}
	for _, name := range all {
		s, ok := b.Serial[name]
		if !ok {
			continue
		}
		port := s.Port
		if other, ok := ports[port]; ok && port != PTY && port != None {
			return "serial." + name + ".port", fmt.Sprintf("%s is also serial.%s's port: serial.%s and serial.%s cannot share one port", port, other, other, name)
		}
		ports[port] = name
	}
	for _, name := range sortedKeys(b.GPIO) {
		if !contains(GPIOLines, name) {
			return "gpio." + name, fmt.Sprintf("unknown line function (want %s)", strings.Join(GPIOLines, ", "))
		}
		if !lineName.MatchString(b.GPIO[name]) {
			return "gpio." + name, fmt.Sprintf("%q is not a GPIO line name", b.GPIO[name])
		}
	}
	for _, name := range GPIOLines {
		if _, ok := b.GPIO[name]; !ok {
			return "gpio." + name, "missing"
		}
	}
	// One line, one function: a buzzer wired to the modem's reset line would reset the
	// modem at every beep. Line names are compared without case, as pin registries
	// match them.
	used := map[string]string{}
	for _, name := range GPIOLines {
		line := strings.ToUpper(b.GPIO[name])
		if other, ok := used[line]; ok {
			return "gpio." + name, fmt.Sprintf("line %q is also gpio.%s: gpio.%s and gpio.%s cannot share one line", b.GPIO[name], other, other, name)
		}
		used[line] = name
	}
	return "", ""
}

// Simulated reports whether any device of the board is provided by a simulator.
func (b *Board) Simulated() bool {
	for _, s := range b.Serial {
		if s.Port == PTY {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
