package bench

import (
	"fmt"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// DefaultMaxStates bounds the exhaustive search of a (scenario, policy)
// when Options.MaxStates is 0.
const DefaultMaxStates = 200_000

// ExhaustiveResult is the exhaustive search of a (scenario, policy): not a
// time to a first witness but to the whole outcome set, proved when the
// search completes. It has no seed, so it is measured once.
type ExhaustiveResult struct {
	States   int     `json:"states"`
	Runs     int     `json:"runs"` // runs from the start
	WallMS   float64 `json:"wall_ms"`
	Complete bool    `json:"complete"`
	Found    bool    `json:"found"` // the search found the row's outcome
}

// searchAll runs the exhaustive search of s under policy and returns a
// result per target outcome.
func searchAll(s *scenario.Scenario, policy string, targets []string, opts Options) ([]*ExhaustiveResult, error) {
	start := time.Now()
	r, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, MaxStates: opts.MaxStates})
	if err != nil {
		return nil, err
	}
	wall := ms(time.Since(start))
	seen := map[string]bool{}
	for _, o := range r.Seen() {
		seen[string(o)] = true
	}
	out := make([]*ExhaustiveResult, len(targets))
	for i, o := range targets {
		out[i] = &ExhaustiveResult{States: r.States, Runs: r.Runs, WallMS: wall, Complete: r.Complete, Found: seen[o]}
	}
	return out, nil
}

// runsText and wallText are the exhaustive columns: the runs and wall
// time of the search that found the outcome, "-" when it did not, with
// '>' for a search the bound stopped.
func (r *ExhaustiveResult) runsText() string {
	switch {
	case r == nil:
		return "-"
	case !r.Complete:
		return fmt.Sprintf(">%d", r.Runs)
	case !r.Found:
		return "-"
	}
	return fmt.Sprint(r.Runs)
}

func (r *ExhaustiveResult) wallText() string {
	if r == nil || (r.Complete && !r.Found) {
		return "-"
	}
	return (&StrategyResult{MedianWallMS: r.WallMS, Capped: !r.Complete}).wallText()
}
