package verdict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Cause is who caused a failure.
type Cause int

const (
	// NotCaused: the scenario's own bug. No thread met the policy, or the
	// failure is one a thread brings on itself, or a run without the
	// policy (NoStrike) fails the same way.
	NotCaused Cause = iota
	// Caused: the policy caused it. Every NoStrike counterfactual was
	// decided, and none failed this way.
	Caused
	// Unknown: a counterfactual (or the run itself) ran out of its budget
	// before anything was decided. It is inconclusive, never a pass.
	Unknown
)

func (c Cause) String() string {
	return [...]string{"not caused by the policy", "caused by the policy", "unknown"}[c]
}

// Attribution is a Cause and the evidence for it.
type Attribution struct {
	Cause Cause
	Why   string
}

// fairTails is how many fair continuations a counterfactual tries after
// the shared prefix.
const fairTails = 4

// ownKinds are failures a thread brings on itself by what it runs (API
// misuse, refcount bugs), whatever other threads do. A policy can only let
// control reach them; it causes them only when the failing thread is the
// one being unwound.
var ownKinds = map[string]bool{
	runtime.KindFatalRelease: true, runtime.KindFatalUnensure: true, runtime.KindBadUnlock: true,
	runtime.KindNoGIL: true, runtime.KindUAFObject: true, runtime.KindUnderflow: true,
	// The same misuse in its v2 form: a debug build's fatal error for a
	// GIL-less DECREF.
	runtime.KindFatalNoGIL: true,
}

// Attribute decides whether the policy caused r, a failing run of s (whose
// schedule line replays r) under policy.
//
// The counterfactual is a run with must-exit checks switched off
// (runtime.Config.NoStrike). It must be fair: it replays r's choices only
// up to the first strike (the part of the schedule the policy had no hand
// in) and then continues with fair random schedules. Replaying the whole
// schedule would replay choices that were forced in r (only main could run
// once the others were hung) and starve the threads the policy no longer
// stops, driving main into the budget. The whole-schedule replay is still
// tried, but it can only show that the failure happens without the policy.
func Attribute(s *scenario.Scenario, policy string, r *runtime.Result, maxSteps int) Attribution {
	return attribute(s, policy, r, maxSteps, runtime.EngineAuto)
}

// attribute is Attribute with its counterfactuals run on engine.
func attribute(s *scenario.Scenario, policy string, r *runtime.Result, maxSteps int, engine runtime.Engine) Attribution {
	switch {
	case Inconclusive(r):
		return Attribution{Unknown, "the run itself is inconclusive (" + r.Report.Kind + ")"}
	case r.Strikes == 0:
		return Attribution{NotCaused, "no thread met the policy"}
	case r.ByMainAfterFinalize():
		// By cause, not by a list of statements: whatever main runs
		// after Py_FinalizeEx returned (after_finalize: Python work, an
		// acquire or an ensure into the freed interpreter) fails on its
		// own; no policy acts on main.
		return Attribution{NotCaused, "main failed after Py_FinalizeEx returned (after_finalize), which no policy acts on"}
	case ownKinds[r.Report.Kind] && !r.Report.DuringUnwind:
		return Attribution{NotCaused, r.Report.Kind + " is a failure a thread brings on itself, outside a policy unwind"}
	}
	sig := r.Signature()
	cfg := runtime.Config{Policy: policy, NoStrike: true, MaxSteps: maxSteps, Engine: engine}
	if cf, err := run(s, cfg); err == nil && cf.Signature() == sig {
		return Attribution{NotCaused, "the NoStrike counterfactual on the same schedule fails the same way"}
	}
	prefix := r.Schedule[:max(0, min(r.FirstStrike-1, len(r.Schedule)))]
	var seen, undecided []string
	for seed := range fairTails {
		cfg.Strategy = &prefixThen{prefix: prefix, tail: chaos.Random(uint64(seed))}
		cfg.StrategyName = fmt.Sprintf("the schedule's first %d choices, then random %d", len(prefix), seed)
		cf, err := run(s, cfg)
		switch {
		case err != nil:
			return Attribution{Unknown, "the counterfactual could not run: " + err.Error()}
		case cf.Signature() == sig:
			return Attribution{NotCaused, "a NoStrike counterfactual (" + cfg.StrategyName + ") fails the same way"}
		case Inconclusive(cf):
			undecided = append(undecided, cfg.StrategyName)
		default:
			seen = append(seen, cf.Signature())
		}
	}
	if len(undecided) > 0 {
		return Attribution{Unknown, "NoStrike counterfactuals ran out of their budget: " + strings.Join(undecided, "; ")}
	}
	slices.Sort(seen)
	return Attribution{Caused, fmt.Sprintf("no fair NoStrike counterfactual (the schedule up to the first strike at step %d, then %d random continuations) fails this way; they give %s",
		r.FirstStrike, fairTails, strings.Join(slices.Compact(seen), ", "))}
}

// prefixThen follows prefix while its choices can run, then tail.
type prefixThen struct {
	prefix []int
	i      int
	tail   chaos.Strategy
}

func (p *prefixThen) Choose(runnable []int, cur int) int {
	if p.i < len(p.prefix) {
		c := p.prefix[p.i]
		p.i++
		if slices.Contains(runnable, c) {
			return c
		}
		p.i = len(p.prefix)
	}
	return p.tail.Choose(runnable, cur)
}
