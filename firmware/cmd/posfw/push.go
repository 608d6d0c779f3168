package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"posfw/drivers/serialport"
	"posfw/firmware/update"
)

// PushPort is the terminal's TCP port for pushes.
const PushPort = 7411

// runPush sends a bundle from the technician's laptop to a terminal: over TLS to the
// terminal's pinned certificate, or over a serial cable. A push that was cut resumes
// where the terminal stopped when the same command is run again.
func runPush(e *env, args []string) error {
	fs := e.flags("push")
	to := fs.String("to", "", "terminal's address HOST[:PORT] (port "+strconv.Itoa(PushPort)+" by default)")
	pin := fs.String("pin", "", "with --to: the terminal's certificate pin (64 hex digits, shown by `posfw update receive` and on its Technician screen)")
	serial := fs.String("serial", "", "serial port of the cable to the terminal (e.g. /dev/ttyUSB0)")
	baud := fs.Int("baud", 115200, "with --serial: line rate")
	var pos []string
	for {
		if err := e.parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usageError{"name one bundle to push"}
	}
	if (*to == "") == (*serial == "") {
		return usageError{"give --to HOST[:PORT] or --serial PORT"}
	}
	if _, err := os.Stat(pos[0]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c update.Conn
	if *to != "" {
		if len(*pin) != 64 {
			return usageError{"--pin is required with --to: the terminal's certificate pin, 64 hex digits"}
		}
		addr := *to
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, strconv.Itoa(PushPort))
		}
		nc, err := update.DialPinned(ctx, addr, *pin)
		if err != nil {
			return err
		}
		defer nc.Close()
		c = update.NetConn(nc)
	} else {
		p, err := serialport.Open(*serial, serialport.Config{Baud: *baud})
		if err != nil {
			return err
		}
		defer p.Close()
		c = p
	}
	bar := newBar(e.stderr)
	start := time.Now()
	v, err := update.Push(ctx, c, pos[0], bar.update)
	bar.end()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return exitError{1, "push stopped: run the same command again to resume"}
		}
		return exitError{1, oneLine(err.Error()) + resumeHint(err)}
	}
	fmt.Fprintf(e.stdout, "pushed in %.1f s; the terminal installed posfw %s on trial: it starts at its next restart and confirms itself once healthy\n", time.Since(start).Seconds(), v)
	return nil
}

func resumeHint(err error) string {
	if strings.Contains(err.Error(), "refused") {
		return ""
	}
	return " (run the same command again to resume)"
}

// bar is the laptop's progress bar: redrawn in place on a terminal, every 10 % in a log.
type bar struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  int64
	shown bool
}

func newBar(w io.Writer) *bar {
	b := &bar{w: w, start: time.Now(), last: -1}
	if f, ok := w.(*os.File); ok {
		b.tty = term.IsTerminal(int(f.Fd()))
	}
	return b
}

func (b *bar) update(done, total int64) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	if !b.tty {
		if pct/10 != b.last/10 || b.last < 0 {
			fmt.Fprintf(b.w, "push: %3d%%  %d of %d bytes\n", pct, done, total)
			b.last = pct
		}
		return
	}
	if pct == b.last && done != total {
		return
	}
	b.last = pct
	const width = 30
	fill := int(pct * width / 100)
	rate := float64(done) / time.Since(b.start).Seconds() / 1024
	fmt.Fprintf(b.w, "\r[%s%s] %3d%%  %d/%d KiB  %.1f KiB/s ", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), pct, done/1024, total/1024, rate)
	b.shown = true
}

func (b *bar) end() {
	if b.tty && b.shown {
		fmt.Fprintln(b.w)
	}
}

// updateReceive is the terminal's side of a push: it takes bundles on a TLS port or a
// serial line until one is applied, printing the percentage as it comes.
func updateReceive(e *env, args []string) error {
	s := e.verbFlags("receive")
	root := rootFlag(s)
	listen := s.String("listen", "", "TLS address to listen on, e.g. :"+strconv.Itoa(PushPort))
	serial := s.String("serial", "", "serial port the technician's cable is on")
	baud := s.Int("baud", 115200, "with --serial: line rate")
	idle := s.Duration("idle", 5*time.Second, "a push silent this long is cut (what came is kept)")
	pos, err := s.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if (*listen == "") == (*serial == "") {
		return usageError{"give --listen ADDR or --serial PORT"}
	}
	r := update.Root{Dir: *root}
	keys, err := trusted()
	if err != nil {
		return err
	}
	t, err := target(r)
	if err != nil {
		return err
	}
	last := int64(-1)
	rv := &update.Receiver{Root: r, Keys: keys, Target: t, Idle: *idle, Progress: func(done, total int64) {
		if pct := done * 100 / total; pct/10 != last/10 || last < 0 {
			fmt.Fprintf(e.stdout, "receiving %d%%\n", pct)
			last = pct
		}
	}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := func(m update.Manifest) error {
		fmt.Fprintf(e.stdout, "installed posfw %s on trial: restart posfw to start it\n", m.Version)
		return nil
	}
	if *serial != "" {
		p, err := serialport.Open(*serial, serialport.Config{Baud: *baud})
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); p.Close() }()
		for {
			last = -1
			m, err := rv.Serve(p)
			if err == nil {
				p.Close()
				return done(m)
			}
			if ctx.Err() != nil || errors.Is(err, serialport.ErrClosed) {
				return ctx.Err()
			}
			fmt.Fprintf(e.stderr, "posfw update receive: %s\n", oneLine(err.Error()))
		}
	}
	l, pin, err := r.ListenTLS(*listen)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); l.Close() }()
	fmt.Fprintf(e.stdout, "listening on %s, certificate pin %s\n", l.Addr(), pin)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		last = -1
		m, err := rv.ServeNet(c)
		c.Close()
		if err == nil {
			l.Close()
			return done(m)
		}
		fmt.Fprintf(e.stderr, "posfw update receive: %s\n", oneLine(err.Error()))
	}
}
