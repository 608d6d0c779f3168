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
	Unsigned         Mode = "unsigned"           // requests are processed; the answer comes without a MAC
	Echo             Mode = "echo"               // requests are processed; the signed answer changes field Fault.Field
	Code             Mode = "code"               // requests are processed; the signed answer carries code Fault.Code
	Hold             Mode = "hold"               // requests are processed; no answer, the connection is held open
	Cut              Mode = "cut"                // requests are processed; half the answer frame, then a close
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
	hold    bool // keep the connection open without answering
	cut     bool // write the first half of the answer frame and close
	arg     argKind
}

// argKind is what follows a mode's name after a colon.
type argKind int

const (
	noArg      argKind = iota
	secondsArg         // slow:N, N seconds
	fieldArg           // echo:N, a field the answer repeats
	codeArg            // code:XX, a response code
)

var behaviours = map[Mode]behaviour{
	OK:               {process: true, answers: 1},
	Down:             {process: true, answers: 1}, // a connection accepted before the fault
	Timeout:          {},
	Garbage:          {process: true, garbage: true},
	Slow:             {process: true, answers: 1, delay: true, arg: secondsArg},
	DropAfterRequest: {process: true},
	Duplicate:        {process: true, answers: 2},
	BadMAC:           {process: true, answers: 1, badMAC: true},
	Unsigned:         {process: true, answers: 1},                // reply leaves the MAC out
	Echo:             {process: true, answers: 1, arg: fieldArg}, // reply changes the field
	Code:             {process: true, answers: 1, arg: codeArg},  // reply changes the code
	Hold:             {process: true, hold: true},
	Cut:              {process: true, cut: true},
}

// Fault is the simulator's current fault: a mode with its argument, and
// optionally the requests it applies to: those of one MTI, or only the Nth of
// them (1 is the first after the fault was set). Other requests are served
// as if the fault were ok.
type Fault struct {
	Mode  Mode
	Delay time.Duration // slow
	Field int           // echo: the field the answer changes
	Code  string        // code: the response code the answer carries
	MTI   string        // "" every request
	Nth   int           // 0 every request of MTI
}

// String returns the fault as ParseFault reads it: "ok", "slow:3",
// "echo:4@0200", "hold@0500#2".
func (f Fault) String() string {
	s := string(f.Mode)
	switch behaviours[f.Mode].arg {
	case secondsArg:
		s += ":" + strconv.FormatFloat(f.Delay.Seconds(), 'f', -1, 64)
	case fieldArg:
		s += ":" + strconv.Itoa(f.Field)
	case codeArg:
		s += ":" + f.Code
	}
	if f.MTI != "" {
		s += "@" + f.MTI
	}
	if f.Nth > 0 {
		s += "#" + strconv.Itoa(f.Nth)
	}
	return s
}

// faultModes lists the modes for error messages.
const faultModes = "ok, down, timeout, garbage, slow:N, drop-after-request, duplicate-response, bad-mac, unsigned, echo:FIELD, code:XX, hold or cut"

// ParseFault reads a fault as simctl writes it: MODE[:ARG][@MTI[#N]]. ARG is
// N seconds for slow (a decimal number, at most an hour), a field number for
// echo, a two-character response code for code; @MTI limits the fault to one
// request MTI and #N to the Nth such request.
func ParseFault(s string) (Fault, error) {
	head, sel, hasSel := strings.Cut(s, "@")
	name, arg, hasArg := strings.Cut(head, ":")
	m := Mode(name)
	b, ok := behaviours[m]
	if !ok {
		return Fault{}, fmt.Errorf("hostsim: unknown fault %q (want %s)", s, faultModes)
	}
	f := Fault{Mode: m}
	if hasArg != (b.arg != noArg) {
		if hasArg {
			return Fault{}, fmt.Errorf("hostsim: fault %q takes no argument", name)
		}
		return Fault{}, fmt.Errorf("hostsim: fault %q needs an argument (%s:...)", name, name)
	}
	switch b.arg {
	case secondsArg:
		secs, err := strconv.ParseFloat(arg, 64)
		if err != nil || math.IsNaN(secs) || secs < 0 || secs > 3600 {
			return Fault{}, fmt.Errorf("hostsim: fault slow:N needs N seconds from 0 to 3600, got %q", arg)
		}
		f.Delay = time.Duration(secs * float64(time.Second))
	case fieldArg:
		n, err := strconv.Atoi(arg)
		if err != nil || n < 2 || n > 128 || n == 39 || n == 64 || n == 128 {
			return Fault{}, fmt.Errorf("hostsim: fault echo:N needs a field from 2 to 127 other than 39 and 64, got %q", arg)
		}
		f.Field = n
	case codeArg:
		if len(arg) != 2 || strings.Trim(arg, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return Fault{}, fmt.Errorf("hostsim: fault code:XX needs two digits or capital letters, got %q", arg)
		}
		f.Code = arg
	}
	if !hasSel {
		return f, nil
	}
	if m == Down {
		return Fault{}, fmt.Errorf("hostsim: fault down cannot be limited to a message: it refuses connections")
	}
	mti, nth, hasNth := strings.Cut(sel, "#")
	if len(mti) != 4 || strings.Trim(mti, "0123456789") != "" {
		return Fault{}, fmt.Errorf("hostsim: fault %q: @%s is not a 4-digit MTI", s, mti)
	}
	f.MTI = mti
	if hasNth {
		n, err := strconv.Atoi(nth)
		if err != nil || n < 1 || n > 1_000_000 {
			return Fault{}, fmt.Errorf("hostsim: fault %q: #%s is not a count from 1", s, nth)
		}
		f.Nth = n
	}
	return f, nil
}

// applies reports whether the fault applies to the seen-th request (from 1)
// of MTI mti since it was set.
func (f Fault) applies(mti string, seen int) bool {
	switch {
	case f.MTI == "":
		return true
	case f.MTI != mti:
		return false
	}
	return f.Nth == 0 || f.Nth == seen
}
