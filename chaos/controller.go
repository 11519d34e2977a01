// Package chaos controls the schedule of a set of cooperating goroutines. It
// knows nothing of interpreters: it sees numbered threads that reach
// scheduling points, block on conditions they describe, and end.
//
// In controlled mode (Controller) exactly one thread goroutine runs at a time.
// At each scheduling point the Strategy picks the next thread among those
// that can run; the choice is appended to the recorded schedule, the chosen
// goroutine is woken through its own channel and the caller parks. Blocking
// is declared, never real: a thread that cannot proceed calls Block with a
// Wait that says when it could, so "no thread can run" is an exact deadlock,
// reported with its wait-for chain. Every run has a step budget and a
// wall-clock watchdog, and when it ends every parked goroutine is released
// and exits, so no goroutine outlives the run.
package chaos

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"time"
)

// A Wait describes why a thread cannot run. Ready is evaluated only by the
// running goroutine, so it may read the caller's state without locks.
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
	wake    chan bool // true: run; false: the run is over, exit
	started bool
	done    bool
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
	ended       chan struct{}
	wg          sync.WaitGroup
}

// NewController returns a controller that will schedule with s.
func NewController(s Strategy, opts Options) *Controller {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100000
	}
	if opts.Watchdog <= 0 {
		opts.Watchdog = 2 * time.Second
	}
	return &Controller{strat: s, opts: opts, ended: make(chan struct{}), schedule: make([]int, 0, 256)}
}

// Spawn registers thread id, runnable, to run fn when first chosen. It may
// be called before Run or by the running thread. Ids should be small.
func (c *Controller) Spawn(id int, fn func()) {
	for len(c.threads) <= id {
		c.threads = append(c.threads, nil)
	}
	t := &thread{id: id, wake: make(chan bool, 1)}
	c.threads[id] = t
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		growStack()
		if !<-t.wake {
			return
		}
		t.started = true
		fn()
		c.exit(t)
	}()
}

// Run starts the thread with id first (which must have been spawned), waits
// until the run ends, releases every goroutine and returns how it ended.
func (c *Controller) Run(first int) End {
	c.deadline = time.Now().Add(c.opts.Watchdog)
	c.threads[first].wake <- true
	<-c.ended
	for _, t := range c.threads {
		if t != nil && !t.done {
			select {
			case t.wake <- false:
			default:
			}
		}
	}
	c.wg.Wait()
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
// and it does not return: the calling goroutine exits.
func (c *Controller) Halt(v any) {
	c.finish(End{Kind: EndHalted, Value: v})
	goruntime.Goexit()
}

func (c *Controller) finish(e End) {
	c.end = e
	close(c.ended)
}

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
		goruntime.Goexit()
	}
	if next == me {
		return
	}
	next.wake <- true
	if !<-me.wake {
		goruntime.Goexit()
	}
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
		next.wake <- true
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

// How a wait-for chain ends (End.ChainEnd).
const (
	ChainNever    = "never"    // a wait that says it can never become ready (Hopeless)
	ChainCycle    = "cycle"    // the edges come back to a thread
	ChainForever  = "forever"  // a wait that is never ready (a hung thread)
	ChainEnded    = "ended"    // a thread that has ended, holding what is waited for
	ChainOpen     = "open"     // a wait with no known blocker
	ChainRunnable = "runnable" // a thread that can run: the start is not stuck
)

// chain follows the wait-for edges from thread id until they repeat, end
// at a thread that is not blocked, or end at a wait nobody can satisfy. It
// returns one line per thread and how the chain ends.
func (c *Controller) chain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		if seen[id] {
			lines[len(lines)-1] += " (cycle)"
			return lines, ChainCycle
		}
		seen[id] = true
		t := c.threads[id]
		if t == nil {
			return lines, ChainOpen
		}
		name := c.name(id)
		if t.done {
			lines = append(lines, name+" has ended")
			return lines, ChainEnded
		}
		if t.wait == nil || t.wait.Ready() {
			lines = append(lines, name+" can run")
			return lines, ChainRunnable
		}
		next := t.wait.Blocker()
		line := fmt.Sprintf("%s waits for %s", name, t.wait)
		if next >= 0 {
			line += " (held by " + c.name(next) + ")"
		}
		lines = append(lines, line)
		if _, ok := t.wait.(Forever); ok {
			return lines, ChainForever
		}
		if next < 0 {
			return lines, ChainOpen
		}
		id = next
	}
}

// name names thread id in wait-for chains.
func (c *Controller) name(id int) string {
	if c.opts.Name != nil {
		return c.opts.Name(id)
	}
	return fmt.Sprintf("thread %d", id)
}

// blockedForGood reports whether thread id is blocked and can never run
// again: its wait-for chain, through BlockerOnly waits, ends at a Hopeless
// or Forever wait, an ended thread, or a cycle. It allocates nothing; it
// runs at every scheduling point where thread 0 is blocked.
func (c *Controller) blockedForGood(id int) bool {
	for hops := 0; hops <= len(c.threads); hops++ {
		t := c.threads[id]
		if t == nil {
			return false
		}
		if t.done {
			return hops > 0
		}
		if t.wait == nil || t.wait.Ready() {
			return false
		}
		if _, ok := t.wait.(Forever); ok {
			return true
		}
		if h, ok := t.wait.(Hopeless); ok {
			if _, _, never := h.Never(); never {
				return true
			}
		}
		o, ok := t.wait.(BlockerOnly)
		if !ok || !o.BlockerOnly() {
			return false
		}
		if id = t.wait.Blocker(); id < 0 {
			return false
		}
	}
	return true // more hops than threads: a cycle
}

// neverChain describes the chain blockedForGood found: one line per
// thread, naming what each waits for and why it can never come.
func (c *Controller) neverChain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		t := c.threads[id]
		name := c.name(id)
		switch {
		case seen[id]:
			lines[len(lines)-1] += " (cycle)"
			return lines, ChainCycle
		case t.done:
			return append(lines, name+" has ended"), ChainEnded
		}
		seen[id] = true
		line := fmt.Sprintf("%s waits for %s", name, t.wait)
		if _, ok := t.wait.(Forever); ok {
			return append(lines, line), ChainForever
		}
		if h, ok := t.wait.(Hopeless); ok {
			if why, how, never := h.Never(); never {
				return append(lines, line+", which can never come: "+why), how
			}
		}
		id = t.wait.Blocker()
		lines = append(lines, line+" (held by "+c.name(id)+")")
	}
}

// WaitFunc adapts functions to a Wait.
type WaitFunc struct {
	ReadyFunc   func() bool
	BlockerFunc func() int
	Desc        string
	// OnlyBlocker: only an action of the blocker can make the wait ready
	// (see BlockerOnly).
	OnlyBlocker bool
}

func (w WaitFunc) BlockerOnly() bool { return w.OnlyBlocker && w.BlockerFunc != nil }

func (w WaitFunc) Ready() bool { return w.ReadyFunc() }
func (w WaitFunc) Blocker() int {
	if w.BlockerFunc == nil {
		return -1
	}
	return w.BlockerFunc()
}
func (w WaitFunc) String() string { return w.Desc }

// Forever is the Wait of a thread that will never run again.
type Forever string

func (Forever) Ready() bool      { return false }
func (Forever) Blocker() int     { return -1 }
func (f Forever) String() string { return string(f) }

// FormatCycle joins a deadlock chain for a one-line report.
func FormatCycle(lines []string) string { return strings.Join(lines, "; ") }

// growStack grows a new thread goroutine's stack once, while it is still
// shallow and cheap to copy, instead of several times in the middle of a
// run, where each copy walks every frame.
//
//go:noinline
func growStack() byte {
	var buf [16 << 10]byte
	return stackSink(buf[:])
}

//go:noinline
func stackSink(b []byte) byte { return b[len(b)-1] }
