package exhaustive_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Scenarios decoded from random bytes (the fuzz decoder is total): where
// the search completes, Verify holds on every replay, every witness
// replays, and every outcome that sampling finds is in the exhaustive
// set. (A longer run of the same check, 60 scenarios with 500 schedules
// per policy, agreed on all 295 complete cells.)
func TestRandomScenariosAgree(t *testing.T) {
	n, runs := 20, 200
	if testing.Short() {
		n, runs = 3, 100
	}
	rng := rand.New(rand.NewPCG(1, 2))
	complete := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 30+rng.IntN(100))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		s := scenario.Decode(b)
		for _, p := range scenario.Policies {
			r, err := exhaustive.Explore(s, exhaustive.Options{Policy: p, MaxStates: 5000, Verify: true})
			if err != nil {
				t.Fatalf("scenario %d %s: %v\n%s", i, p, err, scenario.Print(s))
			}
			if !r.Complete {
				continue
			}
			complete++
			for _, o := range r.Seen() {
				if err := exhaustive.CheckWitness(s, p, r.Outcomes[o]); err != nil {
					t.Errorf("scenario %d %s %s: %v\n%s", i, p, o, err, scenario.Print(s))
				}
			}
			rep, err := explore.Policy(s, p, explore.Options{Runs: runs, MaxSteps: 3000})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range rep.Seen() {
				if !covers(r, o) {
					t.Errorf("scenario %d %s: sampling found %s (%s), exhaustive %v\n%s", i, p, o, rep.Outcomes[o].Schedule, r.Seen(), scenario.Print(s))
				}
			}
		}
	}
	if complete < n*len(scenario.Policies)/2 {
		t.Errorf("only %d searches completed: the check checks little", complete)
	}
}
