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
	// IMEI and ICCID the modem reports.
	IMEI, ICCID string
}

// New returns a modem with a good signal (RSSI 24, about −65 dBm), a ready SIM, echo on.
func New() *Sim {
	return &Sim{echo: true, rssi: 24, IMEI: "861234050012345", ICCID: "89860012345678901234"}
}

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
		if s.noSignal {
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
	case body == "+CGDCONT?":
		return info(fmt.Sprintf(`+CGDCONT: 1,"IP","%s","0.0.0.0",0,0`, s.apn))
	}
	if s.cmee {
		return "\r\n+CME ERROR: 58\r\n" // 58: unknown
	}
	return "\r\nERROR\r\n"
}
