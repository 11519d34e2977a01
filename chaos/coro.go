package chaos

import (
	"iter"
	"sync"
)

// Threads run on coroutines (iter.Pull, the runtime's coroswitch): a
// hand-off is a switch from the yielding thread's coroutine to the
// controller's driver loop and from there to the chosen thread's, which
// never involves the Go scheduler or a futex. A worker is one coroutine
// that runs one thread body after another; a Pool keeps the idle workers
// between runs, so that their stacks, grown once, serve every run.

// runEnd is the panic that unwinds a thread when the run ends (a halt, a
// deadlock, the budget): the code of a thread must pass it on.
type runEnd struct{}

// IsRunEnd reports whether r, a value a thread recovered, is the end of
// the run. A thread that recovers it must panic with it again.
func IsRunEnd(r any) bool {
	_, ok := r.(runEnd)
	return ok
}

// A Pool keeps the coroutines that run the threads of controlled runs, so
// that many runs pay for a coroutine and its stack once. A run takes the
// workers it needs and gives them back when it ends; runs on different
// goroutines may share a Pool. Close it when no run uses it any more: its
// idle coroutines are goroutines until then.
type Pool struct {
	mu   sync.Mutex
	idle []*worker
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{} }

// Close ends the pool's idle coroutines. A run that uses the pool later
// starts new ones.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
}

func (p *Pool) get() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return w
	}
	w := &worker{}
	w.next, w.stop = iter.Pull(w.loop)
	return w
}

func (p *Pool) put(w *worker) {
	if w.dead {
		return
	}
	w.c, w.t, w.fn = nil, nil, nil
	p.mu.Lock()
	p.idle = append(p.idle, w)
	p.mu.Unlock()
}

// A worker is a coroutine that runs thread bodies. Resuming it (next)
// starts the body it was given, or continues the thread where it parked.
type worker struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	c     *Controller
	t     *thread
	fn    func()
	dead  bool // a panic went through it: its coroutine has ended
}

func (w *worker) loop(yield func(struct{}) bool) {
	w.yield = yield
	growStack()
	for {
		w.runThread()
		if !yield(struct{}{}) {
			return
		}
	}
}

// runThread runs the body the worker was given until it returns or the
// end of the run unwinds it.
func (w *worker) runThread() {
	t := w.t
	defer func() {
		t.exited = true
		if r := recover(); r != nil && !IsRunEnd(r) {
			w.dead = true
			panic(r) // to the driver, through iter.Pull
		}
	}()
	t.started = true
	w.fn()
	w.c.exit(t)
}

// park suspends the running thread's coroutine; the driver resumes the
// thread handTo names. It panics with runEnd when the thread is resumed
// only to unwind.
func (c *Controller) park(me *thread) {
	if !me.w.yield(struct{}{}) || c.over {
		panic(runEnd{})
	}
}

// growStack grows a new worker's stack once, while it is still shallow
// and cheap to copy, instead of several times in the middle of a run,
// where each copy walks every frame.
//
//go:noinline
func growStack() byte {
	var buf [16 << 10]byte
	return stackSink(buf[:])
}

//go:noinline
func stackSink(b []byte) byte { return b[len(b)-1] }
