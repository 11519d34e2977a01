package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updatePresets = flag.Bool("update", false, "rewrite testdata/presets.golden")

// TestPresetsGolden: `shutdownfuzz presets`, and `presets NAMES` for every
// release the decoder draws and for each platform and facet, print what
// testdata/presets.golden holds. The table of releases and facts is data;
// a change to it should show up here, on purpose (-update), or not at all.
func TestPresetsGolden(t *testing.T) {
	var b bytes.Buffer
	run := func(args ...string) {
		code, out, errs := cli(append([]string{"presets"}, args...)...)
		fmt.Fprintf(&b, "=== presets %v: exit %d\n%s%s", args, code, out, errs)
	}
	run()
	for _, n := range []string{
		"cpython-3.8", "cpython-3.9", "cpython-3.10", "cpython-3.10.7", "cpython-3.10.8",
		"cpython-3.11", "cpython-3.11.5", "cpython-3.11.6", "cpython-3.12", "cpython-3.12.0",
		"cpython-3.12.1", "cpython-3.12.2", "cpython-3.12.3", "cpython-3.13", "cpython-3.13.7",
		"cpython-3.13.8", "cpython-3.14", "posix", "windows", "glibc", "debug",
	} {
		run(n)
	}
	run("cpython-3.12.1", "windows", "debug")
	run("cpython-3.13.7", "posix")
	run("cpython-3.15")
	run("bogus")
	golden := filepath.Join("testdata", "presets.golden")
	if *updatePresets {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/shutdownfuzz -run TestPresetsGolden -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("presets output differs from %s:\n%s", golden, b.String())
	}
}
