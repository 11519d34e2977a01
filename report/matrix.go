// Package report builds the scenario × policy outcome matrix of a set of
// shutdownfuzz scenarios and renders it for people and programs.
//
// The report is computed first, as plain data, and only then rendered; the
// same split as porcupine's linearizability visualization, where the
// checker's answer is data and the HTML page is one view of it:
//
//   - Build explores every scenario under every policy (explore.Policy) and
//     fills a Matrix: one Row per scenario, one Cell per policy, each with
//     its outcome counts, the outcome set its expect lines allow, the
//     outcomes outside that set, and for each outcome seen a Witness.
//   - A Witness is the first run that showed the outcome: its replay
//     schedule line, the command that reproduces it, its report, and a
//     Timeline. The timeline comes from replaying the witness's schedule
//     with tracing on (NewTimeline is a pure function of the traced
//     Result): one lane per thread with GIL ownership, GIL waits and lock
//     holds as spans, policy strikes, hangs, unwinds and thread ends as
//     marks, main's finalization phases as bands, and the terminal event
//     with its report. The x axis is the scheduling step.
//   - Text, JSON and HTML are renderings of the Matrix. Text is a table for
//     a terminal; JSON is the Matrix itself; HTML is a self-contained page
//     (an embedded html/template, inline CSS and JS, no external resources)
//     that shows the table and opens a witness's timeline when an outcome is
//     clicked, or when the page is loaded as report.html#cell=S/POLICY/OUTCOME.
//
// Scenario names, file names, print texts and report messages are treated
// as hostile: the HTML escapes all of them through html/template and the
// text rendering strips control characters. In controlled mode everything
// is deterministic for a fixed number of runs: exploration is a pure
// function of the scenario, the policy and the number of runs. In wild mode
// (BuildWith with BuildOptions.Wild) the counts vary from one build to the
// next, but every witness replays exactly.
package report

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Entry is one scenario to report on.
type Entry struct {
	// File names the scenario on the command line: a path, or a library
	// scenario's name. It goes into the reproducing command.
	File     string
	Scenario *scenario.Scenario
	// Preset, when set, is the preset the scenario's own was replaced
	// with (the release view); reproducing commands pass it as -preset.
	Preset string
}

// Matrix is the report: scenarios (rows) × policies (columns).
type Matrix struct {
	Mode     string   `json:"mode"`     // how runs were scheduled: "controlled" or "wild"
	Search   string   `json:"search"`   // "sampled", or "exhaustive" (see Cell.Proved)
	Runs     int      `json:"runs"`     // schedules per cell
	Policies []string `json:"policies"` // the columns, in order
	Rows     []Row    `json:"rows"`
	// Versions is the release view, when it was asked for (matrix
	// -versions): the same scenarios under each release's default policy.
	Versions *Versions `json:"versions,omitempty"`
}

// Row is one scenario.
type Row struct {
	ID       string `json:"id"`       // unique short key: File's base name without .scn
	Scenario string `json:"scenario"` // the name on the scenario line
	File     string `json:"file"`
	// Preset describes the scenario's preset: its release, platform and
	// default policy. DefaultPolicy is that policy; its cell is marked.
	Preset        string `json:"preset"`
	DefaultPolicy string `json:"default_policy"`
	// Group is "patterns" for the library's cited extension patterns
	// (File "patterns/NAME"), empty otherwise; renderings head the group.
	Group string `json:"group,omitempty"`
	Cells []Cell `json:"cells"` // one per policy, in Matrix.Policies order
}

// Cell is one scenario under one policy.
type Cell struct {
	Policy string `json:"policy"`
	// Default: Policy is the default policy of the scenario's preset.
	Default bool           `json:"default,omitempty"`
	Runs    int            `json:"runs"`
	Counts  map[string]int `json:"counts"` // outcome → runs that ended in it
	// Outcomes lists the outcomes seen, in the language's order.
	Outcomes []string `json:"outcomes"`
	// Expected is the set the expect lines allow for this policy; empty
	// means the scenario has no expect line for it (the cell is unchecked).
	Expected   []string `json:"expected,omitempty"`
	Unexpected []string `json:"unexpected,omitempty"` // seen but outside Expected
	Missing    []string `json:"missing,omitempty"`    // expected but not seen
	// Inconclusive counts runs that ran out of their step budget before
	// anything was decided (outcome budget): never a pass.
	Inconclusive int `json:"inconclusive,omitempty"`
	// Witnesses holds, for each outcome seen, the first run that showed it.
	Witnesses map[string]*Witness `json:"witnesses"`
	// Search is "sampled" or "exhaustive". Proved: an exhaustive search
	// visited all States, so Outcomes is the exact set; an exhaustive cell
	// that is not proved hit its bound, and its set is only a lower bound.
	Search string `json:"search"`
	Proved bool   `json:"proved"`
	States int    `json:"states,omitempty"`
}

// Witness is the first run of a cell that ended in an outcome.
type Witness struct {
	Outcome  string         `json:"outcome"`
	Count    int            `json:"count"`
	Run      int            `json:"run"`      // index of the exploring run that found it
	Strategy string         `json:"strategy"` // the schedule that run started with
	Schedule string         `json:"schedule"` // the "schedule replay ..." line
	Command  string         `json:"command"`  // the shutdownfuzz command that reproduces it
	Report   runtime.Report `json:"report"`
	ExitCode int            `json:"exit_code"`
	Steps    int            `json:"steps"`
	Stdout   string         `json:"stdout,omitempty"`
	Hung     []string       `json:"hung,omitempty"`
	Cycle    []string       `json:"cycle,omitempty"`
	Timeline Timeline       `json:"timeline"`
	// Tail is the end of the replayed trace (at most TailEvents events).
	Tail []runtime.Event `json:"tail,omitempty"`
	// Note is set when the traced replay did not reproduce the outcome.
	Note string `json:"note,omitempty"`
}

// TailEvents bounds Witness.Tail.
const TailEvents = 40

// IsUnexpected reports whether outcome o of the cell lies outside its expect
// lines.
func (c *Cell) IsUnexpected(o string) bool { return contains(c.Unexpected, o) }

// OK reports whether every cell's outcomes are allowed by its expect lines
// and every run was decided (no budget run: inconclusive is never a pass).
func (m *Matrix) OK() bool {
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			if len(c.Unexpected) > 0 || c.Inconclusive > 0 {
				return false
			}
		}
	}
	return true
}

// BuildOptions set how Build explores.
type BuildOptions struct {
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
}

// Build explores each entry under each policy (all five if policies is
// empty) with runs schedules per cell, replays each witness with tracing
// and returns the matrix. Cells are computed in parallel; the result does
// not depend on it. It is BuildWith in controlled mode.
func Build(entries []Entry, policies []string, runs int) (*Matrix, error) {
	return BuildWith(entries, policies, BuildOptions{Runs: runs})
}

// BuildWith is Build with options: in wild mode when opts.Wild is set.
// Wild runs are serialized by the chaos package, so wild cells take their
// turns; witnesses' traced replays still run in parallel.
func BuildWith(entries []Entry, policies []string, opts BuildOptions) (*Matrix, error) {
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
	m := &Matrix{Mode: "controlled", Search: "sampled", Runs: runs, Policies: append([]string(nil), policies...)}
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
		m.Rows = append(m.Rows, Row{ID: id, Scenario: e.Scenario.Name, File: e.File, Preset: preset.Describe(), Group: groupOf(e.File),
			DefaultPolicy: preset.DefaultPolicy, Cells: make([]Cell, len(policies))})
	}

	err := forEachCell(len(entries), len(policies), func(r, c int) error {
		cell, err := buildCell(entries[r], policies[c], opts)
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

func buildCell(e Entry, policy string, opts BuildOptions) (*Cell, error) {
	rep, err := explore.Policy(e.Scenario, policy, explore.Options{Runs: opts.Runs, Wild: opts.Wild, MaxSteps: opts.MaxSteps, Exhaustive: opts.Exhaustive, MaxStates: opts.MaxStates})
	if err != nil {
		return nil, err
	}
	c := &Cell{
		Search:     rep.Mode,
		Proved:     rep.Mode == "exhaustive" && rep.Complete,
		States:     rep.States,
		Policy:     policy,
		Runs:       rep.Runs,
		Counts:     map[string]int{},
		Expected:   rep.Expected,
		Unexpected: rep.Unexpected,
		Missing:    rep.Missing,
		Witnesses:  map[string]*Witness{},

		Inconclusive: rep.Inconclusive,
	}
	for _, o := range rep.Seen() {
		w := rep.Outcomes[o]
		c.Counts[string(o)] = w.Count
		c.Outcomes = append(c.Outcomes, string(o))
		wit, err := witness(e, policy, o, w, opts.MaxSteps)
		if err != nil {
			return nil, err
		}
		c.Witnesses[string(o)] = wit
	}
	return c, nil
}

// witness replays w's schedule with tracing on and keeps what the report
// shows of it.
func witness(e Entry, policy string, o runtime.Outcome, w *explore.Witness, maxSteps int) (*Witness, error) {
	r, err := runtime.Run(e.Scenario, runtime.Config{
		Policy:   policy,
		MaxSteps: maxSteps,
		Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Result.Schedule},
		Trace:    true,
	})
	if err != nil {
		return nil, err
	}
	note := ""
	switch {
	case len(w.Cycle) > 0:
		note = fmt.Sprintf("a fair cycle: the last %d steps repeat for ever; the timeline shows one turn, then the replay goes on at random", len(w.Cycle))
	case r.Outcome != o:
		// A replay reproduces its run exactly; if it does not (the runtime
		// changed under the schedule), draw the replay but say so.
		note = fmt.Sprintf("replaying this schedule gave %s, not %s; the timeline shows the replay", r.Outcome, o)
	}
	tail := r.Events
	if len(tail) > TailEvents {
		tail = tail[len(tail)-TailEvents:]
	}
	return &Witness{
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
		Timeline: NewTimeline(r),
		Tail:     append([]runtime.Event(nil), tail...),
		Note:     note,
	}, nil
}

// Command is the shell command that reproduces r: shutdownfuzz run with
// its policy and replay schedule, the schedule and the path quoted.
func Command(file, policy string, r *runtime.Result) string {
	return shell.RunCommand(policy, r.ReplayLine(), file, "")
}

// forEachCell calls fn for every cell of a rows × cols grid, eight at a
// time, and returns the error of the first cell (in row order) that failed.
// Each call owns its cell, so the result does not depend on the order.
func forEachCell(rows, cols int, fn func(r, c int) error) error {
	errs := make([]error, rows*cols)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
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

// groupOf is a row's group: "patterns" for a library pattern.
func groupOf(file string) string {
	if strings.HasPrefix(file, "patterns/") {
		return "patterns"
	}
	return ""
}

// GroupTitle heads a group of rows.
func GroupTitle(group string) string {
	if group == "patterns" {
		return "patterns: cited shutdown bugs of extension projects (docs/patterns.md)"
	}
	return group
}

// JSON renders the matrix as indented JSON; json.Unmarshal of it gives
// back an equal Matrix.
func (m *Matrix) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
