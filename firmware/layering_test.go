// Package firmware_test holds the import-layering test of the whole module (DESIGN §1),
// in the manner of Tailscale's tstest/deptest: the rules are a table, the facts come
// from `go list -deps -test -json`, and a wrong arrow fails with the chain that makes it.
package firmware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// module is the module path: rule patterns are written relative to it.
const module = "posfw"

// layer is one rule: no package of From may import, directly or through any other
// package, what Deny names, except what Allow names. Test files count: a test helper
// of the wrong layer is a wrong arrow too; external tests (package p_test) count
// unless XTestsFree, for a package whose integration tests drive it from outside
// with the real parts (the charter's "real thing first").
type layer struct {
	From       string   // a package, or "dir/..." for it and everything below
	Deny       []string // packages or patterns; "posfw/..." is every package of the module
	Allow      []string // exceptions to Deny
	XTestsFree bool
	Why        string
}

// layers is the import direction of DESIGN §1. ui/i18n, the one bilingual text type,
// is a leaf so that txn, ui and receipts can share it.
var layers = []layer{
	{From: "drivers/...", Deny: []string{"firmware/...", "ui/...", "board/..."},
		Why: "a driver knows its device, not the application, the screens or the board"},
	{From: "ui/...", Deny: []string{"firmware/...", "board/..."},
		Why: "screens are display-agnostic and know nothing of the application"},
	{From: "board/...", Deny: []string{"firmware/...", "ui/..."},
		Why: "a board opens drivers; it is data, not application code"},
	{From: "firmware/txn", Deny: []string{"posfw/...", "database/sql/...", "github.com/mattn/go-sqlite3/..."},
		Allow: []string{"ui/i18n", "firmware/txn/..."}, XTestsFree: true,
		Why: "transaction rules are pure logic: no driver, no database, only small interfaces"},
	{From: "ui/i18n", Deny: []string{"posfw/..."},
		Why: "the text type is a leaf every layer may import"},
	{From: "drivers/testkit", Deny: []string{"posfw/..."},
		Why: "the shared test helpers are a leaf every layer's tests may import"},
	{From: "firmware/qr", Deny: []string{"posfw/..."}, Allow: []string{"firmware/qr/..."},
		Why: "QR payment data (EMV payloads, wallet codes) is pure logic"},
	{From: "firmware/emv", Deny: []string{"posfw/..."}, Allow: []string{"drivers/emv/...", "firmware/emv/...", "drivers/testkit"}, XTestsFree: true,
		Why: "the EMV kernel is pure logic over the card interface: no journal, host or screen"},
	{From: "firmware/emvparam", Deny: []string{"posfw/..."}, Allow: []string{"drivers/emv/...", "firmware/emv", "firmware/emvparam/...", "drivers/testkit"},
		Why: "the downloaded EMV parameter set is data and its parsers: no journal, host or screen"},
}

// testOnly are packages that only test files may import.
var testOnly = []string{"drivers/testkit", "drivers/pinpad/pinpadtest", "drivers/qrcode/qrtest", "drivers/emv/pcsc/pcsctest"}

// pkg is what the test reads of one `go list -json` entry.
type pkg struct {
	ImportPath string
	Imports    []string
}

// graph maps a package to its imports.
type graph map[string][]string

// expand turns a rule pattern into a full import path pattern: module-relative
// patterns get the module path, others (standard library, other modules) stay.
func expand(p string) string {
	if p == module || strings.HasPrefix(p, module+"/") {
		return p
	}
	first, _, _ := strings.Cut(p, "/")
	if strings.Contains(first, ".") || !isModuleDir(first) {
		return p
	}
	return module + "/" + p
}

// isModuleDir tells the module's top-level folders (DESIGN §1: the layout is fixed)
// from standard-library roots such as database/sql.
func isModuleDir(d string) bool {
	return slices.Contains([]string{"firmware", "drivers", "ui", "board", "scripts"}, d)
}

// match reports whether path matches pattern ("a/b" exactly, "a/b/..." a/b and below).
func match(pattern, path string) bool {
	pattern = expand(pattern)
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if match(p, path) {
			return true
		}
	}
	return false
}

// strip folds a test variant ("p [q.test]") into its package. An external test
// package ("p_test") stays apart: see layer.XTestsFree.
func strip(path string) string {
	path, _, _ = strings.Cut(path, " ")
	return path
}

// readGraph parses the JSON stream of `go list -json`: g has test variants folded into
// their package, prod the packages as built without their tests.
func readGraph(r io.Reader) (g, prod graph, err error) {
	g, prod = graph{}, graph{}
	dec := json.NewDecoder(r)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return g, prod, nil
		} else if err != nil {
			return nil, nil, err
		}
		if strings.HasSuffix(p.ImportPath, ".test") {
			continue // the generated test main imports only the variants below
		}
		if !strings.Contains(p.ImportPath, " ") && !strings.HasSuffix(p.ImportPath, "_test") {
			prod[p.ImportPath] = p.Imports
		}
		from := strip(p.ImportPath)
		for _, imp := range p.Imports {
			imp = strip(imp)
			if imp != from && !slices.Contains(g[from], imp) {
				g[from] = append(g[from], imp)
			}
		}
		if _, ok := g[from]; !ok {
			g[from] = nil
		}
	}
}

// violations lists every package of the module that breaks a rule, each with the
// shortest chain of imports that leads to the denied package.
func violations(g graph, rules []layer) []string {
	var out []string
	froms := make([]string, 0, len(g))
	for p := range g {
		froms = append(froms, p)
	}
	slices.Sort(froms)
	for _, r := range rules {
		for _, from := range froms {
			base, xtest := strings.CutSuffix(from, "_test")
			if !match(r.From, base) || xtest && r.XTestsFree {
				continue
			}
			// Breadth first, so the chain reported is the shortest.
			prev := map[string]string{from: ""}
			queue := []string{from}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				if p != from && matchAny(r.Deny, p) && !matchAny(r.Allow, p) {
					chain := []string{p}
					for q := prev[p]; q != ""; q = prev[q] {
						chain = append(chain, q)
					}
					slices.Reverse(chain)
					out = append(out, fmt.Sprintf("%s imports %s (%s): %s", from, p, strings.Join(chain, " → "), r.Why))
					continue // report the nearest arrow, not everything behind it
				}
				for _, imp := range g[p] {
					// A package under the same rule is checked on its own: report
					// the arrow where it leaves the layer, once.
					if _, seen := prev[imp]; !seen && !match(r.From, imp) {
						prev[imp] = p
						queue = append(queue, imp)
					}
				}
			}
		}
	}
	return out
}

// testOnlyViolations lists the packages whose non-test files import a testOnly package.
func testOnlyViolations(prod graph) []string {
	var out []string
	for p, imps := range prod {
		for _, imp := range imps {
			if matchAny(testOnly, imp) {
				out = append(out, fmt.Sprintf("%s imports %s outside its tests: it is for tests only", p, imp))
			}
		}
	}
	slices.Sort(out)
	return out
}

// goTool is the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command on PATH or in GOROOT %s: %v", runtime.GOROOT(), err)
	}
	return p
}

// TestLayering checks every package of the module, with its tests, against layers on
// each platform the firmware is built for.
func TestLayering(t *testing.T) {
	goCmd := goTool(t)
	for _, arch := range []string{"amd64", "arm", "arm64"} {
		t.Run("linux_"+arch, func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-test", "-json=ImportPath,Imports", module+"/...")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
			}
			g, prod, err := readGraph(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("reading go list output: %v", err)
			}
			// A rule that matches no package guards nothing (a folder was renamed).
			for _, r := range layers {
				n := 0
				for p := range g {
					if match(r.From, p) {
						n++
					}
				}
				if n == 0 {
					t.Errorf("rule %q matches no package; want at least one", r.From)
				}
			}
			for _, v := range violations(g, layers) {
				t.Error(v)
			}
			for _, v := range testOnlyViolations(prod) {
				t.Error(v)
			}
		})
	}
}

// TestTestOnly proves that a test helper imported by a package's own code is caught,
// and the same import from its tests is not.
func TestTestOnly(t *testing.T) {
	list := `
{"ImportPath":"posfw/drivers/modem","Imports":["posfw/drivers/testkit"]}
{"ImportPath":"posfw/drivers/modem [posfw/drivers/modem.test]","Imports":["posfw/drivers/testkit"]}
{"ImportPath":"posfw/ui/evdev","Imports":["fmt"]}
{"ImportPath":"posfw/ui/evdev [posfw/ui/evdev.test]","Imports":["posfw/drivers/testkit"]}
{"ImportPath":"posfw/firmware/hostsim_test [posfw/firmware/hostsim.test]","Imports":["posfw/drivers/testkit"]}`
	_, prod, err := readGraph(strings.NewReader(list))
	if err != nil {
		t.Fatalf("readGraph: %v", err)
	}
	got := testOnlyViolations(prod)
	want := []string{"posfw/drivers/modem imports posfw/drivers/testkit outside its tests: it is for tests only"}
	if !slices.Equal(got, want) {
		t.Errorf("testOnlyViolations = %q; want %q", got, want)
	}
}

// TestLayeringRules proves the checker catches wrong arrows, direct and indirect,
// in test files too, and lets the allowed ones through.
func TestLayeringRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		list string // go list -json output
		want []string
	}{
		{"clean", `
{"ImportPath":"posfw/drivers/printer","Imports":["fmt","posfw/drivers/serialport"]}
{"ImportPath":"posfw/firmware/txn","Imports":["posfw/ui/i18n","errors","posfw/firmware/txn/txntest"]}
{"ImportPath":"posfw/ui/i18n","Imports":["strings"]}
{"ImportPath":"posfw/firmware/app","Imports":["posfw/ui","posfw/board","posfw/firmware/txn"]}`, nil},
		{"driver imports firmware", `
{"ImportPath":"posfw/drivers/printer","Imports":["posfw/firmware/receipt"]}
{"ImportPath":"posfw/firmware/receipt","Imports":[]}`,
			[]string{"posfw/drivers/printer imports posfw/firmware/receipt (posfw/drivers/printer → posfw/firmware/receipt)"}},
		{"driver test imports ui through a helper", `
{"ImportPath":"posfw/drivers/modem [posfw/drivers/modem.test]","Imports":["posfw/drivers/testhelp"]}
{"ImportPath":"posfw/drivers/testhelp","Imports":["posfw/ui"]}
{"ImportPath":"posfw/ui","Imports":[]}`,
			[]string{"posfw/drivers/testhelp imports posfw/ui (posfw/drivers/testhelp → posfw/ui)"}},
		{"driver test imports ui through a firmware helper", `
{"ImportPath":"posfw/drivers/modem [posfw/drivers/modem.test]","Imports":["posfw/firmware/testkit"]}
{"ImportPath":"posfw/firmware/testkit","Imports":["posfw/ui"]}
{"ImportPath":"posfw/ui","Imports":[]}`,
			[]string{"posfw/drivers/modem imports posfw/firmware/testkit (posfw/drivers/modem → posfw/firmware/testkit)"}},
		{"board imports ui through another module", `
{"ImportPath":"posfw/board","Imports":["example.com/lib"]}
{"ImportPath":"example.com/lib","Imports":["posfw/ui/tui"]}
{"ImportPath":"posfw/ui/tui","Imports":[]}`,
			[]string{"posfw/board imports posfw/ui/tui (posfw/board → example.com/lib → posfw/ui/tui)"}},
		{"txn reaches the database through another package", `
{"ImportPath":"posfw/firmware/txn","Imports":["posfw/ui/i18n","posfw/firmware/journal"]}
{"ImportPath":"posfw/firmware/journal","Imports":["database/sql"]}
{"ImportPath":"database/sql","Imports":[]}
{"ImportPath":"posfw/ui/i18n","Imports":[]}`,
			[]string{"posfw/firmware/txn imports posfw/firmware/journal (posfw/firmware/txn → posfw/firmware/journal)"}},
		{"txn test imports sqlite, its external test the journal", `
{"ImportPath":"posfw/firmware/txn [posfw/firmware/txn.test]","Imports":["github.com/mattn/go-sqlite3"]}
{"ImportPath":"posfw/firmware/txn_test [posfw/firmware/txn.test]","Imports":["posfw/firmware/txn [posfw/firmware/txn.test]","posfw/firmware/journal"]}
{"ImportPath":"posfw/firmware/txn.test","Imports":["posfw/firmware/txn_test [posfw/firmware/txn.test]"]}
{"ImportPath":"github.com/mattn/go-sqlite3","Imports":[]}
{"ImportPath":"posfw/firmware/journal","Imports":["github.com/mattn/go-sqlite3"]}`,
			[]string{"posfw/firmware/txn imports github.com/mattn/go-sqlite3 (posfw/firmware/txn → github.com/mattn/go-sqlite3)"}},
		{"board external test imports ui", `
{"ImportPath":"posfw/board_test [posfw/board.test]","Imports":["posfw/board [posfw/board.test]","posfw/ui/tui"]}
{"ImportPath":"posfw/board [posfw/board.test]","Imports":["posfw/drivers/serialport"]}
{"ImportPath":"posfw/ui/tui","Imports":[]}`,
			[]string{"posfw/board_test imports posfw/ui/tui (posfw/board_test → posfw/ui/tui)"}},
		{"the text leaf imports the module", `
{"ImportPath":"posfw/ui/i18n","Imports":["posfw/firmware/config"]}
{"ImportPath":"posfw/firmware/config","Imports":[]}`,
			[]string{
				"posfw/ui/i18n imports posfw/firmware/config (posfw/ui/i18n → posfw/firmware/config)",
				"posfw/ui/i18n imports posfw/firmware/config (posfw/ui/i18n → posfw/firmware/config)",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, _, err := readGraph(strings.NewReader(tt.list))
			if err != nil {
				t.Fatalf("readGraph: %v", err)
			}
			var got []string
			for _, v := range violations(g, layers) {
				got = append(got, v[:strings.Index(v, "):")+1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations = %q; want %q", got, tt.want)
			}
		})
	}
}
