package update

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitFileInScripts: scripts/posfw.service is the unit with the default paths
// (POSFW_WRITE_UNIT=1 rewrites it).
func TestUnitFileInScripts(t *testing.T) {
	p := filepath.Join("..", "..", "scripts", "posfw.service")
	want := Unit(DefaultRoot, "/etc/posfw/posfw.toml", "/var/lib/posfw")
	if os.Getenv("POSFW_WRITE_UNIT") == "1" {
		os.WriteFile(p, []byte(want), 0o644)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != want {
		t.Errorf("%s differs from update.Unit (%v): run this test with POSFW_WRITE_UNIT=1", p, err)
	}
}

// TestUnitVerifies runs systemd-analyze verify on the unit of an install root.
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not checked")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "opt")
	data := filepath.Join(dir, "data")
	os.MkdirAll(root, 0o755)
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(root, "launch"), []byte(Launcher), 0o755)
	unit := filepath.Join(dir, "posfw.service")
	os.WriteFile(unit, []byte(Unit(root, filepath.Join(dir, "posfw.toml"), data)), 0o644)
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
