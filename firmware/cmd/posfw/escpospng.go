package main

import (
	"errors"

	"posfw/drivers/printer/escpos"
)

// writePNG draws the paper; the renderer lands with its embedded CJK font.
func writePNG(path string, p escpos.Paper, cols int) error {
	return errors.New("PNG rendering is not in this build yet; render to text without --png")
}
