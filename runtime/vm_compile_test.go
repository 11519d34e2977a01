package runtime_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
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
	out, err := fuzz.CorpusScenarios("../fuzz/testdata/fuzz/FuzzShutdown")
	if err != nil {
		tb.Fatal(err)
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

// A machine from WithPolicy is the machine NewMachine compiles under that
// policy: over the library and the fuzz seeds, under every policy,
// random walks take the same steps to the same states (keys), runnable
// sets and terminals; the machine it was made from keeps its own policy;
// an unknown policy is ErrUsage.
func TestWithPolicy(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	callbacks := 0
	for _, s := range slices.Concat(library(t), fuzzSeeds(t)) {
		base, err := runtime.NewMachine(s, "")
		if errors.Is(err, runtime.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Callback != "" {
			callbacks++
		}
		for _, p := range append([]string{""}, scenario.Policies...) {
			got, err := base.WithPolicy(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := runtime.NewMachine(s, p)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				seed := rng.Uint64()
				if err := sameWalk(got, want, seed); err != nil {
					t.Fatalf("policy %q: %v\n%s", p, err, scenario.Print(s))
				}
			}
		}
		again, _ := runtime.NewMachine(s, "")
		if err := sameWalk(base, again, rng.Uint64()); err != nil {
			t.Fatalf("the machine WithPolicy copied: %v\n%s", err, scenario.Print(s))
		}
		if _, err := base.WithPolicy("nonesuch"); !errors.Is(err, runtime.ErrUsage) {
			t.Fatalf("WithPolicy(nonesuch): %v, want ErrUsage", err)
		}
	}
	if callbacks == 0 {
		t.Error("no scenario with an exit callback: WithPolicy's keeping it is not tested")
	}
}

// sameWalk walks a and b with the same random choices (seed), at most
// 1,000 steps, and reports the first difference in keys, runnable
// threads, or terminals.
func sameWalk(a, b *runtime.Machine, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	sa, ta := a.Initial()
	sb, tb := b.Initial()
	for n := 0; n < 1000; n++ {
		if (ta == nil) != (tb == nil) || ta != nil && *ta != *tb {
			return fmt.Errorf("step %d: terminal %+v, want %+v", n, ta, tb)
		}
		if string(sa.AppendKey(nil)) != string(sb.AppendKey(nil)) {
			return fmt.Errorf("step %d: the states differ", n)
		}
		if ta != nil {
			return nil
		}
		ra, rb := a.Runnable(sa, nil), b.Runnable(sb, nil)
		if !slices.Equal(ra, rb) {
			return fmt.Errorf("step %d: runnable %v, want %v", n, ra, rb)
		}
		ea, eb := a.End(sa, ra), b.End(sb, rb)
		if (ea == nil) != (eb == nil) || ea != nil && *ea != *eb {
			return fmt.Errorf("step %d: end %+v, want %+v", n, ea, eb)
		}
		if ea != nil {
			return nil
		}
		id := ra[rng.IntN(len(ra))]
		ta, tb = a.Step(sa, id), b.Step(sb, id)
	}
	return nil
}
