package exhaustive_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var (
	stepScenarios = flag.Int("sfz.step-scenarios", 200, "TestStepFunctionAgreesOnGenerated: how many generated scenarios to compare (1000 for the full check; 20 under -race)")
	stepPresets   = flag.Bool("sfz.step-presets", false, "TestStepFunctionAgreesOnLibrary: every library scenario also under every boundary preset (about 5,000 searches, minutes)")
)

// agree explores s under policy with the step function and by replay and
// reports how the two differ: the outcome set, completeness, and which
// outcomes only CPython's defects make (docs/step-function.md, stage 2).
func agree(s *scenario.Scenario, policy string, maxStates int) (compared bool, err error) {
	if _, err := runtime.NewMachine(s, policy); errors.Is(err, runtime.ErrUnsupported) {
		return false, nil
	}
	vm, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: maxStates})
	if err != nil {
		return true, fmt.Errorf("step function: %w", err)
	}
	rp, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: maxStates, Replay: true})
	if err != nil {
		return true, fmt.Errorf("replay: %w", err)
	}
	if vm.Complete != rp.Complete {
		// A bound that one search reaches and the other does not is no
		// disagreement on the outcomes.
		return false, nil
	}
	if !vm.Complete {
		return false, nil
	}
	if seen(vm) != seen(rp) {
		return true, fmt.Errorf("%s: step function %s (%d states), replay %s (%d states)", policy, seen(vm), vm.States, seen(rp), rp.States)
	}
	if err := agreeReduced(s, policy, maxStates, vm); err != nil {
		return true, err
	}
	for _, o := range vm.Seen() {
		a, b := vm.Outcomes[o], rp.Outcomes[o]
		if (a.Defects == a.Count) != (b.Defects == b.Count) || a.Defect != b.Defect {
			return true, fmt.Errorf("%s %s: defects %d/%d %q, replay %d/%d %q", policy, o, a.Defects, a.Count, a.Defect, b.Defects, b.Count, b.Defect)
		}
		// The report kinds of the terminal transitions (the step function
		// does not tell deadlocks apart by their wait-for chain).
		if o != runtime.Deadlock && !slices.Equal(a.Kinds, b.Kinds) {
			return true, fmt.Errorf("%s %s: report kinds %v, replay %v", policy, o, a.Kinds, b.Kinds)
		}
	}
	return true, nil
}

// agreeReduced explores s again with partial-order reduction and compares
// it with the full search full: the same outcomes, the same outcomes made
// by CPython's defects alone, the same report kinds (docs/exhaustive.md).
func agreeReduced(s *scenario.Scenario, policy string, maxStates int, full *exhaustive.Result) error {
	rd, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: maxStates, Reduce: true, Verify: true})
	if err != nil {
		return fmt.Errorf("reduced: %w", err)
	}
	if !rd.Complete || rd.Reduction == "" || rd.Reduction == exhaustive.ReductionLoops && rd.States != full.States {
		return fmt.Errorf("%s: the reduced search is not complete (%s) or not reduced (%q) where the full one is", policy, rd.Reason, rd.Reduction)
	}
	reducedSearches++
	if rd.Reduction == exhaustive.ReductionOn {
		reducedStates[0] += rd.States
		reducedStates[1] += full.States
	}
	if seen(rd) != seen(full) {
		return fmt.Errorf("%s: reduced %s (%d states), full %s (%d states)", policy, seen(rd), rd.States, seen(full), full.States)
	}
	for _, o := range full.Seen() {
		a, b := rd.Outcomes[o], full.Outcomes[o]
		if (a.Defects == a.Count) != (b.Defects == b.Count) || (a.Defect == "") != (b.Defect == "") || !slices.Equal(a.Kinds, b.Kinds) {
			return fmt.Errorf("%s %s: reduced: defects %d/%d %q kinds %v, full: %d/%d %q kinds %v", policy, o, a.Defects, a.Count, a.Defect, a.Kinds, b.Defects, b.Count, b.Defect, b.Kinds)
		}
	}
	return nil
}

// reducedSearches counts the reduced searches compared, and reducedStates
// the states of those the reduction kept (reduced, full).
var (
	reducedSearches int
	reducedStates   [2]int
)

// TestStepFunctionAgreesOnLibrary: every library scenario the step
// function models, under every policy (and with -sfz.step-presets under
// every boundary preset), has the replay search's outcome set. Under -race
// the searches stop at 2,000 states (larger cells are not compared).
func TestStepFunctionAgreesOnLibrary(t *testing.T) {
	files := testscn.Library(t)
	var presets []string
	if *stepPresets {
		presets = runtime.BoundaryPresets
	}
	bound := 200_000
	if raceEnabled {
		bound = 2_000
	}
	compared, filesCompared := 0, 0
	reducedSearches, reducedStates = 0, [2]int{}
	for _, f := range files {
		before := compared
		s := f.Scenario
		for _, preset := range append([]string{""}, presets...) {
			c := *s
			if preset != "" {
				c.Presets = []string{preset}
			}
			for _, p := range scenario.Policies {
				ok, err := agree(&c, p, bound)
				if err != nil {
					t.Errorf("%s (preset %q): %v", f.Path, preset, err)
				}
				if ok {
					compared++
				}
			}
		}
		if compared > before {
			filesCompared++
		}
	}
	t.Logf("%d searches compared, over %d of %d files; %d reduced searches, %d states where the full ones have %d", compared, filesCompared, len(files), reducedSearches, reducedStates[0], reducedStates[1])
	if compared == 0 {
		t.Fatal("the step function models no library scenario: the test checks nothing")
	}
}

// TestStepFunctionAgreesOnGenerated: generated scenarios (genScenario,
// over every statement) and scenarios decoded from random bytes (the fuzz
// decoder is total; foreign threads, replicated blocks and after_finalize
// included) have the replay search's outcome sets under every policy, and
// the same with partial-order reduction.
func TestStepFunctionAgreesOnGenerated(t *testing.T) {
	want := *stepScenarios
	if testing.Short() || raceEnabled {
		want = min(want, 20)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	scenarios, compared, tried := 0, 0, 0
	reducedSearches, reducedStates = 0, [2]int{}
	for scenarios < want && tried < 20*want {
		tried++
		var s *scenario.Scenario
		if tried%4 == 0 {
			b := make([]byte, 20+rng.IntN(80))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			s = scenario.Decode(b)
		} else {
			src := genScenario(rng)
			var err error
			if s, err = scenario.Parse("gen.scn", []byte(src)); err != nil {
				continue
			}
		}
		if _, err := runtime.NewMachine(s, ""); err != nil {
			continue
		}
		scenarios++
		for _, p := range scenario.Policies {
			ok, err := agree(s, p, 3_000)
			if err != nil {
				t.Errorf("%v\n%s", err, scenario.Print(s))
			}
			if ok {
				compared++
			}
		}
	}
	t.Logf("%d scenarios, %d complete searches compared (%d tried); %d reduced searches, %d states where the full ones have %d", scenarios, compared, tried, reducedSearches, reducedStates[0], reducedStates[1])
	if compared < want {
		t.Errorf("only %d searches compared: the test checks little", compared)
	}
}

// genScenario writes a random scenario of up to three threads and daemons
// from the statements the step function models, under a random preset
// before 3.15.
func genScenario(rng *rand.Rand) string {
	var b strings.Builder
	presets := runtime.BoundaryPresets
	preset := presets[rng.IntN(len(presets))]
	if rng.IntN(3) == 0 {
		preset = "cpython-3.15"
	}
	guards := preset == "cpython-3.15"
	fmt.Fprintf(&b, "scenario \"gen\"\npreset %s%s\n", preset, genFacet(rng))
	n := 1 + rng.IntN(3)
	var names []string
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("t%d", i))
	}
	group := rng.IntN(4) == 0
	b.WriteString("main {\n")
	if group {
		b.WriteString("  spawn w\n")
	}
	genObjects(&b, rng)
	for _, name := range names {
		if rng.IntN(4) == 0 {
			fmt.Fprintf(&b, "  spawn %s nowait\n", name)
		} else {
			fmt.Fprintf(&b, "  spawn %s\n", name)
		}
	}
	genBody(&b, rng, names, guards, 2, 1+rng.IntN(3))
	if rng.IntN(6) == 0 {
		fmt.Fprintf(&b, "  exit %d\n", rng.IntN(2))
	}
	b.WriteString("}\n")
	for _, name := range names {
		kind := []string{"daemon", "daemon", "thread", "foreign"}[rng.IntN(4)]
		fmt.Fprintf(&b, "%s %s {\n", kind, name)
		if kind == "foreign" {
			b.WriteString("  ensure\n")
		}
		if rng.IntN(3) == 0 { // a thread-local destructor, of either kind
			fmt.Fprintf(&b, "  atthreadexit%s {\n", []string{"", " native"}[rng.IntN(2)])
			genBody(&b, rng, names, false, 3, 1)
			b.WriteString("  }\n")
		}
		genBody(&b, rng, names, guards, 2, 1+rng.IntN(4))
		if kind == "foreign" && rng.IntN(4) > 0 {
			b.WriteString("  unensure\n")
		}
		b.WriteString("}\n")
	}
	if group {
		fmt.Fprintf(&b, "%s w[%d] {\n", []string{"daemon", "thread"}[rng.IntN(2)], 2+rng.IntN(2))
		genBody(&b, rng, names, false, 2, 1+rng.IntN(2))
		b.WriteString("}\n")
	}
	for _, blk := range []string{"atexit", "teardown", "after_finalize"} {
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "%s {\n", blk)
			genBody(&b, rng, names, guards, 2, 1+rng.IntN(2))
			b.WriteString("}\n")
		}
	}
	return b.String()
}

func genBody(b *strings.Builder, rng *rand.Rand, names []string, guards bool, depth, n int) {
	ind := strings.Repeat(" ", 2*depth-2)
	for range n {
		if guards && rng.IntN(4) == 0 {
			genGuard(b, rng, names, depth)
			continue
		}
		if rng.IntN(3) == 0 {
			genHeap(b, rng, names, guards, depth) // vm_heap_test.go
			continue
		}
		lock := []string{"L", "M"}[rng.IntN(2)]
		ev := []string{"E", "F"}[rng.IntN(2)]
		switch k := rng.IntN(16); {
		case k < 3:
			fmt.Fprintf(b, "%swork %d\n", ind, 1+rng.IntN(3))
		case k < 5:
			fmt.Fprintf(b, "%sio\n", ind)
		case k < 7:
			fmt.Fprintf(b, "%slock %s\n%swork 1\n%sunlock %s\n", ind, lock, ind, ind, lock)
		case k == 7 && rng.IntN(2) == 0:
			fmt.Fprintf(b, "%sset %s\n", ind, ev)
		case k == 7:
			fmt.Fprintf(b, "%sprint %s\"x\"\n", ind, []string{"", "flush "}[rng.IntN(2)])
		case k == 8:
			fmt.Fprintf(b, "%swait %s\n", ind, ev)
		case k == 9 && depth < 4:
			fmt.Fprintf(b, "%sloop %d {\n", ind, 2+rng.IntN(2))
			genBody(b, rng, names, guards, depth+1, 1+rng.IntN(2))
			fmt.Fprintf(b, "%s}\n", ind)
		case k == 10 && depth < 4:
			fmt.Fprintf(b, "%sif finalizing {\n", ind)
			genBody(b, rng, names, guards, depth+1, 1)
			fmt.Fprintf(b, "%s} else {\n", ind)
			genBody(b, rng, names, guards, depth+1, 1)
			fmt.Fprintf(b, "%s}\n", ind)
		case k == 11 && depth < 4:
			fmt.Fprintf(b, "%suntil %s {\n", ind, ev)
			genBody(b, rng, names, guards, depth+1, 1)
			fmt.Fprintf(b, "%s}\n", ind)
		case k == 12:
			fmt.Fprintf(b, "%sjoin %s\n", ind, names[rng.IntN(len(names))])
		case k == 13 && rng.IntN(2) == 0:
			fmt.Fprintf(b, "%srelease\n%swork 1\n%sacquire\n", ind, ind, ind)
		case k == 13:
			fmt.Fprintf(b, "%sensure\n%swork 1\n%sunensure\n", ind, ind, ind)
		case k == 14 && rng.IntN(4) == 0:
			fmt.Fprintf(b, "%spark\n", ind)
		case k == 14 && rng.IntN(3) == 0 && depth < 4:
			fmt.Fprintf(b, "%sforever {\n", ind)
			genBody(b, rng, names, guards, depth+1, 1)
			fmt.Fprintf(b, "%s}\n", ind)
		default:
			fmt.Fprintf(b, "%syield\n", ind)
		}
	}
}

// genGuard writes one of PEP 788's statements (3.15).
func genGuard(b *strings.Builder, rng *rand.Rand, names []string, depth int) {
	ind := strings.Repeat(" ", 2*depth-2)
	g := []string{"G", "H"}[rng.IntN(2)]
	switch rng.IntN(6) {
	case 0:
		fmt.Fprintf(b, "%sinterp_guard %s\n", ind, g)
	case 1:
		fmt.Fprintf(b, "%sclose %s\n", ind, g)
	case 2:
		fmt.Fprintf(b, "%sensure %s\n%swork 1\n%sunensure\n", ind, g, ind, ind)
	case 3:
		fmt.Fprintf(b, "%sif guarded %s {\n%s  work 1\n%s} else {\n%s  yield\n%s}\n", ind, g, ind, ind, ind, ind)
	case 4:
		fmt.Fprintf(b, "%sinterp_guard %s {\n", ind, g)
		genBody(b, rng, names, false, depth+1, 1)
		fmt.Fprintf(b, "%s} else {\n%s  yield\n%s}\n", ind, ind, ind)
	default:
		fmt.Fprintf(b, "%sensure view {\n", ind)
		genBody(b, rng, names, false, depth+1, 1)
		fmt.Fprintf(b, "%s} else {\n%s  yield\n%s}\n", ind, ind, ind)
	}
}
