package update

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Launcher is the POSIX sh script that starts posfw (the systemd unit's ExecStart). It
// counts the starts of a slot on trial, has the slot's binary check its health (and
// confirm itself) before it runs, and goes back to the previous slot after MaxStarts
// failed starts. It runs no code of the new slot to decide that: a binary that crashes,
// hangs or fails its health check cannot keep itself installed.
//
// Environment: POSFW_HEALTH_TIMEOUT (seconds, default 120) bounds the health check
// (a hang); POSFW_LAUNCH_LOG, if set, is a file the launcher appends its lines to.
const Launcher = `#!/bin/sh
# posfw launcher, written by posfw install: boot counting, health check and automatic
# rollback of the A/B slots. It must not depend on the new slot working: keep it plain sh.
# Usage: launch COMMAND [ARGS...]   e.g. launch run --config /etc/posfw/posfw.toml
set -u
ROOT=$(cd "$(dirname "$0")" && pwd) || exit 1
BOOT="$ROOT/boot"
TIMEOUT=${POSFW_HEALTH_TIMEOUT:-120}

say() {
	echo "posfw-launch: $*" >&2
	if [ -n "${POSFW_LAUNCH_LOG:-}" ]; then echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >>"$POSFW_LAUNCH_LOG"; fi
}

active= previous= trial= floor= max=3
[ -f "$BOOT" ] || { say "$BOOT missing: run posfw install"; exit 1; }
while read -r k v; do
	case "$k" in
	active) active=$v ;;
	previous) previous=$v ;;
	trial) trial=$v ;;
	floor) floor=$v ;;
	max) max=$v ;;
	esac
done <"$BOOT"
case "$active" in a|b) ;; *) say "$BOOT: no active slot"; exit 1 ;; esac

# write_boot ACTIVE PREVIOUS TRIAL: a new file, synced, renamed over the old one.
write_boot() {
	{
		echo "active $1"
		[ -n "$2" ] && echo "previous $2"
		[ -n "$3" ] && echo "trial $3"
		[ -n "$floor" ] && echo "floor $floor"
		echo "max $max"
	} >"$BOOT.tmp" && sync && mv -f "$BOOT.tmp" "$BOOT" && sync
}

if [ -n "$trial" ]; then
	if [ "$trial" -ge "$max" ] && [ -n "$previous" ]; then
		say "slot $active failed $trial starts: rolling back to slot $previous"
		write_boot "$previous" "$active" "" || exit 1
		active=$previous
	else
		trial=$((trial + 1))
		write_boot "$active" "$previous" "$trial" || exit 1
		bin="$ROOT/slots/$active/posfw"
		if command -v timeout >/dev/null 2>&1; then
			timeout -s KILL "$TIMEOUT" "$bin" update health --root "$ROOT" --confirm -- "$@"
		else
			"$bin" update health --root "$ROOT" --confirm -- "$@"
		fi
		rc=$?
		if [ "$rc" -ne 0 ]; then
			say "slot $active failed its health check (exit $rc), start $trial of $max"
			exit 1
		fi
		say "slot $active passed its health check and is confirmed"
	fi
fi
exec "$ROOT/slots/$active/posfw" "$@"
`

// Init makes a new install root at r.Dir for board from the bundle at path: slot a,
// confirmed at once (there is nothing to go back to), the launcher and the board file.
// An existing install root is refused.
func (r Root) Init(path string, keys Keys, t Target) (Manifest, error) {
	if _, err := os.Stat(r.bootPath()); err == nil {
		return Manifest{}, fmt.Errorf("%s is already an install root: use posfw update apply", r.Dir)
	}
	for _, d := range []string{r.Dir, filepath.Join(r.Dir, "slots"), filepath.Join(r.Dir, "incoming")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Manifest{}, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	bundle, err := Open(bufio.NewReaderSize(f, 1<<16), keys)
	if err != nil {
		return Manifest{}, err
	}
	m := bundle.Manifest
	if m.Board != t.Board {
		return m, fmt.Errorf("bundle is for board %q, this terminal is %q", m.Board, t.Board)
	}
	if m.GOOS != t.GOOS || m.GOARCH != t.GOARCH || m.GOARM != t.GOARM {
		return m, fmt.Errorf("bundle is for %s, this terminal is %s", platform(m.GOOS, m.GOARCH, m.GOARM), platform(t.GOOS, t.GOARCH, t.GOARM))
	}
	slot := r.Slot("a")
	if err := os.RemoveAll(slot); err != nil {
		return m, err
	}
	if err := os.Mkdir(slot, 0o755); err != nil {
		return m, err
	}
	if err := bundle.Extract(slot); err != nil {
		os.RemoveAll(slot)
		return m, err
	}
	if err := syncTree(slot); err != nil {
		return m, err
	}
	if err := writeFileSync(filepath.Join(r.Dir, "board"), []byte(t.Board+"\n"), 0o644); err != nil {
		return m, err
	}
	if err := r.WriteLauncher(); err != nil {
		return m, err
	}
	return m, r.writeBoot(Boot{Active: "a", Trial: -1, Floor: m.Version, Max: MaxStarts})
}

// WriteLauncher (re)writes ROOT/launch.
func (r Root) WriteLauncher() error {
	p := filepath.Join(r.Dir, "launch")
	tmp := p + ".tmp"
	if err := writeFileSync(tmp, []byte(Launcher), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return syncDir(r.Dir)
}
