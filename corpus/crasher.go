package corpus

import (
	"fmt"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Crasher is a minimized failing run, ready to be saved.
type Crasher struct {
	Name     string // the file name (FileName)
	Content  []byte
	Scenario *scenario.Scenario
	Result   *runtime.Result
	Stats    minimize.Stats
	Caused   bool // the policy caused the failure (fuzz.CausedByPolicy)
}

// MakeCrasher minimizes the failing run r of s under policy and formats it
// as a corpus file whose comments say how it was found (how) and what
// minimization did. If the policy caused the failure, minimization keeps
// only edits where it still does.
func MakeCrasher(s *scenario.Scenario, policy string, r *runtime.Result, how string, opts minimize.Options) (*Crasher, error) {
	if r.Outcome == runtime.Clean {
		return nil, fmt.Errorf("the run is clean: nothing to minimize")
	}
	caused := fuzz.CausedByPolicy(fuzz.WithSchedule(s, r.Schedule), policy, r, opts.MaxSteps)
	if caused && opts.Keep == nil {
		opts.Keep = func(c minimize.Case, r *runtime.Result) bool {
			return fuzz.CausedByPolicy(fuzz.WithSchedule(c.Scenario, c.Schedule), c.Policy, r, opts.MaxSteps)
		}
	}
	target := r.Signature()
	small, sr, stats := minimize.Minimize(minimize.Case{Scenario: s, Policy: policy, Schedule: r.Schedule}, target, opts)
	if sr == nil {
		return nil, fmt.Errorf("the failure %s does not reproduce from its schedule", target)
	}
	out := scenario.Clone(small.Scenario)
	out.Policy = policy
	out.Expect = []scenario.Expect{{Policy: policy, Outcomes: []string{string(sr.Outcome)}}}
	out.Schedule = &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: sr.Schedule}
	cause := "the scenario's own bug (the NoStrike counterfactual fails the same way)"
	if caused {
		cause = "the policy (the NoStrike counterfactual does not fail this way)"
	}
	comments := []string{
		"Found: " + how,
		fmt.Sprintf("Failure: %s (%s) in %s: %s", sr.Outcome, sr.Report.Kind, sr.Report.Thread, sr.Report.Message),
		"Signature: " + target,
		"Caused by: " + cause,
		fmt.Sprintf("Minimized: %d threads and %d statements -> %d threads and %d statements, %d preemptions (%d candidate runs)",
			len(s.Threads), minimize.Statements(s), len(out.Threads), minimize.Statements(out), sr.Preemptions, stats.Runs),
	}
	if stats.Capped {
		comments = append(comments, "Minimization stopped at its run budget.")
	}
	content := Format(comments, out)
	// The file must parse back to what it says.
	if _, err := scenario.Parse("crasher.scn", content); err != nil {
		return nil, fmt.Errorf("formatted crasher does not parse: %v", err)
	}
	return &Crasher{Name: FileName(policy, sr.Outcome, content), Content: content, Scenario: out, Result: sr, Stats: stats, Caused: caused}, nil
}
