// Package runtime is a miniature CPython runtime for shutdown races.
//
// One interpreter runs the threads of a scenario: main, Python threads
// (thread, daemon) and foreign OS threads. Each runs on its own Go stack: a
// coroutine under the chaos controller, which lets exactly one run at a
// time and picks who runs at each scheduling point (every statement, every
// bytecode step of work, every place a statement drops or retakes the
// GIL), or a goroutine in wild mode. A Runner (Config.Runner) keeps the
// coroutines from one run to the next. The GIL is a real mutex with
// CPython's drop requests and FORCE_SWITCHING hand-off. Main runs its body,
// then finalizes in Py_FinalizeEx order:
//
//  1. set the exit code;
//  2. wait for non-daemon threads (GIL released while one is alive);
//  3. run atexit blocks, last registered first;
//  4. set the finalizing flag;
//  5. flush stdout (take the stdout lock, drop the GIL around the write);
//  6. run teardown blocks in file order, then DECREF the published globals;
//  7. free the thread states of all other threads;
//  8. exit the process: clean.
//
// Once the flag is set, any other thread that takes the GIL meets the
// thread-exit policy (abort, exit, hang, unwind, terminate) or the exit
// callback, at the check points of its preset (see exit.go). A heap with
// refcounts and per-thread stacks carries a sanitizer that turns use after
// free, GIL-less DECREFs, underflows and swallowed unwinds into corruption.
// The run stops at its first terminal event and returns a Result.
//
// The model has two implementations of one semantics. This file and the
// ones it names are the goroutine model described above: wild mode runs
// it, and it is the reference. The step function (vm*.go;
// docs/step-function.md) holds the same state as one value and runs a
// thread to its next scheduling point as a function of it: the exhaustive
// search copies its states, and the controlled mode (Run without
// Config.Wild) steps it under the strategy with no goroutines (vm_run.go),
// with the words of every report defined once for both (words.go). The
// two take the same scheduling points and give the same Result, byte for
// byte (TestEnginesAgree, FuzzEngines); Config.Engine picks one.
//
// Choices the contract leaves open, made here: an object used before any
// thread created it is a no-op (Python would see None); foreign threads that
// end holding the GIL keep it held; the step budget counts scheduling
// points; the finalization order is the spec's for every preset, so 3.9-3.13
// free daemon thread states in step 7, not right after the flag. A GIL
// waiter asks for a drop as soon as it starts waiting (CPython's timed-out
// wait), whatever the holder is doing; the holder acts on it at its next
// bytecode step in work (after at least one step) or at its next voluntary
// drop, where, as drop_gil does under FORCE_SWITCHING, it waits until
// another thread has taken the GIL. A requester that meets the policy
// while waiting and does not reset its request (before gh-96387) leaves
// the holder waiting for ever.
package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sasha-s/go-deadlock"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Config is one run's settings beyond the scenario.
type Config struct {
	Policy   string             // overrides the scenario's policy line; "" keeps it
	Schedule *scenario.Schedule // overrides the scenario's schedule line; nil keeps it (default random 0)
	MaxSteps int                // scheduling points; default 100000
	Watchdog time.Duration      // wall clock; default 2s
	Trace    bool               // record the event trace in Result.Events
	// Strategy, when set, replaces the one built from Schedule (the fuzz
	// decoder's byte stream, say). StrategyName describes it.
	Strategy     chaos.Strategy
	StrategyName string
	// Instrumented takes the GIL through go-deadlock's Mutex.
	Instrumented bool
	// Wild, when set, runs the threads on Go's real scheduler with timing
	// injected at every scheduling point (chaos.Wild) instead of the
	// controlled scheduler; the GIL, C-level locks and the stdout lock are
	// then go-deadlock Mutexes. Schedule and Strategy are ignored; the
	// result records the interleaving taken, which replays under the
	// controlled scheduler.
	Wild *chaos.WildOptions
	// NoStrike makes must-exit checks do nothing: threads go on running
	// during finalization, as before bpo-1856 (Python 3.2). It is the
	// counterfactual the fuzz contracts use to tell failures the policy
	// caused from a scenario's own bugs; it is not a policy.
	NoStrike bool
	// Runner, when set, lends the run the coroutines of its threads
	// (runner.go); without one, a controlled run starts its own and ends
	// them.
	Runner *Runner
	// Engine selects the implementation of a controlled run (vm_run.go).
	Engine Engine
}

// scheduler is what the model needs of a scheduler: chaos.Controller
// (controlled mode) or chaos.Wild (wild mode).
type scheduler interface {
	Spawn(id int, fn func())
	Yield(me int)
	Block(me int, w chaos.Wait)
	Halt(v any)
	Steps() int
}

// Interp is one interpreter run. It is used by one Run and then discarded.
type Interp struct {
	sc      *scenario.Scenario
	cfg     Config
	preset  Preset
	policy  string
	ctl     scheduler
	wild    *chaos.Wild       // non-nil in wild mode; ctl is then the same scheduler
	cc      *chaos.Controller // non-nil in controlled mode; ctl is then the same
	gil     *gil
	threads []*thread
	heap    heap
	locks   map[string]*cLock
	events  map[string]bool
	stdout  stdoutLock
	// stdoutReal is the stdout lock as a go-deadlock Mutex in wild mode,
	// taken and released with the model's, so that go-deadlock sees its
	// order against the GIL and the C-level locks.
	stdoutReal *deadlock.Mutex
	output     []byte
	phase      string
	exitCode   int

	hasEnsure       bool       // the scenario has an ensure statement (gilstateFini)
	finalizeStarted bool       // Py_FinalizeEx began (step 2): interp->finalizing in 3.12
	finalizing      bool       // the finalizing flag (step 4)
	tstatesFreed    bool       // step 7: the interpreter's thread states are gone
	buffered        int        // bytes in the stdout buffer not yet written
	v2              v2State    // state of atthreadexit (tls.go) and after_finalize (afterfinalize.go)
	guards          guardState // PEP 788's interpreter guards (guards.go)

	result *Result
	trace  []Event
	// internal is the model's own broken invariant, if one ended the run
	// (internal.go).
	internal *InternalError
	// liveness caches what each thread may still set (liveness.go).
	liveness struct {
		anywhere map[int]map[string]bool
		future   map[*scenario.Stmt]map[string]bool
	}
}

type thread struct {
	id      int
	name    string
	decl    *scenario.ThreadDecl
	kind    scenario.ThreadKind
	spawned bool
	began   bool // took the GIL and began its body (Thread.start() returns)
	ended   bool
	exiting bool // thread_is_exiting: ended normally, by a raise, or at bootstrap
	endHow  string
	hung    bool
	inCall  bool // in a blocking call (io, wait, lock, join)
	marked  bool // 3.14: had a thread state when the flag was set

	stdoutFatal bool // its wait for the stdout lock began after the flag
	raising     int  // native frames left normally by an exception, items running

	hasGIL      bool
	waitingGIL  bool // blocked in take_gil's wait for the GIL
	sinceTake   int  // bytecode steps since the GIL was taken
	tstate      bool // has a thread state
	tstateFreed bool // its thread state was freed in step 7
	ensures     []bool
	frames      []*frame
	locals      []*object
	inCleanup   int
	unwinding   bool
	cur         *scenario.Stmt // statement being executed
	pos         []posEntry     // statement path with loop counters (state.go)
	posHad      bool           // noteRetake with an empty pos (state.go)
}

type frame struct {
	stmt  *scenario.Stmt
	items []frameItem
}

// frameItem is a hold (a smart pointer to hold) or a cleanup block.
type frameItem struct {
	hold *object
	stmt *scenario.Stmt
}

type cLock struct {
	name   string
	holder int
	real   *deadlock.Mutex // wild mode: the real lock
	// waiters counts threads in a real wait for it: when the holder
	// unlocks, the real lock passes to one of them before the model
	// records the new holder.
	waiters int
}

type stdoutLock struct{ holder int }

// Sentinels carried by panics through a thread's Go stack.
type (
	threadEnded struct{}
	mainExited  struct{}
)

// ErrUsage marks configuration errors (unknown policy or preset).
var ErrUsage = errors.New("usage")

// Run runs s once under cfg and returns its result. It returns an error
// (wrapping ErrUsage) only for an unknown policy or preset.
func Run(s *scenario.Scenario, cfg Config) (*Result, error) {
	if stepEngine(cfg) {
		r, fallback, err := runStep(s, cfg)
		if fallback == nil {
			return r, err
		}
		cfg = *fallback
	}
	in, err := newInterp(s, cfg, nil)
	if err != nil {
		return nil, err
	}
	return in.run()
}

// ResolvePolicy returns the policy a run of s uses: the override, else the
// scenario's policy line, else the preset's default.
func ResolvePolicy(s *scenario.Scenario, override string) (string, Preset, error) {
	p, err := LookupPreset(s.Presets)
	if err != nil {
		return "", p, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	policy := override
	if policy == "" {
		policy = s.Policy
	}
	if policy == "" {
		policy = p.DefaultPolicy
	}
	if !scenario.IsPolicy(policy) {
		return "", p, fmt.Errorf("%w: unknown policy %q (want abort, exit, hang, unwind or terminate)", ErrUsage, policy)
	}
	return policy, p, nil
}

// StrategyFor builds the strategy of a schedule line; nil means random 0.
// steps is the PCT estimate of the run's length.
func StrategyFor(sch *scenario.Schedule, steps int) (chaos.Strategy, string) {
	if sch == nil {
		return chaos.Random(0), "schedule random 0"
	}
	switch sch.Kind {
	case scenario.SchedulePCT:
		return chaos.PCT(sch.Depth, sch.Seed, steps), fmt.Sprintf("schedule pct %d %d", sch.Depth, sch.Seed)
	case scenario.ScheduleReplay:
		return chaos.Replay(sch.Choices), sch.String()
	case scenario.ScheduleStream:
		b := make([]byte, len(sch.Choices))
		for i, c := range sch.Choices {
			b[i] = byte(c)
		}
		return chaos.Stream(b), sch.String()
	default:
		return chaos.Random(sch.Seed), fmt.Sprintf("schedule random %d", sch.Seed)
	}
}

// EstimateSteps guesses the number of scheduling points of a run, for PCT's
// change points: statements weighted by loop counts, forever as 8 turns.
func EstimateSteps(s *scenario.Scenario) int {
	var count func(body []*scenario.Stmt) int
	count = func(body []*scenario.Stmt) int {
		n := 0
		for _, st := range body {
			switch st.Op {
			case scenario.OpWork:
				n += 1 + st.N
			case scenario.OpLoop:
				n += 1 + st.N*count(st.Body)
			case scenario.OpForever:
				n += 1 + 8*count(st.Body)
			default:
				n += 2 + count(st.Body)
			}
		}
		return n
	}
	total := 8
	for _, b := range s.Bodies() {
		total += count(b)
	}
	return total
}

func newInterp(s *scenario.Scenario, cfg Config, prep *prepared) (*Interp, error) {
	if prep == nil {
		p, err := prepare(s, cfg.Policy)
		if err != nil {
			return nil, err
		}
		prep = &p
	}
	policy, preset := prep.policy, prep.preset
	strat, desc := cfg.Strategy, cfg.StrategyName
	if strat == nil {
		sch := cfg.Schedule
		if sch == nil {
			sch = s.Schedule
		}
		strat, desc = StrategyFor(sch, EstimateSteps(s))
	}
	in := &Interp{
		sc:     s,
		cfg:    cfg,
		preset: preset,
		policy: policy,
		gil:    newGIL(cfg.Instrumented || cfg.Wild != nil),
		locks:  map[string]*cLock{},
		events: map[string]bool{},
		stdout: stdoutLock{holder: -1},
		phase:  "body",
		heap:   heap{bound: map[string]*object{}},
	}
	in.result = &Result{Scenario: s.Name, Policy: policy, Preset: preset.Name, Strategy: desc, Mode: "controlled"}
	if cfg.Wild != nil {
		opts := *cfg.Wild
		if opts.MaxSteps == 0 {
			opts.MaxSteps = cfg.MaxSteps
		}
		if opts.Name == nil {
			opts.Name = in.threadName
		}
		in.wild = chaos.NewWild(opts)
		in.ctl = in.wild
		in.stdoutReal = new(deadlock.Mutex)
		in.wild.AddLock(in.gil.mu)
		in.wild.AddLock(in.stdoutReal)
		in.result.Mode = "wild"
		in.result.Strategy = fmt.Sprintf("wild %d", opts.Seed)
	} else {
		in.cc = chaos.NewController(strat, chaos.Options{MaxSteps: cfg.MaxSteps, Watchdog: cfg.Watchdog, Name: in.threadName, Pool: cfg.Runner.pool()})
		in.ctl = in.cc
	}
	in.hasEnsure = prep.hasEnsure
	for i, d := range s.Threads {
		in.threads = append(in.threads, &thread{id: i, name: d.Name, decl: d, kind: d.Kind})
		in.result.Threads = append(in.result.Threads, d.Name)
	}
	return in, nil
}

func (in *Interp) run() (*Result, error) {
	main := in.threads[0]
	main.spawned = true
	in.ctl.Spawn(0, func() { in.runThread(main) })
	var end chaos.End
	if in.wild != nil {
		end, in.result.Detector = in.wild.Run(0)
		defer func() { in.result.Detected = in.translateDetector(in.result.Detector) }()
		for _, id := range end.Leaked {
			in.result.Leaked = append(in.result.Leaked, fmt.Sprintf("the goroutine of thread %s did not exit after the run", in.threads[id].name))
		}
	} else {
		end = in.cc.Run(0)
	}
	r := in.result
	r.Schedule, r.Diverged, r.Preemptions = end.Schedule, end.Diverged, end.Preemptions
	r.Steps = len(r.Schedule)
	switch end.Kind {
	case chaos.EndDeadlock:
		r.Outcome = Deadlock
		r.Cycle = end.Cycle
		kind := deadlockKind(end.ChainEnd)
		r.Report = Report{Kind: kind, Phase: in.phase, Message: deadlockMessage(end.OthersRunnable, end.Cycle)}
		if len(end.Blocked) > 0 {
			t := in.threads[end.Blocked[0]]
			r.Report.Thread = t.name
			r.Report.Stmt, r.Report.Op = stmtRef(t.cur), stmtOp(t.cur)
		}
	case chaos.EndBudget:
		if in.guardChurn(r) {
			break
		}
		r.Outcome = Budget
		r.Report = Report{Kind: KindBudget, Phase: in.phase, Message: budgetMessage(r.Steps)}
	case chaos.EndWatchdog:
		r.Outcome = Budget
		r.Report = Report{Kind: KindWatchdog, Phase: in.phase, Message: "the wall-clock watchdog fired before the process exited"}
	case chaos.EndAllDone:
		in.internal = &InternalError{Scenario: in.sc.Name, Policy: in.policy, Thread: "main", Phase: in.phase,
			Value: "every thread ended without a process exit", Where: "runtime/interp.go"}
	}
	if in.internal != nil {
		in.internal.Presets, in.internal.Schedule = strings.Join(in.sc.Presets, " "), end.Schedule
		return nil, in.internal
	}
	r.ExitCode = in.exitCode
	r.Stdout = string(in.output)
	for _, t := range in.threads {
		if t.hung {
			r.Hung = append(r.Hung, t.name)
		}
	}
	if in.cfg.Trace {
		r.Events = in.trace
	}
	r.Report.Defect = r.Defect()
	return r, nil
}

// halt ends the run with a terminal event caused by t. It does not return.
func (in *Interp) halt(t *thread, o Outcome, kind, msg string) {
	in.haltAt(t, t.cur, o, kind, msg)
}

func (in *Interp) haltAt(t *thread, st *scenario.Stmt, o Outcome, kind, msg string) {
	in.result.Outcome = o
	in.result.Report = Report{Kind: kind, Thread: t.name, Stmt: stmtRef(st), Op: stmtOp(st), Phase: in.phase, Message: msg, DuringUnwind: t.unwinding}
	in.event(t, EvEnd, haltEventWords(o, msg))
	in.ctl.Halt(nil)
}

func stmtRef(st *scenario.Stmt) string {
	if st == nil {
		return ""
	}
	return fmt.Sprintf("%s@%d:%d", st.Op, st.Pos.Line, st.Pos.Col)
}

// stmtOp names a statement without its position: "hold X", "lock L".
func stmtOp(st *scenario.Stmt) string {
	if st == nil {
		return ""
	}
	if st.Name != "" {
		return st.Op.String() + " " + st.Name
	}
	return st.Op.String()
}

// ending reports whether the controlled run has ended: the panic that
// unwinds a thread then is the controller's (chaos.IsRunEnd), and a
// deferred function lets it pass without recovering it, as it lets Goexit
// pass in wild mode (a recover would cost a walk of the stack).
func (in *Interp) ending() bool { return in.cc != nil && in.cc.Ended() }

// point is a scheduling point for t.
func (in *Interp) point(t *thread) { in.ctl.Yield(t.id) }

func (t *thread) state() string {
	switch {
	case t.hung:
		return "hung"
	case t.ended:
		return t.endHow
	}
	return "running"
}

// v2State is the interpreter state of atthreadexit and after_finalize.
type v2State struct {
	tls           map[int]*tlsList // registered atthreadexit blocks, by thread id
	afterFinalize bool             // main runs after_finalize blocks
}
