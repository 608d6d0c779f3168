package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"posfw/board"
	"posfw/drivers/gpio"
	"posfw/drivers/modem"
)

// ModemStatus is what the idle screen and simctl state show of the data link.
type ModemStatus struct {
	// Bars is 0..4, or -1 when no modem answers.
	Bars         int
	Registration string
	// Data says the data session (PDP context) is up.
	Data bool
	// Recovery is the last rung of the recovery ladder tried while the link is down,
	// "" while it is up.
	Recovery string

	registered bool
}

// modemWatch keeps the data link up. It polls signal, registration and the data session
// for the idle screen and simctl state, brings the session up when the network is there,
// and climbs a recovery ladder when the link stays down (rungs). The driver opens (and
// after an unplug reopens) its port and sets the modem up by itself.
type modemWatch struct {
	m modem.Device
	// power is the modem's power key and reset line, nil when the GPIO lines are absent.
	power *gpio.ModemPower
	// wantData: an APN is configured, so the link is up only with a data session.
	wantData bool
	// after is the wait before the first rung; each later one waits twice the one before.
	after time.Duration
	// audit records a rung in the journal.
	audit func(ctx context.Context, detail string)
	log   *slog.Logger
	now   func() time.Time

	mu sync.Mutex
	st ModemStatus
	// since is when the link went down, or the last rung was tried; zero while up.
	since time.Time
	// rung is the next rung to try.
	rung int
}

var noModem = ModemStatus{Bars: -1, Registration: "no modem"}

// pollEvery is how often signal and registration are read.
const pollEvery = 3 * time.Second

// rungs is the recovery ladder of a data link that stays down, mildest first: each is
// tried after the link stayed down for its wait, then the ladder starts over.
var rungs = []struct {
	name string
	try  func(ctx context.Context, w *modemWatch) error
}{
	{"re-attach", func(ctx context.Context, w *modemWatch) error { return w.m.Reattach(ctx) }},
	{"function reset", func(ctx context.Context, w *modemWatch) error { return w.m.FunctionReset(ctx) }},
	{"reset pulse", func(ctx context.Context, w *modemWatch) error {
		if w.power == nil {
			return errNoPowerLines
		}
		return w.power.Reset(ctx)
	}},
	{"power cycle", func(ctx context.Context, w *modemWatch) error {
		if w.power == nil {
			return errNoPowerLines
		}
		if err := w.power.PowerOff(ctx); err != nil {
			return err
		}
		// The module needs its power-down to finish before the power key works again.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		return w.power.PowerOn(ctx)
	}},
}

var errNoPowerLines = errors.New("no modem power or reset line on this board")

func (l *modemWatch) run(ctx context.Context) {
	if !board.Present(l.m) {
		return // a terminal without a modem (on Ethernet, say): nothing to keep up
	}
	// Poll at least as often as the first rung's wait, so that its time is kept.
	every := min(pollEvery, l.after)
	for {
		l.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// step polls once, brings the data session up when it can, and climbs the ladder when
// the link has been down long enough.
func (l *modemWatch) step(ctx context.Context) {
	st := l.poll(ctx)
	if st.registered && l.wantData && !st.Data {
		if err := l.m.Activate(ctx); err != nil {
			l.log.Warn("data session not brought up", "modem", l.m.String(), "err", err)
		} else {
			st.Data = true
			l.log.Info("data session up", "modem", l.m.String())
		}
	}
	up := st.registered && (st.Data || !l.wantData)
	now := l.now()
	l.mu.Lock()
	switch {
	case up:
		l.since, l.rung = time.Time{}, 0
	case l.since.IsZero():
		l.since = now
	}
	try := -1
	if !up && now.Sub(l.since) >= l.after<<l.rung {
		try = l.rung
		l.rung = (l.rung + 1) % len(rungs)
		l.since = now
	}
	if !up {
		st.Recovery = l.st.Recovery
	}
	l.mu.Unlock()
	if try >= 0 {
		st.Recovery = rungs[try].name
		err := rungs[try].try(ctx, l)
		detail := "link down: " + rungs[try].name
		if err != nil {
			detail += " failed: " + err.Error()
		}
		l.log.Warn("modem recovery", "rung", rungs[try].name, "modem", l.m.String(), "err", err)
		l.audit(ctx, detail)
	}
	l.set(st)
}

// poll reads signal, registration and the data session once.
func (l *modemWatch) poll(ctx context.Context) ModemStatus {
	sig, err := l.m.Signal(ctx)
	if err == nil {
		var reg modem.Registration
		if reg, err = l.m.Registration(ctx); err == nil {
			bars := sig.Bars()
			if !reg.Registered() {
				bars = 0
			}
			if l.status().Bars == noModem.Bars {
				l.log.Info("modem ready", "modem", l.m.String())
			}
			st := ModemStatus{Bars: bars, Registration: reg.String(), registered: reg.Registered()}
			if st.registered && l.wantData {
				st.Data, _ = l.m.DataActive(ctx)
			}
			return st
		}
	}
	// Once, when it stops answering: the status of a modem down also names the recovery
	// rung under way, so it is compared by its bars.
	if ctx.Err() == nil && l.status().Bars != noModem.Bars {
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
