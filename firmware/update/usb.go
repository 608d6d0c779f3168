package update

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Found is a bundle found on removable media.
type Found struct {
	Path     string
	Manifest Manifest // set when the bundle verified
	Err      error    // why it cannot be installed (signature, board, version...)
}

// FindBundles looks for *.posfw files in each of dirs and one level below (a USB stick
// mounted at /media/usb0, or /media with a directory per stick), verifies each completely
// and checks it against this root's policy, newest version first, refused ones last: what
// the Technician menu lists under "update from USB storage".
func (r Root) FindBundles(dirs []string, keys Keys, t Target) []Found {
	var paths []string
	for _, d := range dirs {
		for _, pattern := range []string{"*.posfw", "*/*.posfw"} {
			m, _ := filepath.Glob(filepath.Join(d, pattern))
			paths = append(paths, m...)
		}
	}
	var found []Found
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		m, err := VerifyFile(p, keys)
		if err == nil {
			err = r.Policy(m, t)
		}
		found = append(found, Found{Path: p, Manifest: m, Err: err})
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if (a.Err == nil) != (b.Err == nil) {
			return a.Err == nil
		}
		if a.Err == nil && a.Manifest.Version != b.Manifest.Version {
			return older(b.Manifest.Version, a.Manifest.Version)
		}
		return strings.Compare(a.Path, b.Path) < 0
	})
	return found
}

// PushPin is the pin of the terminal's push certificate, "" before its first push.
func (r Root) PushPin() string {
	if _, err := os.Stat(filepath.Join(r.Dir, "push.pem")); err != nil {
		return ""
	}
	c, err := r.PushCert()
	if err != nil {
		return ""
	}
	return Pin(c)
}
