package campaign

// The campaign's summary: DIR/summary.json, written at the end of each
// session, with the resource samples taken during it.

import (
	"context"
	"slices"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/resources"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Summary is DIR/summary.json.
type Summary struct {
	Config         SummaryConfig `json:"config"`
	Start          time.Time     `json:"start"`
	End            time.Time     `json:"end"`
	ElapsedSeconds float64       `json:"elapsed_seconds"` // this session
	// TotalElapsedSeconds and Runs count every session of the campaign;
	// SessionRuns and RunsPerSecond this one.
	TotalElapsedSeconds float64 `json:"total_elapsed_seconds"`
	Runs                int     `json:"runs"`
	SessionRuns         int     `json:"session_runs"`
	RunsPerSecond       float64 `json:"runs_per_second"`
	Sessions            int     `json:"sessions"`
	Resumed             bool    `json:"resumed"`
	// Interrupted: the session was stopped by its context (a signal)
	// before its duration or its runs were done.
	Interrupted bool `json:"interrupted"`
	// OK: no outcome fell outside its scenario's expect lines, and every
	// run was decided (Inconclusive is 0).
	OK         bool             `json:"ok"`
	Cells      []CellSummary    `json:"cells"`
	Signatures []*Signature     `json:"signatures"`
	Unexpected []*Unexpected    `json:"unexpected"`
	Resources  []ResourceSample `json:"resources"`

	// Inconclusive counts the runs whose step budget ran out before
	// anything was decided: never a pass.
	Inconclusive int `json:"inconclusive"`
}

// SummaryConfig is the configuration a summary was made with.
type SummaryConfig struct {
	Mode        string   `json:"mode"`
	Shard       string   `json:"shard"`
	Policies    []string `json:"policies"`
	Scenarios   []string `json:"scenarios"`
	Duration    string   `json:"duration"`
	RunsPerCell int      `json:"runs_per_cell,omitempty"`
	Workers     int      `json:"workers"`
	Dir         string   `json:"dir"`
}

// CellSummary is one scenario under one policy.
type CellSummary struct {
	Scenario     string         `json:"scenario"`
	Policy       string         `json:"policy"`
	Runs         int            `json:"runs"`
	NextSchedule int            `json:"next_schedule"`
	Counts       map[string]int `json:"counts"`
	Expected     []string       `json:"expected,omitempty"`
	Unexpected   []string       `json:"unexpected,omitempty"`
	// With -exhaustive: Proved says the search visited all States, and
	// Outcomes is the outcome set it found (exact when Proved).
	Proved   bool     `json:"proved,omitempty"`
	States   int      `json:"states,omitempty"`
	Outcomes []string `json:"outcomes,omitempty"`
}

// ResourceSample is the process's resident set and goroutine count at one
// moment: at the start, every SampleEvery, and at the end.
type ResourceSample = resources.Sample

// finish writes the final state and the summary.
func (c *campaign) finish(ctx context.Context) (*Summary, error) {
	if err := c.writeState(); err != nil {
		return nil, err
	}
	if c.cfg.Progress != nil {
		c.cfg.Progress(c.progress(true))
	}
	sum := c.summary(ctx)
	data, err := marshal(sum)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Replace(c.summaryPath(), data); err != nil {
		return nil, err
	}
	return sum, nil
}

func (c *campaign) summary(ctx context.Context) *Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := time.Now().UTC()
	el := end.Sub(c.start).Seconds()
	cfg := c.cfg
	sum := &Summary{
		Config: SummaryConfig{Mode: cfg.Mode, Shard: c.st.Config.Shard, Policies: cfg.Policies,
			Duration: cfg.Duration.String(), RunsPerCell: cfg.RunsPerCell, Workers: cfg.Workers, Dir: cfg.Dir},
		Start: c.start.UTC(), End: end, ElapsedSeconds: el, TotalElapsedSeconds: c.st.ElapsedSeconds,
		Runs: c.st.Runs, SessionRuns: c.sessionRuns, Sessions: c.st.Sessions, Resumed: c.resumed,
		Resources:    append([]ResourceSample(nil), c.samples...),
		OK:           len(c.st.Unexpected) == 0 && c.st.Inconclusive == 0,
		Inconclusive: c.st.Inconclusive,
		Signatures:   []*Signature{},
		Unexpected:   []*Unexpected{},
	}
	if el > 0 {
		sum.RunsPerSecond = float64(c.sessionRuns) / el
	}
	if ctx.Err() != nil {
		// Stopped by the context: interrupted unless the work was
		// done anyway.
		sum.Interrupted = c.deadline.IsZero() || end.Before(c.deadline)
		if cfg.RunsPerCell > 0 {
			all := true
			for _, cell := range c.st.Cells {
				all = all && (cell.Proved || cell.Runs >= cfg.RunsPerCell)
			}
			sum.Interrupted = sum.Interrupted && !all
		}
	}
	for _, s := range cfg.Scenarios {
		sum.Config.Scenarios = append(sum.Config.Scenarios, s.Name)
	}
	for _, cell := range c.st.Cells {
		cs := CellSummary{Scenario: cell.Scenario, Policy: cell.Policy, Runs: cell.Runs, NextSchedule: cell.Next, Counts: cell.Counts,
			Proved: cell.Proved, States: cell.States, Outcomes: cell.Outcomes}
		if set, ok := c.byName[cell.Scenario].Expected(cell.Policy); ok {
			cs.Expected = scenario.OutcomesIn(set)
			for _, o := range scenario.Outcomes {
				if (cell.Counts[o] > 0 || slices.Contains(cell.Outcomes, o)) && !set[o] {
					cs.Unexpected = append(cs.Unexpected, o)
				}
			}
		}
		sum.Cells = append(sum.Cells, cs)
	}
	for _, k := range sortedKeys(c.st.Signatures) {
		sig := *c.st.Signatures[k]
		sig.Choices = nil
		sum.Signatures = append(sum.Signatures, &sig)
	}
	for _, k := range sortedKeys(c.st.Unexpected) {
		u := *c.st.Unexpected[k]
		if sig := c.st.Signatures[u.Signature]; sig != nil {
			u.Crasher = sig.Crasher
		}
		sum.Unexpected = append(sum.Unexpected, &u)
	}
	return sum
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sample records the resident set size and the goroutine count.
func (c *campaign) sample(label string) {
	s := resources.Take(label, c.start)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples = append(c.samples, s)
}
