// Package evdev reads a keypad through the Linux input event interface
// (/dev/input/eventN, Documentation/input/input.rst): a stream of struct
// input_event records (linux/input.h), of which the key presses are mapped to
// the terminal's keys (ui.Key) by a table of Linux key codes
// (linux/input-event-codes.h).
package evdev

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"posfw/ui"
)

// EventSize is the size of struct input_event for this program: a struct
// timeval of two longs, then type u16, code u16 and value s32. That is 24
// bytes on 64-bit Linux and 16 on 32-bit ARM (where the kernel keeps the
// time in two 32-bit longs even with a 64-bit time_t, and converts for a
// 32-bit program on a 64-bit kernel).
const EventSize = 2*strconv.IntSize/8 + 8

// EvKey is the event type of a key changing state (EV_KEY).
const EvKey = 0x01

// keyPress is an EV_KEY value: 0 is a release, 1 a press and 2 an autorepeat,
// which a keypad entering amounts must not act on.
const keyPress = 1

// Keys maps Linux key codes to the terminal's keys: the main and keypad
// digit rows, dot, enter, and the named keys of a POS keypad (Esc cancels,
// Backspace clears, Menu or M opens the menu).
var Keys = map[uint16]ui.Key{
	11: "0", 2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", // KEY_0..KEY_9
	82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", // KEY_KP0..KEY_KP9
	52:  ui.KeyDot,    // KEY_DOT
	83:  ui.KeyDot,    // KEY_KPDOT
	28:  ui.KeyEnter,  // KEY_ENTER
	96:  ui.KeyEnter,  // KEY_KPENTER
	1:   ui.KeyCancel, // KEY_ESC
	14:  ui.KeyClear,  // KEY_BACKSPACE
	103: ui.KeyUp,     // KEY_UP
	108: ui.KeyDown,   // KEY_DOWN
	59:  ui.KeyF1,     // KEY_F1
	60:  ui.KeyF2,     // KEY_F2
	61:  ui.KeyF3,     // KEY_F3
	62:  ui.KeyF4,     // KEY_F4
	139: ui.KeyMenu,   // KEY_MENU
	50:  ui.KeyMenu,   // KEY_M
}

// Event is one input event, without its time stamp.
type Event struct {
	Type  uint16
	Code  uint16
	Value int32
}

// Key is the terminal key e presses, if it is a press of a mapped key.
func (e Event) Key() (ui.Key, bool) {
	if e.Type != EvKey || e.Value != keyPress {
		return "", false
	}
	k, ok := Keys[e.Code]
	return k, ok
}

// Reader reads input events of one struct size.
type Reader struct {
	r    io.Reader
	size int
	buf  []byte
}

// NewReader returns a Reader of size-byte events (16 or 24; EventSize for
// this program's own device).
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{r: r, size: size, buf: make([]byte, max(size, 0))}
}

// Read reads the next event. At the end of the input it returns io.EOF; an
// event cut short is an error.
func (r *Reader) Read() (Event, error) {
	if r.size != 16 && r.size != 24 {
		return Event{}, fmt.Errorf("evdev: event size %d, want 16 or 24", r.size)
	}
	n, err := io.ReadFull(r.r, r.buf)
	switch {
	case err == io.EOF:
		return Event{}, io.EOF
	case err == io.ErrUnexpectedEOF:
		return Event{}, fmt.Errorf("evdev: truncated event: %d of %d bytes", n, r.size)
	case err != nil:
		return Event{}, fmt.Errorf("evdev: %w", err)
	}
	b := r.buf[r.size-8:] // after the timeval
	return Event{
		Type:  binary.LittleEndian.Uint16(b),
		Code:  binary.LittleEndian.Uint16(b[2:]),
		Value: int32(binary.LittleEndian.Uint32(b[4:])),
	}, nil
}

// Run reads events until the input ends (nil) or ctx is done (ctx's error),
// passing each key press to press. A press the UI's queue refuses (press
// returns false) is dropped, as a full keypad buffer drops it.
//
// If the reader has a read deadline (an *os.File of a character device
// does), ctx's end interrupts a read that is waiting; otherwise it is seen
// after the next event.
func (r *Reader) Run(ctx context.Context, press func(ui.Key) bool) error {
	if d, ok := r.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := r.Read()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if k, ok := e.Key(); ok {
			press(k)
		}
	}
}

// Run reads this program's native input events from r, as Reader.Run.
func Run(ctx context.Context, r io.Reader, press func(ui.Key) bool) error {
	return NewReader(r, EventSize).Run(ctx, press)
}

// Device is an open input event device.
type Device struct {
	f *os.File
}

// Open opens the input event device at path (e.g. /dev/input/event0).
func Open(path string) (*Device, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evdev: %v", err)
	}
	return &Device{f: f}, nil
}

// Run reads the device's key presses into press until ctx is done or the
// device goes away.
func (d *Device) Run(ctx context.Context, press func(ui.Key) bool) error {
	return Run(ctx, d.f, press)
}

// Close closes the device.
func (d *Device) Close() error { return d.f.Close() }

// Keypad is the keypad's input event device, reopened after it went away (a USB
// keypad unplugged and plugged back, a driver reloaded), as the serial drivers reopen
// their lines.
type Keypad struct {
	// Path is the device, e.g. /dev/input/event0 or a /dev/input/by-path link.
	Path string
	// Lost, when set, hears why the device was lost before each reopening.
	Lost func(err error)
	// Retry is the wait between two attempts to reopen (2 s when zero).
	Retry time.Duration
}

// Run passes the keypad's presses to press until ctx ends, reopening the device each
// time it goes away.
func (k Keypad) Run(ctx context.Context, press func(ui.Key) bool) {
	retry := k.Retry
	if retry <= 0 {
		retry = 2 * time.Second
	}
	for ctx.Err() == nil {
		dev, err := Open(k.Path)
		if err == nil {
			err = dev.Run(ctx, press)
			dev.Close()
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = io.EOF
		}
		if k.Lost != nil {
			k.Lost(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}
