package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "prog")
	checkCLI(t, []cliCase{
		{[]string{"export", "-o", out, "-python", "3.11", "raii-decref-unwind"}, 0, "build.sh"},
		{[]string{"export", "-o", out, "raii-decref-unwind"}, 1, "exists (use -force to overwrite)"},
		{[]string{"export", "-o", out, "-force", "raii-decref-unwind"}, 0, "driver.py"},
		{[]string{"export", "raii-decref-unwind"}, 2, "usage: shutdownfuzz export"},
		{[]string{"export", "-o", out, "-python", "2.7", "-force", "raii-decref-unwind"}, 2, "unknown python version"},
		{[]string{"export", "-o", filepath.Join(dir, "cb"), "callback-returns"}, 1, "cannot be exported"},
		// PEP 788's guards have a C API on 3.15 only: refused for the
		// default -python (3.14) and any other earlier release.
		{[]string{"export", "-o", filepath.Join(dir, "g"), "pep788-forgotten-guard"}, 1, "needs CPython 3.15's C API"},
		{[]string{"export", "-o", filepath.Join(dir, "g"), "-python", "3.11", "pep788-forgotten-guard"}, 1, "cannot be exported for python 3.11"},
		{[]string{"export", "-o", filepath.Join(dir, "g"), "-python", "3.15", "pep788-forgotten-guard"}, 0, "python3.15"},
	})
	for _, f := range []string{"build.sh", "driver.py", "sfz_helpers.py", "sfz_rt.h", "sfz_scenario.cpp"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("export wrote no %s: %v", f, err)
		}
	}
}

func TestConformUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"conform", "-python", "2.7"}, "unknown python version"},
		{[]string{"conform", "-python", "3.11d,3.12d"}, "3.11d, 3.13d, 3.14d, 3.15d"},
		{[]string{"conform", "-runs", "0"}, "-runs must be between"},
		{[]string{"conform", "-json", "-markdown"}, "exclude each other"},
	} {
		code, stdout, stderr := cli(tc.args...)
		if code != 2 || !strings.Contains(stdout+stderr, tc.want) || !strings.Contains(stderr, "usage: shutdownfuzz conform") {
			t.Errorf("%v: exit %d, want 2 with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.want, stdout, stderr)
		}
	}
}

// TestConformMissingInterpreter: a missing interpreter is an error (exit
// 2), never a skip, so that `make conform-quick` fails without one.
func TestConformMissingInterpreter(t *testing.T) {
	t.Setenv("SFZ_CONFORM_ROOT", t.TempDir())
	code, _, stderr := cli("conform", "-python", "3.14", "-runs", "1", "daemon-sleep-loop")
	if code != 2 || !strings.Contains(stderr, "make conform-env") {
		t.Errorf("exit %d, want 2 naming make conform-env\n%s", code, stderr)
	}
}
