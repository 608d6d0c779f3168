// Package gpiosim provides the simulated terminal's GPIO lines: pins that implement
// periph.io's gpio.PinIO (periph.io/x/conn/v3/gpio), registered in periph's gpioreg
// under the names the sim board gives, and recording every level they take with its
// time, so tests and the simulator's screen can show what the buzzer and LEDs did.
//
// Pin plays the part of periph's gpiotest.Pin. That one cannot be used here:
// periph.io/x/conn/v3/gpio/gpiotest imports github.com/jonboulle/clockwork, a module
// this project does not require; and it records no history.
//
// Clock is a fake time source for the gpio package's devices, so tests assert level
// sequences and virtual pulse widths without depending on timing.
package gpiosim

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/physic"
)

// MaxHistory is how many level changes a Pin keeps; older ones are dropped so that a
// simulator running for days does not grow without bound.
const MaxHistory = 1024

// Event is a level a pin took, and when.
type Event struct {
	At    time.Time
	Level gpio.Level
}

// Pin is a simulated GPIO line. The firmware drives it with Out (an output) or reads it
// (an input); the simulated world changes an input with Set. Both are recorded.
type Pin struct {
	name string
	num  int
	now  func() time.Time

	edges chan struct{} // one pending edge, as a hardware edge latch holds

	mu      sync.Mutex
	level   gpio.Level
	output  bool
	pull    gpio.Pull
	edge    gpio.Edge
	history []Event
	watch   func(gpio.Level)
}

// Watch has f hear every level the firmware drives the pin to (a simulated device wired
// to the line: the modem's reset input, say). f runs on the driving goroutine and must
// not drive the pin itself.
func (p *Pin) Watch(f func(gpio.Level)) {
	p.mu.Lock()
	p.watch = f
	p.mu.Unlock()
}

// NewPin returns a pin called name with logical number num, Low, as an input. now
// timestamps its history; nil means time.Now (pass a gpiosim.Clock's Now in tests).
func NewPin(name string, num int, now func() time.Time) *Pin {
	if now == nil {
		now = time.Now
	}
	return &Pin{name: name, num: num, now: now, edges: make(chan struct{}, 1)}
}

// String implements conn.Resource.
func (p *Pin) String() string { return p.name + "(" + strconv.Itoa(p.num) + ")" }

// Halt implements conn.Resource. It has no effect.
func (p *Pin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin.
func (p *Pin) Number() int { return p.num }

// Function implements pin.Pin.
func (p *Pin) Function() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.output {
		return string(gpio.OUT)
	}
	return string(gpio.IN)
}

// In implements gpio.PinIn. Unlike gpiotest.Pin, the pull does not change the level:
// the simulated sensor drives the line (Set), as a real one does.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.output, p.edge = false, edge
	if pull != gpio.PullNoChange {
		p.pull = pull
	}
	select { // forget edges from before, as periph's drivers try to
	case <-p.edges:
	default:
	}
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn: it waits in real time for an edge Set made, for
// at most timeout (-1: no limit).
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	if timeout < 0 {
		<-p.edges
		return true
	}
	select { // an edge already latched wins over a zero timeout
	case <-p.edges:
		return true
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-t.C:
		return false
	}
}

// Pull implements gpio.PinIn.
func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

// DefaultPull implements gpio.PinIn.
func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out implements gpio.PinOut: the pin becomes an output driving l.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.output = true
	p.record(l)
	watch := p.watch
	p.mu.Unlock()
	if watch != nil {
		watch(l)
	}
	return nil
}

// PWM implements gpio.PinOut. Simulated lines have no PWM.
func (p *Pin) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("gpiosim: pin %s: PWM not supported", p.name)
}

// Set is the simulated world changing the line's level (paper under the sensor).
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.level
	p.record(l)
	if l == prev || p.output {
		return
	}
	rising := l == gpio.High
	if p.edge == gpio.BothEdges || (p.edge == gpio.RisingEdge && rising) || (p.edge == gpio.FallingEdge && !rising) {
		select {
		case p.edges <- struct{}{}:
		default:
		}
	}
}

// record sets the level and appends it to the history; p.mu is held.
func (p *Pin) record(l gpio.Level) {
	p.level = l
	if len(p.history) == MaxHistory {
		p.history = append(p.history[:0], p.history[1:]...)
	}
	p.history = append(p.history, Event{At: p.now(), Level: l})
}

// Level returns the line's level now.
func (p *Pin) Level() gpio.Level { return p.Read() }

// History returns the levels the pin took, oldest first (at most MaxHistory).
func (p *Pin) History() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.history...)
}

// Levels returns just the levels of History.
func (p *Pin) Levels() []gpio.Level {
	h := p.History()
	out := make([]gpio.Level, len(h))
	for i, e := range h {
		out[i] = e.Level
	}
	return out
}

// registry holds the pins this package registered in gpioreg, by name.
var registry = struct {
	sync.Mutex
	pins map[string]*Pin
	next int
}{pins: map[string]*Pin{}}

// Register creates a simulated pin for each line of names (function → pin name, as
// in the sim board's [gpio] table), registers it in periph's gpioreg under its name and
// returns the pins by function.
//
// gpioreg is one per process and refuses a name twice, so Register is idempotent: a
// name it registered before gets the same Pin back, and every simulator in a process
// (tests start several) shares it. A name registered by another driver is an error.
func Register(names map[string]string) (map[string]*Pin, error) {
	funcs := make([]string, 0, len(names))
	for fn := range names {
		funcs = append(funcs, fn)
	}
	sort.Strings(funcs) // so that, of several faults, the same one is reported

	registry.Lock()
	defer registry.Unlock()
	out := make(map[string]*Pin, len(names))
	for _, fn := range funcs {
		name := names[fn]
		if name == "" {
			return nil, fmt.Errorf("gpiosim line %s: empty pin name", fn)
		}
		if p, ok := registry.pins[name]; ok {
			out[fn] = p
			continue
		}
		p := NewPin(name, registry.next, nil)
		if err := gpioreg.Register(p); err != nil {
			return nil, fmt.Errorf("gpiosim line %s: pin %q: %w", fn, name, err)
		}
		registry.pins[name] = p
		registry.next++
		out[fn] = p
	}
	return out, nil
}
