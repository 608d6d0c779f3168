package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestZoneDataCompiledIn: the binary carries the zone database, so a terminal image
// without /usr/share/zoneinfo still loads its configured zone.
func TestZoneDataCompiledIn(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's packages")
	}
	out, err := exec.Command(gobin, "list", "-deps", "posfw/firmware/cmd/posfw").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if !strings.Contains("\n"+string(out), "\ntime/tzdata\n") {
		t.Error("posfw does not import time/tzdata; want the zone database compiled in")
	}
}
