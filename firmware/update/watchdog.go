package update

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Notify sends state (READY=1, STOPPING=1, STATUS=..., WATCHDOG=1) to the service
// manager's notify socket named by NOTIFY_SOCKET (sd_notify(3)). Without one (not under
// systemd) it does nothing and reports false.
func Notify(getenv func(string) string, state string) (bool, error) {
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return false, nil
	}
	if sock[0] == '@' {
		sock = "\x00" + sock[1:] // abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("notify socket: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("notify socket: %w", err)
	}
	return true, nil
}

// Watchdog feeds systemd's watchdog (WatchdogSec) only while every named part of the
// terminal shows it is alive: each part calls Alive at least once per half interval
// (the UI loop on each pass and on an idle tick, the journal writer after each commit
// and on an idle ping). A part that stops beating — a UI loop stuck, a journal writer
// blocked on a dead disk — stops the feeding, and systemd restarts the service.
type Watchdog struct {
	getenv   func(string) string
	interval time.Duration // WATCHDOG_USEC
	parts    []string

	mu    sync.Mutex
	beats map[string]time.Time
	now   func() time.Time
}

// NewWatchdog makes the watchdog of the parts named, from the environment systemd gives
// a service (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). It returns nil, nil when the
// service has no watchdog: Alive and Run on a nil Watchdog do nothing.
func NewWatchdog(getenv func(string) string, pid int, parts ...string) (*Watchdog, error) {
	us := getenv("WATCHDOG_USEC")
	if us == "" || getenv("NOTIFY_SOCKET") == "" {
		return nil, nil
	}
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		return nil, nil // meant for another process (the launcher's exec keeps the pid)
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("WATCHDOG_USEC=%q is not a positive number", us)
	}
	if len(parts) == 0 {
		return nil, errors.New("watchdog with no part to watch")
	}
	w := &Watchdog{getenv: getenv, interval: time.Duration(n) * time.Microsecond, parts: parts, beats: map[string]time.Time{}, now: time.Now}
	return w, nil
}

// Interval is systemd's watchdog interval; parts beat at least every Interval/2.
func (w *Watchdog) Interval() time.Duration {
	if w == nil {
		return 0
	}
	return w.interval
}

// Alive records that part is alive now.
func (w *Watchdog) Alive(part string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.beats[part] = w.now()
	w.mu.Unlock()
}

// Stale lists the parts that have not beaten within the interval (never, or too long ago).
func (w *Watchdog) Stale() []string {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var stale []string
	now := w.now()
	for _, p := range w.parts {
		if t, ok := w.beats[p]; !ok || now.Sub(t) > w.interval {
			stale = append(stale, p)
		}
	}
	sort.Strings(stale)
	return stale
}

// Run feeds the watchdog every Interval/4 while no part is stale, until ctx ends. onStale,
// if not nil, is told which parts stopped it (for the log), once per stop.
func (w *Watchdog) Run(ctx context.Context, onStale func([]string)) error {
	if w == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(w.interval / 4)
	defer tick.Stop()
	fed := true
	for {
		if stale := w.Stale(); len(stale) == 0 {
			if _, err := Notify(w.getenv, "WATCHDOG=1"); err != nil {
				return err
			}
			fed = true
		} else if fed {
			fed = false
			if onStale != nil {
				onStale(stale)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
