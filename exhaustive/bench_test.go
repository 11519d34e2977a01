package exhaustive

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// benchScenario has 4 threads with loops and two C-level locks: 142,530
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

// BenchmarkExhaustive explores benchScenario completely and reports
// states/s, the figure the exhaustive search aims at (50,000 states/s), and
// states per CPU second (the process's, GC included), which a machine
// shared with other work does not distort as much.
func BenchmarkExhaustive(b *testing.B) {
	s, err := scenario.Parse("bench.scn", []byte(benchScenario))
	if err != nil {
		b.Fatal(err)
	}
	states, runs := 0, 0
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := Explore(s, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if !r.Complete {
			b.Fatalf("the search of benchScenario stopped before the end (%s) after %d states: "+
				"it must be complete; make benchScenario smaller (lower its loop counts) "+
				"or raise the bound in Options", r.Reason, r.States)
		}
		if r.States < benchMinStates {
			b.Fatalf("benchScenario has %d states under policy %s, preset %s: fewer than %d "+
				"(a change to the model shrank its state space). Raise the loop counts in "+
				"benchScenario (exhaustive/bench_test.go) until a complete search has "+
				"100,000-200,000 states, and update the figures in its comment and in "+
				"docs/exhaustive.md", r.States, r.Policy, strings.Join(s.Presets, " "), benchMinStates)
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
}
