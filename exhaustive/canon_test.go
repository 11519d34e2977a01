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
// transition is altered to make the check fire, in the replay search (a
// key that misses something) and in the step function's (the step
// function and the goroutine model disagree).
func TestWitnessRunChecksTheRecordedOutcome(t *testing.T) {
	s, err := scenario.Parse("t.scn", []byte("scenario \"t\"\nmain {\n  spawn a\n  work 2\n}\nthread a {\n  work 2\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := machine(t, s)
	for _, c := range []struct {
		m    *runtime.Machine
		want string
	}{{nil, "the state key misses something"}, {m, "the step function and the goroutine model disagree"}} {
		witnessCheckFires(t, s, c.m, c.want)
	}
}

func witnessCheckFires(t *testing.T, s *scenario.Scenario, m *runtime.Machine, want string) {
	x := newSearch(s, Options{Policy: "hang", MaxStates: 1000, MaxKeyBytes: DefaultMaxKeyBytes}, m)
	defer x.runner.Close()
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
	if _, err := x.finish(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("finish after altering a transition: %v, want the witness check's error (%s)", err, want)
	}
}
