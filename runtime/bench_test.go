package runtime_test

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// benchScenario has 4 threads and about 50 scheduling points per run.
const benchScenario = `scenario "bench: 4 threads, ~50 steps"
policy hang
main { spawn a
  spawn b
  spawn c
  work 6
  io
  join a }
thread a { work 5
  io
  work 3 }
daemon b { work 4
  io
  work 4 }
daemon c { work 4
  io
  work 4 }`

// BenchmarkRun4x50 measures whole runs of a 4-thread, ~50-step scenario
// in the controlled mode (the step function) with random schedules. It
// reports runs/s and ns per scheduling point.
func BenchmarkRun4x50(b *testing.B) { benchRun4x50(b, nil, runtime.EngineAuto) }

// BenchmarkRun4x50Goroutine is BenchmarkRun4x50 on the goroutine model
// (a coroutine per thread under chaos.Controller), to compare with chaos's
// BenchmarkHandoffFloor and with the step function.
func BenchmarkRun4x50Goroutine(b *testing.B) { benchRun4x50(b, nil, runtime.EngineGoroutine) }

// BenchmarkRun4x50Runner is BenchmarkRun4x50Goroutine with one Runner
// lending its coroutines to every run, as loops of runs do.
func BenchmarkRun4x50Runner(b *testing.B) {
	r := runtime.NewRunner()
	defer r.Close()
	benchRun4x50(b, r, runtime.EngineGoroutine)
}

func benchRun4x50(b *testing.B, rn *runtime.Runner, engine runtime.Engine) {
	s, err := scenario.Parse("bench.scn", []byte(benchScenario))
	if err != nil {
		b.Fatal(err)
	}
	steps := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, _ := runtime.Run(s, runtime.Config{Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: uint64(i)}, Runner: rn, Engine: engine})
		steps += r.Steps
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
	b.ReportMetric(float64(steps)/float64(b.N), "steps/run")
}
