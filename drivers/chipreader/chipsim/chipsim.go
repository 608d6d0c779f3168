// Package chipsim is a simulated chip card reader (package chipreader's frames) over any
// byte stream — in posfw sim, the controller end of a pseudo-terminal. The card in it is
// any apdu.Card, such as a cardsim card: the reader passes APDUs through and reports
// cards arriving and leaving, as a reader module does.
package chipsim

import (
	"errors"
	"io"
	"sync"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/apdu"
)

// Sim is one simulated reader. Cards are presented and removed while it serves.
type Sim struct {
	mu      sync.Mutex
	card    apdu.Card // nil: no card
	powered bool
	w       io.Writer // the line being served, for events
}

// New returns a reader with no card.
func New() *Sim { return &Sim{} }

// ErrNotServing is returned when a card is presented to a reader nobody is connected to.
var ErrNotServing = errors.New("chipsim: the reader is not connected")

// Present puts card in the reader — inserted in the slot (chipreader.EventInserted) or
// held to the field (EventTapped) — in place of any card there, and tells the terminal.
func (s *Sim) Present(card apdu.Card, how chipreader.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return ErrNotServing
	}
	s.card, s.powered = card, false
	return s.event(how)
}

// Remove takes the card out (or away from the field) and tells the terminal.
func (s *Sim) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.card == nil {
		return nil
	}
	if s.powered {
		s.card.PowerOff()
	}
	s.card, s.powered = nil, false
	if s.w == nil {
		return nil
	}
	return s.event(chipreader.EventRemoved)
}

// event writes an event frame; s.mu is held.
func (s *Sim) event(e chipreader.Event) error {
	f, _ := chipreader.Encode(chipreader.CmdEvent, []byte{byte(e)})
	_, err := s.w.Write(f)
	return err
}

// Serve answers the terminal's requests on rw until it fails (the PTY closed).
func (s *Sim) Serve(rw io.ReadWriter) error {
	s.mu.Lock()
	s.w = rw
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.w == rw {
			s.w = nil
		}
		s.mu.Unlock()
	}()
	var dec chipreader.Decoder
	buf := make([]byte, 1024)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		frames, errs := dec.Feed(buf[:n])
		for range errs {
			s.answer(rw, 0, chipreader.StatusBad, nil)
		}
		for _, f := range frames {
			status, data := s.handle(f[0], f[1:])
			if err := s.answer(rw, f[0], status, data); err != nil {
				return err
			}
		}
	}
}

func (s *Sim) answer(w io.Writer, cmd, status byte, data []byte) error {
	f, err := chipreader.Encode(cmd|chipreader.Answer, append([]byte{status}, data...))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = w.Write(f)
	return err
}

// handle carries out one request.
func (s *Sim) handle(cmd byte, data []byte) (byte, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cmd != chipreader.CmdPowerOn && cmd != chipreader.CmdTransmit && cmd != chipreader.CmdPowerOff {
		return chipreader.StatusBad, nil
	}
	if s.card == nil {
		return chipreader.StatusNoCard, nil
	}
	switch cmd {
	case chipreader.CmdPowerOn:
		atr, err := s.card.PowerOn()
		if err != nil {
			return chipreader.StatusMute, nil
		}
		s.powered = true
		return chipreader.StatusOK, atr
	case chipreader.CmdTransmit:
		if !s.powered {
			return chipreader.StatusPowered, nil
		}
		resp, err := s.card.Transmit(data)
		if err != nil {
			return chipreader.StatusMute, nil
		}
		return chipreader.StatusOK, resp
	default:
		s.powered = false
		s.card.PowerOff()
		return chipreader.StatusOK, nil
	}
}
