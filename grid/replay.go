package grid

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The traced replays of witnesses, shared among the cells of a row. A
// witness's timeline comes from its schedule replayed with tracing on, a
// run of the goroutine model of up to the step budget (a cycle's replay
// goes on to the budget: 100,000 steps), and the cells of a row often
// replay one schedule: the exhaustive search's canonical witness is the
// same run under every policy that does not come into it. A run in which
// no thread met the policy is the same run under every policy, as the
// runtime reads the policy only at a strike (runtime/exit.go; fuzz's
// TestStrikeFreeRunsIgnorePolicy checks it). So such a replay serves
// every cell that replays the same schedule of the same scenario with the
// same budget, and the others replay their own.

// replayed is what a witness keeps of its traced replay.
type replayed struct {
	outcome  runtime.Outcome
	timeline report.Timeline
	tail     []runtime.Event // the last report.TailEvents events
}

// replays holds a matrix's traced replays by scenario, schedule and
// budget. A nil *replays shares nothing.
type replays struct {
	mu sync.Mutex
	m  map[replayKey]*replayEntry
}

type replayKey struct {
	sc       *scenario.Scenario
	schedule string // the choices, as uvarints
	maxSteps int
}

type replayEntry struct {
	once   sync.Once
	policy string // the policy of the cell that ran it
	free   bool   // no thread met that policy
	r      *replayed
	err    error
}

func newReplays() *replays { return &replays{m: map[replayKey]*replayEntry{}} }

// replay returns the traced replay of sched under policy: the one another
// cell ran when it met no policy, else its own. Cells that ask for the
// same replay at once wait for the first one's.
func (rs *replays) replay(s *scenario.Scenario, policy string, sched []int, maxSteps int) (*replayed, error) {
	if rs == nil {
		r, _, err := tracedReplay(s, policy, sched, maxSteps)
		return r, err
	}
	var b []byte
	for _, c := range sched {
		b = binary.AppendUvarint(b, uint64(c))
	}
	key := replayKey{sc: s, schedule: string(b), maxSteps: maxSteps}
	rs.mu.Lock()
	e := rs.m[key]
	if e == nil {
		e = &replayEntry{}
		rs.m[key] = e
	}
	rs.mu.Unlock()
	e.once.Do(func() {
		e.policy = policy
		e.r, e.free, e.err = tracedReplay(s, policy, sched, maxSteps)
	})
	if e.policy == policy || (e.err == nil && e.free) {
		return e.r, e.err
	}
	r, _, err := tracedReplay(s, policy, sched, maxSteps)
	return r, err
}

// tracedReplay replays sched under policy with tracing on; free reports
// that no thread met the policy.
func tracedReplay(s *scenario.Scenario, policy string, sched []int, maxSteps int) (r *replayed, free bool, err error) {
	run, err := runtime.Run(s, runtime.Config{
		Policy:   policy,
		MaxSteps: maxSteps,
		Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: sched},
		Trace:    true,
	})
	if err != nil {
		return nil, false, err
	}
	tail := run.Events
	if len(tail) > report.TailEvents {
		tail = tail[len(tail)-report.TailEvents:]
	}
	return &replayed{outcome: run.Outcome, timeline: report.NewTimeline(run), tail: slices.Clone(tail)}, run.Strikes == 0, nil
}
