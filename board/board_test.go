package board

import (
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
	rpi, _ := Load("rpi-terminal")
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
