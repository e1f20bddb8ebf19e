package importrules_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/internal/importrules"
)

// TestModule checks berth's own packages against the rules.
func TestModule(t *testing.T) {
	graph := moduleGraph(t)
	openSources(t, moduleRoot(t))
	for _, p := range []string{"scheduler", "store", "controlplane", "agent", "awsapi", "ecs/fargate"} {
		if _, ok := graph[p]; !ok {
			t.Fatalf("go list found no package %s: the rules would check nothing", p)
		}
	}
	violations, unused := importrules.Check(graph, importrules.Rules, importrules.Exceptions)
	for _, v := range violations {
		t.Error(v)
	}
	for _, e := range unused {
		t.Errorf("exception %s -> %s is no longer needed: delete it from Exceptions", e.From, e.Import)
	}
}

// moduleGraph is every non-test package of the module with the packages of
// the module it imports, relative to the module's path.
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Module", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Module     *struct {
			Path string
			Main bool
		}
	}
	var pkgs []pkg
	mod := ""
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil && p.Module.Main {
			mod = p.Module.Path
			pkgs = append(pkgs, p)
		}
	}
	rel := func(path string) (string, bool) {
		if path == mod {
			return ".", true
		}
		return strings.CutPrefix(path, mod+"/")
	}
	graph := map[string][]string{}
	for _, p := range pkgs {
		from, _ := rel(p.ImportPath)
		imports := []string{}
		for _, imp := range p.Imports {
			if r, ok := rel(imp); ok {
				imports = append(imports, r)
			}
		}
		graph[from] = imports
	}
	return graph
}

// openSources opens every directory, Go file and go.mod of the module, so
// that go test's cache keys this test's result on them: go list reads them
// in a process of its own, which the cache does not see, and a cached pass
// would hide a new forbidden import.
func openSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir // go list skips these too
			}
			return nil // WalkDir opened it to read it
		}
		if !strings.HasSuffix(name, ".go") && name != "go.mod" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// TestCheck: the check reports direct and transitive breaks, a break through
// another package of the same rule once (at that package: controlplane's
// shortest chain to agent/engine is through ecs/fargate), lets exceptions
// through and reports the ones that excused nothing.
func TestCheck(t *testing.T) {
	rules := []importrules.Rule{
		{From: []string{"controlplane", "ecs"}, Forbid: []string{"agent"}, Why: "no agent"},
		{From: []string{"api"}, Forbid: []string{"*"}, Allow: []string{"api"}, Why: "nothing"},
	}
	graph := map[string][]string{
		"controlplane":       {"ecs/fargate", "internal/inprocess"},
		"ecs/fargate":        {"agent/engine"}, // direct
		"internal/inprocess": {"agent"},        // not covered by a rule
		"agent":              {"agent/engine"},
		"agent/engine":       {"api/proto/v1"},
		"agentx":             {},
		"ecs/capacity":       {"agentx", "ecs/fargate"}, // agentx is not agent; through ecs/fargate: reported there
		"api/proto/v1":       {"apierr", "api/other"},
		"api/other":          {},
		"apierr":             {},
	}
	exceptions := []importrules.Exception{
		{From: "api", Import: "apierr", Why: "for now"},
		{From: "store", Import: "ecs", Why: "stale"},
	}
	violations, unused := importrules.Check(graph, rules, exceptions)
	var got []string
	for _, v := range violations {
		got = append(got, v.String())
	}
	want := []string{
		"controlplane imports agent through controlplane -> internal/inprocess -> agent: no agent",
		"ecs/fargate imports agent/engine: no agent",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(unused) != 1 || unused[0].From != "store" {
		t.Errorf("unused exceptions %v, want store -> ecs", unused)
	}
}
