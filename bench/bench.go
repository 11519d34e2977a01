// Package bench measures time to a first witness: for each scenario and
// each non-clean outcome its expect lines list under a policy, how many
// schedules and how much wall time controlled PCT (depth 1, 2, 3 in
// turn), controlled random and the wild random-sleep baseline need to
// first show the outcome. It answers whether the controlled scheduler
// finds shutdown races faster than injected timing on a real scheduler,
// the question of the PCT paper (Burckhardt et al., ASPLOS 2010) asked of
// the bpo-42969 / gh-87135 scenarios.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Scenario is one scenario to measure. Name is how the command line named
// it (a library name or a path).
type Scenario struct {
	Name     string
	Scenario *scenario.Scenario
}

// Bench strategies.
const (
	StrategyPCT    = "pct"    // controlled PCT, depth 1, 2, 3 in turn
	StrategyRandom = "random" // controlled random
	StrategyWild   = "wild"   // wild mode, sleep-only perturbation: the random-sleep baseline
)

// Strategies lists the bench strategies in table order.
var Strategies = []string{StrategyPCT, StrategyRandom, StrategyWild}

// Options bound a benchmark.
type Options struct {
	Seeds int // seeds per strategy; default 5
	// Max caps the schedules of a controlled (strategy, seed); default
	// 20000.
	Max int
	// Timeout caps the wall time of a wild (strategy, seed); default 10s.
	Timeout time.Duration
	// MaxSleep is the wild baseline's longest sleep; default 200µs.
	MaxSleep time.Duration
	// MaxStates bounds the exhaustive search of a (scenario, policy);
	// default DefaultMaxStates.
	MaxStates int
	// Progress, if set, is told what is being measured.
	Progress func(string)
}

// Report is the result of Run: one row per (scenario, policy,
// outcome) where the outcome is a non-clean one the scenario's expect lines
// list for the policy.
type Report struct {
	Seeds     int     `json:"seeds"`
	Max       int     `json:"max"`
	TimeoutMS float64 `json:"timeout_ms"`
	MaxSleep  string  `json:"max_sleep"`
	Rows      []Row   `json:"rows"`
}

// Row is the time to a first witness of one outcome.
type Row struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	Outcome  string `json:"outcome"`
	// PCT, Random and Wild are the three strategies' measurements.
	PCT    *StrategyResult `json:"pct"`
	Random *StrategyResult `json:"random"`
	Wild   *StrategyResult `json:"wild"`
	// Exhaustive is the exhaustive search of the policy: the time to the
	// whole outcome set.
	Exhaustive *ExhaustiveResult `json:"exhaustive"`
	// WildOverPCT and WildOverRandom compare median wall times.
	WildOverPCT    Ratio `json:"wild_over_pct"`
	WildOverRandom Ratio `json:"wild_over_random"`
}

// StrategyResult is one strategy's time to first witness over the seeds.
type StrategyResult struct {
	Strategy string   `json:"strategy"`
	Samples  []Sample `json:"samples"` // one per seed
	// MedianSchedules and MedianWallMS are the medians over the seeds,
	// with capped samples counted as infinite; Capped says the median is
	// one of them, so the true value is above it.
	MedianSchedules int     `json:"median_schedules"`
	MedianWallMS    float64 `json:"median_wall_ms"`
	Capped          bool    `json:"capped"`
	Found           int     `json:"found"` // seeds that found the outcome
}

// Sample is one seed: schedules until the first run with the outcome (that
// run included) and the wall time until it ended. Capped: the outcome was
// not seen; Schedules and WallMS are then how far the search went.
type Sample struct {
	Seed      int     `json:"seed"`
	Schedules int     `json:"schedules"`
	WallMS    float64 `json:"wall_ms"`
	Capped    bool    `json:"capped"`
}

// Ratio compares two median wall times. Bound is "" when both medians are
// exact, ">" when only the numerator is capped (the true ratio is larger),
// "<" when only the denominator is, and "?" when both are (Value is then
// meaningless).
type Ratio struct {
	Value float64 `json:"value"`
	Bound string  `json:"bound,omitempty"`
}

func (r Ratio) String() string {
	if r.Bound == "?" {
		return "-"
	}
	switch {
	case r.Value >= 100:
		return fmt.Sprintf("%s%.0fx", r.Bound, r.Value)
	case r.Value >= 10:
		return fmt.Sprintf("%s%.1fx", r.Bound, r.Value)
	}
	return fmt.Sprintf("%s%.2fx", r.Bound, r.Value)
}

// Run measures, for each scenario and each (policy, non-clean outcome)
// its expect lines list, how many schedules and how much wall time each
// strategy needs to first show the outcome, over opts.Seeds seeds. Each
// (scenario, policy, strategy, seed) is one sequence of runs that stops
// once it has seen every target outcome of the policy or reaches its cap.
// A cancelled ctx ends the benchmark early with what it has.
func Run(ctx context.Context, scenarios []Scenario, opts Options) (*Report, error) {
	if opts.Seeds <= 0 {
		opts.Seeds = 5
	}
	if opts.Max <= 0 {
		opts.Max = 20000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxSleep <= 0 {
		opts.MaxSleep = 200 * time.Microsecond
	}
	if opts.MaxStates <= 0 {
		opts.MaxStates = DefaultMaxStates
	}
	rep := &Report{Seeds: opts.Seeds, Max: opts.Max, TimeoutMS: ms(opts.Timeout), MaxSleep: opts.MaxSleep.String()}
	for _, sc := range scenarios {
		for _, policy := range scenario.Policies {
			set, ok := sc.Scenario.Expected(policy)
			if !ok {
				continue
			}
			var targets []string
			for _, o := range scenario.Outcomes {
				if set[o] && o != string(runtime.Clean) {
					targets = append(targets, o)
				}
			}
			if len(targets) == 0 {
				continue
			}
			rows, err := policyRows(ctx, sc, policy, targets, opts)
			if err != nil || ctx.Err() != nil {
				return rep, err
			}
			rep.Rows = append(rep.Rows, rows...)
		}
	}
	return rep, nil
}

// policyRows measures the rows of one (scenario, policy), one per target
// outcome; nil when ctx is cancelled.
func policyRows(ctx context.Context, sc Scenario, policy string, targets []string, opts Options) ([]Row, error) {
	rows := make([]Row, len(targets))
	for i, o := range targets {
		rows[i] = Row{Scenario: sc.Name, Policy: policy, Outcome: o}
	}
	for _, strat := range Strategies {
		per := make([]*StrategyResult, len(targets))
		for i := range per {
			per[i] = &StrategyResult{Strategy: strat}
		}
		for seed := 0; seed < opts.Seeds; seed++ {
			if ctx.Err() != nil {
				return nil, nil
			}
			if opts.Progress != nil {
				opts.Progress(fmt.Sprintf("%s %s %s seed %d", sc.Name, policy, strat, seed))
			}
			samples, err := firstWitness(ctx, sc.Scenario, policy, strat, seed, targets, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: policy %s: %w", sc.Name, policy, err)
			}
			for i := range targets {
				per[i].Samples = append(per[i].Samples, samples[i])
			}
		}
		for i := range targets {
			per[i].summarize()
			switch strat {
			case StrategyPCT:
				rows[i].PCT = per[i]
			case StrategyRandom:
				rows[i].Random = per[i]
			case StrategyWild:
				rows[i].Wild = per[i]
			}
		}
	}
	if opts.Progress != nil {
		opts.Progress(fmt.Sprintf("%s %s exhaustive", sc.Name, policy))
	}
	exh, err := searchAll(sc.Scenario, policy, targets, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: policy %s: %w", sc.Name, policy, err)
	}
	for i := range rows {
		rows[i].Exhaustive = exh[i]
		rows[i].WildOverPCT = ratio(rows[i].Wild, rows[i].PCT)
		rows[i].WildOverRandom = ratio(rows[i].Wild, rows[i].Random)
	}
	return rows, nil
}

// firstWitness runs one sequence of schedules of strategy strat and seed,
// and returns a sample per target outcome.
func firstWitness(ctx context.Context, s *scenario.Scenario, policy, strat string, seed int, targets []string, opts Options) ([]Sample, error) {
	out := make([]Sample, len(targets))
	left := len(targets)
	start := time.Now()
	n := 0
	for left > 0 && ctx.Err() == nil {
		if strat == StrategyWild {
			if time.Since(start) >= opts.Timeout {
				break
			}
		} else if n >= opts.Max {
			break
		}
		cfg := runtime.Config{Policy: policy}
		schedSeed := uint64(seed)<<32 | uint64(n)
		switch strat {
		case StrategyPCT:
			cfg.Schedule = &scenario.Schedule{Kind: scenario.SchedulePCT, Depth: 1 + n%3, Seed: schedSeed}
		case StrategyRandom:
			cfg.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: schedSeed}
		case StrategyWild:
			cfg.Wild = &chaos.WildOptions{SleepOnly: true, MaxSleep: opts.MaxSleep, Seed: schedSeed}
		}
		r, err := runtime.Run(s, cfg)
		if err != nil {
			return nil, err
		}
		n++
		if i := slices.Index(targets, string(r.Outcome)); i >= 0 && out[i].Schedules == 0 {
			out[i] = Sample{Seed: seed, Schedules: n, WallMS: ms(time.Since(start))}
			left--
		}
	}
	wall := ms(time.Since(start))
	for i := range out {
		if out[i].Schedules == 0 {
			out[i] = Sample{Seed: seed, Schedules: n, WallMS: wall, Capped: true}
		}
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cappedLast orders a sample that reached its cap without the outcome after
// one that found it, whatever their counts; 0 when both or neither did.
func cappedLast(a, b Sample) int {
	switch {
	case a.Capped == b.Capped:
		return 0
	case a.Capped:
		return 1
	}
	return -1
}

// summarize computes the medians: the upper median for an even count,
// capped samples last.
func (r *StrategyResult) summarize() {
	if len(r.Samples) == 0 {
		r.Capped = true
		return
	}
	mid := len(r.Samples) / 2
	bySched := slices.Clone(r.Samples)
	slices.SortFunc(bySched, func(a, b Sample) int { return cmp.Or(cappedLast(a, b), a.Schedules-b.Schedules) })
	byWall := slices.Clone(r.Samples)
	slices.SortFunc(byWall, func(a, b Sample) int { return cmp.Or(cappedLast(a, b), cmp.Compare(a.WallMS, b.WallMS)) })
	r.MedianSchedules = bySched[mid].Schedules
	r.MedianWallMS = byWall[mid].WallMS
	r.Capped = byWall[mid].Capped
	for _, s := range r.Samples {
		if !s.Capped {
			r.Found++
		}
	}
}

func ratio(num, den *StrategyResult) Ratio {
	if num == nil || den == nil {
		return Ratio{Bound: "?"}
	}
	r := Ratio{}
	switch {
	case num.Capped && den.Capped:
		return Ratio{Bound: "?"}
	case num.Capped:
		r.Bound = ">"
	case den.Capped:
		r.Bound = "<"
	}
	if den.MedianWallMS > 0 {
		r.Value = num.MedianWallMS / den.MedianWallMS
	}
	return r
}

// Text renders the report as a table.
func (b *Report) Text() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "time to first witness: median over %d seeds (schedules, wall time); caps: %d schedules (controlled), %s per seed (wild, sleep-only, max sleep %s)\n",
		b.Seeds, b.Max, time.Duration(b.TimeoutMS*float64(time.Millisecond)), b.MaxSleep)
	head := []string{"scenario", "policy", "outcome", "pct", "", "random", "", "wild", "", "exhaustive", "", "wild/pct", "wild/random"}
	rows := [][]string{head, {"", "", "", "sched", "wall", "sched", "wall", "sched", "wall", "runs", "wall", "", ""}}
	for _, r := range b.Rows {
		row := []string{r.Scenario, r.Policy, r.Outcome}
		for _, s := range []*StrategyResult{r.PCT, r.Random, r.Wild} {
			row = append(row, s.schedText(), s.wallText())
		}
		row = append(row, r.Exhaustive.runsText(), r.Exhaustive.wallText())
		row = append(row, r.WildOverPCT.String(), r.WildOverRandom.String())
		rows = append(rows, row)
	}
	width := make([]int, len(head))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, c := range row {
			if i < 3 {
				fmt.Fprintf(&line, "%-*s  ", width[i], c)
			} else {
				fmt.Fprintf(&line, "%*s  ", width[i], c)
			}
		}
		sb.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	sb.WriteString("'>' marks a median that hit its cap (the outcome was not seen for most seeds); a ratio above 1 means the wild baseline is slower.\n")
	sb.WriteString("exhaustive: the runs and wall time of the search of the whole outcome set (one search per policy, no seeds; '>' an incomplete search, '-' a complete one without the outcome).\n")
	return sb.String()
}

func (r *StrategyResult) schedText() string {
	if r == nil {
		return "-"
	}
	if r.Capped {
		return fmt.Sprintf(">%d", r.MedianSchedules)
	}
	return fmt.Sprint(r.MedianSchedules)
}

func (r *StrategyResult) wallText() string {
	if r == nil {
		return "-"
	}
	d := time.Duration(r.MedianWallMS * float64(time.Millisecond))
	var t string
	switch {
	case d < time.Millisecond:
		t = fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		t = fmt.Sprintf("%.1fms", r.MedianWallMS)
	default:
		t = fmt.Sprintf("%.2fs", d.Seconds())
	}
	if r.Capped {
		return ">" + t
	}
	return t
}
