package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"posfw/firmware/control"
	"posfw/firmware/datadir"
)

func runSimctl(e *env, args []string) error {
	fs := e.flags("simctl")
	sock := fs.String("control", "", "control socket path (default $POSFW_CONTROL, else sim.sock in the default data directory)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"missing VERB (screen, key, select, wait, state, fault, card, pin, printer, scan, screenshot)"}
	}
	req := control.Request{Verb: fs.Arg(0), Args: fs.Args()[1:]}
	var shot string
	if req.Verb == "screenshot" {
		// The picture comes back over the socket and is written here, so FILE is
		// relative to where simctl runs, not to the simulator.
		if len(req.Args) != 1 || !strings.HasSuffix(strings.ToLower(req.Args[0]), ".png") {
			return usageError{"screenshot takes one FILE.png"}
		}
		shot, req.Args = req.Args[0], nil
	}
	if req.Verb == "wait" {
		var err error
		if req.Args, req.Timeout, err = waitArgs(req.Args); err != nil {
			return err
		}
	}
	resp, err := control.Call(controlPath(e, *sock, datadir.Default()), req)
	if err != nil {
		return err
	}
	if !resp.OK {
		return exitError{code: 1, msg: resp.Error}
	}
	switch req.Verb {
	case "screen", "printer":
		for _, l := range resp.Lines {
			fmt.Fprintln(e.stdout, strings.TrimRight(l, " "))
		}
	case "state":
		var b bytes.Buffer
		json.Indent(&b, resp.State, "", "  ")
		fmt.Fprintln(e.stdout, b.String())
	case "select":
		for _, l := range resp.Lines {
			fmt.Fprintln(e.stdout, l)
		}
	case "screenshot":
		var png []byte
		if err := json.Unmarshal(resp.State, &png); err != nil || len(png) == 0 {
			return fmt.Errorf("screenshot: the simulator sent no picture")
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			return fmt.Errorf("screenshot: %v", err)
		}
	}
	return nil
}

// waitArgs splits "TEXT... [--timeout S]".
func waitArgs(args []string) ([]string, float64, error) {
	var text []string
	timeout := 10.0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--timeout" || a == "-timeout" {
			if i+1 == len(args) {
				return nil, 0, usageError{"--timeout needs seconds"}
			}
			v, err := strconv.ParseFloat(args[i+1], 64)
			if err != nil || v <= 0 || v > 3600 {
				return nil, 0, usageError{fmt.Sprintf("--timeout %q: want seconds between 0 and 3600", args[i+1])}
			}
			timeout = v
			i++
			continue
		}
		text = append(text, a)
	}
	if len(text) == 0 {
		return nil, 0, usageError{"wait needs the TEXT to wait for"}
	}
	return []string{strings.Join(text, " ")}, timeout, nil
}
