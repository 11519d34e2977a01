package triage

import (
	"errors"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// File makes and saves a crasher once per Key when it has Known, and Known
// finds the saved crasher's failure under the same Key; without Known a
// second filing finds the same file. A clean run is a MakeError.
func TestFile(t *testing.T) {
	s, rep := explored(t, `scenario "x"
main { spawn d
  work 2 }
daemon d { io
  io }`, "exit", 50)
	w := rep.Outcomes[runtime.LostCleanup]
	if w == nil {
		t.Fatalf("no lost-cleanup under exit: %v", rep.Seen())
	}
	dir := t.TempDir()
	f := &Filer{Dir: dir, Known: map[string]string{}, Options: minimize.Options{MaxRuns: 200}}
	first, err := f.File(s, "exit", w.Result, "a test")
	if err != nil {
		t.Fatal(err)
	}
	if first.Key != "exit|"+w.Result.Signature() || first.Key != Key("exit", w.Result) || !first.Created || first.Dup != "" {
		t.Fatalf("first filing: %+v", first)
	}
	again, err := f.File(s, "exit", w.Result, "a test")
	if err != nil || again.Dup != first.Path || again.Crasher != nil {
		t.Fatalf("second filing with Known: %+v, %v", again, err)
	}
	plain := &Filer{Dir: dir, Options: f.Options}
	if same, err := plain.File(s, "exit", w.Result, "a test"); err != nil || same.Created || same.Path != first.Path {
		t.Fatalf("second filing without Known: %+v, %v", same, err)
	}
	known, err := Known(dir)
	if err != nil || known[first.Key] != first.Path || len(known) != 1 {
		t.Errorf("Known(%s) = %v, %v; want %s: %s", dir, known, err, first.Key, first.Path)
	}

	clean := rep.Outcomes[runtime.Clean]
	if clean == nil {
		t.Fatal("no clean run under exit")
	}
	var me *MakeError
	if _, err := f.File(s, "exit", clean.Result, "a test"); !errors.As(err, &me) {
		t.Errorf("filing a clean run: %v, want a MakeError", err)
	}
}

// explored parses src and explores it under policy with runs schedules.
func explored(t *testing.T, src, policy string, runs int) (*scenario.Scenario, *explore.Report) {
	t.Helper()
	s, err := scenario.Parse("x.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := explore.Policy(s, policy, explore.Options{Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	return s, rep
}
