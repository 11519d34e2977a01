package exhaustive

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// benchScenario has 4 threads with loops and two C-level locks: 172,810
// reachable states under hang on CPython 3.14.0 (posix), the preset named
// on its preset line so that the count does not move with the default
// preset. Loop counts set the size (the states grow about linearly with
// a's and b's); keep it between benchMinStates and about 200,000 so that
// one complete search stays well under a minute on one core.
const benchScenario = `scenario "bench: 4 threads, loops and locks"
preset cpython-3.14.0 posix
policy hang
main {
  spawn a
  spawn b
  spawn c
  loop 4 {
    lock L
    work 3
    unlock L
  }
  join a
}
thread a {
  loop 10 {
    lock L
    work 1
    io
    unlock L
  }
}
daemon b {
  loop 10 {
    lock M
    work 3
    unlock M
  }
}
daemon c {
  loop 5 {
    lock M
    io
    lock L
    work 1
    unlock L
    unlock M
  }
}
teardown {
  lock M
  unlock M
}`

// benchMinStates is the size below which the benchmark stops measuring
// what it is meant to (deep scenarios, where replayed prefixes dominate).
const benchMinStates = 100_000

// BenchmarkExhaustive explores benchScenario completely with one worker
// and with two, and reports states/s, the figure the exhaustive search
// aims at; states per CPU second (the process's, GC included), which a
// machine shared with other work does not distort as much; and the bytes
// the search holds per visited state when it ends (the visited set, the
// nodes and their edges; runtime.MemStats after a GC, before the result is
// built), and the most pending branches at once (32 bytes each, plus their
// state's goroutine positions, shared by the branches of a state).
func BenchmarkExhaustive(b *testing.B) {
	s, err := scenario.Parse("bench.scn", []byte(benchScenario))
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchExplore(b, s, Options{Workers: workers}, benchMinStates)
		})
		b.Run(fmt.Sprintf("workers=%d,reduce", workers), func(b *testing.B) {
			benchExplore(b, s, Options{Workers: workers, Reduce: true}, 0)
		})
	}
}

// benchExplore explores s completely at each iteration and reports the
// figures; fewer than minStates states fails the benchmark.
func benchExplore(b *testing.B, s *scenario.Scenario, opts Options, minStates int) {
	states, runs := 0, 0
	var held uint64
	peak := 0
	defer func() { searched = nil }()
	cpu0 := cpuTime()
	for b.Loop() {
		before := heapAlloc()
		searched = func(x *search) {
			held += heapAlloc() - before
			peak = max(peak, x.front.peak)
		}
		r, err := Explore(s, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Complete {
			b.Fatalf("the search of %q stopped before the end (%s) after %d states: "+
				"it must be complete; make it smaller (lower its loop counts) "+
				"or raise the bound in Options", s.Name, r.Reason, r.States)
		}
		if r.States < minStates {
			b.Fatalf("%q has %d states under policy %s, preset %s: fewer than %d "+
				"(a change to the model shrank its state space). Raise its loop counts "+
				"(exhaustive/bench_test.go) until a complete search has "+
				"the states its comment says, and update the figures there and in "+
				"docs/exhaustive.md", s.Name, r.States, r.Policy, strings.Join(s.Presets, " "), minStates)
		}
		states += r.States
		runs += r.Runs
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(states)/cpu.Seconds(), "states/cpu-s")
	}
	b.ReportMetric(float64(states)/float64(b.N), "states")
	b.ReportMetric(float64(runs)/float64(states), "runs/state")
	b.ReportMetric(float64(held)/float64(states), "bytes/state")
	b.ReportMetric(float64(peak), "pending-peak")
}

// heapAlloc is the live heap after a collection.
func heapAlloc() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
