package chipsim

import (
	"time"

	"posfw/drivers/emv/apdu"
)

// Speed is how fast a card in a reader answers: the time each byte takes on the card's
// line (both ways), a fixed cost per command (the reader's framing, the protocol's
// turnaround), and the card's own processing time by instruction. The zero Speed is
// instant: a simulated card answers as fast as the simulator runs.
type Speed struct {
	Name     string
	ByteTime time.Duration
	PerAPDU  time.Duration
	PowerOn  time.Duration          // activation and the ATR
	Process  map[byte]time.Duration // by INS
	Default  time.Duration          // an instruction not in Process
}

// The reference speeds the simulator's cards work at, so that "insert to result" and
// "tap to result" (DESIGN §10) are measured against a card as slow as a real one. They
// are this project's assumptions, written down in docs/decisions.md, not measurements
// of a particular card:
//
//   - Contact: ISO/IEC 7816-3 T=0 after a PPS to TA1 = 18 (F = 372, D = 12) at a 3.57 MHz
//     clock, 115,200 bit/s; 12 etu a byte, so 104 µs. The card: 10 ms a SELECT, 8 ms a
//     READ RECORD, 30 ms GET PROCESSING OPTIONS, 150 ms INTERNAL AUTHENTICATE (an RSA-1024
//     signature), 50 ms a GENERATE AC (3DES), 20 ms EXTERNAL AUTHENTICATE, 30 ms a script
//     command; 40 ms to power on.
//   - Contactless: ISO/IEC 14443 at 106 kbit/s, 9 bits a byte plus framing, about 100 µs a
//     byte and 1 ms a command; the qPBOC card computes its cryptogram and fDDA signature in
//     GET PROCESSING OPTIONS, 120 ms; 5 ms a SELECT or READ RECORD; 10 ms to activate.
var (
	ContactReference = Speed{Name: "reference contact", ByteTime: 104167 * time.Nanosecond, PerAPDU: time.Millisecond,
		PowerOn: 40 * time.Millisecond, Default: 30 * time.Millisecond, Process: map[byte]time.Duration{
			0xA4: 10 * time.Millisecond, 0xB2: 8 * time.Millisecond, 0xCA: 8 * time.Millisecond,
			0xA8: 30 * time.Millisecond, 0x88: 150 * time.Millisecond, 0xAE: 50 * time.Millisecond,
			0x82: 20 * time.Millisecond,
		}}
	ContactlessReference = Speed{Name: "reference contactless", ByteTime: 100 * time.Microsecond, PerAPDU: time.Millisecond,
		PowerOn: 10 * time.Millisecond, Default: 5 * time.Millisecond, Process: map[byte]time.Duration{
			0xA8: 120 * time.Millisecond, 0xAE: 50 * time.Millisecond,
		}}
)

// Paced returns card answering at speed s.
func Paced(card apdu.Card, s Speed) apdu.Card { return &paced{Card: card, s: s} }

type paced struct {
	apdu.Card
	s Speed
}

// sleep waits d; Go's timers are good to well under the millisecond these are.
func sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func (p *paced) PowerOn() ([]byte, error) {
	atr, err := p.Card.PowerOn()
	sleep(p.s.PowerOn + time.Duration(len(atr))*p.s.ByteTime)
	return atr, err
}

func (p *paced) Transmit(cmd []byte) ([]byte, error) {
	resp, err := p.Card.Transmit(cmd)
	d := p.s.PerAPDU + time.Duration(len(cmd)+len(resp))*p.s.ByteTime
	if len(cmd) >= 2 {
		t, ok := p.s.Process[cmd[1]]
		if !ok {
			t = p.s.Default
		}
		d += t
	}
	sleep(d)
	return resp, err
}
