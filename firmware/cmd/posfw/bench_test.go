package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestBenchPrintsOneLine: `posfw bench` runs real sales against the in-process host
// simulator and prints one JSON line whose figures hang together; it leaves nothing
// behind in --data.
func TestBenchPrintsOneLine(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := call("bench", "--n", "20", "--data", dir)
	if code != 0 {
		t.Fatalf("posfw bench: exit %d, stderr %q", code, errs)
	}
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("posfw bench printed %q; want one line", out)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("posfw bench printed %q: %v", out, err)
	}
	if r.Sales != 20 {
		t.Errorf("sales = %d; want 20", r.Sales)
	}
	for name, v := range map[string]float64{"p50_ms": r.P50, "host_p50_ms": r.HostP50, "terminal_p50_ms": r.TerminalP50,
		"commit_ms": r.CommitMS, "commit_after_host_ms": r.CommitAfterHostMS, "commit_idle_ms": r.CommitIdleMS,
		"ratio": r.Ratio, "ratio_equal_commits": r.RatioEqual} {
		if v <= 0 {
			t.Errorf("%s = %v; want > 0", name, v)
		}
	}
	if r.P99 < r.P50 {
		t.Errorf("p99 %v < p50 %v", r.P99, r.P50)
	}
	if want := round(r.TerminalP50 / (r.CommitMS + r.CommitAfterHostMS)); r.Ratio != want {
		t.Errorf("ratio = %v; want terminal_p50_ms / (commit_ms + commit_after_host_ms) = %v", r.Ratio, want)
	}
	if want := round(r.TerminalP50 / (2 * r.CommitMS)); r.RatioEqual != want {
		t.Errorf("ratio_equal_commits = %v; want terminal_p50_ms / (2 × commit_ms) = %v", r.RatioEqual, want)
	}
	if r.ProjWaitMS < 0 || r.TerminalP50 >= r.P50 {
		t.Errorf("projection_wait_ms %v, terminal_p50_ms %v of p50_ms %v; want a wait ≥ 0 and the host's part taken out", r.ProjWaitMS, r.TerminalP50, r.P50)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("bench left %d entries in --data", len(left))
	}
	if r.Dialect != "iso87" || r.PadMACP50 <= 0 {
		t.Errorf("dialect %q, pad_mac_p50_ms %v; want iso87 and the pad's MAC time > 0", r.Dialect, r.PadMACP50)
	}
	// The CUP dialect: the same sales, CUP bytes and the CUP ECB MAC in the pad.
	code, out, errs = call("bench", "--n", "5", "--dialect", "cup")
	var rc benchResult
	if err := json.Unmarshal([]byte(out), &rc); code != 0 || err != nil || rc.Dialect != "cup" || rc.Sales != 5 || rc.PadMACP50 <= 0 {
		t.Errorf("posfw bench --dialect cup = %d %q %q; want 5 CUP sales with the pad's MAC time", code, out, errs)
	}
	for _, args := range [][]string{{"bench", "--n", "0"}, {"bench", "--n", "x"}, {"bench", "extra"}, {"bench", "--dialect", "x25"}} {
		if code, _, errs := call(args...); code != 2 || strings.Count(errs, "\n") != 1 {
			t.Errorf("posfw %s: exit %d, stderr %q; want 2 and one line", strings.Join(args, " "), code, errs)
		}
	}
}
