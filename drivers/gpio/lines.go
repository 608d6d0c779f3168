package gpio

import (
	"fmt"
	"sort"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// Line functions, as a board file's [gpio] table names them.
const (
	FuncBuzzer      = "buzzer"
	FuncLEDGreen    = "led_green"
	FuncLEDRed      = "led_red"
	FuncPaperSensor = "paper_sensor"
	FuncModemPower  = "modem_power"
	FuncModemReset  = "modem_reset"
)

// Lines are the terminal's GPIO pins, one per function.
type Lines struct {
	Buzzer      gpio.PinIO
	LEDGreen    gpio.PinIO
	LEDRed      gpio.PinIO
	PaperSensor gpio.PinIO
	ModemPower  gpio.PinIO // the EC25's PWRKEY
	ModemReset  gpio.PinIO // the EC25's RESET_N
}

// lineFuncs maps each function to its field, in the order lines are looked up (and so
// the order in which a board with several faults reports them).
var lineFuncs = []struct {
	name  string
	field func(*Lines) *gpio.PinIO
}{
	{FuncBuzzer, func(l *Lines) *gpio.PinIO { return &l.Buzzer }},
	{FuncLEDGreen, func(l *Lines) *gpio.PinIO { return &l.LEDGreen }},
	{FuncLEDRed, func(l *Lines) *gpio.PinIO { return &l.LEDRed }},
	{FuncPaperSensor, func(l *Lines) *gpio.PinIO { return &l.PaperSensor }},
	{FuncModemPower, func(l *Lines) *gpio.PinIO { return &l.ModemPower }},
	{FuncModemReset, func(l *Lines) *gpio.PinIO { return &l.ModemReset }},
}

// Functions lists the line functions NewLines wants, in lookup order.
func Functions() []string {
	out := make([]string, len(lineFuncs))
	for i, f := range lineFuncs {
		out[i] = f.name
	}
	return out
}

// NewLines looks up, with periph's gpioreg.ByName, the pin named for each function in
// names (function → pin name, as in a board's [gpio] table). Every function must be
// named and every pin registered: on hardware call InitHost first, in the simulator
// gpiosim.Register. The error names the function and the pin, for example
// `gpio line buzzer: pin "GPIO18" not found`.
func NewLines(names map[string]string) (*Lines, error) {
	known := make(map[string]bool, len(lineFuncs))
	for _, f := range lineFuncs {
		known[f.name] = true
	}
	var unknown []string
	for fn := range names {
		if !known[fn] {
			unknown = append(unknown, fn)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("gpio line %s: unknown function (want one of %v)", unknown[0], Functions())
	}

	l := &Lines{}
	for _, f := range lineFuncs {
		name, ok := names[f.name]
		switch {
		case !ok:
			return nil, fmt.Errorf("gpio line %s: no pin named for it", f.name)
		case name == "":
			return nil, fmt.Errorf("gpio line %s: empty pin name", f.name)
		}
		p := gpioreg.ByName(name)
		if p == nil {
			return nil, fmt.Errorf("gpio line %s: pin %q not found", f.name, name)
		}
		*f.field(l) = p
	}
	return l, nil
}
