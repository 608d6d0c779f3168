package board

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	names := Builtin()
	if strings.Join(names, ",") != "rpi-terminal,sim" {
		t.Errorf("Builtin() = %v; want [rpi-terminal sim]", names)
	}
	for _, n := range names {
		b, err := Load(n)
		if err != nil {
			t.Errorf("Load(%q): %v", n, err)
			continue
		}
		if b.Name != n {
			t.Errorf("Load(%q).Name = %q", n, b.Name)
		}
	}
	sim, _ := Load("sim")
	if !sim.Simulated() || sim.Serial["modem"].Port != PTY {
		t.Errorf("sim board modem port = %q; want %q", sim.Serial["modem"].Port, PTY)
	}
	if s := sim.Serial["scanner"]; s.Port != PTY || s.Trigger != "honeywell" {
		t.Errorf("sim board scanner = %+v; want a triggered scanner on a pty", s)
	}
	rpi, _ := Load("rpi-terminal")
	// The scanner is optional: a board without one loads and has none.
	if _, ok := rpi.Serial["scanner"]; ok {
		t.Errorf("rpi-terminal has a scanner %+v; want none (the test of an optional device)", rpi.Serial["scanner"])
	}
	if rpi.Simulated() || rpi.Serial["printer"].Port != "/dev/ttyS0" {
		t.Errorf("rpi-terminal printer = %+v; want /dev/ttyS0 and no simulator", rpi.Serial["printer"])
	}
}

func TestRefused(t *testing.T) {
	base, err := builtin.ReadFile("boards/rpi-terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, key, reason string
	}{
		{"unknown key", `name        = "rpi-terminal"`, "name = \"rpi-terminal\"\nvoltage = 5", "voltage", "unknown key"},
		{"unknown serial key", "baud = 9600", "baud = 9600\nflow = \"rts\"", "serial.cardreader.flow", "unknown key"},
		{"missing port", `port = "/dev/ttyUSB1"     # PIN pad, FTDI USB-serial`, "", "serial.pinpad.port", "missing"},
		{"bad port", `port = "/dev/ttyUSB1"`, `port = "COM3"`, "serial.pinpad.port", "neither"},
		{"bad baud", "baud = 9600", "baud = 9601", "serial.cardreader", "baud 9601"},
		{"unknown device", "[serial.modem]", "[serial.scale]\nport = \"/dev/ttyS3\"\nbaud = 9600\n[serial.modem]", "serial.scale", "unknown device"},
		{"missing device", "[serial.modem]", "[serial.x]", "serial.x", "unknown device"},
		{"display kind", `kind   = "framebuffer"`, `kind = "oled"`, "display.kind", "not one of"},
		{"cols", "cols   = 20", "cols = 8", "display.cols", "outside"},
		{"gpio missing", `buzzer       = "GPIO18"`, "", "gpio.buzzer", "missing"},
		{"gpio bad", `buzzer       = "GPIO18"`, `buzzer = "18 pin"`, "gpio.buzzer", "not a GPIO line"},
		{"syntax", `[keypad]`, `[keypad`, "", "line"},
		{"two functions on one line", `modem_reset  = "GPIO6"`, `modem_reset = "GPIO18"`, "gpio.modem_reset", `line "GPIO18" is also gpio.buzzer: gpio.buzzer and gpio.modem_reset cannot share one line`},
		{"same line in another case", `led_red      = "GPIO24"`, `led_red = "gpio23"`, "gpio.led_red", "gpio.led_green and gpio.led_red cannot share"},
		{"two devices on one port", `port = "/dev/ttyUSB1"     # PIN pad, FTDI USB-serial`, `port = "/dev/ttyUSB0"`, "serial.pinpad.port", "serial.cardreader and serial.pinpad cannot share"},
		{"scanner trigger", "[serial.modem]", "[serial.scanner]\nport = \"/dev/ttyACM0\"\nbaud = 9600\ntrigger = \"zebra\"\n[serial.modem]", "serial.scanner.trigger", `"zebra" is not one of none, honeywell, newland`},
		{"trigger on a printer", "[serial.modem]", "[serial.scanner]\nport = \"/dev/ttyACM0\"\nbaud = 9600\n[serial.modem]\ntrigger = \"honeywell\"", "serial.modem.trigger", "only a scanner has a trigger"},
		{"scanner on the reader's port", "[serial.modem]", "[serial.scanner]\nport = \"/dev/ttyUSB0\"\nbaud = 9600\n[serial.modem]", "serial.scanner.port", "serial.cardreader and serial.scanner cannot share"},
		{"scanner baud", "[serial.modem]", "[serial.scanner]\nport = \"/dev/ttyACM0\"\nbaud = 9601\n[serial.modem]", "serial.scanner", "baud 9601"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(string(base), tc.old, tc.new, 1)
			if src == string(base) {
				t.Fatalf("test case did not change the board (no %q)", tc.old)
			}
			_, err := Parse("test.toml", []byte(src))
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("Parse = %v; want a *board.Error", err)
			}
			if be.Key != tc.key || !strings.Contains(be.Reason, tc.reason) || be.File != "test.toml" {
				t.Errorf("Parse error = %q; want key %q and reason containing %q", err, tc.key, tc.reason)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	b, _ := builtin.ReadFile("boards/sim.toml")
	p := filepath.Join(t.TempDir(), "my.toml")
	os.WriteFile(p, b, 0o644)
	if got, err := Load(p); err != nil || got.File != p {
		t.Errorf("Load(%s) = %v, %v", p, got, err)
	}
	if _, err := Load("nosuchboard"); err == nil || !strings.Contains(err.Error(), "rpi-terminal, sim") {
		t.Errorf("Load(nosuchboard) = %v; want an error listing the built-in boards", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"sim", "rpi-terminal"} {
		b, _ := builtin.ReadFile("boards/" + n + ".toml")
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		for _, d := range SerialDevices {
			if b.Serial[d].Port == "" {
				t.Errorf("accepted a board without a %s port", d)
			}
		}
	})
}

// TestScannerOpened: a board that names a scanner port gets a serial scanner with the
// board's trigger; one without [serial.scanner] (or with "none") an absent scanner
// whose Read fails at once with ErrAbsent.
func TestScannerOpened(t *testing.T) {
	base, err := builtin.ReadFile("boards/rpi-terminal.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, section string
		present       bool
	}{
		{"no scanner section", "", false},
		{"port none", "[serial.scanner]\nport = \"none\"\nbaud = 9600\n", false},
		{"USB-serial scanner", "[serial.scanner]\nport = \"/dev/ttyACM0\"\nbaud = 9600\ntrigger = \"newland\"\n", true},
	} {
		b, err := Parse(tc.name, append(append([]byte(nil), base...), "\n"+tc.section...))
		if err != nil {
			t.Fatalf("%s: Parse: %v", tc.name, err)
		}
		d, err := Open(b, Options{})
		if err != nil {
			t.Fatalf("%s: Open: %v", tc.name, err)
		}
		if got := Present(d.Scanner); got != tc.present {
			t.Errorf("%s: scanner %v present = %v; want %v", tc.name, d.Scanner, got, tc.present)
		}
		if !tc.present {
			if _, err := d.Scanner.Read(context.Background()); !errors.Is(err, ErrAbsent) {
				t.Errorf("%s: absent scanner's Read = %v; want %v", tc.name, err, ErrAbsent)
			}
		}
		if err := d.Close(); err != nil {
			t.Errorf("%s: Close = %v", tc.name, err)
		}
	}
}
