package triage

import (
	"fmt"

	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// Crasher is a minimized failing run, ready to be saved.
type Crasher struct {
	Name     string // the file name (corpus.FileName)
	Content  []byte
	Scenario *scenario.Scenario
	Result   *runtime.Result
	Stats    minimize.Stats
	Cause    verdict.Attribution // who caused the failure (verdict.Attribute)
}

// MakeCrasher minimizes the failing run r of s under policy and formats it
// as a corpus file whose comments say how it was found (how), who caused
// it and what minimization did. If the policy caused the failure,
// minimization keeps only edits where it still does. The minimizer
// replays strictly: a candidate counts only when its recorded schedule
// reproduces it exactly.
func MakeCrasher(s *scenario.Scenario, policy string, r *runtime.Result, how string, opts minimize.Options) (*Crasher, error) {
	if r.Outcome == runtime.Clean {
		return nil, fmt.Errorf("the run is clean: nothing to minimize")
	}
	if verdict.Inconclusive(r) {
		return nil, fmt.Errorf("the run is inconclusive (%s): nothing was decided, so there is nothing to minimize", r.Report.Kind)
	}
	cause := verdict.Attribute(verdict.WithSchedule(s, r.Schedule), policy, r, opts.MaxSteps)
	if cause.Cause == verdict.Caused && opts.Keep == nil {
		opts.Keep = func(c minimize.Case, r *runtime.Result) bool {
			return verdict.Attribute(verdict.WithSchedule(c.Scenario, c.Schedule), c.Policy, r, opts.MaxSteps).Cause == verdict.Caused
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
	comments := []string{
		"Found: " + how,
		fmt.Sprintf("Failure: %s (%s) in %s: %s", sr.Outcome, sr.Report.Kind, sr.Report.Thread, sr.Report.Message),
		"Signature: " + target,
		"Caused by: " + causeLine(cause),
		fmt.Sprintf("Minimized: %d threads and %d statements -> %d threads and %d statements, %d preemptions (%d candidate runs)",
			len(s.Threads), minimize.Statements(s), len(out.Threads), minimize.Statements(out), sr.Preemptions, stats.Runs),
	}
	if stats.Capped {
		comments = append(comments, "Minimization stopped at its run budget.")
	}
	content := corpus.Format(comments, out)
	// The file must parse back to what it says.
	if _, err := scenario.Parse("crasher.scn", content); err != nil {
		return nil, fmt.Errorf("formatted crasher does not parse: %v", err)
	}
	return &Crasher{Name: corpus.FileName(policy, sr.Outcome, content), Content: content, Scenario: out, Result: sr, Stats: stats, Cause: cause}, nil
}

// causeLine is the "Caused by:" comment of a crasher.
func causeLine(a verdict.Attribution) string {
	switch a.Cause {
	case verdict.Caused:
		return "the policy (no fair NoStrike counterfactual fails this way)"
	case verdict.NotCaused:
		return "the scenario's own bug (" + a.Why + ")"
	}
	return "unknown (" + a.Why + ")"
}
