package gpio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pulse is how long a modem control line must be asserted for the module to act.
type Pulse struct {
	Min   time.Duration // shortest assertion the module accepts
	Max   time.Duration // longest before it means something else; 0: no limit given
	Width time.Duration // what ModemPower drives: inside [Min, Max] with margin
}

func (p Pulse) validate(what string) error {
	if p.Width <= 0 || p.Width < p.Min || (p.Max > 0 && p.Width > p.Max) {
		return fmt.Errorf("gpio: modem %s pulse %v is outside [%v, %v]", what, p.Width, p.Min, p.Max)
	}
	return nil
}

// ModemTiming is a module's PWRKEY and RESET_N pulse table.
type ModemTiming struct {
	Module   string
	PowerOn  Pulse // PWRKEY asserted (pulled low at the module) to turn on
	PowerOff Pulse // PWRKEY asserted to start an orderly power-down
	Reset    Pulse // RESET_N asserted to reset
}

// EC25 is the Quectel EC25's timing, from the turn-on, turn-off and reset timing
// figures of its Hardware Design manual (V1.3, the revision the sources below follow):
//
//	pulse      line     min      max      driven   note
//	power on   PWRKEY   500 ms   —        600 ms   ≥ 500 ms low turns the module on
//	power off  PWRKEY   650 ms   —        750 ms   ≥ 650 ms low starts power-down
//	reset      RESET_N  150 ms   460 ms   300 ms   150–460 ms low resets; driven mid-window
//
// The same figures appear in code written against that manual: Atmark Techno's Linux
// EC25 reset-controller driver (PWRKEY 500 and 650 ms, RESET_N 460 ms), Arm Mbed OS's
// QUECTEL_EC2X driver (drives 600 ms on, 750 ms off, 460 ms reset) and Quectel
// BG96/EC25 board notes ("RESET_N ... between 150ms and 460ms"). Mbed's 100 ms margins
// on PWRKEY are kept; RESET_N is driven mid-window, not at its 460 ms edge.
var EC25 = ModemTiming{
	Module:   "Quectel EC25",
	PowerOn:  Pulse{Min: 500 * time.Millisecond, Width: 600 * time.Millisecond},
	PowerOff: Pulse{Min: 650 * time.Millisecond, Width: 750 * time.Millisecond},
	Reset:    Pulse{Min: 150 * time.Millisecond, Max: 460 * time.Millisecond, Width: 300 * time.Millisecond},
}

// ModemOpts configures a ModemPower.
type ModemOpts struct {
	// Active is the GPIO level that asserts PWRKEY and RESET_N (both active low at
	// the module). Quectel's reference circuit drives them through an open-collector
	// NPN transistor, so GPIO High pulls them low: Active is High. Wired through a
	// non-inverting open-drain buffer instead, it is Low.
	Active gpio.Level
	// Timing is the pulse table; the zero value means EC25.
	Timing ModemTiming
	// Clock times the pulses; nil means SystemClock.
	Clock Clock
}

// ModemPower drives a cellular module's power key and reset line. Pulses block for
// their width (under a second); one pulse runs at a time.
type ModemPower struct {
	clk    Clock
	timing ModemTiming

	mu     sync.Mutex
	pwrkey *output
	reset  *output // nil when the board has no reset line
}

// NewModemPower returns the power control on pwrkey and reset (reset may be nil) and
// releases both lines.
func NewModemPower(pwrkey, reset gpio.PinOut, o ModemOpts) (*ModemPower, error) {
	if o.Timing == (ModemTiming{}) {
		o.Timing = EC25
	}
	for _, p := range []struct {
		what string
		p    Pulse
	}{{"power-on", o.Timing.PowerOn}, {"power-off", o.Timing.PowerOff}, {"reset", o.Timing.Reset}} {
		if err := p.p.validate(p.what); err != nil {
			return nil, err
		}
	}
	m := &ModemPower{clk: clockOrSystem(o.Clock), timing: o.Timing}
	var err error
	if m.pwrkey, err = newOutput("modem power key", pwrkey, o.Active); err != nil {
		return nil, err
	}
	if reset != nil {
		if m.reset, err = newOutput("modem reset", reset, o.Active); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Timing returns the pulse table in use.
func (m *ModemPower) Timing() ModemTiming { return m.timing }

// PowerOn pulses PWRKEY to turn the module on. It returns when the pulse ends; the
// module then takes seconds to boot (wait for its AT port, not for this call).
func (m *ModemPower) PowerOn(ctx context.Context) error {
	return m.pulse(ctx, "power-on", m.pwrkey, m.timing.PowerOn)
}

// PowerOff pulses PWRKEY to start the module's orderly power-down.
func (m *ModemPower) PowerOff(ctx context.Context) error {
	return m.pulse(ctx, "power-off", m.pwrkey, m.timing.PowerOff)
}

// Reset pulses RESET_N. It is the emergency path for a module that no longer answers;
// prefer PowerOff and PowerOn, which let it detach from the network.
func (m *ModemPower) Reset(ctx context.Context) error {
	if m.reset == nil {
		return fmt.Errorf("gpio: modem reset: the board has no reset line")
	}
	return m.pulse(ctx, "reset", m.reset, m.timing.Reset)
}

// pulse asserts o for p.Width and always releases it, even when ctx ends the wait; a
// pulse cut short is reported, since the module ignores pulses under p.Min.
func (m *ModemPower) pulse(ctx context.Context, what string, o *output, p Pulse) (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gpio: modem %s pulse not started: %w", what, err)
	}
	defer func() {
		if e := o.set(false); err == nil {
			err = e
		}
	}()
	if err := o.set(true); err != nil {
		return err
	}
	if err := m.clk.Sleep(ctx, p.Width); err != nil {
		return fmt.Errorf("gpio: modem %s pulse cut short, the module may ignore it: %w", what, err)
	}
	return nil
}
