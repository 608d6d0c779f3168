package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"posfw/drivers/modem"
)

// ModemStatus is what the idle screen and simctl state show of the data link.
type ModemStatus struct {
	// Bars is 0..4, or -1 when no modem answers.
	Bars         int
	Registration string
}

// modemWatch polls the modem's signal and registration for the idle screen and simctl
// state. The driver opens (and after an unplug reopens) its port and sets the modem up
// by itself; a poll that fails only shows "no modem" until one succeeds again.
type modemWatch struct {
	m   modem.Device
	log *slog.Logger

	mu sync.Mutex
	st ModemStatus
}

func newModemWatch(m modem.Device, log *slog.Logger) *modemWatch {
	return &modemWatch{m: m, log: log, st: noModem}
}

var noModem = ModemStatus{Bars: -1, Registration: "no modem"}

// pollEvery is how often signal and registration are read.
const pollEvery = 3 * time.Second

func (l *modemWatch) run(ctx context.Context) {
	for {
		l.set(l.poll(ctx))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollEvery):
		}
	}
}

// poll reads signal and registration once.
func (l *modemWatch) poll(ctx context.Context) ModemStatus {
	sig, err := l.m.Signal(ctx)
	if err == nil {
		var reg modem.Registration
		if reg, err = l.m.Registration(ctx); err == nil {
			bars := sig.Bars()
			if !reg.Registered() {
				bars = 0
			}
			if l.status() == noModem {
				l.log.Info("modem ready", "modem", l.m.String())
			}
			return ModemStatus{Bars: bars, Registration: reg.String()}
		}
	}
	if ctx.Err() == nil && l.status() != noModem {
		l.log.Warn("modem not answering", "modem", l.m.String(), "err", err)
	}
	return noModem
}

func (l *modemWatch) set(s ModemStatus) {
	l.mu.Lock()
	changed := l.st != s
	l.st = s
	l.mu.Unlock()
	if changed {
		l.log.Info("modem status", "bars", s.Bars, "registration", s.Registration)
	}
}

func (l *modemWatch) status() ModemStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// report queries the modem now, for the technician's modem screen.
func (l *modemWatch) report(ctx context.Context) ([]string, error) {
	m := l.m
	sim, err := m.SIMState(ctx)
	if err != nil {
		return nil, err
	}
	sig, err := m.Signal(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := m.Registration(ctx)
	if err != nil {
		return nil, err
	}
	op, _ := m.Operator(ctx)
	imei, _ := m.IMEI(ctx)
	dbm := "unknown"
	if v, ok := sig.DBm(); ok {
		dbm = fmt.Sprintf("%d dBm", v)
	}
	return []string{
		"SIM " + sim,
		fmt.Sprintf("Signal %d/4 %s", sig.Bars(), dbm),
		reg.String(),
		"Operator " + op,
		"IMEI " + imei,
	}, nil
}
