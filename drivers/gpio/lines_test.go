package gpio

import (
	"context"
	"testing"

	"posfw/drivers/gpio/gpiosim"
)

// boardLines returns a complete [gpio] table whose pin names start with prefix.
func boardLines(prefix string) map[string]string {
	return map[string]string{
		"buzzer":       prefix + "BUZZER",
		"led_green":    prefix + "LED_GREEN",
		"led_red":      prefix + "LED_RED",
		"paper_sensor": prefix + "PAPER",
		"modem_power":  prefix + "MODEM_PWRKEY",
		"modem_reset":  prefix + "MODEM_RESET",
	}
}

func TestNewLines(t *testing.T) {
	if _, err := gpiosim.Register(boardLines("TLINES_")); err != nil {
		t.Fatalf("gpiosim.Register: %v", err)
	}
	with := func(fn, pin string) map[string]string {
		m := boardLines("TLINES_")
		if pin == "-" {
			delete(m, fn)
		} else {
			m[fn] = pin
		}
		return m
	}
	rpi := map[string]string{ // board/boards/rpi-terminal.toml, on a host without those pins
		"buzzer": "GPIO18", "led_green": "GPIO23", "led_red": "GPIO24",
		"paper_sensor": "GPIO25", "modem_power": "GPIO5", "modem_reset": "GPIO6",
	}
	for _, tt := range []struct {
		name  string
		names map[string]string
		want  string
	}{
		{"all present", boardLines("TLINES_"), ""},
		{"rpi pins missing", rpi, `gpio line buzzer: pin "GPIO18" not found`},
		{"one pin missing", with("paper_sensor", "TLINES_NOPE"), `gpio line paper_sensor: pin "TLINES_NOPE" not found`},
		{"function not named", with("modem_reset", "-"), "gpio line modem_reset: no pin named for it"},
		{"empty name", with("led_red", ""), "gpio line led_red: empty pin name"},
		{"unknown function", with("buzer", "TLINES_BUZZER"),
			"gpio line buzer: unknown function (want one of [buzzer led_green led_red paper_sensor modem_power modem_reset])"},
	} {
		l, err := NewLines(tt.names)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: NewLines() error = %q; want %q", tt.name, got, tt.want)
		}
		if err == nil && (l.Buzzer == nil || l.LEDGreen == nil || l.LEDRed == nil || l.PaperSensor == nil || l.ModemPower == nil || l.ModemReset == nil) {
			t.Errorf("%s: NewLines() = %+v; want every line set", tt.name, l)
		}
	}
}

// TestSimBoard wires the sim board's names the way `posfw sim` does: register the
// simulated pins, look them up by name, drive them, and read back what happened.
func TestSimBoard(t *testing.T) {
	names := map[string]string{ // board/boards/sim.toml
		"buzzer": "SIM_BUZZER", "led_green": "SIM_LED_GREEN", "led_red": "SIM_LED_RED",
		"paper_sensor": "SIM_PAPER", "modem_power": "SIM_MODEM_PWRKEY", "modem_reset": "SIM_MODEM_RESET",
	}
	for range 2 { // a second simulator in the same process
		pins, err := gpiosim.Register(names)
		if err != nil {
			t.Fatalf("gpiosim.Register: %v", err)
		}
		l, err := NewLines(names)
		if err != nil {
			t.Fatalf("NewLines: %v", err)
		}
		if l.Buzzer.Name() != "SIM_BUZZER" || l.ModemReset.Name() != "SIM_MODEM_RESET" {
			t.Fatalf("NewLines gave buzzer %s, modem reset %s", l.Buzzer, l.ModemReset)
		}
		clk := gpiosim.NewAutoClock(t0)
		b, err := NewBuzzer(l.Buzzer, High, clk)
		if err != nil {
			t.Fatalf("NewBuzzer: %v", err)
		}
		if err := b.Beep(context.Background(), BeepKey); err != nil {
			t.Fatalf("Beep: %v", err)
		}
		led, err := NewLED(l.LEDGreen, High, clk)
		if err != nil {
			t.Fatalf("NewLED: %v", err)
		}
		must(t, led.On())
		lv := pins["buzzer"].Levels()
		if n := len(lv); n < 3 || lv[n-3] != Low || lv[n-2] != High || lv[n-1] != Low {
			t.Errorf("simulated buzzer pin went %v; want it to end Low, High, Low", lv)
		}
		if got := pins["led_green"].Level(); got != High {
			t.Errorf("simulated green LED pin is %s; want High", got)
		}
		must(t, led.Off())
	}
}
