// Package chaos controls the schedule of a set of cooperating threads. It
// knows nothing of interpreters: it sees numbered threads that reach
// scheduling points, block on conditions they describe, and end.
//
// In controlled mode (Controller) exactly one thread runs at a time. Each
// thread runs on a coroutine (coro.go), and Run is a driver loop that
// resumes one thread after another. At each scheduling point the running
// thread asks the Strategy, on its own stack, for the next thread among
// those that can run; the choice is appended to the recorded schedule,
// and the thread suspends itself so that the driver resumes the chosen
// one. Blocking is declared, never real: a thread that cannot proceed
// calls Block with a Wait that says when it could, so "no thread can run"
// is an exact deadlock, reported with its wait-for chain. Every run has a
// step budget and a wall-clock watchdog, and when it ends every parked
// thread is resumed once to unwind its stack (a runEnd panic, see
// IsRunEnd), so no thread outlives the run; the coroutines go back to the
// Pool (Options.Pool) or end with the run.
package chaos

import (
	"time"
)

// A Wait describes why a thread cannot run. Ready is evaluated only by the
// running thread, so it may read the caller's state without locks.
type Wait interface {
	// Ready reports whether the thread could make progress now.
	Ready() bool
	// Blocker is the thread whose action would unblock this one, or -1.
	Blocker() int
	// String describes the wait ("lock L", "join t1", "hung").
	String() string
}

// A wait may also say that it can never become ready, so that a thread 0
// blocked for good ends the run as a deadlock at once, even while other
// threads spin (the spec's v2 rule "Deadlock includes livelock"). The
// controller follows the wait-for chain from thread 0 through waits that
// implement BlockerOnly and stops at one that is Hopeless, Forever, held by
// an ended thread, or part of a cycle. Anything else may still become
// ready: the run goes on.

// BlockerOnly is a Wait that only an action of its Blocker can make
// ready (a lock only its holder releases, a join only its target ends).
type BlockerOnly interface {
	BlockerOnly() bool
}

// Hopeless is a Wait that can tell by itself that it will never be ready,
// whatever any thread does from now on (an event no live thread can still
// set). Never returns why, and how the chain ends (ChainForever when the
// thread that would have made it ready will never run again, ChainEnded
// when it has ended, ChainNever otherwise), or ok false.
type Hopeless interface {
	Never() (why, how string, ok bool)
}

// EndKind says how a controlled run ended.
type EndKind uint8

const (
	EndHalted   EndKind = iota // a thread called Halt
	EndAllDone                 // every thread returned
	EndDeadlock                // no thread could run, or thread 0 never could again
	EndBudget                  // the step budget ran out (and thread 0 was not blocked for good)
	EndWatchdog                // the wall-clock watchdog fired
)

func (k EndKind) String() string {
	return [...]string{"halted", "all-done", "deadlock", "budget", "watchdog"}[k]
}

// Options bound a run.
type Options struct {
	MaxSteps int           // scheduling points before EndBudget; default 100000
	Watchdog time.Duration // wall-clock limit; default 2s
	// Name names thread id in wait-for chains; default "thread ID".
	Name func(id int) string
	// Pool, when set, provides the coroutines that run the threads and
	// keeps them after the run; the caller closes it. Without one, each
	// run starts its own and ends them.
	Pool *Pool
}

// End is the result of a controlled run.
type End struct {
	Kind     EndKind
	Value    any   // the value passed to Halt
	Steps    int   // scheduling points taken
	Schedule []int // the thread chosen at each scheduling point
	// Preemptions counts the context switches the strategy chose: points
	// where it picked another thread while the current one could run on.
	// Switches forced by blocking are not preemptions.
	Preemptions int
	Cycle       []string // for EndDeadlock: the wait-for chain, one line per thread
	ChainEnd    string   // for EndDeadlock: how the chain ends (ChainCycle, ...)
	// OthersRunnable: an EndDeadlock found when the budget ran out: thread
	// 0 can never run again, while other threads could still run.
	OthersRunnable bool
	Blocked        []int // for EndDeadlock: the blocked threads
	// Leaked (wild mode) lists the threads whose goroutines had not
	// exited within WildOptions.ExitTimeout after the run ended.
	Leaked   []int
	Diverged int // step at which a replay diverged, or -1
}

type thread struct {
	id      int
	w       *worker // the coroutine that runs it
	started bool
	done    bool // returned
	exited  bool // its body's frames are gone: returned or unwound
	wait    Wait // non-nil while blocked
}

// Controller runs threads one at a time under a Strategy.
type Controller struct {
	strat       Strategy
	opts        Options
	threads     []*thread // by id; nil where no thread has that id
	runnable    []int     // scratch
	schedule    []int
	steps       int
	preemptions int
	deadline    time.Time
	end         End
	pool        *Pool
	ownPool     bool // the run's own pool, closed when it ends
	handTo      int  // the thread the driver resumes next; -1: the run is over
	over        bool // the driver is unwinding: a parked thread resumed unwinds
	ended       bool // finish was called
}

// NewController returns a controller that will schedule with s.
func NewController(s Strategy, opts Options) *Controller {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100000
	}
	if opts.Watchdog <= 0 {
		opts.Watchdog = 2 * time.Second
	}
	c := &Controller{strat: s, opts: opts, schedule: make([]int, 0, 256), pool: opts.Pool}
	if c.pool == nil {
		c.pool, c.ownPool = NewPool(), true
	}
	return c
}

// Spawn registers thread id, runnable, to run fn when first chosen. It may
// be called before Run or by the running thread. Ids should be small.
func (c *Controller) Spawn(id int, fn func()) {
	for len(c.threads) <= id {
		c.threads = append(c.threads, nil)
	}
	t := &thread{id: id, w: c.pool.get()}
	t.w.c, t.w.t, t.w.fn = c, t, fn
	c.threads[id] = t
}

// Run starts the thread with id first (which must have been spawned),
// resumes the chosen thread at each hand-off until the run ends, unwinds
// every parked thread and returns how the run ended.
func (c *Controller) Run(first int) End {
	defer func() {
		if r := recover(); r != nil { // a thread's panic (a broken strategy)
			c.ended = true
			c.release()
			panic(r)
		}
	}()
	c.deadline = time.Now().Add(c.opts.Watchdog)
	for id := first; id >= 0; {
		c.handTo = -1
		c.threads[id].w.next()
		id = c.handTo
	}
	c.release()
	c.end.Steps = c.steps
	c.end.Schedule = c.schedule
	c.end.Preemptions = c.preemptions
	c.end.Diverged = -1
	if d, ok := c.strat.(Diverger); ok {
		if step, ok := d.Diverged(); ok {
			c.end.Diverged = step
		}
	}
	return c.end
}

// release unwinds the threads still parked, in id order, and gives their
// coroutines back to the pool.
func (c *Controller) release() {
	c.over = true
	for _, t := range c.threads {
		if t == nil {
			continue
		}
		if t.started && !t.exited {
			t.w.next()
		}
		c.pool.put(t.w)
	}
	if c.ownPool {
		c.pool.Close()
	}
}

// Steps returns the number of scheduling points taken so far.
func (c *Controller) Steps() int { return c.steps }

// Yield is a scheduling point for the running thread me.
func (c *Controller) Yield(me int) {
	c.switchFrom(c.threads[me])
}

// Block parks the running thread me until w is ready and the strategy picks
// it. It returns with w.Ready() true.
func (c *Controller) Block(me int, w Wait) {
	t := c.threads[me]
	t.wait = w
	c.switchFrom(t)
	t.wait = nil
}

// Halt ends the run with value v. It must be called by the running thread,
// and it does not return: it unwinds the thread with a panic that the
// thread's code must pass on (IsRunEnd).
func (c *Controller) Halt(v any) {
	c.finish(End{Kind: EndHalted, Value: v})
	panic(runEnd{})
}

func (c *Controller) finish(e End) { c.end, c.ended = e, true }

// Ended reports whether the run has ended. From then on, the panic that
// unwinds a thread is the end of the run (IsRunEnd): a deferred function
// that sees Ended may let it pass without recovering it.
func (c *Controller) Ended() bool { return c.ended }

func (c *Controller) canRun(t *thread) bool {
	return t != nil && !t.done && (t.wait == nil || t.wait.Ready())
}

// pick records a scheduling point and returns the next thread, or nil when
// the run has ended (budget, watchdog or deadlock).
func (c *Controller) pick(cur *thread) *thread {
	c.steps++
	if c.steps > c.opts.MaxSteps {
		e := End{Kind: EndBudget}
		// A first thread blocked for good is a deadlock, even while other
		// threads spin: no fair path lets it finish.
		if first := c.threads[0]; first != nil && !first.done && first.wait != nil {
			// A cycle, a hung or an ended thread can never let it go;
			// an open wait (an event) might still be satisfied.
			if lines, how := c.chain(0); how == ChainCycle || how == ChainForever || how == ChainEnded {
				e = End{Kind: EndDeadlock, Cycle: lines, ChainEnd: how, Blocked: []int{0}, OthersRunnable: true}
			}
		}
		c.finish(e)
		return nil
	}
	if c.steps&255 == 0 && time.Now().After(c.deadline) {
		c.finish(End{Kind: EndWatchdog})
		return nil
	}
	c.runnable = c.runnable[:0]
	for _, t := range c.threads {
		if c.canRun(t) {
			c.runnable = append(c.runnable, t.id)
		}
	}
	if len(c.runnable) == 0 {
		c.finishDeadlock()
		return nil
	}
	if c.runnable[0] != 0 && c.blockedForGood(0) {
		lines, how := c.neverChain(0)
		c.finish(End{Kind: EndDeadlock, Cycle: lines, ChainEnd: how, Blocked: []int{0}, OthersRunnable: true})
		return nil
	}
	id := c.strat.Choose(c.runnable, cur.id)
	if id != cur.id && c.canRun(cur) {
		c.preemptions++
	}
	c.schedule = append(c.schedule, id)
	return c.threads[id]
}

func (c *Controller) switchFrom(me *thread) {
	next := c.pick(me)
	if next == nil {
		panic(runEnd{})
	}
	if next == me {
		return
	}
	c.handTo = next.id
	c.park(me)
}

func (c *Controller) exit(t *thread) {
	t.done = true
	alive := false
	for _, o := range c.threads {
		if o != nil && !o.done {
			alive = true
		}
	}
	if !alive {
		c.finish(End{Kind: EndAllDone})
		return
	}
	if next := c.pick(t); next != nil {
		c.handTo = next.id
	}
}

func (c *Controller) finishDeadlock() {
	e := End{Kind: EndDeadlock}
	for _, t := range c.threads {
		if t != nil && !t.done && t.wait != nil {
			e.Blocked = append(e.Blocked, t.id)
		}
	}
	e.Cycle, e.ChainEnd = c.chain(e.Blocked[0])
	c.finish(e)
}
