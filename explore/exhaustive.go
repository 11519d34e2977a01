package explore

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// exhaustivePolicy is Policy with Options.Exhaustive: the exact outcome
// set, proved when the search completes. A witness's Count is the number
// of transitions into its outcome (for a cycle: fair components).
func exhaustivePolicy(s *scenario.Scenario, policy string, opts Options) (*Report, error) {
	res, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: opts.MaxStates, Workers: opts.Workers, ExactKeys: opts.ExactKeys, Reduce: opts.Reduce})
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: s.Name, Policy: policy, Runs: res.Runs, Mode: "exhaustive",
		Complete: res.Complete, States: res.States, Incomplete: res.Reason, Reduction: res.Reduction, Outcomes: map[runtime.Outcome]*Witness{}}
	for o, w := range res.Outcomes {
		how := "exhaustive"
		if len(w.Cycle) > 0 {
			// The turn is written out choice by choice, space-separated
			// (not in the C*N runs of a schedule line), as "[0 1 1]"
			// prints without its brackets.
			how = fmt.Sprintf("exhaustive, a fair cycle: repeat the last %d choice(s) for ever (%s)", len(w.Cycle), strings.Trim(fmt.Sprint(w.Cycle), "[]"))
		}
		rep.Outcomes[o] = &Witness{Count: w.Count, Schedule: w.Result.ReplayLine(), Strategy: how, Cycle: w.Cycle, Result: w.Result,
			Defects: w.Defects, Defect: w.Defect}
	}
	rep.compare(s)
	return rep, nil
}

// header is the first line of Text.
func (r *Report) header() string {
	if r.Mode != "exhaustive" {
		return fmt.Sprintf("policy %s: %d runs\n", r.Policy, r.Runs)
	}
	if !r.Complete {
		return fmt.Sprintf("policy %s: exhaustive, INCOMPLETE after %d states (%s): the outcomes below are a lower bound, not proved\n", r.Policy, r.States, r.Incomplete)
	}
	switch r.Reduction {
	case exhaustive.ReductionOn:
		return fmt.Sprintf("policy %s: exhaustive, complete: %d states after partial-order reduction, the outcome set is proved\n", r.Policy, r.States)
	case exhaustive.ReductionCycles, exhaustive.ReductionLoops:
		return fmt.Sprintf("policy %s: exhaustive, complete: %d states, the outcome set is proved (reduction %s)\n", r.Policy, r.States, r.Reduction)
	}
	return fmt.Sprintf("policy %s: exhaustive, complete: %d states, the outcome set is proved\n", r.Policy, r.States)
}
