package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// A Runner keeps what many controlled runs can share: the coroutines that
// run the threads (a chaos.Pool), whose stacks grow once instead of once
// per run. Pass it in Config.Runner to every run of a loop and Close it
// after the last one. Runs on different goroutines may share a Runner.
// Wild runs ignore it: their threads are real goroutines.
type Runner struct {
	p *chaos.Pool
}

// NewRunner returns a Runner with no coroutines yet.
func NewRunner() *Runner { return &Runner{p: chaos.NewPool()} }

// Close ends the Runner's idle coroutines. A Runner used after Close
// starts new ones, which the next Close ends.
func (r *Runner) Close() { r.p.Close() }

// pool is the coroutine pool of r, nil for a nil Runner.
func (r *Runner) pool() *chaos.Pool {
	if r == nil {
		return nil
	}
	return r.p
}

// prepared is what a run needs of its scenario and policy before it
// starts; a StateTable keeps it for the runs of a search.
type prepared struct {
	override  string // Config.Policy it was made for
	policy    string
	preset    Preset
	hasEnsure bool
}

func prepare(s *scenario.Scenario, override string) (prepared, error) {
	policy, preset, err := ResolvePolicy(s, override)
	if err != nil {
		return prepared{}, err
	}
	p := prepared{override: override, policy: policy, preset: preset}
	for _, b := range s.BodyRefs() {
		scenario.Walk(*b, func(st *scenario.Stmt) { p.hasEnsure = p.hasEnsure || st.Op == scenario.OpEnsure })
	}
	return p, nil
}
