package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// libFuzzerCrash returns a libFuzzer test case (go-fuzz-headers framing,
// as the libFuzzer build of fuzz/libfuzzer reads it) of lockScn with a
// schedule under which the hang policy deadlocks.
func libFuzzerCrash(t *testing.T) []byte {
	t.Helper()
	s, err := scenario.Parse("lock.scn", []byte(lockScn))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := explore.Policy(s, "hang", explore.Options{Runs: 200})
	if err != nil || rep.Outcomes["deadlock"] == nil {
		t.Fatalf("no deadlock witness: %v", err)
	}
	data, err := scenario.Encode(verdict.WithSchedule(s, rep.Outcomes["deadlock"].Result.Schedule))
	if err != nil {
		t.Fatal(err)
	}
	raw := fuzz.ToLibFuzzer(data)
	if got, ok := fuzz.FromLibFuzzer(raw); !ok || !bytes.Equal(got, data) {
		t.Fatalf("framing does not round-trip")
	}
	return raw
}

// A raw libFuzzer crash file goes through import -strict into a minimized
// .scn crasher that replays from the corpus directory.
func TestImportLibFuzzerCrash(t *testing.T) {
	in, dir := t.TempDir(), t.TempDir()
	crash := filepath.Join(in, "crash-"+strings.Repeat("ab", 20))
	if err := os.WriteFile(crash, libFuzzerCrash(t), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli("import", "-strict", "-seeds", "", "-corpus", dir, crash)
	if code != 0 || !strings.Contains(out, "under hang: wrote ") || !strings.Contains(out, "to re-run: shutdownfuzz run -policy hang ") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	entries, err := corpus.Load(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("corpus: %d entries, %v", len(entries), err)
	}
	for _, e := range entries {
		if e.Err != nil {
			t.Fatal(e.Err)
		}
		checks, err := corpus.Replay(e.Scenario)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if !c.OK || c.Result.Diverged >= 0 {
				t.Errorf("%s under %s: %s, expected %v (diverged %d)", e.Path, c.Policy, c.Result.Outcome, c.Expected, c.Result.Diverged)
			}
		}
	}
	// Without -strict the deadlock is within the hang policy's contract:
	// nothing to import.
	code, out, _ = cli("import", "-seeds", "", "-corpus", t.TempDir(), crash)
	if code != 0 || !strings.Contains(out, "0 contract failures, 0 inconclusive, 0 new crashers") {
		t.Errorf("import without -strict: exit %d\n%s", code, out)
	}
}

// -libfuzzer unwraps a test case whatever its name; one too short for the
// harness to run is reported, not imported.
func TestImportLibFuzzerFlag(t *testing.T) {
	in := t.TempDir()
	file := filepath.Join(in, "case")
	os.WriteFile(file, libFuzzerCrash(t), 0o644)
	code, out, errs := cli("import", "-libfuzzer", "-strict", "-seeds", "", "-corpus", t.TempDir(), file)
	if code != 0 || !strings.Contains(out, "under hang: wrote ") {
		t.Fatalf("-libfuzzer: exit %d\n%s%s", code, out, errs)
	}
	short := filepath.Join(in, "short")
	os.WriteFile(short, binary.BigEndian.AppendUint32(nil, 3), 0o644)
	code, out, _ = cli("import", "-libfuzzer", "-seeds", "", "-corpus", t.TempDir(), short)
	if code != 0 || !strings.Contains(out, "the libFuzzer harness does not run it") {
		t.Errorf("4-byte input: exit %d\n%s", code, out)
	}
}
