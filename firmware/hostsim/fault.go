package hostsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Mode names a way the simulated acquirer misbehaves.
type Mode string

// Fault modes (DESIGN.md §4, `simctl fault host=MODE`).
const (
	OK               Mode = "ok"
	Down             Mode = "down"               // the listener is closed: connections are refused
	Timeout          Mode = "timeout"            // requests are read and never processed nor answered
	Garbage          Mode = "garbage"            // requests are processed; random bytes come back, then a close
	Slow             Mode = "slow"               // requests are processed and answered after Fault.Delay
	DropAfterRequest Mode = "drop-after-request" // requests are processed, then the connection is cut
	Duplicate        Mode = "duplicate-response" // requests are processed and answered twice
	BadMAC           Mode = "bad-mac"            // requests are processed; the answer's MAC is wrong
)

// behaviour is what the simulator does with a request it has read, per
// mode. Processed requests are in the ledger: these are the "debited, but
// the terminal saw a failure" cases the terminal's reversal must undo.
type behaviour struct {
	process bool // apply the request to the ledger
	answers int  // how many times the answer is written
	garbage bool // write random bytes instead of the answer
	delay   bool // wait Fault.Delay before answering
	badMAC  bool // corrupt the answer's MAC
}

var behaviours = map[Mode]behaviour{
	OK:               {process: true, answers: 1},
	Down:             {process: true, answers: 1}, // a connection accepted before the fault
	Timeout:          {},
	Garbage:          {process: true, garbage: true},
	Slow:             {process: true, answers: 1, delay: true},
	DropAfterRequest: {process: true},
	Duplicate:        {process: true, answers: 2},
	BadMAC:           {process: true, answers: 1, badMAC: true},
}

// Fault is the simulator's current fault: a mode, and for Slow the delay.
type Fault struct {
	Mode  Mode
	Delay time.Duration
}

// String returns the fault as ParseFault reads it: "ok", "slow:3".
func (f Fault) String() string {
	if f.Mode == Slow {
		return "slow:" + strconv.FormatFloat(f.Delay.Seconds(), 'f', -1, 64)
	}
	return string(f.Mode)
}

// ParseFault reads a fault as simctl writes it: a mode name, or "slow:N"
// with N seconds (a decimal number, at most an hour).
func ParseFault(s string) (Fault, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	m := Mode(name)
	if _, ok := behaviours[m]; !ok {
		return Fault{}, fmt.Errorf("hostsim: unknown fault %q (want ok, down, timeout, garbage, slow:N, drop-after-request, duplicate-response or bad-mac)", s)
	}
	if m != Slow {
		if hasArg {
			return Fault{}, fmt.Errorf("hostsim: fault %q takes no argument", name)
		}
		return Fault{Mode: m}, nil
	}
	secs, err := strconv.ParseFloat(arg, 64)
	if err != nil || math.IsNaN(secs) || secs < 0 || secs > 3600 {
		return Fault{}, fmt.Errorf("hostsim: fault slow:N needs N seconds from 0 to 3600, got %q", arg)
	}
	return Fault{Mode: Slow, Delay: time.Duration(secs * float64(time.Second))}, nil
}
