package exhaustive

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// benchScenario has 4 threads with loops and two C-level locks, and more
// than 100,000 reachable states under hang.
const benchScenario = `scenario "bench: 4 threads, loops and locks"
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
  loop 5 {
    lock L
    work 1
    io
    unlock L
  }
}
daemon b {
  loop 6 {
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

// BenchmarkExhaustive explores benchScenario completely and reports
// states/s, the figure issue 12 sets a target for (50,000 states/s), and
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
		if !r.Complete || r.States < 100000 {
			b.Fatalf("complete %v, %d states: want a complete search of at least 100000", r.Complete, r.States)
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
