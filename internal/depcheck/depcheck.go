// Package depcheck reads the module's own import graph from source with
// go/parser, for the tests that keep its dependency direction (the oracle
// imports neither the minimizer nor the corpus; report runs nothing).
package depcheck

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
)

// Module is the module's import path.
const Module = "github.com/shutdownfuzz/shutdownfuzz"

// Chains returns every package of the module that pkg imports, directly or
// not, through its non-test files, each with the chain of imports that
// first reached it ("verdict -> runtime -> chaos"). Packages are named by
// their directory relative to the module root, which is root.
func Chains(root, pkg string) (map[string]string, error) {
	via := map[string]string{pkg: pkg}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		files, err := filepath.Glob(filepath.Join(root, p, "*.go"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("package %s: no Go files in %s", p, filepath.Join(root, p))
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				return nil, err
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				dep, ok := strings.CutPrefix(path, Module+"/")
				if !ok || via[dep] != "" {
					continue
				}
				via[dep] = via[p] + " -> " + dep
				queue = append(queue, dep)
			}
		}
	}
	delete(via, pkg)
	return via, nil
}
