package exhaustive

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var largeFlag = flag.Bool("sfz.large", false, "BenchmarkExhaustiveLarge: explore largeScenario (over 1,000,000 states, minutes per search); make bench leaves it out")

// largeScenario is benchScenario with a's and b's loops at 25 instead of
// 10: over a million reachable states (the count grows with the product
// of the two), under the same pinned preset.
var largeScenario = strings.NewReplacer(
	"loop 10 {\n    lock L", "loop 25 {\n    lock L",
	"loop 10 {\n    lock M", "loop 25 {\n    lock M",
	`scenario "bench: 4 threads, loops and locks"`, `scenario "bench large: 4 threads, long loops and locks"`,
).Replace(benchScenario)

// largeMinStates is what largeScenario must keep to measure a search of a
// million states.
const largeMinStates = 1_000_000

// BenchmarkExhaustiveLarge explores largeScenario with one worker and with
// two; it runs only with -sfz.large:
//
//	go test ./exhaustive -run '^$' -bench BenchmarkExhaustiveLarge -benchtime 1x -sfz.large
func BenchmarkExhaustiveLarge(b *testing.B) {
	if !*largeFlag {
		b.Skip("a search of over a million states: run with -sfz.large")
	}
	if largeScenario == benchScenario {
		b.Fatal("largeScenario did not change benchScenario's loops: update its replacer")
	}
	s, err := scenario.Parse("large.scn", []byte(largeScenario))
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchExplore(b, s, Options{Workers: workers, MaxStates: 4 * largeMinStates}, largeMinStates)
		})
		b.Run(fmt.Sprintf("workers=%d,reduce", workers), func(b *testing.B) {
			benchExplore(b, s, Options{Workers: workers, Reduce: true, MaxStates: 4 * largeMinStates}, 0)
		})
	}
}
