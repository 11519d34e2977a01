// Package grid explores sets of scenarios and builds the matrices that
// package report renders: scenarios × policies (Build, BuildWith) and
// scenarios × CPython releases (BuildVersions). Each cell is an
// exploration (explore.Policy); each outcome it shows gets a witness, the
// first run that showed it, replayed with tracing so that report can draw
// its timeline (report.NewTimeline). Cells are computed in parallel; in
// controlled mode the matrix is a pure function of the entries, the
// policies or releases and the number of runs. In wild mode (Options.Wild)
// the counts vary from one build to the next, but every witness replays
// exactly.
package grid

import (
	"fmt"
	"path"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Entry is one scenario of a matrix: one row.
type Entry struct {
	// File names the scenario on the command line: a path, or a library
	// scenario's name. It goes into the reproducing command.
	File     string
	Scenario *scenario.Scenario
	// Preset, when set, is the preset the scenario's own was replaced
	// with (the release view); reproducing commands pass it as -preset.
	Preset string
}

// Options set how BuildWith explores.
type Options struct {
	Runs int // schedules per cell; at least 1
	// Wild, if set, explores in wild mode (explore.Options.Wild): the
	// threads run on Go's real scheduler with injected timing, and the
	// matrix's Mode is "wild". Wild exploration is not reproducible run
	// for run, but each witness's recorded schedule replays under the
	// controlled scheduler, and its timeline is drawn from that replay.
	Wild *chaos.WildOptions
	// MaxSteps is the step budget per run (and per witness replay); 0 is
	// the runtime's default.
	MaxSteps int
	// Exhaustive proves each cell's outcome set by visiting every state
	// (explore.Options.Exhaustive), with at most MaxStates states per cell
	// (0: the exhaustive package's default); Runs is then unused.
	Exhaustive bool
	MaxStates  int
	// Workers is each cell's exhaustive.Options.Workers. 0 shares the
	// cores among the cells computed at once: a cell gets
	// GOMAXPROCS / (cells computed at once) workers, at least 1, so a
	// matrix of one cell searches on every core and a larger one searches
	// its cells side by side, one worker each on two cores.
	Workers int
}

// Build explores each entry under each policy (all five if policies is
// empty) with runs schedules per cell, replays each witness with tracing
// and returns the matrix. Cells are computed in parallel; the result does
// not depend on it. It is BuildWith in controlled mode.
func Build(entries []Entry, policies []string, runs int) (*report.Matrix, error) {
	return BuildWith(entries, policies, Options{Runs: runs})
}

// BuildWith is Build with options: in wild mode when opts.Wild is set.
// Wild runs are serialized by the chaos package, so wild cells take their
// turns; witnesses' traced replays still run in parallel.
func BuildWith(entries []Entry, policies []string, opts Options) (*report.Matrix, error) {
	runs := opts.Runs
	if len(policies) == 0 {
		policies = append([]string(nil), scenario.Policies...)
	}
	for _, p := range policies {
		if !scenario.IsPolicy(p) {
			return nil, fmt.Errorf("unknown policy %q", p)
		}
	}
	if runs <= 0 {
		return nil, fmt.Errorf("runs must be at least 1, got %d", runs)
	}
	m := &report.Matrix{Mode: "controlled", Search: "sampled", Runs: runs, Policies: append([]string(nil), policies...)}
	if opts.Exhaustive {
		m.Search = "exhaustive"
	}
	if opts.Wild != nil {
		m.Mode = "wild"
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if e.Scenario == nil {
			return nil, fmt.Errorf("%s: no scenario", e.File)
		}
		base := strings.TrimSuffix(path.Base(strings.ReplaceAll(e.File, "\\", "/")), ".scn")
		id := base
		for n := 2; ids[id]; n++ {
			id = fmt.Sprintf("%s~%d", base, n)
		}
		ids[id] = true
		preset, err := runtime.LookupPreset(e.Scenario.Presets)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", e.File, err)
		}
		m.Rows = append(m.Rows, report.Row{ID: id, Scenario: e.Scenario.Name, File: e.File, Preset: preset.Describe(), Group: report.GroupOf(e.File),
			DefaultPolicy: preset.DefaultPolicy, Cells: make([]report.Cell, len(policies))})
	}

	opts.Workers = cellWorkers(opts.Workers, len(entries)*len(policies))
	rs := newReplays()
	err := forEachCell(len(entries), len(policies), func(r, c int) error {
		cell, err := buildCell(entries[r], policies[c], opts, rs)
		if err != nil {
			return fmt.Errorf("%s: policy %s: %w", entries[r].File, policies[c], runtime.WithFile(err, entries[r].File))
		}
		cell.Default = cell.Policy == m.Rows[r].DefaultPolicy
		m.Rows[r].Cells[c] = *cell
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// cellWorkers is Options.Workers for a matrix of cells cells: workers if
// set, else the cores shared among the cells computed at once.
func cellWorkers(workers, cells int) int {
	if workers != 0 {
		return workers
	}
	return max(1, goruntime.GOMAXPROCS(0)/max(1, min(cellsAtOnce, cells)))
}

func buildCell(e Entry, policy string, opts Options, rs *replays) (*report.Cell, error) {
	rep, err := explore.Policy(e.Scenario, policy, explore.Options{Runs: opts.Runs, Wild: opts.Wild, MaxSteps: opts.MaxSteps, Exhaustive: opts.Exhaustive, MaxStates: opts.MaxStates, Workers: opts.Workers})
	if err != nil {
		return nil, err
	}
	c := &report.Cell{
		Search:     rep.Mode,
		Proved:     rep.Mode == "exhaustive" && rep.Complete,
		States:     rep.States,
		Policy:     policy,
		Runs:       rep.Runs,
		Counts:     map[string]int{},
		Expected:   rep.Expected,
		Unexpected: rep.Unexpected,
		Missing:    rep.Missing,
		Witnesses:  map[string]*report.Witness{},

		Inconclusive: rep.Inconclusive,
	}
	for _, o := range rep.Seen() {
		w := rep.Outcomes[o]
		c.Counts[string(o)] = w.Count
		c.Outcomes = append(c.Outcomes, string(o))
		c.Defects = markDefect(c.Defects, o, w)
		wit, err := witness(e, policy, o, w, opts.MaxSteps, rs)
		if err != nil {
			return nil, err
		}
		c.Witnesses[string(o)] = wit
	}
	return c, nil
}

// witness replays w's schedule with tracing on (or takes the same replay
// from rs: replay.go) and keeps what the report shows of it.
func witness(e Entry, policy string, o runtime.Outcome, w *explore.Witness, maxSteps int, rs *replays) (*report.Witness, error) {
	r, err := rs.replay(e.Scenario, policy, w.Result.Schedule, maxSteps)
	if err != nil {
		return nil, err
	}
	note := ""
	switch {
	case len(w.Cycle) > 0:
		note = fmt.Sprintf("a fair cycle: the last %d steps repeat for ever; the timeline shows one turn, then the replay goes on at random", len(w.Cycle))
	case r.outcome != o:
		// A replay reproduces its run exactly; if it does not (the runtime
		// changed under the schedule), draw the replay but say so.
		note = fmt.Sprintf("replaying this schedule gave %s, not %s; the timeline shows the replay", r.outcome, o)
	}
	return &report.Witness{
		Outcome:  string(o),
		Count:    w.Count,
		Run:      w.Run,
		Strategy: w.Strategy,
		Schedule: w.Schedule,
		Command:  shell.RunCommand(policy, w.Result.ReplayLine(), e.File, e.Preset),
		Report:   w.Result.Report,
		ExitCode: w.Result.ExitCode,
		Steps:    w.Result.Steps,
		Stdout:   w.Result.Stdout,
		Hung:     w.Result.Hung,
		Cycle:    w.Result.Cycle,
		Timeline: r.timeline,
		Tail:     append([]runtime.Event(nil), r.tail...),
		Note:     note,
	}, nil
}

// cellsAtOnce is how many cells forEachCell computes at a time.
const cellsAtOnce = 8

// forEachCell calls fn for every cell of a rows × cols grid, cellsAtOnce
// at a time, and returns the error of the first cell (in row order) that failed.
// Each call owns its cell, so the result does not depend on the order.
func forEachCell(rows, cols int, fn func(r, c int) error) error {
	errs := make([]error, rows*cols)
	var wg sync.WaitGroup
	sem := make(chan struct{}, cellsAtOnce)
	for i := range errs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i/cols, i%cols)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// markDefect records in defects that only CPython's own defects reached
// outcome o (explore.Witness.DefectOnly).
func markDefect(defects map[string]string, o runtime.Outcome, w *explore.Witness) map[string]string {
	if !w.DefectOnly() {
		return defects
	}
	if defects == nil {
		defects = map[string]string{}
	}
	defects[string(o)] = w.Defect
	return defects
}
