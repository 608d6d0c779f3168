// Package modem drives a cellular (4G) modem through its AT command interface, as
// specified by ITU-T V.250 (command syntax, final result codes) and 3GPP TS 27.007
// (+CPIN SIM state, +CSQ signal quality, +CREG/+CEREG registration, +COPS operator,
// +CGDCONT PDP context).
//
// The design names github.com/warthog618/modem's `at` package for this, but the module
// proxy this project builds from does not serve it; this package is the small subset of
// it the terminal needs, written to the same specs. Like that package it wants its port
// opened without a read timeout of its own: command deadlines are kept here.
package modem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"posfw/drivers/serialport"
)

// Device is the modem as the rest of the firmware sees it; *Modem is one.
type Device interface {
	// Signal is the received signal strength (AT+CSQ).
	Signal(ctx context.Context) (Signal, error)
	// Registration is the network registration state (AT+CEREG, else AT+CREG).
	Registration(ctx context.Context) (Registration, error)
	// SIMState is the SIM's state (AT+CPIN?): READY, SIM PIN, ...
	SIMState(ctx context.Context) (string, error)
	// Operator is the network's name (AT+COPS?).
	Operator(ctx context.Context) (string, error)
	// IMEI is the modem's IMEI (AT+CGSN).
	IMEI(ctx context.Context) (string, error)
	// DataActive reports whether PDP context 1 is active (AT+CGACT?).
	DataActive(ctx context.Context) (bool, error)
	// Activate activates PDP context 1 (AT+CGACT=1,1): the data session.
	Activate(ctx context.Context) error
	// Reattach detaches from the packet domain and attaches again (AT+CGATT=0, =1).
	Reattach(ctx context.Context) error
	// FunctionReset restarts the modem's radio and firmware (AT+CFUN=1,1); the port is
	// opened and the modem set up again at the next command.
	FunctionReset(ctx context.Context) error
	String() string
	// Close releases the port.
	Close() error
}

var _ Device = (*Modem)(nil)

// Modem is an AT command channel to one modem. Its methods are safe for concurrent use;
// commands are sent one at a time.
//
// It is built on an Opener rather than an open port: the port is opened, and the modem
// set up (echo off, numeric errors, the APN), by the first command, and again by the
// first command after the line failed (a USB modem unplugged or reset).
type Modem struct {
	mu      sync.Mutex
	open    serialport.Opener
	apn     string
	port    serialport.Port // nil until opened, and after the line failed
	buf     []byte
	timeout time.Duration
}

// Options set up a modem; the zero value is a modem without an APN.
type Options struct {
	// APN, when set, defines PDP context 1 as IP on it (AT+CGDCONT) each time the
	// port is opened.
	APN string
}

// ErrNoAnswer means the modem did not finish its answer before the deadline.
var ErrNoAnswer = errors.New("modem did not answer")

// CommandError is a final result code other than OK: ERROR, +CME ERROR: n, NO CARRIER...
type CommandError struct {
	Command string
	Result  string
}

func (e *CommandError) Error() string { return fmt.Sprintf("modem: AT%s: %s", e.Command, e.Result) }

// New returns a Modem on the line that open opens, with a per-command timeout of 5 s.
// An APN with a quote or a line break is refused here rather than sent.
func New(open serialport.Opener, o Options) (*Modem, error) {
	if strings.ContainsAny(o.APN, "\"\r\n") {
		return nil, fmt.Errorf("modem: APN %q contains a quote or line break", o.APN)
	}
	return &Modem{open: open, apn: o.APN, timeout: 5 * time.Second}, nil
}

// String names the device and, once opened, its port.
func (m *Modem) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.port == nil {
		return "modem"
	}
	return "modem on " + m.port.Path()
}

// Connect opens the port and sets the modem up now, if it is not, so that a missing
// modem is reported at start-up or in a self test.
func (m *Modem) Connect(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.connect(ctx)
}

// connect opens the port when it is not, and sets the modem up on it: echo off and
// numeric +CME errors, so that answers parse the same on every modem, and the APN.
func (m *Modem) connect(ctx context.Context) error {
	if m.port != nil {
		return nil
	}
	p, err := m.open()
	if err != nil {
		return fmt.Errorf("modem: %w", err)
	}
	m.port, m.buf = p, m.buf[:0]
	setup := []string{"E0", "+CMEE=1"}
	if m.apn != "" {
		setup = append(setup, fmt.Sprintf(`+CGDCONT=1,"IP","%s"`, m.apn))
	}
	for _, cmd := range setup {
		if _, err := m.command(ctx, cmd); err != nil {
			m.drop()
			return err
		}
	}
	return nil
}

// drop closes the port, so that the next command opens it again.
func (m *Modem) drop() {
	if m.port != nil {
		m.port.Close()
		m.port = nil
	}
}

// Close closes the port; a later command opens it again.
func (m *Modem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop()
	return nil
}

// finalResults are V.250 / 27.007 final result codes; the first is success.
var finalResults = []string{"OK", "ERROR", "+CME ERROR:", "+CMS ERROR:", "NO CARRIER", "NO DIALTONE", "BUSY", "NO ANSWER"}

// Command sends "AT"+cmd and returns the information lines of the answer (final result
// code and blank lines removed). A command echo, if echo is still on, is skipped.
func (m *Modem) Command(ctx context.Context, cmd string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.connect(ctx); err != nil {
		return nil, err
	}
	lines, err := m.command(ctx, cmd)
	var ce *CommandError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
		m.drop() // the line failed: the next command reopens it
	}
	return lines, err
}

// command sends "AT"+cmd on the open port and reads its answer.
func (m *Modem) command(ctx context.Context, cmd string) ([]string, error) {
	deadline := time.Now().Add(m.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if _, err := m.port.Write([]byte("AT" + cmd + "\r")); err != nil {
		return nil, fmt.Errorf("modem: AT%s: %w", cmd, err)
	}
	var info []string
	for {
		line, err := m.readLine(ctx, deadline)
		if err != nil {
			return nil, fmt.Errorf("modem: AT%s: %w", cmd, err)
		}
		switch {
		case line == "" || line == "AT"+cmd:
			continue
		case line == "OK":
			return info, nil
		case isFinal(line):
			return nil, &CommandError{Command: cmd, Result: line}
		}
		info = append(info, line)
	}
}

func isFinal(line string) bool {
	for _, f := range finalResults[1:] {
		if strings.HasPrefix(line, f) {
			return true
		}
	}
	return false
}

// readLine returns the next line the modem sent (without CR/LF).
func (m *Modem) readLine(ctx context.Context, deadline time.Time) (string, error) {
	chunk := make([]byte, 256)
	for {
		if i := bytes.IndexAny(m.buf, "\r\n"); i >= 0 {
			line := string(m.buf[:i])
			m.buf = m.buf[i+1:]
			return strings.TrimSpace(line), nil
		}
		if len(m.buf) > 4096 {
			m.buf = m.buf[:0]
			return "", errors.New("answer line longer than 4096 bytes")
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", ErrNoAnswer
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		// Wake up at least every 100 ms to honour ctx.
		if err := m.port.SetReadTimeout(min(left, 100*time.Millisecond)); err != nil {
			return "", err
		}
		n, err := m.port.Read(chunk)
		m.buf = append(m.buf, chunk[:n]...)
		if err != nil && !errors.Is(err, serialport.ErrTimeout) {
			return "", err
		}
	}
}

// Signal is the received signal strength of AT+CSQ.
type Signal struct {
	// RSSI is 0..31 (−113 dBm + 2×RSSI), or 99 when not known or not detectable.
	RSSI int
	// BER is the bit error rate class 0..7, or 99 when not known.
	BER int
}

// barThresholds: the lowest RSSI for 1, 2, 3 and 4 bars (−109, −93, −83, −73 dBm).
var barThresholds = []int{2, 10, 15, 20}

// Bars is the 0–4 bar strength shown on the idle screen.
func (s Signal) Bars() int {
	if s.RSSI == 99 {
		return 0
	}
	bars := 0
	for _, th := range barThresholds {
		if s.RSSI >= th {
			bars++
		}
	}
	return bars
}

// DBm is the signal strength in dBm, and false when unknown.
func (s Signal) DBm() (int, bool) {
	if s.RSSI == 99 {
		return 0, false
	}
	return -113 + 2*s.RSSI, true
}

// Signal asks AT+CSQ.
func (m *Modem) Signal(ctx context.Context) (Signal, error) {
	vals, err := m.query(ctx, "+CSQ", "+CSQ:")
	if err != nil {
		return Signal{}, err
	}
	return ParseCSQ(vals)
}

// ParseCSQ parses the values of a "+CSQ: <rssi>,<ber>" line.
func ParseCSQ(vals string) (Signal, error) {
	f, err := ints(vals, 2)
	if err != nil {
		return Signal{}, fmt.Errorf("modem: +CSQ %q: %v", vals, err)
	}
	s := Signal{RSSI: f[0], BER: f[1]}
	if (s.RSSI > 31 && s.RSSI != 99) || s.RSSI < 0 || (s.BER > 7 && s.BER != 99) || s.BER < 0 {
		return Signal{}, fmt.Errorf("modem: +CSQ %q: values out of range", vals)
	}
	return s, nil
}

// Registration is the network registration state of +CREG / +CEREG (3GPP TS 27.007 §7.2).
type Registration int

// Registration states.
const (
	NotRegistered Registration = 0
	Home          Registration = 1
	Searching     Registration = 2
	Denied        Registration = 3
	Unknown       Registration = 4
	Roaming       Registration = 5
)

var registrationNames = map[Registration]string{
	NotRegistered: "not registered", Home: "registered (home)", Searching: "searching",
	Denied: "registration denied", Unknown: "unknown", Roaming: "registered (roaming)",
}

func (r Registration) String() string {
	if s, ok := registrationNames[r]; ok {
		return s
	}
	return "state " + strconv.Itoa(int(r))
}

// Registered reports whether the modem may carry data.
func (r Registration) Registered() bool { return r == Home || r == Roaming }

// Registration asks AT+CEREG? (LTE) and falls back to AT+CREG? on modems without it.
func (m *Modem) Registration(ctx context.Context) (Registration, error) {
	vals, err := m.query(ctx, "+CEREG?", "+CEREG:")
	var ce *CommandError
	if errors.As(err, &ce) {
		vals, err = m.query(ctx, "+CREG?", "+CREG:")
	}
	if err != nil {
		return 0, err
	}
	return ParseRegistration(vals)
}

// ParseRegistration parses "<n>,<stat>[,...]" of a +CREG?/+CEREG? answer.
func ParseRegistration(vals string) (Registration, error) {
	parts := strings.Split(vals, ",")
	if len(parts) < 2 {
		return 0, fmt.Errorf("modem: registration %q: want <n>,<stat>", vals)
	}
	st, err := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err != nil || st < 0 || st > 10 {
		return 0, fmt.Errorf("modem: registration %q: bad state", vals)
	}
	return Registration(st), nil
}

// SIMState asks AT+CPIN? and returns its code: "READY", "SIM PIN", "SIM PUK"...
func (m *Modem) SIMState(ctx context.Context) (string, error) {
	return m.query(ctx, "+CPIN?", "+CPIN:")
}

// Operator asks AT+COPS? and returns the operator name, or "" when not registered.
func (m *Modem) Operator(ctx context.Context) (string, error) {
	vals, err := m.query(ctx, "+COPS?", "+COPS:")
	if err != nil {
		return "", err
	}
	parts := strings.Split(vals, ",")
	if len(parts) < 3 {
		return "", nil
	}
	return strings.Trim(parts[2], `"`), nil
}

// IMEI asks AT+CGSN.
func (m *Modem) IMEI(ctx context.Context) (string, error) {
	lines, err := m.Command(ctx, "+CGSN")
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if len(l) == 15 && strings.Trim(l, "0123456789") == "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("modem: AT+CGSN: no IMEI in the answer")
}

// DataActive asks AT+CGACT? whether PDP context 1 is active.
func (m *Modem) DataActive(ctx context.Context) (bool, error) {
	lines, err := m.Command(ctx, "+CGACT?")
	if err != nil {
		return false, err
	}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "+CGACT:"); ok {
			cid, active, err := ParseCGACT(strings.TrimSpace(v))
			if err != nil {
				return false, err
			}
			if cid == 1 {
				return active, nil
			}
		}
	}
	return false, nil
}

// ParseCGACT parses the values of a "+CGACT: <cid>,<state>" line.
func ParseCGACT(vals string) (cid int, active bool, err error) {
	f, err := ints(vals, 2)
	if err != nil {
		return 0, false, fmt.Errorf("modem: +CGACT %q: %v", vals, err)
	}
	if f[0] < 1 || f[0] > 255 || (f[1] != 0 && f[1] != 1) {
		return 0, false, fmt.Errorf("modem: +CGACT %q: values out of range", vals)
	}
	return f[0], f[1] == 1, nil
}

// Activate activates PDP context 1 (AT+CGACT=1,1).
func (m *Modem) Activate(ctx context.Context) error {
	_, err := m.Command(ctx, "+CGACT=1,1")
	return err
}

// Reattach detaches from the packet domain and attaches again (AT+CGATT=0, AT+CGATT=1),
// the first thing to try when the network keeps the modem unregistered.
func (m *Modem) Reattach(ctx context.Context) error {
	if _, err := m.Command(ctx, "+CGATT=0"); err != nil {
		return err
	}
	_, err := m.Command(ctx, "+CGATT=1")
	return err
}

// FunctionReset has the modem restart (AT+CFUN=1,1). A USB modem's port goes away while
// it restarts, so the port is dropped either way: the next command opens it again and
// sets the modem up (echo, errors, APN).
func (m *Modem) FunctionReset(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.connect(ctx); err != nil {
		return err
	}
	_, err := m.command(ctx, "+CFUN=1,1")
	m.drop()
	return err
}

// query sends cmd and returns the values after prefix in the first line that has it.
func (m *Modem) query(ctx context.Context, cmd, prefix string) (string, error) {
	lines, err := m.Command(ctx, cmd)
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("modem: AT%s: answer has no %s line", cmd, prefix)
}

func ints(vals string, n int) ([]int, error) {
	parts := strings.Split(vals, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d values", n)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("value %d is not a number", i+1)
		}
		out[i] = v
	}
	return out, nil
}
