package conform

import (
	"fmt"
)

// SteerPoint is one place where the model's witness had a thread meet the
// must-exit check: the statement, and main's finalization phase then.
type SteerPoint struct {
	Thread    string `json:"thread"`
	Line, Col int    `json:"-"`
	Stmt      string `json:"stmt"`  // "op@line:col"
	Phase     string `json:"phase"` // the model's phase: finalizing, flush, teardown, collect, free-tstates
	// Gate: the atexit gate waits for this point before the flag. True for
	// strikes (the thread was in its blocking call when the flag was set);
	// false for a failure the thread reaches only later (after an event
	// that finalization sets).
	Gate  bool `json:"gate"`
	Index int  `json:"-"`
}

func (p SteerPoint) key() string { return fmt.Sprintf("%s@%d:%d", p.Thread, p.Line, p.Col) }

// phaseConst maps a model phase to the sfz_rt.h phase a steered thread
// waits for (besides the finalizing flag) before it retakes the GIL.
func phaseConst(phase string) string {
	switch phase {
	case "body", "wait-threads", "atexit", "wait-guards":
		// Before the flag (a failure no policy caused, such as an ensure
		// through a closed guard in atexit): nothing to wait for.
		return "sfz::PhaseBody"
	case "teardown":
		return "sfz::PhaseTeardown"
	case "collect":
		return "sfz::PhaseCollected"
	case "free-tstates", "gilstate-fini", "exited":
		return "sfz::PhaseFinalized"
	default:
		return "sfz::PhaseAtexitDone"
	}
}
