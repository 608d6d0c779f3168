package diag

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"posfw/firmware/logfile"
)

// Part is one file of a support archive.
type Part struct {
	Name string
	Data []byte
}

// secretLine finds configuration lines that name a key, password, PIN or secret: their
// values are replaced in the archive (a technician's support archive holds no key).
var secretLine = regexp.MustCompile(`(?im)^(\s*[A-Za-z0-9_.]*(key|password|passwd|secret|pin|token)[A-Za-z0-9_.]*\s*=\s*).*$`)

// RedactConfig is a configuration file with the value of every key-, password- or
// PIN-named setting replaced.
func RedactConfig(b []byte) []byte {
	return secretLine.ReplaceAll(b, []byte("${1}\"[not in the archive]\""))
}

// WriteArchive writes parts as a gzip-compressed tar, every part passed through
// logfile.Redact first: whatever a part holds, no full card number leaves in it.
func WriteArchive(w io.Writer, parts []Part, now time.Time) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, p := range parts {
		data := logfile.Redact(p.Data)
		if err := tw.WriteHeader(&tar.Header{Name: p.Name, Mode: 0o600, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// LogTail is the end (at most n bytes) of each log file posfw.log* in dir, oldest first,
// as parts named log/FILE.
func LogTail(dir string, n int64) ([]Part, error) {
	names, err := filepath.Glob(filepath.Join(dir, "posfw.log*"))
	if err != nil {
		return nil, err
	}
	// posfw.log.5 is the oldest, posfw.log the newest.
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) > rank(names[j]) })
	var parts []Part
	for _, p := range names {
		b, err := tail(p, n)
		if err != nil {
			return nil, err
		}
		parts = append(parts, Part{Name: "log/" + filepath.Base(p), Data: b})
	}
	return parts, nil
}

func rank(p string) int {
	var n int
	if _, err := fmt.Sscanf(filepath.Ext(p), ".%d", &n); err != nil {
		return 0
	}
	return n
}

func tail(p string, n int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > n {
		if _, err := f.Seek(st.Size()-n, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, n))
}
