// Package minimize shrinks a failing run while keeping its failure.
//
// A Case is a scenario, a policy and a schedule (the thread chosen at each
// scheduling point). Minimize is a pure function of the case, its target
// signature and the options: it removes threads (a replicated block
// NAME[N] loses its last copy), top-level blocks (atexit, teardown and
// after_finalize) and statements in every block, unwraps blocks, lowers
// counts and removes context switches from the schedule, and keeps an edit
// only when a run of the edited case fails with the same signature
// (outcome, report kind, failing thread and statement) and replaying that
// run's recorded schedule reproduces it. After a scenario edit the old
// schedule may no longer fit: the run continues it with the fewest context
// switches, and if that loses the failure, a few sampled schedules are
// tried; the schedule the keeping run recorded becomes the case's schedule.
// The number of candidate runs is bounded, so minimization is bounded in
// time, and deterministic.
package minimize

import (
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Case is a run to minimize.
type Case struct {
	Scenario *scenario.Scenario // its own schedule line is ignored
	Policy   string
	Schedule []int
}

// Options bound a minimization.
type Options struct {
	MaxRuns  int // candidate runs; default 4000
	MaxSteps int // step budget per run; 0 is the runtime's default
	// Tries is how many sampled schedules (explore's mix of random and PCT)
	// a scenario edit may try when the current schedule, continued with
	// the fewest switches, no longer reaches the failure. Default 16.
	Tries int
	// Keep, if set, must also hold for a candidate's result: for example,
	// that the policy caused the failure, not the scenario's own bug.
	Keep func(c Case, r *runtime.Result) bool
}

// Stats says what minimization did.
type Stats struct {
	Runs     int  // candidate runs
	Accepted int  // edits kept
	Capped   bool // stopped at MaxRuns before reaching a fixed point
}

// smaller orders schedules: fewer preemptions, then fewer switches, then
// fewer points.
func smaller(a, b *runtime.Result) bool {
	if a.Preemptions != b.Preemptions {
		return a.Preemptions < b.Preemptions
	}
	if sa, sb := Switches(a.Schedule), Switches(b.Schedule); sa != sb {
		return sa < sb
	}
	return len(a.Schedule) < len(b.Schedule)
}

// Switches counts the context switches of a schedule: the points where the
// chosen thread differs from the one before, forced or not (see
// runtime.Result.Preemptions for the chosen ones).
func Switches(choices []int) int {
	n := 0
	for i := 1; i < len(choices); i++ {
		if choices[i] != choices[i-1] {
			n++
		}
	}
	return n
}

// Statements counts the statements of s, nested ones included. The edits
// that address a statement by its depth-first index (see replaceNth) count
// in the same order.
func Statements(s *scenario.Scenario) int {
	n := 0
	for _, b := range s.Bodies() {
		n += count(b)
	}
	return n
}

// count counts the statements of body, nested ones included.
func count(body []*scenario.Stmt) int {
	n := 0
	scenario.Walk(body, func(*scenario.Stmt) { n++ })
	return n
}

type minimizer struct {
	target string
	opts   Options
	stats  Stats
	best   Case
	result *runtime.Result
}

// Run replays c and returns its result.
func Run(c Case, maxSteps int) (*runtime.Result, error) {
	return runtime.Run(c.Scenario, runtime.Config{
		Policy:   c.Policy,
		Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: c.Schedule},
		MaxSteps: maxSteps,
	})
}

// Minimize returns a smaller case that fails with signature target (see
// runtime.Result.Signature), the result of its run, and statistics. If c
// itself does not fail with target, it returns c unchanged and a nil
// result.
func Minimize(c Case, target string, opts Options) (Case, *runtime.Result, Stats) {
	if opts.MaxRuns <= 0 {
		opts.MaxRuns = 4000
	}
	if opts.Tries <= 0 {
		opts.Tries = 16
	}
	m := &minimizer{target: target, opts: opts}
	c.Scenario = scenario.Clone(c.Scenario)
	c.Scenario.Schedule = nil
	if !m.try(c, false) {
		return c, nil, m.stats
	}
	for changed := true; changed && !m.capped(); {
		changed = false
		for _, pass := range []func() bool{m.removeThreads, m.removeBlocks, m.removeStmts, m.unwrapBlocks, m.lowerCounts, m.cutSwitches} {
			if pass() {
				changed = true
			}
		}
	}
	m.stats.Capped = m.capped()
	return m.best, m.result, m.stats
}

func (m *minimizer) capped() bool { return m.stats.Runs >= m.opts.MaxRuns }

// try runs candidate c with its schedule, continued with the fewest
// switches; for a scenario edit (sample true) it then tries sampled
// schedules. The first run that fails with the target signature, passes
// Keep and whose recorded schedule replays to the same result makes c
// (with that schedule) the best case.
func (m *minimizer) try(c Case, sample bool) bool {
	if m.capped() || scenario.Validate(c.Scenario) != nil {
		return false
	}
	if m.attempt(c, chaos.Sticky(c.Schedule)) {
		return true
	}
	for i := 0; sample && i < m.opts.Tries && !m.capped(); i++ {
		strat, _ := runtime.StrategyFor(explore.Schedule(i), runtime.EstimateSteps(c.Scenario))
		if m.attempt(c, strat) {
			return true
		}
	}
	return false
}

func (m *minimizer) attempt(c Case, strat chaos.Strategy) bool {
	m.stats.Runs++
	r, err := runtime.Run(c.Scenario, runtime.Config{Policy: c.Policy, Strategy: strat, StrategyName: "minimize", MaxSteps: m.opts.MaxSteps})
	if err != nil || r.Signature() != m.target {
		return false
	}
	c.Schedule = r.Schedule
	again, err := Run(c, m.opts.MaxSteps)
	if err != nil || !r.Replays(again) {
		return false
	}
	if m.opts.Keep != nil && !m.opts.Keep(c, again) {
		return false
	}
	if m.result != nil && c.Scenario == m.best.Scenario {
		// A schedule-only edit must remove a preemption, or at least
		// switches or points.
		if !smaller(again, m.result) {
			return false
		}
	}
	m.best, m.result = c, again
	m.stats.Accepted++
	return true
}

// edit tries candidates made by fn(clone, i) for i from n-1 down to 0; fn
// returns false when edit i does not apply. It reports whether any was
// kept.
func (m *minimizer) edit(n func(*scenario.Scenario) int, fn func(c *Case, i int) bool) bool {
	kept := false
	for i := n(m.best.Scenario) - 1; i >= 0 && !m.capped(); i-- {
		c := Case{Scenario: scenario.Clone(m.best.Scenario), Policy: m.best.Policy, Schedule: append([]int(nil), m.best.Schedule...)}
		if i >= n(c.Scenario) || !fn(&c, i) {
			continue
		}
		if m.try(c, true) {
			kept = true
		}
	}
	return kept
}

// removeThreads removes a thread other than main, with every spawn and
// join of it. The copies of a replicated block NAME[N] must stay
// consecutive and named NAME0..NAME(N-1), so of those only the last copy is
// removed, leaving NAME[N-1]; removing the only copy of NAME[1] removes the
// block, and the spawns and joins of NAME with it.
func (m *minimizer) removeThreads() bool {
	return m.edit(func(s *scenario.Scenario) int { return len(s.Threads) }, func(c *Case, i int) bool {
		s := c.Scenario
		if i == 0 {
			return false
		}
		t := s.Threads[i]
		gone := []string{t.Name}
		if t.Group != "" {
			if i+1 < len(s.Threads) && s.Threads[i+1].Group == t.Group {
				return false // not the last copy
			}
			for _, o := range s.Threads {
				if o.Group == t.Group {
					o.Copies--
				}
			}
			if t.Copies == 0 {
				gone = append(gone, t.Group)
			}
		}
		s.Threads = slices.Delete(s.Threads, i, i+1)
		for _, b := range s.BodyRefs() {
			*b = filter(*b, func(st *scenario.Stmt) bool {
				return !((st.Op == scenario.OpSpawn || st.Op == scenario.OpJoin) && slices.Contains(gone, st.Name))
			})
		}
		var sched []int
		for _, t := range c.Schedule {
			switch {
			case t < i:
				sched = append(sched, t)
			case t > i:
				sched = append(sched, t-1)
			}
		}
		c.Schedule = sched
		return true
	})
}

// removeBlocks removes a whole top-level block: an atexit, teardown or
// after_finalize block (every list of scenario.BlockLists).
func (m *minimizer) removeBlocks() bool {
	blocks := func(s *scenario.Scenario) int {
		n := 0
		for _, list := range s.BlockLists() {
			n += len(*list)
		}
		return n
	}
	return m.edit(blocks, func(c *Case, i int) bool {
		for _, list := range c.Scenario.BlockLists() {
			if i < len(*list) {
				*list = slices.Delete(*list, i, i+1)
				return true
			}
			i -= len(*list)
		}
		return false
	})
}

// removeStmts deletes statements one at a time, last first.
func (m *minimizer) removeStmts() bool {
	return m.edit(Statements, func(c *Case, i int) bool {
		return replaceNth(c.Scenario, i, func(st *scenario.Stmt) []*scenario.Stmt { return nil })
	})
}

// unwrapBlocks replaces a block statement by the statements of one of its
// blocks (see unwrappings). Edit 2k+j replaces statement k by its
// unwrapping j.
func (m *minimizer) unwrapBlocks() bool {
	return m.edit(func(s *scenario.Scenario) int { return 2 * Statements(s) }, func(c *Case, i int) bool {
		ok := false
		replaceNth(c.Scenario, i/2, func(st *scenario.Stmt) []*scenario.Stmt {
			if alts := unwrappings(st); i%2 < len(alts) && len(alts[i%2]) > 0 {
				ok = true
				return alts[i%2]
			}
			return []*scenario.Stmt{st}
		})
		return ok
	})
}

// unwrappings returns what a block statement may be replaced by: the body
// of a loop, forever, until, atthreadexit or cleanup (its statements then
// run once, in place, unconditionally), the body of a native in which no
// hold or cleanup stands directly (they would lose their frame), and the
// then block or the else block of an if. An empty block is left out: its
// unwrapping is the statement's removal, which removeStmts tries. Whether
// the result is a valid scenario is for scenario.Validate to say.
func unwrappings(st *scenario.Stmt) [][]*scenario.Stmt {
	switch st.Op {
	case scenario.OpLoop, scenario.OpForever, scenario.OpUntil, scenario.OpAtThreadExit, scenario.OpCleanup:
		return [][]*scenario.Stmt{st.Body}
	case scenario.OpNative:
		for _, in := range st.Body {
			if in.Op == scenario.OpHold || in.Op == scenario.OpCleanup {
				return nil
			}
		}
		return [][]*scenario.Stmt{st.Body}
	case scenario.OpIf:
		return [][]*scenario.Stmt{st.Body, st.Else}
	}
	return nil
}

// lowerCounts sets work and loop counts to 1, then to half.
func (m *minimizer) lowerCounts() bool {
	kept := false
	for _, lower := range []func(n int) int{func(int) int { return 1 }, func(n int) int { return n / 2 }} {
		kept = m.edit(Statements, func(c *Case, i int) bool {
			ok := false
			replaceNth(c.Scenario, i, func(st *scenario.Stmt) []*scenario.Stmt {
				if (st.Op == scenario.OpWork || st.Op == scenario.OpLoop) && lower(st.N) >= 1 && lower(st.N) < st.N {
					st.N = lower(st.N)
					ok = true
				}
				return []*scenario.Stmt{st}
			})
			return ok
		}) || kept
	}
	return kept
}

// cutSwitches removes context switches: it cuts the schedule at a switch
// and lets the rest run with the fewest switches, or lets the thread
// before a switch run one more point.
func (m *minimizer) cutSwitches() bool {
	kept := false
	for i := len(m.best.Schedule) - 1; i >= 1 && !m.capped(); i-- {
		if i >= len(m.best.Schedule) || m.best.Schedule[i] == m.best.Schedule[i-1] {
			continue
		}
		cut := append([]int(nil), m.best.Schedule[:i]...)
		if m.try(Case{Scenario: m.best.Scenario, Policy: m.best.Policy, Schedule: cut}, false) {
			kept = true
			continue
		}
		longer := append([]int(nil), m.best.Schedule...)
		longer[i] = longer[i-1]
		if m.try(Case{Scenario: m.best.Scenario, Policy: m.best.Policy, Schedule: longer}, false) {
			kept = true
		}
	}
	return kept
}

// filter drops the statements of body, at any depth, that keep rejects.
func filter(body []*scenario.Stmt, keep func(*scenario.Stmt) bool) []*scenario.Stmt {
	var out []*scenario.Stmt
	for _, st := range body {
		if !keep(st) {
			continue
		}
		for _, b := range st.Blocks() {
			*b = filter(*b, keep)
		}
		out = append(out, st)
	}
	return out
}

// replaceNth replaces the statement at depth-first index n of s by what fn
// returns, and reports whether it did. Indices run over s.BodyRefs, each
// body in scenario.Walk's order (nested blocks through Stmt.Blocks), as
// Statements counts. The copies of a replicated block must stay equal: a
// statement in a copy other than the first is not replaced (the edit of
// the same statement in the first copy stands for it), and an edit in the
// first copy is made in every copy.
func replaceNth(s *scenario.Scenario, n int, fn func(*scenario.Stmt) []*scenario.Stmt) bool {
	for i, b := range s.BodyRefs() {
		if size := count(*b); n >= size {
			n -= size
			continue
		}
		var copies []*scenario.ThreadDecl
		if i < len(s.Threads) && s.Threads[i].Group != "" {
			t := s.Threads[i]
			if t.Name != t.Group+"0" {
				return false
			}
			for _, c := range s.Threads[i+1:] {
				if c.Group != t.Group {
					break
				}
				copies = append(copies, c)
			}
		}
		*b = replaceIn(*b, &n, fn)
		for _, c := range copies {
			c.Body = scenario.CloneStmts(*b)
		}
		return true
	}
	return false
}

// replaceIn replaces the statement at depth-first index *n of body by what
// fn returns; *n counts down the statements passed and is -1 once the
// statement is replaced.
func replaceIn(body []*scenario.Stmt, n *int, fn func(*scenario.Stmt) []*scenario.Stmt) []*scenario.Stmt {
	var out []*scenario.Stmt
	for _, st := range body {
		switch {
		case *n < 0:
			out = append(out, st)
		case *n == 0:
			*n = -1
			out = append(out, fn(st)...)
		default:
			*n--
			for _, b := range st.Blocks() {
				*b = replaceIn(*b, n, fn)
			}
			out = append(out, st)
		}
	}
	return out
}
