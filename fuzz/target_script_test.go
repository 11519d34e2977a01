package fuzz

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is a stand-in for go test: it prints $FAKE_OUT, writes the input
// $FAKE_NEW under the package's corpus when set, and exits $FAKE_RC.
const fakeGo = `#!/usr/bin/env bash
printf '%s\n' "$FAKE_OUT"
if [ -n "${FAKE_NEW:-}" ]; then
	mkdir -p p/testdata/fuzz/FuzzX && echo input > "p/testdata/fuzz/FuzzX/$FAKE_NEW"
fi
exit "$FAKE_RC"
`

// scripts/fuzz-target.sh passes a run that failed only with Go 1.26's
// coordinator race at the end of -fuzztime ("context deadline exceeded",
// no input written: golang/go#75804), and fails every other failure: a
// written input, a failing input or panic in the log, another error.
func TestFuzzTargetScriptPassesOnlyTheDeadlineRace(t *testing.T) {
	script, err := filepath.Abs("../scripts/fuzz-target.sh")
	if err != nil {
		t.Fatal(err)
	}
	deadline := "fuzz: elapsed: 10m0s\n--- FAIL: FuzzX (600.00s)\n    context deadline exceeded\nFAIL"
	for _, tc := range []struct {
		name, out, rc, newInput string
		wantExit                int
		wantMsg                 string
	}{
		{"pass", "ok", "0", "", 0, ""},
		{"deadline alone", deadline, "1", "", 0, "golang/go#75804"},
		{"deadline and a new input", deadline, "1", "abc123", 1, "new failing input(s)"},
		{"deadline and a failing input", deadline + "\nFailing input written to testdata/fuzz/FuzzX/abc", "1", "", 1, ""},
		{"deadline and a panic", deadline + "\npanic: boom", "1", "", 1, ""},
		{"another failure", "--- FAIL: FuzzX\n    fuzz_test.go:68: policy hang caused corruption", "1", "", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "p", "testdata", "fuzz", "FuzzX"), 0o755); err != nil {
				t.Fatal(err)
			}
			goBin := filepath.Join(dir, "go")
			if err := os.WriteFile(goBin, []byte(fakeGo), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", script, "FuzzX", "p", "1s")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GO="+goBin, "FAKE_OUT="+tc.out, "FAKE_RC="+tc.rc, "FAKE_NEW="+tc.newInput)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantExit || !strings.Contains(string(out), tc.wantMsg) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s", code, tc.wantExit, tc.wantMsg, out)
			}
		})
	}
}
