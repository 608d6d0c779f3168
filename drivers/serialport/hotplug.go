package serialport

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Hotplug is a stable device path for a simulated device that can be unplugged and
// plugged back in: a symbolic link, as udev's /dev/serial/by-id links are, to the PTY
// that currently stands in for the device. Unplug closes the PTY and removes the link,
// as pulling a USB adapter out removes its device node; Plug makes a fresh PTY and
// points the link at it. A driver built on PathOpener(h.Path(), ...) finds the device
// again after a replug exactly as it would on hardware.
type Hotplug struct {
	path string

	mu  sync.Mutex
	pty *PTY
}

// NewHotplug returns an unplugged device whose link will be path.
func NewHotplug(path string) *Hotplug { return &Hotplug{path: path} }

// Path is the link the firmware opens.
func (h *Hotplug) Path() string { return h.path }

// Plug makes a fresh PTY for the device, points the link at it and returns it; the
// simulator serves the returned PTY. It fails if the device is plugged in already.
func (h *Hotplug) Plug() (*PTY, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pty != nil {
		return nil, fmt.Errorf("%s: already plugged in", h.path)
	}
	p, err := OpenPTY()
	if err != nil {
		return nil, err
	}
	// The new link replaces any stale one in one rename, so the path never names a
	// half-made device.
	tmp := filepath.Join(filepath.Dir(h.path), "."+filepath.Base(h.path)+".new")
	os.Remove(tmp)
	if err := os.Symlink(p.Path(), tmp); err != nil {
		p.Close()
		return nil, fmt.Errorf("plug %s: %w", h.path, err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		os.Remove(tmp)
		p.Close()
		return nil, fmt.Errorf("plug %s: %w", h.path, err)
	}
	h.pty = p
	return p, nil
}

// Unplug removes the link and closes the PTY: an open port on it fails with
// ErrClosed, and opening the path fails until the next Plug. Unplugging an unplugged
// device does nothing.
func (h *Hotplug) Unplug() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pty == nil {
		return nil
	}
	err := os.Remove(h.path)
	if e := h.pty.Close(); err == nil {
		err = e
	}
	h.pty = nil
	return err
}

// Plugged reports whether the device is plugged in.
func (h *Hotplug) Plugged() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pty != nil
}
