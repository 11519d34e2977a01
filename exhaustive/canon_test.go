package exhaustive

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The canonical witness of each outcome is run again after the search; a
// run that ends in another outcome than the transition the search
// recorded (a key that merged two states) is an error. A recorded
// transition is altered to make the check fire.
func TestWitnessRunChecksTheRecordedOutcome(t *testing.T) {
	s, err := scenario.Parse("t.scn", []byte("scenario \"t\"\nmain {\n  spawn a\n  work 2\n}\nthread a {\n  work 2\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := newSearch(s, Options{Policy: "hang", MaxStates: 1000, MaxKeyBytes: DefaultMaxKeyBytes})
	x.explore(1)
	altered := false
	for id := range x.nnodes.Load() {
		nd := x.nodes.at(id)
		for i := range int(nd.n) {
			if e := x.nodeEdge(nd, i); isTerminal(e.to) && !altered {
				e.to, _ = terminal(runtime.Contract, "")
				altered = true
			}
		}
	}
	if !altered {
		t.Fatal("no terminal transition to alter")
	}
	if _, err := x.finish(); err == nil || !strings.Contains(err.Error(), "the state key misses something") {
		t.Errorf("finish after altering a transition: %v, want the witness check's error", err)
	}
}
