// Package modemsim is a simulated Quectel-class LTE modem: it answers the AT commands of
// ITU-T V.250 and 3GPP TS 27.007 that package modem sends, byte for byte as such a modem
// does (command echo until ATE0, CR LF framing, OK / ERROR / +CME ERROR final codes), over
// any byte stream — in posfw sim, the controller end of a pseudo-terminal.
package modemsim

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Sim is one simulated modem. Its fault state can be changed while it serves.
type Sim struct {
	mu       sync.Mutex
	echo     bool
	cmee     bool
	rssi     int
	noSignal bool
	apn      string
	attached bool // packet domain attached (AT+CGATT)
	active   bool // PDP context 1 active (AT+CGACT)
	stuck    Recovery
	off      bool // powered down with the power key: it answers nothing
	// Recoveries counts what was done to the modem, by kind, for tests.
	recoveries map[Recovery]int
	// IMEI and ICCID the modem reports.
	IMEI, ICCID string
}

// New returns a modem with a good signal (RSSI 24, about −65 dBm), a ready SIM, echo on.
func New() *Sim {
	return &Sim{echo: true, rssi: 24, attached: true, IMEI: "861234050012345", ICCID: "89860012345678901234",
		recoveries: map[Recovery]int{}}
}

// Recovery is what brings a stuck modem back, from the mildest to the hardest.
type Recovery int

// Recoveries, in the order a terminal escalates through them.
const (
	NotStuck Recovery = iota
	ByReattach
	ByFunctionReset
	ByResetPulse
	ByPowerCycle
)

var recoveryNames = []string{"ok", "reattach", "cfun", "reset", "power"}

func (r Recovery) String() string {
	if int(r) < len(recoveryNames) {
		return recoveryNames[r]
	}
	return fmt.Sprintf("recovery(%d)", int(r))
}

// ParseRecovery reads a Recovery by its name: reattach, cfun, reset or power.
func ParseRecovery(name string) (Recovery, error) {
	for i, n := range recoveryNames[1:] {
		if n == name {
			return Recovery(i + 1), nil
		}
	}
	return 0, fmt.Errorf("modemsim: unknown recovery %q (want reattach, cfun, reset or power)", name)
}

// SetStuck has the modem stay unregistered ("searching") until a recovery at least as
// hard as r is done to it, as a modem whose network stack hung: r = ByReattach clears
// with AT+CGATT=0/1, ByFunctionReset needs AT+CFUN=1,1, ByResetPulse a pulse on its
// reset line, ByPowerCycle a power-off and power-on. NotStuck clears it.
func (s *Sim) SetStuck(r Recovery) {
	s.mu.Lock()
	s.stuck = r
	s.mu.Unlock()
}

// Recovered counts the recoveries of kind r done to the modem.
func (s *Sim) Recovered(r Recovery) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recoveries[r]
}

// recover records r and clears a stuck state r is hard enough for; s.mu is held.
func (s *Sim) recover(r Recovery) {
	s.recoveries[r]++
	if s.stuck != NotStuck && r >= s.stuck {
		s.stuck = NotStuck
	}
	if r >= ByFunctionReset { // the modem restarted: as it comes out of the box
		s.echo, s.cmee, s.apn, s.active, s.attached = true, false, "", false, true
	}
}

// ResetPulse is a pulse on the modem's reset line (RESET_N).
func (s *Sim) ResetPulse() {
	s.mu.Lock()
	s.recover(ByResetPulse)
	s.mu.Unlock()
}

// PowerKey is a pulse on the modem's power key (PWRKEY): a modem that is on powers
// down and answers nothing; one that is off powers up as out of the box.
func (s *Sim) PowerKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off = !s.off; !s.off {
		s.recover(ByPowerCycle)
	}
}

// registered is the modem's registration now; s.mu is held.
func (s *Sim) registered() bool { return !s.noSignal && s.stuck == NotStuck && s.attached }

// SetNoSignal makes the modem lose (true) or regain (false) the network.
func (s *Sim) SetNoSignal(on bool) {
	s.mu.Lock()
	s.noSignal = on
	s.mu.Unlock()
}

// SetRSSI sets the reported signal strength (0..31).
func (s *Sim) SetRSSI(v int) {
	s.mu.Lock()
	s.rssi = v
	s.mu.Unlock()
}

// Serve answers commands read from rw until it fails (the PTY closed).
func (s *Sim) Serve(rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return err
		}
		line = strings.TrimLeft(line, "\n")
		cmd := strings.TrimSuffix(line, "\r")
		var out strings.Builder
		s.mu.Lock()
		if s.off {
			s.mu.Unlock()
			continue
		}
		if s.echo {
			out.WriteString(line)
		}
		s.mu.Unlock()
		out.WriteString(s.answer(cmd))
		if _, err := io.WriteString(rw, out.String()); err != nil {
			return err
		}
	}
}

const ok = "\r\nOK\r\n"

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func info(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	return b.String() + ok
}

// answer is the modem's reply to one command line (without the CR).
func (s *Sim) answer(cmd string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	upper := strings.ToUpper(cmd)
	if !strings.HasPrefix(upper, "AT") {
		return "\r\nERROR\r\n"
	}
	switch body := upper[2:]; {
	case body == "":
		return ok
	case body == "E0" || body == "E1":
		s.echo = body == "E1"
		return ok
	case body == "+CMEE=0" || body == "+CMEE=1" || body == "+CMEE=2":
		s.cmee = body != "+CMEE=0"
		return ok
	case body == "I":
		return info("Quectel", "EC25", "Revision: EC25EFAR06A06M4G")
	case body == "+CPIN?":
		return info("+CPIN: READY")
	case body == "+CSQ":
		if s.noSignal {
			return info("+CSQ: 99,99")
		}
		return info(fmt.Sprintf("+CSQ: %d,99", s.rssi))
	case body == "+CREG?" || body == "+CEREG?":
		stat := 1
		if !s.registered() {
			stat = 2
		}
		return info(fmt.Sprintf("%s: 0,%d", strings.TrimSuffix(body, "?"), stat))
	case body == "+COPS?":
		if s.noSignal {
			return info("+COPS: 0")
		}
		return info(`+COPS: 0,0,"CHINA MOBILE",7`)
	case body == "+CGSN":
		return info(s.IMEI)
	case body == "+QCCID" || body == "+CCID":
		return info("+" + body[1:] + ": " + s.ICCID)
	case strings.HasPrefix(body, `+CGDCONT=1,"IP","`) && strings.HasSuffix(body, `"`):
		// Keep the APN's original case.
		s.apn = strings.TrimSuffix(cmd[len(`AT+CGDCONT=1,"IP","`):], `"`)
		return ok
	case body == "+CGATT?":
		return info(fmt.Sprintf("+CGATT: %d", b2i(s.attached)))
	case body == "+CGATT=0":
		s.attached, s.active = false, false
		return ok
	case body == "+CGATT=1":
		if s.noSignal {
			return "\r\n+CME ERROR: 30\r\n" // no network service
		}
		if !s.attached {
			s.recover(ByReattach)
		}
		s.attached = true
		return ok
	case body == "+CGACT?":
		return info(fmt.Sprintf("+CGACT: 1,%d", b2i(s.active)))
	case body == "+CGACT=1,1":
		if !s.registered() || s.apn == "" {
			return "\r\n+CME ERROR: 30\r\n"
		}
		s.active = true
		return ok
	case body == "+CFUN=1,1":
		s.recover(ByFunctionReset)
		return ok
	case body == "+CGDCONT?":
		return info(fmt.Sprintf(`+CGDCONT: 1,"IP","%s","0.0.0.0",0,0`, s.apn))
	}
	if s.cmee {
		return "\r\n+CME ERROR: 58\r\n" // 58: unknown
	}
	return "\r\nERROR\r\n"
}
