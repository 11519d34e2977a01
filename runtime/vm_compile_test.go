package runtime_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// fuzzSeeds decodes the seeds of FuzzShutdown (fuzz/testdata), as the
// fuzzer would.
func fuzzSeeds(tb testing.TB) []*scenario.Scenario {
	tb.Helper()
	paths, err := filepath.Glob("../fuzz/testdata/fuzz/FuzzShutdown/*")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fuzz seeds: %v", err)
	}
	var out []*scenario.Scenario
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		data, err := fuzz.UnmarshalCorpusFile(b)
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		out = append(out, scenario.Decode(data))
	}
	return out
}

// library is the scenario library (scenarios/*.scn and scenarios/patterns).
func library(tb testing.TB) []*scenario.Scenario {
	var out []*scenario.Scenario
	for _, f := range testscn.Library(tb) {
		out = append(out, f.Scenario)
	}
	return out
}

// BenchmarkNewMachine measures compiling a scenario for the step function
// (one op: one NewMachine, over the scenarios in turn, unsupported ones
// included as the fuzzer would meet them): the fuzz seeds, which are the
// size of the fuzzer's scenarios, and the library.
func BenchmarkNewMachine(b *testing.B) {
	for _, c := range []struct {
		name string
		scs  []*scenario.Scenario
	}{{"fuzz", fuzzSeeds(b)}, {"library", library(b)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				runtime.NewMachine(c.scs[i%len(c.scs)], "")
				i++
			}
		})
	}
}

// randomScenarios decodes n random byte strings (the fuzz decoder is
// total), of up to 300 bytes.
func randomScenarios(n int) []*scenario.Scenario {
	rng := rand.New(rand.NewPCG(3, 5))
	out := make([]*scenario.Scenario, n)
	for i := range out {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out[i] = scenario.Decode(b)
	}
	return out
}

// The liveness sets NewMachine computes in one pass per body are the sets
// futureOps, addOps and opsAnywhere give (what NewMachine computed
// before, statement by statement: runtime.CheckLiveness), for every
// statement of the library, the fuzz seeds and 3,000 decoded random
// inputs, and the statement ids are those the map of ids gave.
func TestLivenessSets(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	checked, nested := 0, 0
	for _, s := range slices.Concat(library(t), fuzzSeeds(t), randomScenarios(n)) {
		m, err := runtime.NewMachine(s, "")
		if errors.Is(err, runtime.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := runtime.CheckLiveness(m); err != nil {
			t.Fatalf("%v\n%s", err, scenario.Print(s))
		}
		checked++
		if nestsLiveness(s) {
			nested++
		}
	}
	t.Logf("%d scenarios checked, %d with a forever, loop, if/else or atthreadexit holding a set, close or spawn in a thread", checked, nested)
	if nested < 100 {
		t.Errorf("only %d scenarios nest an operation the rule asks about: the test checks little", nested)
	}
}

// nestsLiveness reports whether a thread other than main of s has a set,
// close or spawn inside a block, where futureOps's rules for enclosing
// statements apply.
func nestsLiveness(s *scenario.Scenario) bool {
	found := false
	for _, d := range s.Threads[1:] {
		for _, st := range d.Body {
			scenario.Walk(st.Body, func(in *scenario.Stmt) {
				found = found || in.Op == scenario.OpSet || in.Op == scenario.OpClose || in.Op == scenario.OpSpawn
			})
		}
	}
	return found
}
