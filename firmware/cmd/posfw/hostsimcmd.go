package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"posfw/firmware/host"
	"posfw/firmware/hostsim"
)

func runHostsim(e *env, args []string) error {
	fs := e.flags("hostsim")
	listen := fs.String("listen", "127.0.0.1:8583", "address to listen on")
	ledger := fs.String("ledger", "", "SQLite ledger file (default: in memory)")
	dialect := fs.String("dialect", "iso87", "ISO 8583 dialect: iso87 or cup (answers with the request's TPDU swapped)")
	field22 := fs.String("field22", "left", "cup: alignment of field 22, left or right")
	header := fs.String("header", "603100310000", "cup: the 6-byte header of answers, 12 hex digits")
	totals := fs.String("settlement-totals", "net", "cup: how field 48 counts, net or gross")
	tz := fs.String("tz", "Asia/Shanghai", "the acquirer's time zone: local time in answers (fields 12, 13) and the date of its RRNs")
	readTimeout := fs.Duration("read-timeout", hostsim.DefaultReadTimeout, "drop a client that has not sent a whole request within this time")
	maxConns := fs.Int("max-conns", hostsim.DefaultMaxConns, "most connections served at once; more are closed on accept")
	fault := fs.String("fault", "ok", "start in a fault mode: MODE[:ARG][@MTI[#N]], MODE one of down, timeout, garbage, slow:N, drop-after-request, duplicate-response, bad-mac, unsigned, echo:FIELD, code:XX, hold, cut, ok")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *dialect != "iso87" && *dialect != "cup" {
		return usageError{fmt.Sprintf("--dialect %q: want iso87 or cup", *dialect)}
	}
	d, err := host.ParseDialect(*dialect, host.CUPConfig{Field22: *field22, Header: *header, Totals: *totals})
	if err != nil {
		return usageError{err.Error()}
	}
	f, err := hostsim.ParseFault(*fault)
	if err != nil {
		return usageError{err.Error()}
	}
	if *readTimeout <= 0 {
		return usageError{fmt.Sprintf("--read-timeout %v: want a positive duration", *readTimeout)}
	}
	if *maxConns < 1 {
		return usageError{fmt.Sprintf("--max-conns %d: want at least 1", *maxConns)}
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return usageError{fmt.Sprintf("--listen %q is not host:port", *listen)}
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil || *tz == "Local" || *tz == "" {
		return usageError{fmt.Sprintf("--tz %q is not a time zone name like Asia/Shanghai", *tz)}
	}
	srv, err := hostsim.New(hostsim.Config{Ledger: *ledger, Dialect: d, Fault: f, ReadTimeout: *readTimeout, MaxConns: *maxConns, Logger: slog.New(slog.NewTextHandler(e.stderr, nil)), Location: loc})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		srv.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.stderr, "posfw hostsim: listening on %s (%s, test master key %s)\n", ln.Addr(), d.Name(), hostsim.DefaultMasterKey)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err = srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
