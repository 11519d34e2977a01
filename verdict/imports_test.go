package verdict

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The oracle only judges: making and saving crashers is package triage's,
// which imports verdict, never the other way round. Neither this package's
// non-test files nor any package of the module they import, directly or
// not, may import the minimizer or the corpus.
func TestOracleImportsNeitherMinimizeNorCorpus(t *testing.T) {
	const module = "github.com/shutdownfuzz/shutdownfuzz/"
	forbidden := map[string]bool{"minimize": true, "corpus": true, "triage": true}
	// via maps each package of the module reached (by its directory
	// relative to the module root) to the chain of imports that reached it.
	via := map[string]string{"verdict": "verdict"}
	queue := []string{"verdict"}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("package %s: no files (%v)", pkg, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				dep, ok := strings.CutPrefix(path, module)
				if !ok || via[dep] != "" {
					continue
				}
				via[dep] = via[pkg] + " -> " + dep
				if forbidden[dep] {
					t.Errorf("%s (%s): the oracle must not depend on %s", via[dep], f, dep)
					continue
				}
				queue = append(queue, dep)
			}
		}
	}
	if len(via) < 3 {
		t.Errorf("only %d packages reached: %v", len(via), via)
	}
}
