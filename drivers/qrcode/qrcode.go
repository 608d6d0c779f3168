// Package qrcode turns a payload into the modules of a QR code (ISO/IEC 18004), for
// whatever draws one: the receipt picture of `posfw escpos render --png`, the
// terminal's display. The encoding is github.com/skip2/go-qrcode's, a maintained
// encoder that picks the smallest version for the data and the data mask of lowest
// penalty, as the standard asks; this package gives it one small face and makes sure
// no payload can crash the firmware through it.
package qrcode

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is the error correction level.
type Level int

// Error correction levels, from the least to the most redundant: about 7, 15, 25
// and 30 % of the symbol can be lost.
const (
	L Level = iota
	M
	Q
	H
)

// QuietZone is the light margin the standard asks around a symbol, in modules.
// A Matrix does not include it; whoever draws the symbol leaves it.
const QuietZone = 4

// Matrix is a QR symbol: Size × Size modules.
type Matrix struct {
	Size int
	dark []bool
}

// Dark reports whether module (x, y) is dark; outside the symbol it is light.
func (m *Matrix) Dark(x, y int) bool {
	return x >= 0 && y >= 0 && x < m.Size && y < m.Size && m.dark[y*m.Size+x]
}

// Encode returns the QR symbol of payload at level l: version 1 to 40, whichever is
// the smallest that holds it. A payload too long for any version is an error.
func Encode(payload string, l Level) (m *Matrix, err error) {
	if payload == "" {
		return nil, fmt.Errorf("qrcode: no data")
	}
	levels := []qrcode.RecoveryLevel{qrcode.Low, qrcode.Medium, qrcode.High, qrcode.Highest}
	if l < L || l > H {
		return nil, fmt.Errorf("qrcode: level %d is not L, M, Q or H", l)
	}
	// The encoder panics on what it calls its own bugs: a bad payload must not take
	// the terminal down with it.
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("qrcode: encoder failed: %v", p)
		}
	}()
	q, err := qrcode.New(payload, levels[l])
	if err != nil {
		return nil, fmt.Errorf("qrcode: %v", err)
	}
	q.DisableBorder = true
	bits := q.Bitmap() // once only: each call encodes the data again
	m = &Matrix{Size: len(bits), dark: make([]bool, len(bits)*len(bits))}
	for y, row := range bits {
		if len(row) != m.Size {
			return nil, fmt.Errorf("qrcode: encoder returned a %d×%d symbol", len(row), m.Size)
		}
		copy(m.dark[y*m.Size:], row)
	}
	return m, nil
}
