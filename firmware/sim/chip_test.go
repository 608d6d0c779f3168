package sim_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"posfw/drivers/chipreader"
	"posfw/drivers/emv/apdu"
	"posfw/firmware/config"
	"posfw/firmware/control"
	"posfw/firmware/sim"
	"posfw/ui"
)

// TestChipReaders: `simctl card insert NAME` puts a test card in the simulated chip
// reader's slot and `card tap NAME` in the contactless reader's field; over their PTYs
// the firmware's own reader drivers hear the card arrive, power it and select its
// payment applications; `card remove` takes it away. The chip reader's cable pulled and
// plugged back in, its driver finds it again by itself.
func TestChipReaders(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sim.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	term, err := sim.Start(ctx, sim.Options{DataDir: filepath.Join(dir, "var"), Control: sock,
		Config: config.Sim(), Lang: ui.English, Version: "test", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	card := func(args ...string) {
		t.Helper()
		resp, err := control.Call(sock, control.Request{Verb: "card", Args: args})
		if err != nil || !resp.OK {
			t.Fatalf("card %v = %+v, %v", args, resp, err)
		}
	}
	wait := func(r chipreader.Device, want chipreader.Event) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if e, err := r.Wait(wctx); err != nil || e != want {
			t.Fatalf("%v: event %q, %v; want %q", r, e, err, want)
		}
	}
	for _, tc := range []struct {
		how, name, pse string
		reader         chipreader.Device
		event          chipreader.Event
	}{
		{"insert", "chip", "1PAY.SYS.DDF01", term.Opened.Chip, chipreader.EventInserted},
		{"tap", "tap", "2PAY.SYS.DDF01", term.Opened.Contactless, chipreader.EventTapped},
	} {
		// The firmware listens first (its driver opens the line), then the card comes.
		got := make(chan chipreader.Event, 1)
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			e, _ := tc.reader.Wait(wctx)
			got <- e
		}()
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			resp, err := control.Call(sock, control.Request{Verb: "card", Args: []string{tc.how, tc.name}})
			if err == nil && resp.OK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("card %s %s = %+v, %v", tc.how, tc.name, resp, err)
			}
		}
		if e := <-got; e != tc.event {
			t.Fatalf("card %s %s: the firmware heard %q; want %q", tc.how, tc.name, e, tc.event)
		}
		if _, err := tc.reader.PowerOn(); err != nil {
			t.Fatalf("%v PowerOn: %v", tc.reader, err)
		}
		if r, err := apdu.Exchange(tc.reader, apdu.SelectByName([]byte(tc.pse), false).Bytes()); err != nil || !r.OK() {
			t.Errorf("SELECT %s through %v = %+v, %v; want 9000", tc.pse, tc.reader, r, err)
		}
		card("remove")
		wait(tc.reader, chipreader.EventRemoved)
		if _, err := tc.reader.Transmit(apdu.SelectByName([]byte(tc.pse), false).Bytes()); !errors.Is(err, chipreader.ErrNoCard) {
			t.Errorf("%v after the card left: %v; want ErrNoCard", tc.reader, err)
		}
	}
	if resp, _ := control.Call(sock, control.Request{Verb: "card", Args: []string{"insert", "no-such-card"}}); resp.OK {
		t.Error("card insert of an unknown card succeeded")
	}

	if err := term.Fault("chip=unplugged"); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Opened.Chip.PowerOn(); !errors.Is(err, chipreader.ErrDeviceGone) {
		t.Errorf("PowerOn on an unplugged chip reader = %v; want ErrDeviceGone", err)
	}
	if err := term.Fault("chip=ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Opened.Chip.PowerOn(); !errors.Is(err, chipreader.ErrNoCard) {
		t.Errorf("PowerOn on the replugged reader with no card = %v; want ErrNoCard (the reader answers again)", err)
	}
}
