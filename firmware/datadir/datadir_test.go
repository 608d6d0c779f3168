package datadir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefault(t *testing.T) {
	t.Setenv(Env, "/srv/terminal-7")
	if got := Default(); got != "/srv/terminal-7" {
		t.Errorf("Default() with $%s set = %q; want it", Env, got)
	}
	t.Setenv(Env, "")
	want := Dev
	if fi, err := os.Stat(Terminal); err == nil && fi.IsDir() {
		want = Terminal
	}
	if got := Default(); got != want {
		t.Errorf("Default() = %q; want %q on this machine", got, want)
	}
}

// TestNames: the names every subcommand and the simulator agree on; the pad's memory is
// outside the directory, so that wiping the directory cannot take the pad's anchor with it.
func TestNames(t *testing.T) {
	d := Dir("/var/lib/posfw")
	for _, tc := range []struct{ got, want string }{
		{d.Journal(), "/var/lib/posfw/journal.db"},
		{d.Logs(), "/var/lib/posfw/log"},
		{d.Socket(), "/var/lib/posfw/sim.sock"},
		{d.Devices(), "/var/lib/posfw/dev"},
		{d.Ledger(), "/var/lib/posfw/ledger.db"},
		{d.PadNVRAM(), "/var/lib/posfw.pinpad"},
		{Dir("/var/lib/posfw/").PadNVRAM(), "/var/lib/posfw.pinpad"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
	rel := Dir("var").PadNVRAM()
	if !filepath.IsAbs(rel) || filepath.Base(rel) != "var.pinpad" {
		t.Errorf("Dir(var).PadNVRAM() = %q; want an absolute path ending in var.pinpad", rel)
	}
}
