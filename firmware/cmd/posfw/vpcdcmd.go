package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"posfw/drivers/emv/cardsim"
	"posfw/drivers/emv/vpcd"
)

// runVpcd puts a test chip card into vsmartcard's virtual PC/SC reader, so that the
// terminal (a board whose chip port is "pcsc:Virtual PCD"), pcsc_scan or any PC/SC
// program sees the simulator as a card in a real reader. Ctrl-C takes the card out.
func runVpcd(e *env, args []string) error {
	fs := e.flags("vpcd")
	name := fs.String("card", "chip", "the test card: "+strings.Join(cardsim.Names(), ", "))
	addr := fs.String("addr", vpcd.DefaultAddr, "vpcd's address for its reader (port 35963: \"Virtual PCD 00 00\", 35964: \"Virtual PCD 00 01\")")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageError{fmt.Sprintf("--addr %q is not host:port", *addr)}
	}
	card, err := cardsim.Open(*name)
	if err != nil {
		return usageError{fmt.Sprintf("--card: %v (have %s)", err, strings.Join(cardsim.Names(), ", "))}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for first := true; ; first = false {
		conn, err := (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, "tcp", *addr)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && first:
			return fmt.Errorf("no virtual reader at %s: is pcscd running with vsmartcard-vpcd? (%v)", *addr, err)
		case err == nil:
			fmt.Fprintf(e.stderr, "posfw vpcd: card %s is in the virtual reader at %s; Ctrl-C takes it out\n", *name, *addr)
			err = vpcd.New(card).Serve(ctx, conn)
			if ctx.Err() != nil {
				fmt.Fprintf(e.stderr, "posfw vpcd: card %s taken out\n", *name)
				return nil
			}
			// pcscd restarted: the card goes back in when the reader is there again.
			fmt.Fprintf(e.stderr, "posfw vpcd: %v; inserting the card again when the reader is back\n", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
