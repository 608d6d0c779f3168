package main

import (
	"fmt"
	"io"
	"os"

	"posfw/drivers/printer/escpos"
)

func runEscpos(e *env, args []string) error {
	fs := e.flags("escpos")
	png := fs.String("png", "", "write a picture of the paper to this PNG file instead of text")
	cols := fs.Int("cols", escpos.Cols58mm, "paper width in columns: 32 (58 mm) or 48 (80 mm)")
	chinese := fs.Bool("chinese", true, "the printer starts in Chinese (GB18030) mode, as Chinese printers do")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if err := e.parse(fs, []string{"--help"}); err != nil {
			return err
		}
	}
	if args[0] != "render" {
		return usageError{fmt.Sprintf("unknown escpos verb %q (want render)", args[0])}
	}
	// Flags may come before or after FILE.
	var file string
	rest := args[1:]
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		file, rest = rest[0], rest[1:]
	}
	if err := e.parse(fs, rest); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if file == "" {
		return usageError{"missing FILE (an ESC/POS byte stream; - for standard input)"}
	}
	if *cols < 16 || *cols > 80 {
		return usageError{fmt.Sprintf("--cols %d: want 16 to 80", *cols)}
	}
	var r io.Reader = e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return err
	}
	d := escpos.NewDecoder(escpos.Options{Chinese: *chinese})
	d.Write(data)
	derr := d.Close()
	paper := d.Paper()
	if *png != "" {
		if err := writePNG(*png, paper, *cols); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, paper.Text(*cols))
	}
	if derr != nil {
		// What could be decoded was rendered; the stream's defect is still an error.
		return fmt.Errorf("%s: %v", file, derr)
	}
	return nil
}
