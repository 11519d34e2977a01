package exhaustive

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// A reduced search whose graph has a cycle is searched again in full, and
// says so; a scenario with forever or until loops is not reduced at all;
// one without them is.
func TestReducedCyclesAreSearchedInFull(t *testing.T) {
	spinning, err := scenario.Parse("spin.scn", []byte("scenario \"spin\"\npreset cpython-3.14.0 posix\nmain {\n  spawn d\n  io\n  work 2\n}\ndaemon d {\n  forever {\n    io\n    work 1\n  }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Explore(spinning, Options{Policy: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Explore(spinning, Options{Policy: "hang", Reduce: true})
	if err != nil || r.Reduction != ReductionLoops || r.States != full.States {
		t.Fatalf("forever: reduction %q, %d states (full %d), %v", r.Reduction, r.States, full.States, err)
	}
	spinsCheck = false
	defer func() { spinsCheck = true }()
	r, err = Explore(spinning, Options{Policy: "hang", Reduce: true})
	if err != nil || r.Reduction != ReductionCycles || r.States != full.States || len(r.Outcomes) != len(full.Outcomes) {
		t.Fatalf("without the loop check: reduction %q, %d states (full %d), %d outcomes (full %d), %v", r.Reduction, r.States, full.States, len(r.Outcomes), len(full.Outcomes), err)
	}
	x := newSearch(spinning, Options{Policy: "hang", MaxStates: DefaultMaxStates, MaxKeyBytes: DefaultMaxKeyBytes, Workers: 1, Reduce: true}, machine(t, spinning))
	x.explore(1)
	x.runner.Close()
	if !x.cyclic() {
		t.Error("the reduced graph of a forever loop has no cycle")
	}
	acyclic, err := scenario.Parse("bench.scn", []byte(benchScenario))
	if err != nil {
		t.Fatal(err)
	}
	x = newSearch(acyclic, Options{Policy: "hang", MaxStates: DefaultMaxStates, MaxKeyBytes: DefaultMaxKeyBytes, Workers: 1, Reduce: true}, machine(t, acyclic))
	x.explore(1)
	x.runner.Close()
	if x.cyclic() {
		t.Error("the benchmark's reduced graph has a cycle")
	}
}

// machine compiles s for the step function under hang.
func machine(t *testing.T, s *scenario.Scenario) *runtime.Machine {
	t.Helper()
	m, err := runtime.NewMachine(s, "hang")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A state that grows along a path (an ensure stack deepened by a forever
// loop) makes the pending branches' copies ever larger; MaxHeldBytes stops
// the search, incomplete, before the machine's memory does (a fuzz-found
// scenario held 4 GB with a million-state bound and no byte bound).
func TestHeldBytesBoundStopsAGrowingState(t *testing.T) {
	s, err := scenario.Parse("grows.scn", []byte(`scenario "grows"
preset cpython-3.8
main { spawn f
  wait E }
foreign f { forever {
    io
    ensure
    set E } }`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Explore(s, Options{Policy: "hang", MaxHeldBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || !strings.Contains(r.Reason, "outgrew 1048576 bytes") {
		t.Fatalf("complete %v, reason %q: want the held-bytes bound", r.Complete, r.Reason)
	}
}
