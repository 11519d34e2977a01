// Package explore samples the schedules of a scenario and reports the set
// of outcomes each policy can reach, with the first schedule that showed
// each one. Exploration mixes random and PCT schedules; it is a pure
// function of the scenario, the policy and the number of runs.
package explore

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Options bound an exploration.
type Options struct {
	Runs     int // schedules per policy; default 1000
	MaxSteps int // per run; 0 is the runtime's default
	// Stop, if set, ends a policy's exploration early once it returns true
	// for the outcomes seen so far.
	Stop func(seen map[runtime.Outcome]*Witness) bool
	// Wild, if set, runs every schedule in wild mode (seed i for run i)
	// instead of the controlled scheduler. Wild exploration is not
	// reproducible run for run, but each witness's recorded schedule
	// replays under the controlled scheduler.
	Wild *chaos.WildOptions
	// Exhaustive visits every reachable state instead of sampling (package
	// exhaustive); Runs, Stop and Wild are then ignored. MaxStates bounds
	// it (0: exhaustive.DefaultMaxStates); a search that hits the bound
	// reports Complete false.
	Exhaustive bool
	MaxStates  int
	// Workers and ExactKeys are exhaustive.Options': 0 workers is one per
	// core; the report does not depend on them.
	Workers   int
	ExactKeys bool
	// Reduce is exhaustive.Options.Reduce: partial-order reduction.
	Reduce bool
}

// Witness is the first run that showed an outcome.
type Witness struct {
	Count    int             `json:"count"`
	Schedule string          `json:"schedule"`        // a "schedule replay ..." line that reproduces it
	Strategy string          `json:"strategy"`        // the strategy that found it
	Run      int             `json:"run"`             // the index of the run that found it
	Cycle    []int           `json:"cycle,omitempty"` // exhaustive: the turn that repeats for ever (a deadlock or budget found as a cycle)
	Result   *runtime.Result `json:"-"`
	// Defects counts the runs of this outcome that only a defect of
	// CPython made (runtime.Result.Defect); Defect names the first.
	Defects int    `json:"defects,omitempty"`
	Defect  string `json:"defect,omitempty"`
}

// DefectOnly reports whether only CPython's own defects reached the
// outcome: every run of it was a defect run.
func (w *Witness) DefectOnly() bool { return w.Defects > 0 && w.Defects == w.Count }

// Report is the exploration of one policy.
type Report struct {
	Scenario   string                       `json:"scenario"`
	Policy     string                       `json:"policy"`
	Runs       int                          `json:"runs"`
	Mode       string                       `json:"mode"`             // "sampled" or "exhaustive"
	Complete   bool                         `json:"complete"`         // exhaustive and every state visited: the set is proved
	States     int                          `json:"states,omitempty"` // exhaustive: distinct states visited
	Incomplete string                       `json:"incomplete,omitempty"`
	Reduction  string                       `json:"reduction,omitempty"` // exhaustive with -reduce: exhaustive.Result.Reduction
	Outcomes   map[runtime.Outcome]*Witness `json:"outcomes"`
	Expected   []string                     `json:"expected,omitempty"`   // from the expect lines; empty if none
	Unexpected []string                     `json:"unexpected,omitempty"` // outcomes seen that the expect lines do not allow
	Missing    []string                     `json:"missing,omitempty"`    // expected outcomes not seen
	// Inconclusive counts the runs that decided nothing: their step
	// budget (or the watchdog) ran out first. They are never a pass.
	Inconclusive int `json:"inconclusive"`
}

// OK reports whether every outcome seen is allowed by the expect lines (or
// there are none for this policy) and every run was decided: a budget run
// is inconclusive, never a pass.
func (r *Report) OK() bool { return len(r.Unexpected) == 0 && r.Inconclusive == 0 }

// Exact reports OK, and that every outcome an expect line names was seen.
func (r *Report) Exact() bool { return r.OK() && len(r.Missing) == 0 }

// Schedule returns the schedule of run i: even runs are random(i), odd runs
// PCT with depth 1..3.
func Schedule(i int) *scenario.Schedule {
	if i%2 == 0 {
		return &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: uint64(i)}
	}
	return &scenario.Schedule{Kind: scenario.SchedulePCT, Depth: 1 + (i/2)%3, Seed: uint64(i)}
}

// Policy explores s under one policy.
func Policy(s *scenario.Scenario, policy string, opts Options) (*Report, error) {
	if opts.Exhaustive {
		return exhaustivePolicy(s, policy, opts)
	}
	if opts.Runs <= 0 {
		opts.Runs = 1000
	}
	rep := &Report{Scenario: s.Name, Policy: policy, Mode: "sampled", Outcomes: map[runtime.Outcome]*Witness{}}
	rn := runtime.NewRunner() // the runs share their threads' coroutines
	defer rn.Close()
	for i := 0; i < opts.Runs; i++ {
		cfg := runtime.Config{Policy: policy, Schedule: Schedule(i), MaxSteps: opts.MaxSteps, Runner: rn}
		if opts.Wild != nil {
			w := *opts.Wild
			w.Seed = uint64(i)
			cfg.Wild = &w
		}
		r, err := runtime.Run(s, cfg)
		if err != nil {
			return nil, err
		}
		rep.Runs++
		w := rep.Outcomes[r.Outcome]
		if w == nil {
			w = &Witness{Schedule: r.ReplayLine(), Strategy: r.Strategy, Run: i, Result: r}
			rep.Outcomes[r.Outcome] = w
		}
		w.Count++
		if d := r.Defect(); d != "" {
			w.Defects++
			w.Defect = cmp.Or(w.Defect, d)
		}
		if r.Outcome == runtime.Budget {
			rep.Inconclusive++
		}
		if opts.Stop != nil && opts.Stop(rep.Outcomes) {
			break
		}
	}
	rep.compare(s)
	return rep, nil
}

// compare fills Expected, Missing and Unexpected from the expect lines.
func (rep *Report) compare(s *scenario.Scenario) {
	if set, ok := s.Expected(rep.Policy); ok {
		for o := range set {
			rep.Expected = append(rep.Expected, o)
			if rep.Outcomes[runtime.Outcome(o)] == nil {
				rep.Missing = append(rep.Missing, o)
			}
		}
		for o := range rep.Outcomes {
			if !set[string(o)] {
				rep.Unexpected = append(rep.Unexpected, string(o))
			}
		}
		sortOutcomes(rep.Expected)
		sortOutcomes(rep.Missing)
		sortOutcomes(rep.Unexpected)
	}
}

// Policies expands "all" (or "") to every policy; any other name must be a
// policy.
func Policies(p string) ([]string, error) {
	if p == "all" {
		return append([]string(nil), scenario.Policies...), nil
	}
	if !scenario.IsPolicy(p) {
		return nil, fmt.Errorf("unknown policy %q (want all, abort, exit, hang, unwind or terminate)", p)
	}
	return []string{p}, nil
}

// sortOutcomes orders outcome names as the language lists them.
func sortOutcomes(list []string) {
	rank := func(o string) int {
		for i, x := range scenario.Outcomes {
			if x == o {
				return i
			}
		}
		return len(scenario.Outcomes)
	}
	sort.Slice(list, func(i, j int) bool { return rank(list[i]) < rank(list[j]) })
}

// Seen returns the outcomes of r in the language's order.
func (r *Report) Seen() []runtime.Outcome {
	var out []runtime.Outcome
	for _, o := range runtime.Outcomes {
		if r.Outcomes[o] != nil {
			out = append(out, o)
		}
	}
	return out
}

// Text renders the report for people.
func (r *Report) Text() string { return r.TextWith(nil) }

// TextWith renders the report with command(w), the command that
// reproduces witness w, under each witness's schedule line.
func (r *Report) TextWith(command func(w *Witness) string) string {
	var b strings.Builder
	b.WriteString(r.header())
	for _, o := range r.Seen() {
		w := r.Outcomes[o]
		mark := ""
		if slices.Contains(r.Unexpected, string(o)) {
			mark = "  UNEXPECTED"
		}
		if o == runtime.Budget {
			mark += "  INCONCLUSIVE"
		}
		switch {
		case w.DefectOnly():
			mark += "  CPYTHON DEFECT ONLY (" + w.Defect + ")"
		case w.Defects > 0:
			mark += fmt.Sprintf("  (%d of them only through CPython's defect %s)", w.Defects, w.Defect)
		}
		if r.Mode == "exhaustive" {
			fmt.Fprintf(&b, "  %-12s %6d  %s%s\n", o, w.Count, w.Strategy, mark)
		} else {
			fmt.Fprintf(&b, "  %-12s %6d  first at run %d (%s)%s\n", o, w.Count, w.Run, w.Strategy, mark)
		}
		if o != runtime.Clean {
			fmt.Fprintf(&b, "    %s\n", w.Result.Report.Message)
		}
		fmt.Fprintf(&b, "    %s\n", w.Schedule)
		if command != nil {
			fmt.Fprintf(&b, "    %s\n", command(w))
		}
	}
	if len(r.Expected) > 0 {
		fmt.Fprintf(&b, "  expected: %s\n", strings.Join(r.Expected, ", "))
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(&b, "  expected but not seen: %s\n", strings.Join(r.Missing, ", "))
	}
	if r.Inconclusive > 0 {
		fmt.Fprintf(&b, "  inconclusive: %d of %d runs ran out of their step budget before anything was decided (not a pass; raise -steps)\n", r.Inconclusive, r.Runs)
	}
	if issues := r.CleanApartFromDefects(); issues != nil {
		fmt.Fprintf(&b, "  clean apart from CPython's own defects (%s)\n", strings.Join(issues, ", "))
	}
	return b.String()
}

// CleanApartFromDefects returns the CPython defects behind every outcome
// but clean, when there is at least one such outcome and only CPython's
// own defects reached each (Witness.DefectOnly); nil otherwise.
func (r *Report) CleanApartFromDefects() []string {
	return runtime.CleanApartFromDefects(r.Seen(), func(o runtime.Outcome) string {
		if w := r.Outcomes[o]; w.DefectOnly() {
			return w.Defect
		}
		return ""
	})
}
