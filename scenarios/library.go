// Package scenarios is the built-in scenario library, embedded in the
// binary. Each file models one shutdown pattern (a failure mode, a
// mitigation, or a case from CPython's history) and carries expect lines
// for all five policies. The files in patterns/ are real, cited shutdown
// bugs of extension projects (docs/patterns.md); their names start with
// "patterns/".
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

//go:embed *.scn patterns/*.scn
var files embed.FS

// PatternsDir is the folder of the cited extension patterns.
const PatternsDir = "patterns/"

// Names lists the library's scenario files, without ".scn": the top-level
// ones sorted, then the patterns ("patterns/NAME") sorted.
func Names() []string {
	var names []string
	for _, dir := range []string{".", strings.TrimSuffix(PatternsDir, "/")} {
		entries, _ := fs.ReadDir(files, dir)
		var part []string
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".scn") {
				continue
			}
			name := strings.TrimSuffix(e.Name(), ".scn")
			if dir != "." {
				name = PatternsDir + name
			}
			part = append(part, name)
		}
		sort.Strings(part)
		names = append(names, part...)
	}
	return names
}

// IsPattern reports whether a library name is one of the patterns.
func IsPattern(name string) bool { return strings.HasPrefix(name, PatternsDir) }

// Source returns the text of a library scenario by name (with or without
// ".scn"), and its file name.
//
// The CLI names a library scenario "library/FILE" in what it prints (the
// reproducing commands among it), so that prefix is accepted too.
func Source(name string) ([]byte, string, bool) {
	file := strings.TrimSuffix(strings.TrimPrefix(name, "library/"), ".scn") + ".scn"
	b, err := files.ReadFile(file)
	if err != nil {
		return nil, "", false
	}
	return b, file, true
}

// Parse parses the library scenario name (as Source takes it) under its
// file name; parse errors are the parser's.
func Parse(name string) (*scenario.Scenario, error) {
	src, file, ok := Source(name)
	if !ok {
		return nil, fmt.Errorf("no library scenario %q", name)
	}
	return scenario.Parse(file, src)
}
