package main

import (
	"os"

	"posfw/drivers/printer/escpos"
	"posfw/drivers/printer/escpos/paperpng"
)

// writePNG draws the paper as a picture (GNU Unifont glyphs, Chinese included).
func writePNG(path string, p escpos.Paper, cols int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := paperpng.Encode(f, p, cols); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
