package testscn

import (
	_ "embed"
	"os"
	"path/filepath"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

//go:embed testdata/io-contention.scn
var ioContention string

// IOContention is main, a daemon and a thread that each do io while
// another may hold the GIL, with no forever loop: the steps after the
// FORCE_SWITCHING wait that partial-order reduction explores alone
// (runtime.Machine.LocalStep), in a graph without cycles.
func IOContention(name string) string { return named(ioContention, name) }

// File is a scenario file a test read.
type File struct {
	Path     string
	Src      []byte
	Scenario *scenario.Scenario
}

// Files reads and parses the files the glob patterns match, in the order
// of the patterns and, within one, of the names; an unreadable or invalid
// file fails t.
func Files(t testing.TB, patterns ...string) []File {
	t.Helper()
	var out []File
	for _, p := range patterns {
		paths, err := filepath.Glob(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := scenario.Parse(path, src)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, File{Path: path, Src: src, Scenario: s})
		}
	}
	return out
}

// Library is Files of the scenario library, for the tests of a package
// whose directory is at the module's root.
func Library(t testing.TB) []File {
	return Files(t, "../scenarios/*.scn", "../scenarios/patterns/*.scn")
}
