// Command genseeds writes the FuzzShutdown seed corpus, generated from the
// built-in library, into a directory: go generate ./fuzz.
// Other files in the directory (crashers the fuzzer wrote, or seeds of
// library scenarios that have since changed) are kept and listed: nothing
// is deleted.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genseeds DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	seeds, err := fuzz.Seeds()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genseeds:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "genseeds:", err)
		os.Exit(1)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := seeds[e.Name()]; !ok {
			fmt.Printf("genseeds: kept %s (not generated from the library: a crasher, or a stale seed)\n", e.Name())
		}
	}
	for name, content := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genseeds:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("genseeds: %d seeds in %s\n", len(seeds), dir)
}
