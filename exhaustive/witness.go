package exhaustive

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// CheckWitness replays w under policy in the controlled mode and reports
// how it fails to show its outcome. A terminal witness must replay
// exactly (runtime.Result.Replays). A cycle witness must come back, after
// one turn of its cycle, to the state where the turn began, with every
// choice followed; for a deadlock, main must not run in the turn, and for
// budget it must.
func CheckWitness(s *scenario.Scenario, policy string, w *Witness) error {
	if len(w.Cycle) == 0 {
		again, err := runtime.Run(s, runtime.Config{Policy: policy, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Schedule}})
		if err != nil {
			return err
		}
		if !w.Result.Replays(again) {
			return fmt.Errorf("%s witness replayed to %s (diverged at %d), recorded %s", w.Outcome, again.Signature(), again.Diverged, w.Result.Signature())
		}
		return nil
	}
	turn := len(w.Schedule) - len(w.Cycle)
	if turn < 0 || !slices.Equal(w.Schedule[turn:], w.Cycle) {
		return fmt.Errorf("%s witness: the schedule does not end with its cycle", w.Outcome)
	}
	mainRuns := slices.Contains(w.Cycle, 0)
	if mainRuns != (w.Outcome == runtime.Budget) {
		return fmt.Errorf("%s witness: main runs in the cycle: %v", w.Outcome, mainRuns)
	}
	ck := &cycleChecker{path: w.Schedule, turn: turn}
	cfg := runtime.Config{Policy: policy, MaxSteps: len(w.Schedule) + 2}
	r, err := runtime.RunChooser(s, cfg, runtime.NewStateTable(s), ck)
	if err != nil {
		return err
	}
	if !ck.done && ck.err == nil {
		return fmt.Errorf("%s witness: the run ended (%s) before the end of its cycle", w.Outcome, r.Outcome)
	}
	return ck.err
}

// cycleChecker follows a lasso and compares the state keys where the turn
// begins and ends.
type cycleChecker struct {
	path  []int
	turn  int
	start []byte
	err   error
	done  bool
}

func (c *cycleChecker) Choose(p *runtime.Point) (int, bool) {
	k := p.Step
	p.Capture() // every thread's position, for the keys below
	if k == c.turn {
		c.start = p.AppendKey(nil)
	}
	if k == len(c.path) {
		c.done = true
		if !bytes.Equal(p.AppendKey(nil), c.start) {
			c.err = fmt.Errorf("a turn of the cycle (steps %d..%d) does not come back to the state where it began", c.turn, k)
		}
		return 0, true
	}
	if !slices.Contains(p.Runnable, c.path[k]) {
		c.err = fmt.Errorf("step %d: thread %d cannot run (runnable %v)", k, c.path[k], p.Runnable)
		return 0, true
	}
	return c.path[k], false
}
