package chaos

import (
	"bytes"
	"math/rand/v2"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sasha-s/go-deadlock"
)

// Wild mode runs the same threads on Go's real scheduler. Threads run
// concurrently, but model code runs under one model lock: a thread holds it
// from one scheduling point to the next. At each scheduling point the
// thread releases it, is perturbed (nothing, runtime.Gosched, a spin, or a
// jittered sleep, chosen at random) and takes it back; whoever takes it
// first runs next, so Go's scheduler and the injected timing pick the
// interleaving. Blocking on a model condition is a sync.Cond wait; blocking
// on a real lock (a C-level mutex) is a real Lock of a go-deadlock Mutex,
// so go-deadlock's timeout reports a hang and its lock-order tracking
// reports inversions. Every thread that proceeds past a scheduling point is
// appended to the recorded schedule, which replays the same interleaving
// under the controlled scheduler (Replay).
//
// go-deadlock's options are process-wide. Wild sets them once, and routes
// each report to the wild run in progress; wild runs are serialized.
type Wild struct {
	opts     WildOptions
	mu       sync.Mutex // the model lock
	cond     *sync.Cond
	rng      *rand.Rand
	threads  []*wthread
	start    chan struct{}
	schedule []int
	steps    int
	halted   bool
	end      End
	ended    chan struct{}
	wg       sync.WaitGroup
	real     int // threads in a real lock wait
	hang     chan struct{}
	reports  []string // go-deadlock's reports, guarded by wildCurrent
	locks    []interface {
		TryLock() bool
		Unlock()
	}
}

// WildOptions tune a wild run.
type WildOptions struct {
	Seed     uint64        // seeds the perturbation choices (the run itself is not reproducible)
	MaxSteps int           // scheduling points before EndBudget; default 100000
	Watchdog time.Duration // wall-clock limit; default 5s
	MaxSleep time.Duration // longest injected sleep; default 50µs
	// SleepOnly makes every perturbation a jittered sleep: the random-sleep
	// baseline that controlled exploration is measured against.
	SleepOnly bool
	// Procs, if positive, sets GOMAXPROCS for the run.
	Procs int
	// DeadlockTimeout is how long a real lock wait lasts before go-deadlock
	// reports it; default 100ms. It is set once per process (see Wild).
	DeadlockTimeout time.Duration
	// ExitTimeout bounds the wait, once the run is over, for every thread
	// goroutine to exit; those still alive then are reported in
	// End.Leaked. Default 2s.
	ExitTimeout time.Duration
	// Name names thread id in wait-for chains; default "thread ID".
	Name func(id int) string
}

type wthread struct {
	id   int
	done bool
	wait Wait
	// exited is set when the thread's goroutine returns: the run checks
	// its own goroutines, never the whole process (other runs' goroutines
	// are not its leaks).
	exited atomic.Bool
}

var (
	wildSerial  sync.Mutex // one wild run at a time
	wildCurrent struct {
		sync.Mutex
		run *Wild
		log bytes.Buffer
	}
	wildOnce sync.Once
)

// configureDeadlock sets go-deadlock's options once for the process and
// routes its reports to the current wild run.
func configureDeadlock(timeout time.Duration) {
	wildOnce.Do(func() {
		deadlock.Opts.DeadlockTimeout = timeout
		deadlock.Opts.LogBuf = wildLog{}
		deadlock.Opts.OnPotentialDeadlock = onPotentialDeadlock
		deadlock.Opts.PrintAllCurrentGoroutines = false
	})
}

type wildLog struct{}

func (wildLog) Write(p []byte) (int, error) {
	wildCurrent.Lock()
	defer wildCurrent.Unlock()
	wildCurrent.log.Write(p)
	return len(p), nil
}

// onPotentialDeadlock runs on go-deadlock's goroutines, and for a
// lock-order report on a thread that holds the model lock: it must not take
// the model lock. It files the report and, for a hang, wakes Run.
func onPotentialDeadlock() {
	wildCurrent.Lock()
	defer wildCurrent.Unlock()
	text := wildCurrent.log.String()
	wildCurrent.log.Reset()
	w := wildCurrent.run
	if w == nil {
		return
	}
	w.reports = append(w.reports, text)
	if !strings.Contains(text, "Inconsistent locking") {
		select { // a lock wait outlived the timeout: a hang
		case w.hang <- struct{}{}:
		default:
		}
	}
}

// NewWild returns a wild scheduler. Real locks the threads block on must be
// registered with AddLock so that the end of the run can release them.
func NewWild(opts WildOptions) *Wild {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100000
	}
	if opts.Watchdog <= 0 {
		opts.Watchdog = 5 * time.Second
	}
	if opts.MaxSleep <= 0 {
		opts.MaxSleep = 50 * time.Microsecond
	}
	if opts.DeadlockTimeout <= 0 {
		opts.DeadlockTimeout = 100 * time.Millisecond
	}
	if opts.ExitTimeout <= 0 {
		opts.ExitTimeout = 2 * time.Second
	}
	configureDeadlock(opts.DeadlockTimeout)
	w := &Wild{opts: opts, start: make(chan struct{}), ended: make(chan struct{}), hang: make(chan struct{}, 1),
		rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5851f42d4c957f2d))}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// AddLock registers a real lock that threads may block on.
func (w *Wild) AddLock(l interface {
	TryLock() bool
	Unlock()
}) {
	w.locks = append(w.locks, l)
}

// Spawn registers thread id to run fn. Called before Run, or by a thread
// holding the model lock.
func (w *Wild) Spawn(id int, fn func()) {
	for len(w.threads) <= id {
		w.threads = append(w.threads, nil)
	}
	t := &wthread{id: id}
	w.threads[id] = t
	w.wg.Add(1)
	first := len(w.schedule) == 0 && id == 0
	go func() {
		defer w.wg.Done()
		defer t.exited.Store(true)
		<-w.start
		w.mu.Lock()
		if w.halted {
			w.mu.Unlock()
			return
		}
		if !first {
			w.schedule = append(w.schedule, id)
		}
		fn()
		w.exit(t)
	}()
}

// Run starts the threads, waits for the run to end, releases every
// goroutine and returns how the run ended, with go-deadlock's reports.
func (w *Wild) Run(first int) (End, []string) {
	wildSerial.Lock()
	defer wildSerial.Unlock()
	wildCurrent.Lock()
	wildCurrent.run = w
	wildCurrent.log.Reset()
	wildCurrent.Unlock()
	defer func() {
		wildCurrent.Lock()
		wildCurrent.run = nil
		wildCurrent.Unlock()
	}()
	if w.opts.Procs > 0 {
		defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(w.opts.Procs))
	}
	timer := time.AfterFunc(w.opts.Watchdog, func() {
		w.mu.Lock()
		w.finish(End{Kind: EndWatchdog})
		w.mu.Unlock()
	})
	defer timer.Stop()
	close(w.start)
	select {
	case <-w.ended:
	case <-w.hang:
		w.mu.Lock()
		lines, how := w.chainLocked(0)
		w.finish(End{Kind: EndDeadlock, Cycle: lines, ChainEnd: how, Blocked: []int{0}})
		w.mu.Unlock()
	}
	// Release every goroutine: wake condition waiters, and free the real
	// locks that hung or ended threads still hold so that real waiters
	// return; each sees the run halted and exits.
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	giveUp := time.Now().Add(w.opts.ExitTimeout)
	for {
		// Under the model lock, so that no thread is between a model
		// unlock and its real Unlock while the locks are forced.
		w.mu.Lock()
		w.cond.Broadcast()
		for _, l := range w.locks {
			l.TryLock()
			l.Unlock()
		}
		w.mu.Unlock()
		select {
		case <-done:
			w.mu.Lock()
			defer w.mu.Unlock()
			w.end.Steps, w.end.Schedule, w.end.Diverged = w.steps, w.schedule, -1
			wildCurrent.Lock()
			defer wildCurrent.Unlock()
			return w.end, w.reports
		case <-time.After(200 * time.Microsecond):
		}
		if time.Now().After(giveUp) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, t := range w.threads {
				if t != nil && !t.exited.Load() {
					w.end.Leaked = append(w.end.Leaked, t.id)
				}
			}
			w.end.Steps, w.end.Schedule, w.end.Diverged = w.steps, w.schedule, -1
			wildCurrent.Lock()
			defer wildCurrent.Unlock()
			return w.end, w.reports
		}
	}
}

// Steps returns the scheduling points taken so far.
func (w *Wild) Steps() int { return w.steps }

func (w *Wild) finish(e End) {
	if w.halted {
		return
	}
	w.halted = true
	w.end = e
	close(w.ended)
	w.cond.Broadcast()
}

// leave exits the calling thread goroutine when the run is over.
func (w *Wild) leaveIfHalted() {
	if w.halted {
		w.mu.Unlock()
		goruntime.Goexit()
	}
}

func (w *Wild) perturb() {
	if w.opts.SleepOnly {
		d := time.Duration(w.rng.Int64N(int64(w.opts.MaxSleep)))
		w.mu.Unlock()
		time.Sleep(d)
		w.mu.Lock()
		return
	}
	kind, n := w.rng.IntN(100), w.rng.Int64N(int64(w.opts.MaxSleep))
	w.mu.Unlock()
	switch {
	case kind < 40:
	case kind < 70:
		goruntime.Gosched()
	case kind < 85:
		var x int64
		for i := int64(0); i < n/10; i++ {
			x += i
		}
		spinSink.Add(x)
	default:
		time.Sleep(time.Duration(n))
	}
	w.mu.Lock()
}

var spinSink atomic.Int64 // keeps the spin loop from being optimized away

// point is a scheduling point: count it, let others run, come back.
func (w *Wild) point() {
	w.steps++
	if w.steps > w.opts.MaxSteps {
		e := End{Kind: EndBudget}
		if first := w.threads[0]; first != nil && !first.done && first.wait != nil {
			if lines, how := w.chainLocked(0); how == ChainCycle || how == ChainForever || how == ChainEnded {
				e = End{Kind: EndDeadlock, Cycle: lines, ChainEnd: how, Blocked: []int{0}, OthersRunnable: true}
			}
		}
		w.finish(e)
	}
	w.leaveIfHalted()
	w.cond.Broadcast()
	w.perturb()
	w.leaveIfHalted()
}

// Yield is a scheduling point for thread me.
func (w *Wild) Yield(me int) {
	w.point()
	w.schedule = append(w.schedule, me)
}

// Block waits until cond is ready; other threads run meanwhile.
func (w *Wild) Block(me int, wait Wait) {
	t := w.threads[me]
	t.wait = wait
	w.point()
	for !wait.Ready() {
		if w.stalled() {
			e := End{Kind: EndDeadlock}
			for _, o := range w.threads {
				if o != nil && !o.done && o.wait != nil {
					e.Blocked = append(e.Blocked, o.id)
				}
			}
			e.Cycle, e.ChainEnd = w.chainLocked(e.Blocked[0])
			w.finish(e)
		}
		w.leaveIfHalted()
		w.cond.Wait()
		w.leaveIfHalted()
	}
	t.wait = nil
	w.schedule = append(w.schedule, me)
}

// BlockReal takes the real lock l, which TryLock found held: the model
// lock is released during the real wait, so go-deadlock sees a hang.
func (w *Wild) BlockReal(me int, l interface{ Lock() }, wait Wait) {
	t := w.threads[me]
	t.wait = wait
	w.steps++
	w.real++
	w.cond.Broadcast()
	w.mu.Unlock()
	l.Lock()
	w.mu.Lock()
	w.real--
	t.wait = nil
	w.leaveIfHalted()
	w.schedule = append(w.schedule, me)
}

// Halt ends the run from the running thread; it does not return.
func (w *Wild) Halt(v any) {
	w.finish(End{Kind: EndHalted, Value: v})
	w.leaveIfHalted()
}

func (w *Wild) exit(t *wthread) {
	t.done = true
	alive := false
	for _, o := range w.threads {
		if o != nil && !o.done {
			alive = true
		}
	}
	if !alive {
		w.finish(End{Kind: EndAllDone})
	}
	w.cond.Broadcast()
	w.mu.Unlock()
}

// stalled reports whether no thread can make progress: every live thread
// waits on a condition that is not ready, and none waits on a real lock
// (those are go-deadlock's to report).
func (w *Wild) stalled() bool {
	if w.real > 0 {
		return false
	}
	for _, t := range w.threads {
		if t != nil && !t.done && (t.wait == nil || t.wait.Ready()) {
			return false
		}
	}
	return true
}

func (w *Wild) chainLocked(id int) ([]string, string) {
	c := &Controller{threads: make([]*thread, len(w.threads)), opts: Options{Name: w.opts.Name}}
	for i, t := range w.threads {
		if t != nil {
			c.threads[i] = &thread{id: t.id, done: t.done, wait: t.wait}
		}
	}
	return c.chain(id)
}
