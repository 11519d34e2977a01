package minimize

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func library(t *testing.T, name string) *scenario.Scenario {
	src, file, ok := scenarios.Source(name)
	if !ok {
		t.Fatalf("no library scenario %s", name)
	}
	s, err := scenario.Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A padded witness shrinks to a small case with the same failure, and
// minimizing twice gives the same result.
func TestMinimizeKeepsSignatureAndShrinks(t *testing.T) {
	for _, tc := range []struct{ name, policy, outcome string }{
		{"raii-decref-unwind", "unwind", "corruption"},
		{"hang-holds-lock", "hang", "deadlock"},
		{"noexcept-unwind-abort", "unwind", "abort"},
		{"stack-waiter-terminate", "terminate", "corruption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := library(t, tc.name)
			rep, err := explore.Policy(s, tc.policy, explore.Options{Runs: 500})
			if err != nil {
				t.Fatal(err)
			}
			w := rep.Outcomes[runtime.Outcome(tc.outcome)]
			if w == nil {
				t.Fatalf("no %s witness", tc.outcome)
			}
			c := Case{Scenario: s, Policy: tc.policy, Schedule: w.Result.Schedule}
			target := w.Result.Signature()
			// Keep only runs where a thread met the policy and the
			// counterfactual without must-exit checks does not fail the
			// same way (package fuzz's CausedByPolicy, inlined here to
			// keep the test free of that package).
			opts := Options{Keep: func(c Case, r *runtime.Result) bool {
				if r.Strikes == 0 {
					return false
				}
				cf, _ := runtime.Run(c.Scenario, runtime.Config{Policy: c.Policy, NoStrike: true, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: c.Schedule}})
				return cf.Signature() != r.Signature()
			}}
			small, r, stats := Minimize(c, target, opts)
			if r == nil || r.Signature() != target {
				t.Fatalf("minimized case lost the failure %s", target)
			}
			again, err := Run(small, 0)
			if err != nil || again.Signature() != target || again.Diverged >= 0 {
				t.Fatalf("minimized case does not replay: %v %s", err, again.Signature())
			}
			if Statements(small.Scenario) > Statements(s) || len(small.Scenario.Threads) > len(s.Threads) {
				t.Errorf("case grew")
			}
			if n := len(small.Scenario.Threads); n > 2 {
				t.Errorf("%d threads after minimization", n)
			}
			if n := Statements(small.Scenario); n > 12 {
				t.Errorf("%d statements after minimization", n)
			}
			if n := r.Preemptions; n > 4 {
				t.Errorf("%d preemptions after minimization", n)
			}
			t.Logf("%d runs, %d edits: %d threads, %d statements, %d preemptions (%d switches)\n%s%s", stats.Runs, stats.Accepted, len(small.Scenario.Threads), Statements(small.Scenario), r.Preemptions, Switches(small.Schedule), scenario.Print(small.Scenario), r.ReplayLine())
			twice, _, _ := Minimize(c, target, opts)
			if !scenario.Equal(twice.Scenario, small.Scenario) || Switches(twice.Schedule) != Switches(small.Schedule) {
				t.Errorf("minimization is not deterministic")
			}
		})
	}
}

func TestMinimizeRejectsWrongTarget(t *testing.T) {
	s := library(t, "hang-holds-lock")
	c := Case{Scenario: s, Policy: "hang", Schedule: nil}
	if _, r, _ := Minimize(c, "abort/nothing/x:y", Options{MaxRuns: 10}); r != nil {
		t.Errorf("a case that does not fail with the target was minimized")
	}
}

func TestSwitches(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want int
	}{{nil, 0}, {[]int{0}, 0}, {[]int{0, 0, 1, 1, 0}, 2}, {[]int{0, 1, 2, 1}, 3}} {
		if got := Switches(tc.in); got != tc.want {
			t.Errorf("Switches(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
