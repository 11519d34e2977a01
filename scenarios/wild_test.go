package scenarios

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var wildRuns = flag.Int("sfz.wild-runs", 3, "TestWildWithinProvedSets: wild runs per library scenario and policy (make wild-check: 100)")

// Bounds of TestWildWithinProvedSets. A cell (scenario, policy) whose
// exhaustive search does not complete within wildMaxStates
// (wildMaxStatesRace under the race detector; the library's largest cell
// has under 8,000 states) has no proved set: it is skipped and counted.
const (
	wildMaxStates     = libraryMaxStates
	wildMaxStatesRace = 10_000
	// wildMaxSteps is a wild run's step budget: the library's longest
	// run that ends takes under 100 scheduling points, and the runs that
	// spin for ever (guard churn) use the whole budget, so a small one
	// keeps them short.
	wildMaxSteps = 2000
)

// wildOptions bound one wild run: the step budget, the wall-clock
// watchdog, go-deadlock's timeout (process-wide, set by the package's
// first wild run: no other test here runs wild) and the wait for the
// run's goroutines to exit. Procs alternates one and two, as the
// campaign's wild shards do.
func wildOptions(seed uint64) *chaos.WildOptions {
	return &chaos.WildOptions{Seed: seed, Procs: 1 + int(seed%2), MaxSteps: wildMaxSteps, Watchdog: 2 * time.Second,
		DeadlockTimeout: 100 * time.Millisecond, ExitTimeout: time.Second}
}

// wildKnownFailures lists the cells ("NAME policy") whose wild outcomes
// are known to lie outside the proved set, each with the reason; the test
// logs them without failing. None is known.
var wildKnownFailures = map[string]string{}

// The verdict on one wild run against a proved outcome set.
type wildVerdict int

const (
	wildWithin       wildVerdict = iota // its outcome is in the proved set
	wildInconclusive                    // the run proves nothing either way
	wildOutside                         // its outcome is not in the proved set: a disagreement
)

func (v wildVerdict) String() string {
	return [...]string{"within", "inconclusive", "outside"}[v]
}

// judgeWild is the verdict on wild run r against the proved outcome set of its scenario and policy, and why.
// Wild mode can end in ways the model cannot:
//   - the step budget or the wall-clock watchdog (outcome budget): the
//     run was cut short, whatever the proved set holds: inconclusive;
//   - a deadlock that go-deadlock's timeout found (a report in r.Detector
//     other than a lock-order inversion): a real lock wait outlived the
//     timeout. If main's wait-for chain at that moment ends for good (at
//     a hung or ended thread, or in a cycle), the deadlock is real and
//     is judged by the set like any outcome; if it ends at a thread that
//     can run (or a lock in hand-off), the wait was slowness on a loaded
//     machine: inconclusive;
//   - a deadlock with no wait-for chain, which only the step budget
//     gives (guard churn: a guard was always held while main waited):
//     within when the set has deadlock (the search proves the churn a
//     cycle), else inconclusive (a budget too small for the churn to end).
//
// Every other outcome is the model's own verdict on the interleaving the
// run took, and must be in the set. checkWildRun replays the runs that
// are not within to tell more.
func judgeWild(proved map[runtime.Outcome]bool, r *runtime.Result) (wildVerdict, string) {
	timedOut := false
	for _, d := range r.Detector {
		if !strings.Contains(d, "Inconsistent locking") {
			timedOut = true
		}
	}
	churn := len(r.Cycle) == 0
	switch {
	case r.Outcome == runtime.Budget:
		return wildInconclusive, "cut short (" + r.Report.Kind + ")"
	case r.Outcome == runtime.Deadlock && timedOut && !forGood(r):
		return wildInconclusive, "a real lock wait outlived go-deadlock's timeout, but main's wait-for chain ends at a thread that can run: " + strings.Join(r.Cycle, "; ")
	case r.Outcome == runtime.Deadlock && churn && !proved[runtime.Deadlock]:
		return wildInconclusive, "a deadlock decided at the step budget (guard churn), and no deadlock is reachable"
	case proved[r.Outcome]:
		return wildWithin, ""
	}
	return wildOutside, fmt.Sprintf("%s is not in the proved set {%s}", r.Signature(), outcomeList(proved))
}

// forGood reports whether deadlock r's wait-for chain (chaos.Controller's
// chain, as r.Report.Kind and the last line of r.Cycle tell it) ends
// where no thread can ever go on: a hung thread, an ended one, a cycle.
func forGood(r *runtime.Result) bool {
	switch r.Report.Kind {
	case runtime.KindDeadlockOnHung, runtime.KindDeadlockOnEnded:
		return true
	}
	return len(r.Cycle) > 0 && strings.HasSuffix(r.Cycle[len(r.Cycle)-1], " (cycle)")
}

func outcomeList(set map[runtime.Outcome]bool) string {
	var out []string
	for _, o := range runtime.Outcomes {
		if set[o] {
			out = append(out, string(o))
		}
	}
	return strings.Join(out, ", ")
}

// checkWildRun judges wild run w of s under policy (judgeWild) and
// replays its recorded schedule under the controlled scheduler where the
// verdict needs it: an inconclusive run whose schedule the model does
// not follow to its end took a path the model has not, and is outside;
// a run outside the set gets the replay's account, which tells a model
// whose proof lacks an outcome it reaches from a wild run that left the
// model's paths.
func checkWildRun(s *scenario.Scenario, policy string, proved map[runtime.Outcome]bool, w *runtime.Result) (wildVerdict, string, error) {
	v, why := judgeWild(proved, w)
	if v == wildWithin {
		return v, why, nil
	}
	c, err := runtime.Run(s, runtime.Config{Policy: policy, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Schedule}})
	if err != nil {
		return wildOutside, why, fmt.Errorf("controlled replay of the wild schedule: %w", err)
	}
	n := len(w.Schedule)
	switch {
	case c.Diverged >= 0 && c.Diverged < n:
		return wildOutside, fmt.Sprintf("%s; the controlled replay diverged at step %d of its %d (a choice the model does not allow there), then %s",
			why, c.Diverged, n, c.Signature()), nil
	case v == wildInconclusive:
		return v, why, nil
	case c.Diverged >= 0:
		why += fmt.Sprintf("; the controlled replay followed all %d choices, then went on at random to %s", n, c.Signature())
	case c.Signature() != w.Signature():
		why += fmt.Sprintf("; the controlled replay followed all %d choices to %s instead", n, c.Signature())
	default:
		why += fmt.Sprintf("; the controlled replay followed all %d choices to the same %s: the model reaches an outcome its proof lacks", n, c.Signature())
	}
	return v, why, nil
}

// wildTally counts the verdicts on a cell's wild runs; outside holds a
// report of each run outside the proved set.
type wildTally struct {
	within, inconclusive int
	outside              []string
}

// checkWildCell runs s under policy in wild mode runs times, seeds 1 to
// runs, and judges each run against proved. It fails t on an error or a
// goroutine left behind, and logs the inconclusive runs.
func checkWildCell(t *testing.T, s *scenario.Scenario, policy string, proved map[runtime.Outcome]bool, runs int) wildTally {
	t.Helper()
	var n wildTally
	for k := range runs {
		seed := uint64(k + 1)
		w, err := runtime.Run(s, runtime.Config{Policy: policy, Wild: wildOptions(seed)})
		if err != nil {
			t.Errorf("%s %s, wild seed %d: %v", s.Name, policy, seed, err)
			continue
		}
		if len(w.Leaked) > 0 {
			t.Errorf("%s %s, wild seed %d: goroutines left behind: %v", s.Name, policy, seed, w.Leaked)
		}
		v, why, err := checkWildRun(s, policy, proved, w)
		if err != nil {
			t.Errorf("%s %s, wild seed %d: %v", s.Name, policy, seed, err)
		}
		switch v {
		case wildWithin:
			n.within++
		case wildInconclusive:
			n.inconclusive++
			t.Logf("%s %s, wild seed %d: inconclusive: %s", s.Name, policy, seed, why)
		case wildOutside:
			n.outside = append(n.outside, fmt.Sprintf("wild seed %d: %s\n%s", seed, why, w.Text()))
		}
	}
	return n
}

// provedOutcomes is the outcome set the exhaustive search proves for s
// under policy within maxStates, or nil when the search does not
// complete (an incomplete search proves nothing), with its result.
func provedOutcomes(t *testing.T, s *scenario.Scenario, policy string, maxStates int) (map[runtime.Outcome]bool, *exhaustive.Result) {
	t.Helper()
	res, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: maxStates})
	if err != nil {
		t.Fatalf("%s %s: %v", s.Name, policy, err)
	}
	if !res.Complete {
		return nil, res
	}
	proved := map[runtime.Outcome]bool{}
	for o := range res.Outcomes {
		proved[o] = true
	}
	return proved, res
}

// TestWildWithinProvedSets: wild mode keeps real goroutines and the real
// mutex GIL, and must agree with the step function: for every library
// scenario under every policy, the outcome of each of -sfz.wild-runs wild
// runs (distinct seeds) lies within the outcome set the exhaustive search
// proves. A cell whose search does not complete within its bound is
// skipped (an incomplete search proves nothing), and a wild run that
// proves nothing (judgeWild) is inconclusive; both are counted and
// logged, never passed. A run outside the set is replayed under the
// controlled scheduler, and the failure says what the replay gave.
func TestWildWithinProvedSets(t *testing.T) {
	runs := *wildRuns
	if runs <= 0 {
		t.Skip("-sfz.wild-runs=0")
	}
	bound := wildMaxStates
	if raceEnabled {
		bound = wildMaxStatesRace
	}
	var cells, skipped, within, inconclusive, outside int
	for _, name := range Names() {
		s := load(t, name)
		for _, p := range scenario.Policies {
			cell := name + " " + p
			proved, res := provedOutcomes(t, s, p, bound)
			if proved == nil {
				skipped++
				t.Logf("%s: skipped, the search is incomplete (%s)", cell, res.Reason)
				continue
			}
			cells++
			n := checkWildCell(t, s, p, proved, runs)
			within, inconclusive, outside = within+n.within, inconclusive+n.inconclusive, outside+len(n.outside)
			reason, known := wildKnownFailures[cell]
			switch {
			case len(n.outside) > 0 && known:
				t.Logf("%s: known failure (%s): %d wild runs outside the proved set", cell, reason, len(n.outside))
			case len(n.outside) > 0:
				t.Errorf("%s: wild outcomes outside the proved set {%s} (%d states):\n%s",
					cell, outcomeList(proved), res.States, strings.Join(n.outside, "\n"))
			case known:
				t.Logf("%s: a known failure, but its %d wild runs were within the proved set", cell, runs)
			}
		}
	}
	t.Logf("%d cells checked, %d wild runs each: %d runs within the proved set, %d inconclusive, %d outside; %d cells skipped (search incomplete within %d states)",
		cells, runs, within, inconclusive, outside, skipped, bound)
	if cells == 0 {
		t.Fatal("no cell has a complete search: the test checked nothing")
	}
}

// The check fires: against the proved set of a cell with one outcome,
// that outcome replaced by another, every wild run is outside (none
// within), and the replay says what the model does with its schedule. The cells: a clean
// exit (atexit-stops-daemons under hang), and a deadlock that
// go-deadlock's timeout finds, main waiting on a lock a hung daemon
// holds (hang-holds-lock under hang).
func TestWildCheckFiresOutsideTheSet(t *testing.T) {
	for _, c := range []struct {
		name        string
		proved, not runtime.Outcome
		want        []string
	}{
		{"atexit-stops-daemons", runtime.Clean, runtime.Deadlock,
			[]string{"clean/exit/: is not in the proved set {deadlock}", "the model reaches an outcome its proof lacks"}},
		{"hang-holds-lock", runtime.Deadlock, runtime.Clean,
			[]string{"deadlock/deadlock-on-hung/main:lock L is not in the proved set {clean}", "the controlled replay followed all",
				"go-deadlock: a lock wait outlived go-deadlock's timeout: main waits for mutex L"}},
	} {
		s := load(t, c.name)
		proved, _ := provedOutcomes(t, s, "hang", wildMaxStates)
		if outcomeList(proved) != string(c.proved) {
			t.Fatalf("%s: proved {%s}, want {%s}: pick another cell", c.name, outcomeList(proved), c.proved)
		}
		crafted := map[runtime.Outcome]bool{c.not: true}
		n := checkWildCell(t, s, "hang", crafted, 3)
		if n.within > 0 || len(n.outside) == 0 { // an inconclusive run (a loaded machine) checks nothing
			t.Fatalf("%s: %d of 3 runs outside {%s}, want all (%d within, %d inconclusive)", c.name, len(n.outside), c.not, n.within, n.inconclusive)
		}
		for _, o := range n.outside {
			for _, w := range c.want {
				if !strings.Contains(o, w) {
					t.Errorf("%s: the report lacks %q:\n%s", c.name, w, o)
				}
			}
		}
	}
}

// judgeWild on crafted results: what wild mode alone can report is
// inconclusive or within as the proved set says, the rest is judged by
// the set.
func TestJudgeWild(t *testing.T) {
	set := func(os ...runtime.Outcome) map[runtime.Outcome]bool {
		m := map[runtime.Outcome]bool{}
		for _, o := range os {
			m[o] = true
		}
		return m
	}
	hang := []string{"POTENTIAL DEADLOCK:\nPrevious place where the lock was grabbed"}
	inversion := []string{"POTENTIAL DEADLOCK:\nInconsistent locking. saw this ordering in one goroutine:"}
	onHung := runtime.Report{Kind: runtime.KindDeadlockOnHung}
	hungChain := []string{"main waits for mutex L (held by d)", "d waits for ever (hung by the policy)"}
	cycle := []string{"main waits for mutex L (held by d)", "d waits for mutex M (held by main) (cycle)"}
	slow := []string{"main waits for mutex L (held by d)", "d can run"}
	for _, c := range []struct {
		name   string
		proved map[runtime.Outcome]bool
		r      runtime.Result
		want   wildVerdict
	}{
		{"in the set", set(runtime.Clean, runtime.Abort), runtime.Result{Outcome: runtime.Abort}, wildWithin},
		{"not in the set", set(runtime.Clean), runtime.Result{Outcome: runtime.Corruption}, wildOutside},
		{"step budget", set(runtime.Clean), runtime.Result{Outcome: runtime.Budget, Report: runtime.Report{Kind: runtime.KindBudget}}, wildInconclusive},
		{"watchdog", set(runtime.Budget), runtime.Result{Outcome: runtime.Budget, Report: runtime.Report{Kind: runtime.KindWatchdog}}, wildInconclusive},
		{"go-deadlock timeout on a hung thread, deadlock proved", set(runtime.Deadlock), runtime.Result{Outcome: runtime.Deadlock, Detector: hang, Report: onHung, Cycle: hungChain}, wildWithin},
		{"go-deadlock timeout on a hung thread, no deadlock proved", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Detector: hang, Report: onHung, Cycle: hungChain}, wildOutside},
		{"go-deadlock timeout on a cycle, no deadlock proved", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Detector: hang, Cycle: cycle}, wildOutside},
		{"go-deadlock timeout on a thread that can run, deadlock proved", set(runtime.Deadlock), runtime.Result{Outcome: runtime.Deadlock, Detector: hang, Cycle: slow}, wildInconclusive},
		{"go-deadlock timeout on a thread that can run, no deadlock proved", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Detector: hang, Cycle: slow}, wildInconclusive},
		{"a stall with only an inversion reported", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Detector: inversion, Cycle: slow}, wildOutside},
		{"a stall", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Cycle: cycle}, wildOutside},
		{"guard churn at the budget, no deadlock proved", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Steps: wildMaxSteps}, wildInconclusive},
		{"guard churn at the budget, deadlock proved", set(runtime.Deadlock), runtime.Result{Outcome: runtime.Deadlock, Steps: wildMaxSteps}, wildWithin},
		{"a wait-for chain at the budget", set(runtime.Clean), runtime.Result{Outcome: runtime.Deadlock, Steps: wildMaxSteps, Cycle: hungChain, Report: onHung}, wildOutside},
	} {
		if got, why := judgeWild(c.proved, &c.r); got != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got, why, c.want)
		}
	}
}
