package update

import (
	"context"
	"net"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// notifySocket is a fake service manager: a real unixgram socket that records messages.
func notifySocket(t *testing.T) (string, func() []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return path, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotify(t *testing.T) {
	sock, got := notifySocket(t)
	if ok, err := Notify(envOf(map[string]string{"NOTIFY_SOCKET": sock}), "READY=1"); !ok || err != nil {
		t.Fatalf("Notify got %v, %v; want sent", ok, err)
	}
	if ok, err := Notify(envOf(nil), "READY=1"); ok || err != nil {
		t.Errorf("Notify without a socket got %v, %v; want nothing done", ok, err)
	}
	time.Sleep(50 * time.Millisecond)
	if g := got(); !reflect.DeepEqual(g, []string{"READY=1"}) {
		t.Errorf("socket got %q; want READY=1", g)
	}
}

func TestNewWatchdog(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want time.Duration
		err  bool
	}{
		{map[string]string{}, 0, false},
		{map[string]string{"NOTIFY_SOCKET": "/x"}, 0, false},
		{map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "2000000"}, 2 * time.Second, false},
		{map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"}, 2 * time.Second, false},
		{map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "8"}, 0, false},
		{map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "soon"}, 0, true},
	} {
		w, err := NewWatchdog(envOf(tc.env), 7, "ui", "journal")
		if (err != nil) != tc.err || w.Interval() != tc.want {
			t.Errorf("%v: got %v, %v; want interval %v, error %v", tc.env, w.Interval(), err, tc.want, tc.err)
		}
	}
}

// TestWatchdogFedOnlyWhileAllAlive: with the UI loop and the journal writer beating the
// service manager gets WATCHDOG=1; once the UI loop hangs (an injected hang: it stops
// beating) the feeding stops, and the stale part is reported.
func TestWatchdogFedOnlyWhileAllAlive(t *testing.T) {
	sock, got := notifySocket(t)
	w, err := NewWatchdog(envOf(map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "200000"}), 1, "ui", "journal")
	if err != nil || w == nil {
		t.Fatalf("NewWatchdog: %v, %v", w, err)
	}
	if s := w.Stale(); !reflect.DeepEqual(s, []string{"journal", "ui"}) {
		t.Errorf("before any beat, stale got %v; want both", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hang := make(chan struct{})
	beat := func(part string, stop <-chan struct{}) {
		for {
			w.Alive(part)
			select {
			case <-ctx.Done():
				return
			case <-stop:
				<-ctx.Done() // hung: never beats again
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	// Both parts are up before the feeding starts, as at the terminal's start.
	w.Alive("ui")
	w.Alive("journal")
	go beat("ui", hang)
	go beat("journal", nil)
	staleCh := make(chan []string, 4)
	go w.Run(ctx, func(s []string) { staleCh <- s })
	time.Sleep(500 * time.Millisecond)
	fed := len(got())
	if fed < 5 {
		t.Fatalf("while alive: %d WATCHDOG=1 in 500 ms; want at least 5 (every 50 ms)", fed)
	}
	for _, m := range got() {
		if m != "WATCHDOG=1" {
			t.Fatalf("socket got %q; want WATCHDOG=1 only", m)
		}
	}
	close(hang)
	select {
	case s := <-staleCh:
		if !reflect.DeepEqual(s, []string{"ui"}) {
			t.Errorf("stale got %v; want ui", s)
		}
	case <-time.After(time.Second):
		t.Fatal("the hung UI loop was not noticed")
	}
	n := len(got())
	time.Sleep(500 * time.Millisecond)
	if extra := len(got()) - n; extra != 0 {
		t.Errorf("after the hang: %d more WATCHDOG=1; want none (systemd must restart us)", extra)
	}
	if n-fed > 6 {
		t.Errorf("%d WATCHDOG=1 after the hang began; want only those within one interval", n-fed)
	}
}

// TestWatchdogNil: code that wires the watchdog need not check whether systemd gave one.
func TestWatchdogNil(t *testing.T) {
	var w *Watchdog
	w.Alive("ui")
	if w.Stale() != nil || w.Interval() != 0 {
		t.Error("nil watchdog is not inert")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Run(ctx, nil); err != nil {
		t.Error(err)
	}
}
