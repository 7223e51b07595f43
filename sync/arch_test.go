package sync_test

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/crmsync/crmsync"

// inModule reports whether the package path p belongs to this module.
func inModule(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

// under reports whether the package path p is dir (relative to the module)
// or below it.
func under(p, dir string) bool {
	full := module + "/" + dir
	return p == full || strings.HasPrefix(p, full+"/")
}

// TestArchitecture keeps the layout docs/architecture.md describes ("Who
// may import whom"), from one `go list` over the module, tests included:
//   - the leaves bitrix, retailcrm and store, with everything they import,
//     import nothing under sync/ (each redacts its own secret, the store
//     takes its redactor from the caller);
//   - the clients (and their fakes) never import each other;
//   - no package outside cmd/, test or not, imports a cmd/ package;
//   - the internal/... packages, tests included, import nothing of the
//     module but themselves (neutral leaves any package may use).
func TestArchitecture(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	// -test adds each package's test variants, "p [p.test]" and
	// "p_test [p.test]", whose imports name the variants they use.
	cmd := exec.Command("go", "list", "-deps", "-test", "-f", `{{.ImportPath}}{{"\t"}}{{join .Imports ","}}`, module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	// plain: the non-test graph; all: every package and test variant.
	plain := map[string][]string{}
	all := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		path, imports, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !inModule(path) {
			continue // the standard library and other modules
		}
		var deps []string
		for imp := range strings.SplitSeq(imports, ",") {
			if imp != "" {
				deps = append(deps, imp)
			}
		}
		all[path] = deps
		if !strings.Contains(path, " [") && !strings.HasSuffix(path, ".test") {
			plain[path] = deps
		}
	}
	if len(plain) == 0 {
		t.Fatalf("go list named no package of %s:\n%s", module, out)
	}
	// strip names the directory of a package or test variant:
	// "p_test [p.test]" and "p.test" are p's.
	strip := func(p string) string {
		p, _, _ = strings.Cut(p, " [")
		return strings.TrimSuffix(strings.TrimSuffix(p, "_test"), ".test")
	}

	// reach returns every package of the module that from imports,
	// directly or not, in graph.
	reach := func(graph map[string][]string, from string) []string {
		seen := map[string]bool{from: true}
		queue := []string{from}
		var found []string
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, d := range graph[p] {
				if !seen[d] {
					seen[d] = true
					queue = append(queue, d)
					found = append(found, d)
				}
			}
		}
		return found
	}

	for _, leaf := range []string{"bitrix", "retailcrm", "store"} {
		if _, ok := plain[module+"/"+leaf]; !ok {
			t.Errorf("go list did not list %s", leaf)
		}
		for _, d := range reach(plain, module+"/"+leaf) {
			if under(d, "sync") {
				t.Errorf("%s imports %s: a leaf imports nothing under sync/", leaf, d)
			}
		}
	}

	clients := []string{"bitrix", "retailcrm"}
	for path := range all {
		own := slices.IndexFunc(clients, func(c string) bool { return under(strip(path), c) })
		if own < 0 || strings.HasSuffix(path, ".test") { // a test main: its variants are checked
			continue
		}
		other := clients[1-own]
		for _, d := range reach(all, path) {
			if under(strip(d), other) {
				t.Errorf("%s imports %s: the clients never import each other", path, strip(d))
			}
		}
	}

	for path, deps := range all {
		if under(strip(path), "cmd") {
			continue
		}
		for _, d := range deps {
			if under(strip(d), "cmd") {
				t.Errorf("%s imports %s: only cmd/ may import a cmd/ package", path, strip(d))
			}
			if under(strip(path), "internal") && inModule(d) && strip(d) != strip(path) {
				t.Errorf("%s imports %s: an internal/ package imports nothing of the module", path, strip(d))
			}
		}
	}
}
