// Package runtime is a miniature CPython runtime for shutdown races.
//
// One interpreter runs the threads of a scenario: main, Python threads
// (thread, daemon) and foreign OS threads. Each is a goroutine; a chaos
// controller lets exactly one run at a time and picks who runs at each
// scheduling point (every statement, every bytecode step of work, every
// place a statement drops or retakes the GIL). The GIL is a real mutex with
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
	"go.uber.org/goleak"

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
	wild    *chaos.Wild // non-nil in wild mode; ctl is then the same scheduler
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

	finalizing   bool
	tstatesFreed bool

	result *Result
	trace  []Event
}

type thread struct {
	id      int
	name    string
	decl    *scenario.ThreadDecl
	kind    scenario.ThreadKind
	spawned bool
	ended   bool
	endHow  string
	hung    bool

	hasGIL      bool
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
	in, err := newInterp(s, cfg)
	if err != nil {
		return nil, err
	}
	return in.run(), nil
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
		return chaos.Replay(sch.Choices), "schedule replay " + chaos.FormatChoices(sch.Choices)
	case scenario.ScheduleStream:
		b := make([]byte, len(sch.Choices))
		for i, c := range sch.Choices {
			b[i] = byte(c)
		}
		return chaos.Stream(b), "schedule stream " + chaos.FormatChoices(sch.Choices)
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

func newInterp(s *scenario.Scenario, cfg Config) (*Interp, error) {
	policy, preset, err := ResolvePolicy(s, cfg.Policy)
	if err != nil {
		return nil, err
	}
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
		in.wild = chaos.NewWild(opts)
		in.ctl = in.wild
		in.stdoutReal = new(deadlock.Mutex)
		in.wild.AddLock(in.gil.mu)
		in.wild.AddLock(in.stdoutReal)
		in.result.Mode = "wild"
		in.result.Strategy = fmt.Sprintf("wild %d", opts.Seed)
	} else {
		in.ctl = chaos.NewController(strat, chaos.Options{MaxSteps: cfg.MaxSteps, Watchdog: cfg.Watchdog})
	}
	for i, d := range s.Threads {
		in.threads = append(in.threads, &thread{id: i, name: d.Name, decl: d, kind: d.Kind})
		in.result.Threads = append(in.result.Threads, d.Name)
	}
	return in, nil
}

func (in *Interp) run() *Result {
	main := in.threads[0]
	main.spawned = true
	in.ctl.Spawn(0, func() { in.runThread(main) })
	var end chaos.End
	if in.wild != nil {
		before := goleak.IgnoreCurrent()
		end, in.result.Detector = in.wild.Run(0)
		in.result.Leaked = leakedGoroutines(before)
	} else {
		end = in.ctl.(*chaos.Controller).Run(0)
	}
	r := in.result
	r.Schedule, r.Diverged, r.Preemptions = end.Schedule, end.Diverged, end.Preemptions
	r.Steps = len(r.Schedule)
	switch end.Kind {
	case chaos.EndDeadlock:
		r.Outcome = Deadlock
		r.Cycle = end.Cycle
		kind := KindDeadlock
		switch end.ChainEnd {
		case chaos.ChainForever:
			kind = KindDeadlockOnHung
		case chaos.ChainEnded:
			kind = KindDeadlockOnEnded
		}
		msg := "no thread can run and the process has not exited: "
		if end.OthersRunnable {
			msg = "main can never run again (other threads spin on) and the process has not exited: "
		}
		r.Report = Report{Kind: kind, Phase: in.phase, Message: msg + chaos.FormatCycle(end.Cycle)}
		if len(end.Blocked) > 0 {
			t := in.threads[end.Blocked[0]]
			r.Report.Thread = t.name
			r.Report.Stmt, r.Report.Op = stmtRef(t.cur), stmtOp(t.cur)
		}
	case chaos.EndBudget:
		r.Outcome = Budget
		r.Report = Report{Kind: KindBudget, Phase: in.phase, Message: fmt.Sprintf("the step budget (%d scheduling points) ran out before the process exited", r.Steps)}
	case chaos.EndWatchdog:
		r.Outcome = Budget
		r.Report = Report{Kind: KindWatchdog, Phase: in.phase, Message: "the wall-clock watchdog fired before the process exited"}
	case chaos.EndAllDone:
		panic("runtime: every thread ended without a process exit")
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
	return r
}

// leakedGoroutines asks goleak for goroutines of this module that
// appeared since before was taken and are still alive: a wild run must
// leave none (hung threads included). Other goroutines (a progress bar, a
// test's helpers) may come and go meanwhile and are not counted.
func leakedGoroutines(before goleak.Option) []string {
	err := goleak.Find(before)
	if err == nil {
		return nil
	}
	var out []string
	for _, block := range strings.Split(err.Error(), "\n\n") {
		if strings.Contains(block, "github.com/shutdownfuzz/shutdownfuzz/") {
			out = append(out, strings.TrimSpace(block))
		}
	}
	return out
}

// halt ends the run with a terminal event caused by t. It does not return.
func (in *Interp) halt(t *thread, o Outcome, kind, msg string) {
	in.haltAt(t, t.cur, o, kind, msg)
}

func (in *Interp) haltAt(t *thread, st *scenario.Stmt, o Outcome, kind, msg string) {
	in.result.Outcome = o
	in.result.Report = Report{Kind: kind, Thread: t.name, Stmt: stmtRef(st), Op: stmtOp(st), Phase: in.phase, Message: msg, DuringUnwind: t.unwinding}
	in.event(t, EvEnd, string(o)+": "+msg)
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

// point is a scheduling point for t.
func (in *Interp) point(t *thread) { in.ctl.Yield(t.id) }

func (in *Interp) runThread(t *thread) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(threadEnded); ok {
				return
			}
			panic(r)
		}
	}()
	switch t.kind {
	case scenario.Main:
		t.tstate = true
		if !in.gil.mu.TryLock() {
			panic("runtime: the GIL is held before main starts")
		}
		in.gil.holder, in.gil.lastHolder, t.hasGIL = 0, 0, true
		in.runMain(t)
		return
	case scenario.Thread, scenario.Daemon:
		t.tstate = true
		in.event(t, EvStart, "")
		in.takeGIL(t, "thread start")
	case scenario.Foreign:
		in.event(t, EvStart, "")
	}
	in.exec(t, t.decl.Body)
	if t.kind != scenario.Foreign && !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, t.name+" ended without the GIL")
	}
	if t.hasGIL && t.kind != scenario.Foreign {
		in.dropGIL(t)
	}
	in.endThread(t, "returned")
}

// endThread ends t: its stack is freed and its thread state with it. It
// does not return.
func (in *Interp) endThread(t *thread, how string) {
	t.ended, t.endHow = true, how
	t.tstate = false
	for _, o := range t.locals {
		if !o.freed {
			o.freed, o.freedBy = true, "freed with the stack of "+t.name+" ("+how+")"
		}
	}
	in.event(t, EvEnd, how)
	panic(threadEnded{})
}

func (in *Interp) runMain(t *thread) {
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(mainExited); !ok {
					panic(r)
				}
			}
		}()
		in.exec(t, t.decl.Body)
	}()
	t.cur = nil
	if !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, "main finished its body without the GIL")
	}
	in.finalize(t)
}

func (in *Interp) setPhase(t *thread, p string) {
	in.phase = p
	in.event(t, EvPhase, p)
	in.point(t)
}

// finalize is Py_FinalizeEx, run by main holding the GIL.
func (in *Interp) finalize(t *thread) {
	in.setPhase(t, "wait-threads") // step 2
	for {
		alive := in.aliveNonDaemon()
		if alive == nil {
			break
		}
		in.releaseGIL(t)
		in.ctl.Block(t.id, chaos.WaitFunc{
			ReadyFunc:   func() bool { return in.aliveNonDaemon() == nil },
			BlockerFunc: func() int { return in.aliveNonDaemon().id },
			Desc:        "non-daemon thread " + alive.name + " to end (threading._shutdown)",
		})
		in.takeGIL(t, "threading._shutdown")
	}
	in.setPhase(t, "atexit") // step 3
	for i := len(in.sc.Atexit) - 1; i >= 0; i-- {
		in.exec(t, in.sc.Atexit[i].Body)
		in.needGILAfter(t, "an atexit handler")
	}
	in.setPhase(t, "finalizing") // step 4
	in.finalizing = true
	in.setPhase(t, "flush") // step 5
	in.takeStdout(t)
	in.releaseGIL(t)
	in.point(t)
	in.takeGIL(t, "flush")
	in.setStdout(-1)
	in.setPhase(t, "teardown") // step 6
	for _, b := range in.sc.Teardown {
		in.exec(t, b.Body)
		in.needGILAfter(t, "a teardown block")
	}
	in.setPhase(t, "collect")
	for _, o := range in.heap.globals {
		in.decrefObject(t, o, "the globals' DECREF in finalization")
	}
	in.setPhase(t, "free-tstates") // step 7
	in.tstatesFreed = true
	for _, o := range in.threads[1:] {
		if o.tstate {
			o.tstate, o.tstateFreed = false, true
		}
	}
	in.setPhase(t, "exited") // step 8
	in.result.Outcome = Clean
	in.result.Report = Report{Kind: KindExit, Phase: in.phase, Message: fmt.Sprintf("the process exited with code %d after finalization", in.exitCode)}
	in.ctl.Halt(nil)
}

// needGILAfter reports a block that returned into finalization without
// the GIL it was called with.
func (in *Interp) needGILAfter(t *thread, what string) {
	if !t.hasGIL {
		t.cur = nil
		in.halt(t, Corruption, KindNoGIL, what+" returned into finalization without the GIL")
	}
}

func (in *Interp) aliveNonDaemon() *thread {
	for _, o := range in.threads {
		if o.kind == scenario.Thread && o.spawned && !o.ended {
			return o
		}
	}
	return nil
}

// takeStdout takes the stdout lock; waiting for it releases the GIL, as
// buffered I/O does. During finalization, a lock held by a thread that can
// never release it is a fatal error (bpo-23309).
func (in *Interp) takeStdout(t *thread) {
	if in.stdout.holder < 0 {
		in.setStdout(t.id)
		return
	}
	dead := func() bool {
		h := in.threads[in.stdout.holder]
		return h.hung || h.ended
	}
	had := t.hasGIL
	t.noteRetake(had)
	if had {
		in.releaseGIL(t)
	}
	for in.stdout.holder >= 0 {
		fatal := in.finalizing && in.preset.StdoutFatal && t.id == 0
		in.ctl.Block(t.id, chaos.WaitFunc{
			ReadyFunc:   func() bool { return in.stdout.holder < 0 || (fatal && dead()) },
			BlockerFunc: func() int { return in.stdout.holder },
			Desc:        "the stdout lock",
		})
		if in.stdout.holder >= 0 {
			h := in.threads[in.stdout.holder]
			in.halt(t, Abort, KindFatalStdout, fmt.Sprintf("Fatal Python error: _enter_buffered_busy: could not acquire lock for <stdout> at interpreter shutdown, possibly due to daemon threads (held by %s, %s)", h.name, h.state()))
		}
	}
	in.setStdout(t.id)
	if had {
		in.takeGIL(t, "stdout lock")
	}
}

// setStdout makes id the stdout lock's holder (-1: free), taking or
// releasing the real lock in wild mode.
func (in *Interp) setStdout(id int) {
	if in.stdoutReal != nil {
		if id >= 0 {
			if !in.stdoutReal.TryLock() {
				panic("runtime: the stdout lock is free in the model but held for real")
			}
		} else {
			in.stdoutReal.Unlock()
		}
	}
	in.stdout.holder = id
}

func (t *thread) state() string {
	switch {
	case t.hung:
		return "hung"
	case t.ended:
		return t.endHow
	}
	return "running"
}
