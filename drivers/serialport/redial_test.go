package serialport

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRedial: a line that cannot be opened is tried again no sooner than the backoff
// (so a reader looping on an unplugged device does not spin); once the device is back
// the line opens fresh, and a dropped line reopens; Close ends a wait at once.
func TestRedial(t *testing.T) {
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	tries, present := 0, false
	r := NewRedial(func() (Port, error) {
		tries++
		if !present {
			return nil, errors.New("no such device")
		}
		return Open(pty.Path(), Config{Baud: 9600})
	}, 10*time.Millisecond)
	ctx := context.Background()
	if _, _, err := r.Get(ctx); err == nil {
		t.Fatal("Get with the device absent succeeded")
	}
	start := time.Now()
	r.Get(ctx) // waits out the backoff before trying
	if waited := time.Since(start); waited < MinBackoff/2 || tries != 2 {
		t.Errorf("second attempt after %v (%d tries); want it held back by the backoff", waited, tries)
	}
	present = true
	p, fresh, err := r.Get(ctx)
	if err != nil || !fresh || r.Path() != pty.Path() {
		t.Fatalf("Get with the device back = %v, fresh %v, path %q; want a fresh line on %s", err, fresh, r.Path(), pty.Path())
	}
	if q, fresh, _ := r.Get(ctx); q != p || fresh {
		t.Errorf("second Get opened the line again; want the same one")
	}
	r.Drop(p)
	if _, fresh, err := r.Get(ctx); err != nil || !fresh {
		t.Errorf("Get after Drop = %v, fresh %v; want a fresh line", err, fresh)
	}
	present = false
	r.Drop(r.current())
	r.Get(ctx) // fails, arming the backoff
	done := make(chan error, 1)
	go func() { _, _, err := r.Get(ctx); done <- err }()
	time.Sleep(10 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLineClosed) {
			t.Errorf("Get waiting when Close came = %v; want ErrLineClosed", err)
		}
	case <-time.After(time.Second):
		t.Error("Close did not end the wait")
	}
}
