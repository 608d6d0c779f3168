package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"posfw/board"
	"posfw/drivers/modem"
	"posfw/drivers/serialport"
)

// ModemStatus is what the idle screen and simctl state show of the data link.
type ModemStatus struct {
	// Bars is 0..4, or -1 when no modem answers.
	Bars         int
	Registration string
}

// modemLink keeps the modem initialised: it opens the board's modem port, sets the APN,
// polls signal and registration, and starts over when the modem drops or its port
// disappears.
type modemLink struct {
	board *board.Board
	apn   string
	log   *slog.Logger

	mu   sync.Mutex
	port serialport.Port
	m    *modem.Modem
	st   ModemStatus
}

func newModemLink(b *board.Board, apn string, log *slog.Logger) *modemLink {
	return &modemLink{board: b, apn: apn, log: log, st: ModemStatus{Bars: -1, Registration: "no modem"}}
}

// pollEvery is how often signal and registration are read.
const pollEvery = 3 * time.Second

func (l *modemLink) run(ctx context.Context) {
	for {
		err := l.session(ctx)
		l.close()
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("modem link down", "err", err)
		l.set(ModemStatus{Bars: -1, Registration: "no modem"})
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// session opens and initialises the modem and polls it until it fails.
func (l *modemLink) session(ctx context.Context) error {
	port, err := l.board.OpenSerial("modem")
	if err != nil {
		return err
	}
	m := modem.New(port)
	l.mu.Lock()
	l.port, l.m = port, m
	l.mu.Unlock()
	if err := m.Init(ctx); err != nil {
		return err
	}
	if l.apn != "" {
		if err := m.SetAPN(ctx, l.apn); err != nil {
			return err
		}
	}
	l.log.Info("modem ready", "port", port.Path())
	for {
		sig, err := m.Signal(ctx)
		if err != nil {
			return err
		}
		reg, err := m.Registration(ctx)
		if err != nil {
			return err
		}
		bars := sig.Bars()
		if !reg.Registered() {
			bars = 0
		}
		l.set(ModemStatus{Bars: bars, Registration: reg.String()})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func (l *modemLink) set(s ModemStatus) {
	l.mu.Lock()
	changed := l.st != s
	l.st = s
	l.mu.Unlock()
	if changed {
		l.log.Info("modem status", "bars", s.Bars, "registration", s.Registration)
	}
}

func (l *modemLink) status() ModemStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// report queries the modem now, for the technician's modem screen.
func (l *modemLink) report(ctx context.Context) ([]string, error) {
	l.mu.Lock()
	m := l.m
	l.mu.Unlock()
	if m == nil {
		return nil, errors.New("modem not connected")
	}
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

func (l *modemLink) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.port != nil {
		l.port.Close()
	}
	l.port, l.m = nil, nil
}
