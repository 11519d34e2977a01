package realchaos

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Config is a chaos campaign: a command run Runs times on each tool with
// delays and Runs times without.
type Config struct {
	Argv   []string
	Dir    string
	Runs   int
	Delays Delays // Max 0: only the runs without delays
	// NoBaseline skips the runs without delays (when Delays.Max > 0): a
	// replay of one delayed run.
	NoBaseline bool
	Seed       uint64 // run k uses Seed+k (with and without delays)
	Timeout    time.Duration
	WantExit   int
	Env        []string // added to every run's environment
	// ShardIndex/ShardCount: only runs k with k mod ShardCount ==
	// ShardIndex (ShardCount 0 or 1: every run).
	ShardIndex, ShardCount int
	// Witness are the outcome classes that count as a witness; empty:
	// every class but clean.
	Witness []runtime.Outcome
	// Rerun renders the command that replays one run (the CLI's).
	Rerun func(version string, seed uint64, delays Delays) string
	Log   io.Writer // a line per run; nil for none
}

// Report is a finished campaign.
type Report struct {
	Command  []string      `json:"command"`
	Runs     int           `json:"runs"` // per interpreter and mode, before sharding
	Delays   string        `json:"delays"`
	DelayMax time.Duration `json:"delay_ns"`
	Seed     uint64        `json:"seed"`
	Timeout  time.Duration `json:"timeout_ns"`
	Shard    string        `json:"shard,omitempty"`
	// NoBaseline: only runs with delays (Config.NoBaseline).
	NoBaseline bool           `json:"no_baseline,omitempty"`
	Witness    []string       `json:"witness"`
	Pythons    []*PythonStats `json:"pythons"`
}

// PythonStats are one interpreter's runs.
type PythonStats struct {
	Version string   `json:"version"` // "3.14"
	Release string   `json:"release"` // "3.14.10"
	Wrapped []string `json:"wrapped"`
	Without *Mode    `json:"without_delays,omitempty"`
	With    *Mode    `json:"with_delays,omitempty"`
}

// Mode is the runs of one interpreter with or without delays.
type Mode struct {
	WithDelays bool                    `json:"with_delays"`
	Delays     string                  `json:"delays"`
	Runs       int                     `json:"runs"`
	Outcomes   map[runtime.Outcome]int `json:"outcomes"`
	Kinds      map[string]int          `json:"kinds"` // "outcome/kind"
	Witnesses  int                     `json:"witnesses"`
	// Sites counts, over the failing runs, where the threads were (a
	// run counts once per distinct site).
	Sites map[string]int `json:"sites,omitempty"`
	// Ends counts the threads of every run by where each one ended up
	// (Markers.Ends), failing or not.
	Ends     map[string]int `json:"thread_ends,omitempty"`
	Failures []Failure      `json:"failures,omitempty"`
	// NoHost counts runs where the embedding host never started (the
	// command did not run python through it).
	NoHost int `json:"no_host,omitempty"`
	// Calls is the number of wrapped calls over all runs.
	Calls   uint64        `json:"wrapped_calls"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Failure is one run that did not end clean.
type Failure struct {
	Run      int             `json:"run"`
	Seed     uint64          `json:"seed"`
	Outcome  runtime.Outcome `json:"outcome"`
	Kind     string          `json:"kind"`
	Evidence string          `json:"evidence"`
	Sites    []string        `json:"sites,omitempty"`
	Rerun    string          `json:"rerun"`
	// Stderr is the end of the run's stderr (its last lines, at most
	// 2 KB), for the JSON report.
	Stderr string `json:"stderr,omitempty"`
}

// WitnessRate is Witnesses/Runs.
func (m *Mode) WitnessRate() float64 {
	if m == nil || m.Runs == 0 {
		return 0
	}
	return float64(m.Witnesses) / float64(m.Runs)
}

func newMode(d Delays) *Mode {
	return &Mode{WithDelays: d.Max > 0, Delays: d.String(), Outcomes: map[runtime.Outcome]int{}, Kinds: map[string]int{}, Sites: map[string]int{}, Ends: map[string]int{}}
}

// Witnessed reports whether any run of the report was a witness.
func (r *Report) Witnessed() bool {
	for _, p := range r.Pythons {
		for _, m := range p.Modes() {
			if m.Witnesses > 0 {
				return true
			}
		}
	}
	return false
}

func (c *Config) isWitness(o runtime.Outcome) bool {
	if len(c.Witness) == 0 {
		return o != runtime.Clean
	}
	return slices.Contains(c.Witness, o)
}

// NewReport starts the report of a campaign.
func NewReport(c *Config) *Report {
	r := &Report{Command: c.Argv, Runs: c.Runs, Delays: c.Delays.String(), DelayMax: c.Delays.Max, Seed: c.Seed, Timeout: c.Timeout,
		NoBaseline: c.NoBaseline && c.Delays.Max > 0}
	if c.ShardCount > 1 {
		r.Shard = fmt.Sprintf("%d/%d", c.ShardIndex, c.ShardCount)
	}
	if len(c.Witness) == 0 {
		r.Witness = []string{"any outcome but clean"}
	}
	for _, o := range c.Witness {
		r.Witness = append(r.Witness, string(o))
	}
	return r
}

// Campaign runs the command on t: for each run k of the shard, once
// without delays and once with them (alternating, so that a drift in the
// machine's load touches both alike).
func Campaign(ctx context.Context, t *Tool, c *Config) (*PythonStats, error) {
	ps := &PythonStats{Version: t.In.Version, Release: t.Release, Wrapped: t.Wrapped}
	var modes []Delays
	if c.Delays.Max <= 0 || !c.NoBaseline {
		ps.Without = newMode(Delays{})
		modes = append(modes, Delays{})
	}
	if c.Delays.Max > 0 {
		ps.With = newMode(c.Delays)
		modes = append(modes, c.Delays)
	}
	// One uncounted run first: a command that builds what it needs on
	// first use (examples/poller builds its extension) does it here, not
	// inside a measured run.
	if _, err := t.Run(ctx, Spec{Argv: c.Argv, Dir: c.Dir, Seed: c.Seed, Timeout: max(c.Timeout, 2*time.Minute), WantExit: c.WantExit, Env: c.Env}); err != nil {
		return nil, err
	}
	n := max(c.ShardCount, 1)
	for k := c.ShardIndex; k < c.Runs && ctx.Err() == nil; k += n {
		for _, d := range modes {
			m := ps.Without
			if d.Max > 0 {
				m = ps.With
			}
			seed := c.Seed + uint64(k)
			res, err := t.Run(ctx, Spec{Argv: c.Argv, Dir: c.Dir, Seed: seed, Delays: d, Timeout: c.Timeout, WantExit: c.WantExit, Env: c.Env})
			if err != nil {
				return nil, err
			}
			if ctx.Err() != nil {
				break // an interrupted run is not counted
			}
			c.add(m, k, seed, d, t, res)
		}
	}
	return ps, nil
}

func (c *Config) add(m *Mode, k int, seed uint64, d Delays, t *Tool, res *Result) {
	m.Runs++
	m.Elapsed += res.Raw.Elapsed
	m.Outcomes[res.Obs.Outcome]++
	m.Kinds[string(res.Obs.Outcome)+"/"+res.Obs.Kind]++
	m.Calls += res.Markers.Calls()
	if len(res.Markers.Hosts()) == 0 {
		m.NoHost++
	}
	for k, n := range res.Markers.Ends() {
		m.Ends[k] += n
	}
	label := "without delays"
	if d.Max > 0 {
		label = "with delays"
	}
	if c.Log != nil {
		fmt.Fprintf(c.Log, "  python %s run %d %s: %s/%s (%.2fs)\n", t.In.Version, k, label, res.Obs.Outcome, res.Obs.Kind, res.Raw.Elapsed.Seconds())
	}
	if res.Obs.Outcome == runtime.Clean {
		return
	}
	if c.isWitness(res.Obs.Outcome) {
		m.Witnesses++
	}
	f := Failure{Run: k, Seed: seed, Outcome: res.Obs.Outcome, Kind: res.Obs.Kind, Evidence: res.Obs.Evidence, Stderr: tail(res.Raw.Stderr, 20, 2048)}
	seen := map[string]bool{}
	for _, s := range res.Markers.Sites() {
		f.Sites = append(f.Sites, s.String())
		if !seen[s.Key()] {
			seen[s.Key()] = true
			m.Sites[s.Key()]++
		}
	}
	if c.Rerun != nil {
		f.Rerun = c.Rerun(t.In.Version, seed, d)
	}
	m.Failures = append(m.Failures, f)
}

// Describe is the command as one line, quoted for sh where needed.
func Describe(argv []string) string {
	var parts []string
	for _, a := range argv {
		parts = append(parts, shell.Word(a))
	}
	return strings.Join(parts, " ")
}

// tail is the last lines of s, at most n lines and max bytes.
func tail(s string, n, max int) string {
	s = strings.TrimRight(s, "\n")
	for i, lines := len(s)-1, 0; i >= 0; i-- {
		if s[i] == '\n' {
			if lines++; lines == n {
				s = s[i+1:]
				break
			}
		}
	}
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return s
}
