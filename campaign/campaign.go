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
// Each non-clean run has a signature, its triage.Key (policy and
// Result.Signature). The first time a signature is seen, in this session
// or an earlier one of the same campaign, its run is minimized and saved
// in DIR/crashers by triage.Filer. A wild run is minimized through the
// controlled replay of its recorded schedule. Outcomes outside a
// scenario's expect lines are recorded as unexpected: regressions.
//
// The campaign keeps DIR/state.json (State) up to date every few seconds,
// so that a later session with the same configuration continues where a
// stopped or killed one left off, and writes DIR/summary.json (Summary) at
// the end. Both are written atomically; temporary files a killed session
// left behind are removed at the start of the next.
//
// The time-to-first-witness benchmark is package bench.
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
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/triage"
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
	// Exhaustive first proves each cell's outcome set (package
	// exhaustive, at most MaxStates states per cell); proved cells are not
	// sampled. See exhaustive.go.
	Exhaustive bool
	MaxStates  int
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

	// Inconclusive counts budget runs: nothing decided, never a pass.
	Inconclusive int
}

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

	if cfg.Exhaustive {
		if err := c.prove(ctx); err != nil {
			return nil, err
		}
	}
	// Crashers an earlier session (or the proofs) had no time to make.
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
	sc := StateConfig{Mode: cfg.Mode, Shard: fmt.Sprintf("%d/%d", cfg.Shard, cfg.Shards), Policies: cfg.Policies, Exhaustive: cfg.Exhaustive}
	for _, s := range cfg.Scenarios {
		sc.Scenarios = append(sc.Scenarios, ScenarioID{Name: s.Name, Hash: scenarioHash(s.Scenario)})
	}
	return sc
}

func (c *campaign) statePath() string   { return filepath.Join(c.cfg.Dir, "state.json") }
func (c *campaign) summaryPath() string { return filepath.Join(c.cfg.Dir, "summary.json") }

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
			k, runs, proved := cell.Next, cell.Runs, cell.Proved
			c.mu.Unlock()
			if proved || (c.cfg.RunsPerCell > 0 && runs >= c.cfg.RunsPerCell) {
				continue
			}
			progressed = true
			s := c.byName[cell.Scenario]
			r, err := c.runOne(s, cell.Policy, k)
			if err != nil {
				c.fail(fmt.Errorf("%s: policy %s: schedule %d: %w", cell.Scenario, cell.Policy, k, runtime.WithFile(err, cell.Scenario)))
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
	if r.Outcome == runtime.Budget {
		c.st.Inconclusive++
	} else if r.Outcome != runtime.Clean {
		sigKey = triage.Key(cell.Policy, r)
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
		key := unexpectedKey(cell, o)
		u := c.st.Unexpected[key]
		if u == nil {
			u = &Unexpected{Scenario: cell.Scenario, Policy: cell.Policy, Outcome: o, Expected: scenario.OutcomesIn(set),
				Signature: sigKey, FirstIndex: k, FirstStrategy: r.Strategy, FirstSchedule: r.ReplayLine(), FirstTime: now}
			c.st.Unexpected[key] = u
		}
		u.Count++
	}
	return first
}

// unexpectedKey is the key of State.Unexpected: outcome o of cell.
func unexpectedKey(cell *CellState, o string) string {
	return cell.Scenario + "|" + cell.Policy + "|" + o
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
	if got := triage.Key(sig.Policy, r); got != sig.Signature {
		how += "; its controlled replay shows " + got
	}
	// The state's Signatures deduplicate (record), so the filer has no
	// Known of its own.
	f := &triage.Filer{Dir: filepath.Join(c.cfg.Dir, "crashers"), Options: minimize.Options{MaxRuns: c.cfg.MinimizeRuns}}
	filed, err := f.File(s, sig.Policy, r, how)
	if err != nil {
		return "", err.Error()
	}
	return filed.Path, ""
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
		Unexpected: len(c.st.Unexpected), Inconclusive: c.st.Inconclusive, Minimizing: c.minimizing, Elapsed: el, Remaining: -1, Done: done}
	if secs := el.Seconds(); secs > 0 {
		p.RunsPerSec = float64(c.sessionRuns) / secs
	}
	if !c.deadline.IsZero() {
		p.Remaining = max(0, time.Until(c.deadline))
	}
	return p
}
