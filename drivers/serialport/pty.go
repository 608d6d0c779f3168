package serialport

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// PTY is a pseudo-terminal pair standing in for a serial cable: a device simulator reads
// and writes the controller (master) end, and the firmware opens Path — the device end —
// with Open, exactly as it opens /dev/ttyS1 on hardware.
type PTY struct {
	master *os.File
	tty    *os.File
}

// OpenPTY creates a pseudo-terminal pair. The device end is put in raw mode at once, so
// no byte is echoed or translated before the firmware opens it, and it is kept open by
// the PTY itself so that the simulator's reads do not fail with EIO while the firmware
// has the port closed (between a reconnect, say).
func OpenPTY() (*PTY, error) {
	pm, t, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	// creack/pty hands the controller end over in blocking mode, where Close waits for a
	// pending Read: a simulator blocked reading would keep the "unplugged" device alive.
	// A non-blocking copy goes through Go's poller, whose Close ends pending reads.
	m, err := nonBlocking(pm)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	if _, err := term.MakeRaw(int(t.Fd())); err != nil {
		m.Close()
		t.Close()
		return nil, fmt.Errorf("pseudo-terminal %s: raw mode: %w", t.Name(), err)
	}
	return &PTY{master: m, tty: t}, nil
}

func nonBlocking(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// Path is the device end's path (/dev/pts/N), to be opened with Open.
func (p *PTY) Path() string { return p.tty.Name() }

// Read reads bytes the firmware wrote to the device end.
func (p *PTY) Read(b []byte) (int, error) { return p.master.Read(b) }

// Write sends bytes to the firmware, as the device would.
func (p *PTY) Write(b []byte) (int, error) { return p.master.Write(b) }

// Close tears the pair down; the firmware's port then reads ErrClosed, as when a
// device is unplugged.
func (p *PTY) Close() error {
	err := p.master.Close()
	if e := p.tty.Close(); err == nil {
		err = e
	}
	return err
}
