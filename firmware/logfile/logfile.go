// Package logfile is the terminal's log: a size-rotated file under the data directory
// (posfw.log, posfw.log.1 ... posfw.log.N) that never holds card data. Every write passes
// through Redact, which masks any run of 13–19 digits that passes the Luhn check — a
// PAN — to its first 6 and last 4 digits, whatever code path logged it.
package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Writer is an io.Writer appending to a rotating log file. It is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	maxBytes int64
	keep     int
}

// Open appends to dir/name, rotating when the file would pass maxBytes and keeping keep
// old files.
func Open(dir, name string, maxBytes int64, keep int) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	w := &Writer{path: filepath.Join(dir, name), maxBytes: maxBytes, keep: keep}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Write redacts p and appends it, rotating first when needed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	b := Redact(p)
	if w.size > 0 && w.size+int64(len(b)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// rotate shifts posfw.log.(i) to .(i+1), dropping the oldest, and starts a new file.
func (w *Writer) rotate() error {
	w.f.Close()
	os.Remove(fmt.Sprintf("%s.%d", w.path, w.keep))
	for i := w.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
	}
	if w.keep > 0 {
		os.Rename(w.path, w.path+".1")
	} else {
		os.Remove(w.path)
	}
	return w.open()
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Redact returns p with every Luhn-valid run of 13–19 digits masked to first 6 / last 4.
// Digit runs of other lengths, or failing Luhn (amounts, STANs, timestamps), are kept.
func Redact(p []byte) []byte {
	var out []byte
	for i := 0; i < len(p); {
		if !isDigit(p[i]) {
			i++
			continue
		}
		j := i
		for j < len(p) && isDigit(p[j]) {
			j++
		}
		if n := j - i; n >= 13 && n <= 19 && luhn(p[i:j]) {
			if out == nil {
				out = append([]byte(nil), p...)
			}
			for k := i + 6; k < j-4; k++ {
				out[k] = '*'
			}
		}
		i = j
	}
	if out == nil {
		return p
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
