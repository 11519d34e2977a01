package chaos

import (
	"reflect"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// flag is a Wait on a boolean owned by the test's threads.
type flag struct {
	set   *bool
	owner int
	desc  string
}

func (f flag) Ready() bool    { return *f.set }
func (f flag) Blocker() int   { return f.owner }
func (f flag) String() string { return f.desc }

func TestDeadlockReportsCycle(t *testing.T) {
	var a, b bool
	c := NewController(Random(1), Options{})
	c.Spawn(0, func() {
		c.Spawn(1, func() {
			c.Yield(1)
			c.Block(1, flag{&a, 0, "a"})
			b = true
		})
		c.Yield(0)
		c.Block(0, flag{&b, 1, "b"})
		a = true
	})
	end := c.Run(0)
	if end.Kind != EndDeadlock {
		t.Fatalf("end = %v, want deadlock", end.Kind)
	}
	want := []string{"thread 0 waits for b (held by thread 1)", "thread 1 waits for a (held by thread 0) (cycle)"}
	if !reflect.DeepEqual(end.Cycle, want) {
		t.Errorf("cycle = %q, want %q", end.Cycle, want)
	}
}

func TestHaltReleasesParkedGoroutines(t *testing.T) {
	c := NewController(Random(3), Options{})
	c.Spawn(0, func() {
		c.Spawn(1, func() { c.Block(1, Forever("hung")) })
		c.Spawn(2, func() {
			for {
				c.Yield(2)
			}
		})
		for i := 0; i < 50; i++ {
			c.Yield(0)
		}
		c.Halt("done")
	})
	end := c.Run(0)
	if end.Kind != EndHalted || end.Value != "done" {
		t.Fatalf("end = %v %v, want halted done", end.Kind, end.Value)
	}
	// goleak in TestMain checks that threads 1 and 2 are gone.
}

// A thread that spins for ever must not starve thread 0 into the budget,
// under any strategy.
func TestStrategiesAreFair(t *testing.T) {
	strategies := map[string]func(seed uint64) Strategy{
		"random": Random,
		"pct1":   func(s uint64) Strategy { return PCT(1, s, 20) },
		"pct3":   func(s uint64) Strategy { return PCT(3, s, 20) },
		"replay": func(s uint64) Strategy { return Replay([]int{1, 1, 1, 1, 1, 1, 1, 1}) },
		"stream": func(s uint64) Strategy { return Stream([]byte{1, 1, 1, 1, 1}) },
	}
	for name, mk := range strategies {
		for seed := uint64(0); seed < 50; seed++ {
			c := NewController(mk(seed), Options{MaxSteps: 20000})
			c.Spawn(0, func() {
				c.Spawn(1, func() {
					for {
						c.Yield(1)
					}
				})
				for i := 0; i < 100; i++ {
					c.Yield(0)
				}
				c.Halt(nil)
			})
			if end := c.Run(0); end.Kind != EndHalted {
				t.Fatalf("%s seed %d: end = %v after %d steps, want halted", name, seed, end.Kind, end.Steps)
			}
		}
	}
}

func runRecorded(s Strategy) End {
	c := NewController(s, Options{})
	var step func(id int)
	step = func(id int) {
		for i := 0; i < 10; i++ {
			c.Yield(id)
		}
	}
	c.Spawn(0, func() {
		c.Spawn(1, func() { step(1) })
		c.Spawn(2, func() { step(2) })
		step(0)
		c.Halt(nil)
	})
	return c.Run(0)
}

func TestReplayReproducesAndReportsDivergence(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		for _, s := range []Strategy{Random(seed), PCT(2, seed, 30)} {
			first := runRecorded(s)
			again := runRecorded(Replay(first.Schedule))
			if !reflect.DeepEqual(first.Schedule, again.Schedule) || again.Diverged != -1 {
				t.Fatalf("seed %d: replay took %v (diverged %d), recorded %v", seed, again.Schedule, again.Diverged, first.Schedule)
			}
		}
	}
	// A choice naming a thread that cannot run (thread 7 does not exist)
	// diverges at that step and goes on deterministically.
	bad := []int{0, 0, 7, 0}
	a, b := runRecorded(Replay(bad)), runRecorded(Replay(bad))
	if a.Diverged != 2 {
		t.Errorf("diverged at %d, want 2", a.Diverged)
	}
	if !reflect.DeepEqual(a.Schedule, b.Schedule) {
		t.Errorf("diverged replays differ: %v vs %v", a.Schedule, b.Schedule)
	}
}

func TestBudget(t *testing.T) {
	c := NewController(Random(0), Options{MaxSteps: 100})
	c.Spawn(0, func() {
		for {
			c.Yield(0)
		}
	})
	if end := c.Run(0); end.Kind != EndBudget || len(end.Schedule) != 100 {
		t.Fatalf("end = %v with %d choices, want budget after 100", end.Kind, len(end.Schedule))
	}
}

func TestPCTDistinctPriorities(t *testing.T) {
	// With depth 1 and no change points, PCT runs the highest-priority
	// runnable thread: the same thread at every point while it can run.
	p := PCT(1, 42, 100)
	first := p.Choose([]int{0, 1, 2}, 0)
	for i := 0; i < 20; i++ {
		if got := p.Choose([]int{0, 1, 2}, first); got != first {
			t.Fatalf("pct switched from %d to %d without a change point", first, got)
		}
	}
}

// PCT's priorities are a permutation: distinct at every point, change
// points included; and forced points (one runnable thread) are not choice
// points, so they neither move PCT's step nor reach a change point.
func TestPCTPrioritiesArePermutation(t *testing.T) {
	for seed := range uint64(200) {
		p := PCT(4, seed, 30).(*pct)
		for step := range 200 {
			runnable := []int{0, 1, 2, 3, 4, 5}[:2+step%5]
			p.Choose(runnable, step%len(runnable))
			p.Choose([]int{step % 3}, 0) // forced
			seen := map[int]int{}
			for id, v := range p.priorities() {
				if other, dup := seen[v]; dup {
					t.Fatalf("seed %d step %d: threads %d and %d share priority %d: %v", seed, step, id, other, v, p.priorities())
				}
				seen[v] = id
			}
		}
		if p.step != 200 {
			t.Fatalf("seed %d: %d choice points counted, want 200 (forced points are not choices)", seed, p.step)
		}
		if len(p.change) != 3 || !slices.IsSorted(p.change) || len(slices.Compact(slices.Clone(p.change))) != 3 {
			t.Fatalf("seed %d: change points %v, want 3 distinct", seed, p.change)
		}
	}
}

// TestPanicInThreadReachesRun: a panic on a thread (here a strategy that
// picks a thread that cannot run would be one) comes out of Run, after the
// parked threads have unwound, and the pool keeps only live coroutines.
func TestPanicInThreadReachesRun(t *testing.T) {
	pool := NewPool()
	defer pool.Close()
	run := func(boom bool) (got any) {
		defer func() {
			if r := recover(); r != nil {
				got = r
			}
		}()
		c := NewController(Replay([]int{1, 0, 1, 0}), Options{Pool: pool})
		c.Spawn(0, func() {
			c.Spawn(1, func() {
				c.Yield(1)
				if boom {
					panic("boom")
				}
				c.Yield(1)
			})
			c.Yield(0)
			c.Yield(0)
			c.Halt("done")
		})
		return c.Run(0).Value
	}
	if got := run(true); got != "boom" {
		t.Fatalf("Run with a panicking thread: recovered %v, want boom", got)
	}
	if got := run(false); got != "done" {
		t.Fatalf("the next run on the pool ended with %v, want done", got)
	}
}
