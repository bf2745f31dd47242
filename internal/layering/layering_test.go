// Package layering holds the test of STYLE.md's layering: which of faed's
// packages each package may import. It has no code of its own.
package layering

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/faed/faed"

// mayImport is the layering, one row per package (a "/..." row covers
// the packages under it; an exact row wins): the faed packages its
// non-test code may import. Dependencies point down: main wires every
// part; servant uses the parts below it through interfaces it defines;
// engine knows Thrift but never the servant; pools and the cache use
// third-party clients only. Tests may also import internal/... (the dev
// stack) and what they need to build a real peer; no package, test or
// not, imports a cmd/*.
var mayImport = map[string][]string{
	"cmd/faed": {"config", "engine", "servant", "proxy", "peer", "pool/...", "cache", "idl/...",
		"lock", "idgen", "querycache", "internal/logsink"},
	"cmd/faed-bench": {"idl/...", "proxy", "peer"},
	"cmd/faed-ctl":   {"idl/...", "peer"},
	"contrib/...":    {"idl/..."},

	// Each package owns its Config; config gathers them. The servant and
	// the generated code are not configuration.
	"config": {"cache", "engine", "peer", "pool/...", "proxy", "lock", "idgen", "querycache"},

	// internal/calltrace is the one package engine and the pools share:
	// the engine puts a traced call's recorder in its context, the pools
	// note on it the server they picked.
	"engine":  {"internal/calltrace"},
	"servant": {"idl/...", "cache", "pool/...", "proxy", "lock", "idgen", "querycache"},
	"proxy":   {"peer", "idl/..."},
	"peer":    nil,

	// The stateful parts moved out of servant: below it, above the
	// cache and the pools.
	"lock":       {"cache", "pool/..."},
	"idgen":      {"cache", "pool/..."},
	"querycache": {"cache", "pool/..."},

	// pool itself and its shared parts; each backend's pool uses only
	// those.
	"pool":          nil,
	"pool/batch":    nil,
	"pool/breaker":  nil,
	"pool/ring":     nil,
	"pool/redis":    {"pool", "pool/batch", "pool/breaker", "pool/ring", "internal/calltrace"},
	"pool/memcache": {"pool", "pool/batch", "pool/breaker", "pool/ring", "internal/calltrace"},
	"pool/mysql":    {"pool", "pool/batch", "pool/breaker", "pool/ring", "internal/calltrace"},
	"pool/mongo":    {"pool", "pool/batch", "pool/breaker", "pool/ring", "internal/calltrace"},

	"cache":        nil,
	"idl":          nil,
	"idl/...":      nil,
	"internal/...": nil,
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func TestLayering(t *testing.T) {
	for _, p := range listPackages(t) {
		name := local(p.ImportPath)
		rule, ok := ruleFor(name)
		if !ok {
			t.Errorf("%s has no row in mayImport: add one saying what it may import", name)
			continue
		}
		for _, imp := range ours(p.Imports) {
			if !allowed(rule, imp) {
				t.Errorf("%s imports %s: not allowed (%s may import %s)", name, imp, name, describe(rule))
			}
		}
		for _, imp := range ours(slices.Concat(p.TestImports, p.XTestImports)) {
			if strings.HasPrefix(imp, "cmd/") {
				t.Errorf("%s's tests import %s: no package imports a command", name, imp)
			}
		}
	}
}

// The table itself: every allowed import names a package that exists (a
// row left behind by a rename would allow nothing, silently).
func TestLayeringTableNamesRealPackages(t *testing.T) {
	have := map[string]bool{}
	for _, p := range listPackages(t) {
		have[local(p.ImportPath)] = true
	}
	exists := func(pattern string) bool {
		if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
			for name := range have {
				if name == prefix || strings.HasPrefix(name, prefix+"/") {
					return true
				}
			}
			return false
		}
		return have[pattern]
	}
	for row, may := range mayImport {
		for _, m := range may {
			if !exists(m) {
				t.Errorf("mayImport[%q] allows %s, which is no package of the module", row, m)
			}
		}
	}
}

// listPackages is every package of the module as `go list -json` sees it
// (-e: a package that does not build still lists its imports).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// ruleFor is the exact row for name, or the longest "/..." row above it.
func ruleFor(name string) ([]string, bool) {
	if r, ok := mayImport[name]; ok {
		return r, true
	}
	best, found := "", false
	for row := range mayImport {
		prefix, ok := strings.CutSuffix(row, "/...")
		if ok && strings.HasPrefix(name, prefix+"/") && len(prefix) > len(best) {
			best, found = prefix, true
		}
	}
	return mayImport[best+"/..."], found
}

func allowed(rule []string, imp string) bool {
	for _, r := range rule {
		if prefix, ok := strings.CutSuffix(r, "/..."); ok && (imp == prefix || strings.HasPrefix(imp, prefix+"/")) {
			return true
		}
		if r == imp {
			return true
		}
	}
	return false
}

// ours is the module's packages among imports, without the module prefix.
func ours(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if imp == module || strings.HasPrefix(imp, module+"/") {
			out = append(out, local(imp))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func local(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func describe(rule []string) string {
	if len(rule) == 0 {
		return "no faed package"
	}
	return "only " + strings.Join(rule, ", ")
}
