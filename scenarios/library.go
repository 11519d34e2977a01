// Package scenarios is the built-in scenario library, embedded in the
// binary. Each file models one shutdown pattern (a failure mode, a
// mitigation, or a case from CPython's history) and carries expect lines
// for all five policies.
package scenarios

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.scn
var files embed.FS

// Names lists the library's scenario files, sorted, without ".scn".
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".scn"))
	}
	sort.Strings(names)
	return names
}

// Source returns the text of a library scenario by name (with or without
// ".scn"), and its file name.
func Source(name string) ([]byte, string, bool) {
	file := strings.TrimSuffix(name, ".scn") + ".scn"
	b, err := files.ReadFile(file)
	if err != nil {
		return nil, "", false
	}
	return b, file, true
}
