package chaos

import (
	"iter"
	"sync"
	"testing"
)

// BenchmarkHandoffFloor is the cost of waking one goroutine and parking
// another through per-goroutine channels, the primitive the controller
// used before its threads became coroutines (BenchmarkCoroHandoffFloor).
func BenchmarkHandoffFloor(b *testing.B) {
	a, c := make(chan bool, 1), make(chan bool, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range b.N {
			<-c
			a <- true
		}
	}()
	b.ResetTimer()
	for range b.N {
		c <- true
		<-a
	}
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/handoff")
}

// BenchmarkCoroHandoffFloor is the cost of resuming a coroutine
// (iter.Pull) and of its yield back, the primitive the controller uses: a
// context switch at a scheduling point is two of them (thread to driver,
// driver to thread).
func BenchmarkCoroHandoffFloor(b *testing.B) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for yield(struct{}{}) {
		}
	})
	defer stop()
	b.ResetTimer()
	for range b.N {
		next()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/handoff")
}

// BenchmarkControllerSwitch measures the controller at scheduling points
// where the strategy alternates between two threads: one handoff per
// point (two coroutine switches), plus the strategy and the recording.
func BenchmarkControllerSwitch(b *testing.B) {
	const points = 10000
	choices := make([]int, points+1)
	for i := range choices {
		choices[i] = i % 2
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += points {
		c := NewController(Replay(choices), Options{MaxSteps: 1 << 30})
		c.Spawn(0, func() {
			c.Spawn(1, func() {
				for {
					c.Yield(1)
				}
			})
			for j := 0; j < points/2; j++ {
				c.Yield(0)
			}
			c.Halt(nil)
		})
		c.Run(0)
	}
}
