// Package campaign runs long exploration campaigns and measures how fast
// strategies find failures.
//
// A campaign (Run) cycles over work items (scenario, policy, schedule index
// k) until its duration is over, every cell has had its runs, or its
// context is cancelled (SIGINT or SIGTERM in the CLI). In controlled mode
// run k uses explore.Schedule(k), the random/PCT mix; in wild mode it runs
// on Go's real scheduler with injected timing (chaos.WildOptions{Seed: k,
// Procs: 1 + k%2}, so GOMAXPROCS alternates between 1 and 2). A shard i/n
// keeps only the indices k ≡ i (mod n), so shards never repeat each other's
// schedules. The cells are visited round-robin, one schedule per visit.
//
// Each non-clean run has a signature, policy + "|" + Result.Signature().
// The first time a signature is seen, in this session or an earlier one of
// the same campaign, its run is minimized with corpus.MakeCrasher and saved
// in DIR/crashers with corpus.Save. A wild run is minimized through the
// controlled replay of its recorded schedule. Outcomes outside a
// scenario's expect lines are recorded as unexpected: regressions.
//
// The campaign keeps DIR/state.json (State) up to date every few seconds,
// so that a later session with the same configuration continues where a
// stopped or killed one left off, and writes DIR/summary.json (Summary) at
// the end. Both are written atomically; temporary files a killed session
// left behind are removed at the start of the next.
//
// Bench measures the time to a first witness of each expected failure for
// controlled PCT, controlled random and the wild random-sleep baseline.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/resources"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Modes of a campaign.
const (
	Controlled = "controlled"
	Wild       = "wild"
)

// Scenario is one scenario of a campaign. Name is how the command line
// named it (a library name or a path).
type Scenario struct {
	Name     string
	Scenario *scenario.Scenario
}

// Config is a campaign's settings.
type Config struct {
	Dir       string     // output directory: state.json, summary.json, crashers/
	Mode      string     // Controlled (default) or Wild
	Shard     int        // this shard's index i ...
	Shards    int        // ... of n (default 1)
	Policies  []string   // default: all five
	Scenarios []Scenario // at least one
	// Duration bounds this session's running time; 0 means no bound.
	Duration time.Duration
	// RunsPerCell, if positive, ends the campaign once every cell has had
	// that many runs (over all sessions).
	RunsPerCell int
	// Fresh starts over even when Dir holds a state of another campaign
	// (which is then kept as state.json.old).
	Fresh bool
	// Workers run cells in parallel in controlled mode (default
	// GOMAXPROCS). Wild runs are serialized, so wild mode uses one.
	Workers int
	// MinimizeRuns bounds each minimization (default 2000).
	MinimizeRuns int
	// Checkpoint is how often state.json is written (default 5s),
	// SampleEvery how often resources are sampled (default 1m).
	Checkpoint  time.Duration
	SampleEvery time.Duration
	// Progress, if set, is called about every ProgressEvery (default 1s)
	// and once at the end, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a snapshot of a running campaign.
type Progress struct {
	Runs        int           // over all sessions
	SessionRuns int           // in this session
	RunsPerSec  float64       // in this session
	Signatures  int           // distinct failure signatures
	Unexpected  int           // distinct unexpected (scenario, policy, outcome)
	Minimizing  int           // minimizations under way
	Elapsed     time.Duration // of this session
	Remaining   time.Duration // of Duration; -1 without one
	Done        bool
}

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
	// OK: no outcome fell outside its scenario's expect lines.
	OK         bool             `json:"ok"`
	Cells      []CellSummary    `json:"cells"`
	Signatures []*Signature     `json:"signatures"`
	Unexpected []*Unexpected    `json:"unexpected"`
	Resources  []ResourceSample `json:"resources"`
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
}

// ResourceSample is the process's resident set and goroutine count at one
// moment: at the start, every SampleEvery, and at the end.
type ResourceSample = resources.Sample

// campaign is one session of a campaign.
type campaign struct {
	cfg      Config
	byName   map[string]*scenario.Scenario
	start    time.Time
	deadline time.Time // zero without a duration
	resumed  bool

	mu          sync.Mutex
	st          *State
	priorSecs   float64 // ElapsedSeconds when the session started
	sessionRuns int
	minimizing  int
	samples     []ResourceSample
	err         error
}

// Run runs a campaign session and returns its summary, which it has also
// written to Dir/summary.json. A cancelled ctx stops it after the runs in
// progress; that is not an error. A state of another configuration in Dir
// is a *MismatchError unless cfg.Fresh is set.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &campaign{cfg: cfg, byName: map[string]*scenario.Scenario{}}
	for _, s := range cfg.Scenarios {
		if _, dup := c.byName[s.Name]; dup {
			return nil, fmt.Errorf("scenario %s given twice", s.Name)
		}
		c.byName[s.Name] = s.Scenario
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "crashers"), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removeTemps(cfg.Dir)
	if err := c.open(); err != nil {
		return nil, err
	}
	c.start = time.Now()
	if cfg.Duration > 0 {
		c.deadline = c.start.Add(cfg.Duration)
	}
	c.sample("start")
	if err := c.writeState(); err != nil {
		return nil, err
	}

	// Crashers an earlier session had no time to make.
	c.finishPending(ctx)

	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(ctx, w)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	c.monitor(done)

	c.sample("end")
	sum, err := c.finish(ctx)
	if c.err != nil {
		return sum, c.err
	}
	return sum, err
}

func (cfg *Config) defaults() error {
	if cfg.Dir == "" {
		return errors.New("no output directory")
	}
	if cfg.Mode == "" {
		cfg.Mode = Controlled
	}
	if cfg.Mode != Controlled && cfg.Mode != Wild {
		return fmt.Errorf("unknown mode %q (want controlled or wild)", cfg.Mode)
	}
	if cfg.Shards == 0 {
		cfg.Shards = 1
	}
	if cfg.Shards < 1 || cfg.Shard < 0 || cfg.Shard >= cfg.Shards {
		return fmt.Errorf("bad shard %d/%d: want i/n with 0 <= i < n", cfg.Shard, cfg.Shards)
	}
	if len(cfg.Policies) == 0 {
		cfg.Policies = append([]string(nil), scenario.Policies...)
	}
	for _, p := range cfg.Policies {
		if !scenario.IsPolicy(p) {
			return fmt.Errorf("unknown policy %q", p)
		}
	}
	if len(cfg.Scenarios) == 0 {
		return errors.New("no scenarios")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = goruntime.GOMAXPROCS(0)
	}
	if cfg.Mode == Wild {
		cfg.Workers = 1
	}
	if cfg.MinimizeRuns <= 0 {
		cfg.MinimizeRuns = 2000
	}
	if cfg.Checkpoint <= 0 {
		cfg.Checkpoint = 5 * time.Second
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = time.Minute
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	return nil
}

func (cfg *Config) stateConfig() StateConfig {
	sc := StateConfig{Mode: cfg.Mode, Shard: fmt.Sprintf("%d/%d", cfg.Shard, cfg.Shards), Policies: cfg.Policies}
	for _, s := range cfg.Scenarios {
		sc.Scenarios = append(sc.Scenarios, ScenarioID{Name: s.Name, Hash: scenarioHash(s.Scenario)})
	}
	return sc
}

func (c *campaign) statePath() string   { return filepath.Join(c.cfg.Dir, "state.json") }
func (c *campaign) summaryPath() string { return filepath.Join(c.cfg.Dir, "summary.json") }

// open loads Dir/state.json and continues it if its configuration matches,
// or starts a new state.
func (c *campaign) open() error {
	want := c.cfg.stateConfig()
	st, err := loadState(c.statePath())
	var mm *MismatchError
	switch {
	case err != nil && !errors.As(err, &mm):
		if !c.cfg.Fresh {
			return fmt.Errorf("%v (use -fresh to start over; the old file is kept as state.json.old)", err)
		}
		st = nil
	case err != nil:
		if !c.cfg.Fresh {
			return err
		}
		st = nil
	case st != nil:
		if what := st.Config.match(want); what != "" {
			if !c.cfg.Fresh {
				return &MismatchError{Path: c.statePath(), What: what}
			}
			st = nil
		}
	}
	if st == nil && c.cfg.Fresh {
		if _, err := os.Stat(c.statePath()); err == nil {
			if err := os.Rename(c.statePath(), c.statePath()+".old"); err != nil {
				return err
			}
		}
	}
	if st != nil {
		c.resumed = true
	} else {
		st = &State{Version: StateVersion, Config: want, Started: time.Now().UTC(),
			Signatures: map[string]*Signature{}, Unexpected: map[string]*Unexpected{}}
		for _, s := range c.cfg.Scenarios {
			for _, p := range c.cfg.Policies {
				st.Cells = append(st.Cells, &CellState{Scenario: s.Name, Policy: p, Next: c.cfg.Shard, Counts: map[string]int{}})
			}
		}
	}
	if len(st.Cells) != len(c.cfg.Scenarios)*len(c.cfg.Policies) {
		return &MismatchError{Path: c.statePath(), What: "its cells do not match its scenarios and policies"}
	}
	for _, cell := range st.Cells {
		if c.byName[cell.Scenario] == nil || !slices.Contains(c.cfg.Policies, cell.Policy) ||
			cell.Next < 0 || cell.Next%c.cfg.Shards != c.cfg.Shard {
			return &MismatchError{Path: c.statePath(), What: fmt.Sprintf("cell %s/%s does not belong to this campaign", cell.Scenario, cell.Policy)}
		}
		if cell.Counts == nil {
			cell.Counts = map[string]int{}
		}
	}
	st.Sessions++
	c.st = st
	c.priorSecs = st.ElapsedSeconds
	return nil
}

// stopped reports whether the session should start no new run.
func (c *campaign) stopped(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// worker runs the cells whose index is w modulo the number of workers,
// round-robin, one schedule per visit. Each cell belongs to one worker, so
// its cursor moves in order.
func (c *campaign) worker(ctx context.Context, w int) {
	var mine []*CellState
	for i, cell := range c.st.Cells {
		if i%c.cfg.Workers == w {
			mine = append(mine, cell)
		}
	}
	for {
		progressed := false
		for _, cell := range mine {
			if c.stopped(ctx) {
				return
			}
			c.mu.Lock()
			k, runs := cell.Next, cell.Runs
			c.mu.Unlock()
			if c.cfg.RunsPerCell > 0 && runs >= c.cfg.RunsPerCell {
				continue
			}
			progressed = true
			s := c.byName[cell.Scenario]
			r, err := c.runOne(s, cell.Policy, k)
			if err != nil {
				c.fail(fmt.Errorf("%s: policy %s: schedule %d: %w", cell.Scenario, cell.Policy, k, err))
				return
			}
			if sig := c.record(cell, k, r); sig != nil {
				c.makeCrasher(ctx, sig, s, r)
			}
		}
		if !progressed {
			return
		}
	}
}

func (c *campaign) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// runOne runs schedule index k of a cell.
func (c *campaign) runOne(s *scenario.Scenario, policy string, k int) (*runtime.Result, error) {
	cfg := runtime.Config{Policy: policy}
	if c.cfg.Mode == Wild {
		cfg.Wild = &chaos.WildOptions{Seed: uint64(k), Procs: 1 + k%2}
	} else {
		cfg.Schedule = explore.Schedule(k)
	}
	return runtime.Run(s, cfg)
}

// record counts run k of cell and moves its cursor. It returns the
// signature entry when r is the first run to show its signature: the
// caller then makes its crasher.
func (c *campaign) record(cell *CellState, k int, r *runtime.Result) *Signature {
	now := time.Now().UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	o := string(r.Outcome)
	cell.Next = k + c.cfg.Shards
	cell.Runs++
	cell.Counts[o]++
	c.st.Runs++
	c.sessionRuns++

	s := c.byName[cell.Scenario]
	set, hasExpect := s.Expected(cell.Policy)
	unexpected := hasExpect && !set[o]
	var sigKey string
	var first *Signature
	if r.Outcome != runtime.Clean {
		sigKey = cell.Policy + "|" + r.Signature()
		sig := c.st.Signatures[sigKey]
		if sig == nil {
			sig = &Signature{Signature: sigKey, Policy: cell.Policy, Outcome: o, Scenarios: []string{cell.Scenario},
				FirstScenario: cell.Scenario, FirstIndex: k, FirstStrategy: r.Strategy, FirstSchedule: r.ReplayLine(),
				FirstTime: now, Unexpected: unexpected, Pending: true, Choices: append([]int(nil), r.Schedule...)}
			c.st.Signatures[sigKey] = sig
			first = sig
		} else if !slices.Contains(sig.Scenarios, cell.Scenario) {
			sig.Scenarios = append(sig.Scenarios, cell.Scenario)
		}
		sig.Count++
	}
	if unexpected {
		key := cell.Scenario + "|" + cell.Policy + "|" + o
		u := c.st.Unexpected[key]
		if u == nil {
			u = &Unexpected{Scenario: cell.Scenario, Policy: cell.Policy, Outcome: o, Expected: expectedList(set),
				Signature: sigKey, FirstIndex: k, FirstStrategy: r.Strategy, FirstSchedule: r.ReplayLine(), FirstTime: now}
			c.st.Unexpected[key] = u
		}
		u.Count++
	}
	return first
}

func expectedList(set map[string]bool) []string {
	var out []string
	for _, o := range scenario.Outcomes {
		if set[o] {
			out = append(out, o)
		}
	}
	return out
}

// makeCrasher minimizes the first run of sig and saves it in Dir/crashers.
// r is that run, or nil to replay it from sig.Choices. Wild runs, and runs
// of an earlier session, are minimized through the controlled replay of
// their recorded schedule. If ctx is done the crasher stays pending.
func (c *campaign) makeCrasher(ctx context.Context, sig *Signature, s *scenario.Scenario, r *runtime.Result) {
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	c.minimizing++
	choices := sig.Choices
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.minimizing--
		c.mu.Unlock()
	}()
	path, errText := c.crasher(sig, s, r, choices)
	c.mu.Lock()
	defer c.mu.Unlock()
	sig.Pending, sig.Crasher, sig.CrasherError = false, path, errText
}

func (c *campaign) crasher(sig *Signature, s *scenario.Scenario, r *runtime.Result, choices []int) (path, errText string) {
	if r == nil || r.Mode == Wild {
		rr, err := runtime.Run(s, runtime.Config{Policy: sig.Policy,
			Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: choices}})
		if err != nil {
			return "", err.Error()
		}
		if rr.Outcome == runtime.Clean {
			return "", "the controlled replay of the recorded schedule is clean"
		}
		r = rr
	}
	how := fmt.Sprintf("shutdownfuzz campaign -mode %s, scenario %s, policy %s, schedule index %d (%s)",
		c.cfg.Mode, sig.FirstScenario, sig.Policy, sig.FirstIndex, sig.FirstStrategy)
	if got := sig.Policy + "|" + r.Signature(); got != sig.Signature {
		how += "; its controlled replay shows " + got
	}
	cr, err := corpus.MakeCrasher(s, sig.Policy, r, how, minimize.Options{MaxRuns: c.cfg.MinimizeRuns})
	if err != nil {
		return "", err.Error()
	}
	p, _, err := corpus.Save(filepath.Join(c.cfg.Dir, "crashers"), cr.Name, cr.Content)
	if err != nil {
		return "", err.Error()
	}
	return p, ""
}

// finishPending makes the crashers an earlier session left pending.
func (c *campaign) finishPending(ctx context.Context) {
	c.mu.Lock()
	var pending []*Signature
	for _, k := range sortedKeys(c.st.Signatures) {
		if sig := c.st.Signatures[k]; sig.Pending {
			pending = append(pending, sig)
		}
	}
	c.mu.Unlock()
	for _, sig := range pending {
		if c.stopped(ctx) {
			return
		}
		c.makeCrasher(ctx, sig, c.byName[sig.FirstScenario], nil)
	}
}

// monitor writes the state, samples resources and reports progress until
// done is closed.
func (c *campaign) monitor(done <-chan struct{}) {
	checkpoint := time.NewTicker(c.cfg.Checkpoint)
	defer checkpoint.Stop()
	sample := time.NewTicker(c.cfg.SampleEvery)
	defer sample.Stop()
	progress := time.NewTicker(c.cfg.ProgressEvery)
	defer progress.Stop()
	for {
		select {
		case <-done:
			return
		case <-checkpoint.C:
			if err := c.writeState(); err != nil {
				c.fail(err)
			}
		case <-sample.C:
			c.sample("periodic")
		case <-progress.C:
			if c.cfg.Progress != nil {
				c.cfg.Progress(c.progress(false))
			}
		}
	}
}

func (c *campaign) progress(done bool) Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := time.Since(c.start)
	p := Progress{Runs: c.st.Runs, SessionRuns: c.sessionRuns, Signatures: len(c.st.Signatures),
		Unexpected: len(c.st.Unexpected), Minimizing: c.minimizing, Elapsed: el, Remaining: -1, Done: done}
	if secs := el.Seconds(); secs > 0 {
		p.RunsPerSec = float64(c.sessionRuns) / secs
	}
	if !c.deadline.IsZero() {
		p.Remaining = max(0, time.Until(c.deadline))
	}
	return p
}

// writeState writes Dir/state.json atomically.
func (c *campaign) writeState() error {
	c.mu.Lock()
	c.st.Updated = time.Now().UTC()
	c.st.ElapsedSeconds = c.priorSecs + time.Since(c.start).Seconds()
	data, err := marshal(c.st)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return atomicfile.Replace(c.statePath(), data) // the campaign's own file
}

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
		Resources:  append([]ResourceSample(nil), c.samples...),
		OK:         len(c.st.Unexpected) == 0,
		Signatures: []*Signature{},
		Unexpected: []*Unexpected{},
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
				all = all && cell.Runs >= cfg.RunsPerCell
			}
			sum.Interrupted = sum.Interrupted && !all
		}
	}
	for _, s := range cfg.Scenarios {
		sum.Config.Scenarios = append(sum.Config.Scenarios, s.Name)
	}
	for _, cell := range c.st.Cells {
		cs := CellSummary{Scenario: cell.Scenario, Policy: cell.Policy, Runs: cell.Runs, NextSchedule: cell.Next, Counts: cell.Counts}
		if set, ok := c.byName[cell.Scenario].Expected(cell.Policy); ok {
			cs.Expected = expectedList(set)
			for _, o := range scenario.Outcomes {
				if cell.Counts[o] > 0 && !set[o] {
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
