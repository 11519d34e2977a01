package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The controlled mode on the step function (docs/step-function.md, stage
// 4): a loop asks the strategy for a thread among those that can run and
// steps it, as chaos.Controller's pick does between two hand-offs, with no
// goroutines. A narrator records what the Result says beyond the state:
// the report's words, the objects' names and how each was freed, stdout's
// bytes, the strikes, and in a traced run (Config.Trace) the timeline's
// events (vm_trace.go). Wild mode stays on the goroutine model;
// TestEnginesAgree compares the two engines' Results byte for byte.

// Engine selects the implementation of a controlled run.
type Engine uint8

const (
	// EngineAuto runs the step function, unless the run is wild or the
	// step function does not model the scenario.
	EngineAuto Engine = iota
	// EngineStep is EngineAuto (the name says what the caller expects).
	EngineStep
	// EngineGoroutine runs the goroutine model: one coroutine per thread
	// under chaos.Controller (the reference the step function is tested
	// against).
	EngineGoroutine
)

// narrator is what a narrated run of the step function records beyond
// the state; nil in the search. The object tables are by object index
// (canon renumbers them with the heap).
type narrator struct {
	steps    int // scheduling points taken (chaos.Controller.Steps)
	strikes  int
	first    int // the steps taken at the first strike
	exitCode int
	out      []byte
	objName  []string // by object index
	freedBy  []string // by object index
	// collectAt is the number of objects at which narrate next collects
	// the garbage.
	collectAt int
	report    Report // the halt's report
	// trace: the run records its events (Config.Trace; vm_trace.go);
	// exc holds the messages of the exceptions frames keep on their way.
	trace  bool
	events []Event
	exc    map[excKey]string
}

// stepEngine reports whether cfg's run goes to the step function.
func stepEngine(cfg Config) bool {
	return cfg.Engine != EngineGoroutine && cfg.Wild == nil
}

// runStep is Run on the step function. When the step function cannot
// run s to its end, it returns the configuration under which the goroutine
// model runs it instead (fallback): cfg itself when the step function
// does not model s; when the run outgrows it (maxNarratedObjects), cfg
// with a strategy that replays the choices taken so far and then goes on
// with the strategy they came from, which has seen exactly those calls.
func runStep(s *scenario.Scenario, cfg Config) (r *Result, fallback *Config, err error) {
	m, err := NewMachine(s, cfg.Policy)
	switch {
	case errors.Is(err, ErrUnsupported):
		return nil, &cfg, nil
	case err != nil:
		return nil, nil, err
	}
	m.noStrike = cfg.NoStrike
	strat, desc := strategyOf(s, cfg)
	d := &driver{m: m, strat: strat, n: &narrator{trace: cfg.Trace}, max: cfg.MaxSteps}
	d.r = &Result{Scenario: s.Name, Policy: m.policy, Preset: m.preset.Name, Strategy: desc, Mode: "controlled", Diverged: -1}
	for _, t := range s.Threads {
		d.r.Threads = append(d.r.Threads, t.Name)
	}
	if d.max <= 0 {
		d.max = 100000
	}
	watchdog := cfg.Watchdog
	if watchdog <= 0 {
		watchdog = 2 * time.Second
	}
	d.deadline = time.Now().Add(watchdog)
	defer func() {
		if v := recover(); v != nil {
			r, fallback, err = nil, nil, d.brokeInvariant(v)
		}
	}()
	if r = d.run(); r == nil {
		cfg.Strategy, cfg.StrategyName = &resume{taken: d.r.Schedule, then: strat}, desc
		return nil, &cfg, nil
	}
	return r, nil, nil
}

// resume replays the choices a narrated run took, then asks then, the
// strategy that chose them (runStep's fallback).
type resume struct {
	taken []int
	i     int
	then  chaos.Strategy
}

func (r *resume) Choose(runnable []int, cur int) int {
	if r.i < len(r.taken) {
		r.i++
		return r.taken[r.i-1]
	}
	return r.then.Choose(runnable, cur)
}

// Diverged is then's, when it follows a recorded schedule.
func (r *resume) Diverged() (int, bool) {
	if d, ok := r.then.(chaos.Diverger); ok {
		return d.Diverged()
	}
	return -1, false
}

// brokeInvariant is Interp.brokeInvariant: v, a panic raised while the
// run's current thread stepped or chose, as an *InternalError.
func (d *driver) brokeInvariant(v any) error {
	sc, phase, st := d.m.sc, "body", (*scenario.Stmt)(nil)
	if d.s != nil {
		phase, st = vmPhases[d.s.phase], d.m.stmtAt(d.s, d.cur)
	}
	return &InternalError{Scenario: sc.Name, Presets: strings.Join(sc.Presets, " "), Policy: d.m.policy,
		Thread: d.name(d.cur), Stmt: stmtRef(st), Phase: phase, Value: fmt.Sprint(v), Where: panicSite(),
		Schedule: d.r.Schedule}
}

// strategyOf is the strategy of cfg's run of s and its description.
func strategyOf(s *scenario.Scenario, cfg Config) (chaos.Strategy, string) {
	if cfg.Strategy != nil {
		return cfg.Strategy, cfg.StrategyName
	}
	sch := cfg.Schedule
	if sch == nil {
		sch = s.Schedule
	}
	return StrategyFor(sch, EstimateSteps(s))
}

// driver is one controlled run of the step function.
type driver struct {
	m        *Machine
	s        *VMState
	strat    chaos.Strategy
	n        *narrator
	r        *Result
	max      int
	deadline time.Time
	runnable []int
	cur      int // the thread that runs or chooses (main at first)
}

// run steps the threads the strategy picks until the run ends, and
// returns its Result, or nil when the run outgrows the step function
// (maxNarratedObjects).
func (d *driver) run() *Result {
	s, term := d.m.initial(d.n)
	d.s = s
	preemptions := 0
	for term == nil {
		if len(s.heap.objs) > maxNarratedObjects {
			return nil
		}
		var id int
		id, term = d.pick(d.cur)
		if term != nil {
			break
		}
		if id != d.cur && d.m.canRun(s, d.cur) {
			preemptions++
		}
		d.r.Schedule = append(d.r.Schedule, id)
		d.cur = id
		term = d.m.narrate(s, id, d.n)
	}
	return d.result(term, preemptions)
}

// maxNarratedObjects bounds the live objects of a narrated run, below
// the step function's 32,767: a run that keeps more (a loop that
// publishes new objects) goes to the goroutine model, which has no bound.
const maxNarratedObjects = 32000

// pick is Controller.pick: the budget, the watchdog, a deadlock, or the
// strategy's choice among the threads that can run.
func (d *driver) pick(cur int) (int, *Terminal) {
	d.n.steps++
	if d.n.steps > d.max {
		return 0, d.budget()
	}
	if d.n.steps&255 == 0 && time.Now().After(d.deadline) {
		d.n.report = Report{Kind: KindWatchdog, Message: "the wall-clock watchdog fired before the process exited"}
		return 0, &Terminal{Outcome: Budget, Kind: KindWatchdog, Thread: -1}
	}
	d.runnable = d.m.Runnable(d.s, d.runnable[:0])
	if len(d.runnable) == 0 {
		return 0, d.deadlock(false)
	}
	if d.runnable[0] != 0 && d.m.blockedForGood(d.s, 0) {
		return 0, d.deadlock(true)
	}
	return d.strat.Choose(d.runnable, cur), nil
}

// result builds the Result of a run that ended with term.
func (d *driver) result(term *Terminal, preemptions int) *Result {
	r, s, n := d.r, d.s, d.n
	r.Outcome, r.Report = term.Outcome, n.report
	r.Report.Phase = vmPhases[s.phase]
	r.Steps, r.Preemptions = len(r.Schedule), preemptions
	if dv, ok := d.strat.(chaos.Diverger); ok {
		if step, ok := dv.Diverged(); ok {
			r.Diverged = step
		}
	}
	r.Strikes, r.FirstStrike = n.strikes, n.first
	r.ExitCode, r.Stdout = n.exitCode, string(n.out)
	for i := range s.threads {
		if s.threads[i].is(tHung) {
			r.Hung = append(r.Hung, d.m.sc.Threads[i].Name)
		}
	}
	if n.trace {
		r.Events = n.events
	}
	r.Report.Defect = r.Defect()
	return r
}

// budget is the end of a run whose step budget ran out: a deadlock when
// main is blocked for good behind a cycle, a hung or an ended thread, or
// waits for guards one of which is always held; else budget.
func (d *driver) budget() *Terminal {
	if t := &d.s.threads[0]; !t.is(tDone) && t.wait != wNone {
		if lines, how := d.chain(0); how == chaos.ChainCycle || how == chaos.ChainForever || how == chaos.ChainEnded {
			return d.deadlockReport([]int{0}, lines, how, true)
		}
	}
	if d.s.flags&vmWaiting != 0 && len(d.s.guards) > 0 { // guardChurn
		d.n.report = Report{Kind: KindDeadlock, Thread: MainThread, Message: guardChurnMessage(d.guardWaitString(), d.name(int(d.s.guards[0].holder)))}
		return &Terminal{Outcome: Deadlock, Kind: KindDeadlock, Thread: 0}
	}
	d.n.report = Report{Kind: KindBudget, Message: budgetMessage(len(d.r.Schedule))}
	return &Terminal{Outcome: Budget, Kind: KindBudget, Thread: -1}
}

// deadlock is Controller.finishDeadlock (no thread can run) or, with
// never, the end blockedForGood finds for main.
func (d *driver) deadlock(never bool) *Terminal {
	if never {
		lines, how := d.neverChain(0)
		return d.deadlockReport([]int{0}, lines, how, true)
	}
	var blocked []int
	for i := range d.s.threads {
		if t := &d.s.threads[i]; t.is(tSpawned) && !t.is(tDone) && t.wait != wNone {
			blocked = append(blocked, i)
		}
	}
	lines, how := d.chain(blocked[0])
	return d.deadlockReport(blocked, lines, how, false)
}

// deadlockReport is Interp.run's report of chaos.EndDeadlock.
func (d *driver) deadlockReport(blocked []int, lines []string, how string, others bool) *Terminal {
	kind := deadlockKind(how)
	d.r.Cycle = lines
	d.n.report = Report{Kind: kind, Message: deadlockMessage(others, lines)}
	if len(blocked) > 0 {
		st := d.m.stmtAt(d.s, blocked[0])
		d.n.report.Thread, d.n.report.Stmt, d.n.report.Op = d.name(blocked[0]), stmtRef(st), stmtOp(st)
	}
	return &Terminal{Outcome: Deadlock, Kind: kind, Thread: blocked[0]}
}

// name is Interp.threadName.
func (d *driver) name(id int) string {
	if id >= 0 && id < len(d.m.sc.Threads) {
		return d.m.sc.Threads[id].Name
	}
	return "?"
}

// budgetMessage is the report of a run whose step budget ran out after
// steps scheduling points.
func budgetMessage(steps int) string {
	return fmt.Sprintf("the step budget (%d scheduling points) ran out before the process exited", steps)
}

// deadlockMessage is the report of a deadlock with its wait-for chain;
// others: main can never run again while other threads still could.
func deadlockMessage(others bool, lines []string) string {
	msg := "no thread can run and the process has not exited: "
	if others {
		msg = "main can never run again (other threads spin on) and the process has not exited: "
	}
	return msg + chaos.FormatCycle(lines)
}

// guardChurnMessage is guardChurn's report: main waited for guards (waits,
// guardWait's words) until the budget ran out; holder held the first.
func guardChurnMessage(waits, holder string) string {
	return fmt.Sprintf("main waited for the interpreter guards until the step budget ran out: one was always held (guard churn starves finalization): main waits for %s (held by %s)", waits, holder)
}
