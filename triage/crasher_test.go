package triage

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

func TestMakeCrasherRoundTrips(t *testing.T) {
	s, rep := explored(t, `scenario "x"
main { spawn d
  work 3
  wait started }
daemon d { new X
  native { hold X
    set started
    io } }`, "unwind", 300)
	w := rep.Outcomes["corruption"]
	if w == nil {
		t.Fatal("no corruption witness")
	}
	c, err := MakeCrasher(s, "unwind", w.Result, "a test", minimize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cause.Cause != verdict.Caused {
		t.Errorf("the unwind caused this failure, but MakeCrasher says not")
	}
	dir := t.TempDir()
	path, _, err := corpus.Save(dir, c.Name, c.Content)
	if err != nil {
		t.Fatal(err)
	}
	e := corpus.LoadFile(path)
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	if e.Signature != w.Result.Signature() {
		t.Errorf("recorded signature %q, want %q", e.Signature, w.Result.Signature())
	}
	checks, err := corpus.Replay(e.Scenario)
	if err != nil || len(checks) != 1 || !checks[0].OK || checks[0].Result.Signature() != w.Result.Signature() {
		t.Fatalf("saved crasher does not replay to %s: %v %+v\n%s", w.Result.Signature(), err, checks, c.Content)
	}
}
