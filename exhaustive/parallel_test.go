package exhaustive_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// twoLockers has a few hundred states under each policy, enough for two
// workers to interleave their discoveries.
const twoLockers = `scenario "two lockers and a spinner"
main {
  spawn a
  spawn d
  loop 2 {
    lock L
    work 2
    unlock L
  }
  join a
}
thread a {
  loop 3 {
    lock L
    io
    unlock L
  }
}
daemon d {
  forever {
    lock L
    io
    unlock L
  }
}
teardown {
  lock L
  unlock L
}`

// summary is everything a Result says, witnesses included.
func summary(t *testing.T, r *exhaustive.Result) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "states %d edges %d runs %d witness runs %d complete %v reason %q\n", r.States, r.Edges, r.Runs, r.WitnessRuns, r.Complete, r.Reason)
	for _, o := range r.Seen() {
		w := r.Outcomes[o]
		js, err := json.Marshal(w.Result)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s count %d defects %d %q schedule %v cycle %v\n  %s\n", o, w.Count, w.Defects, w.Defect, w.Schedule, w.Cycle, js)
	}
	return b.String()
}

func search(t *testing.T, s *scenario.Scenario, opts exhaustive.Options) string {
	t.Helper()
	r, err := exhaustive.Explore(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return summary(t, r)
}

// One, two and three workers, with fingerprints or exact keys, give the
// same result, witnesses and counts of states, transitions and runs
// included, and so do repeated parallel searches.
func TestWorkersGiveOneResult(t *testing.T) {
	for _, src := range []string{eventWaitHang, twoLockers} {
		s := parse(t, src)
		for _, p := range scenario.Policies {
			want := search(t, s, exhaustive.Options{Policy: p, Workers: 1, ExactKeys: true, Verify: true})
			for _, o := range []exhaustive.Options{{Workers: 1}, {Workers: 2}, {Workers: 2}, {Workers: 3, Verify: true}, {Workers: 2, ExactKeys: true}} {
				o.Policy = p
				if got := search(t, s, o); got != want {
					t.Errorf("%s %s: %d workers (exact keys %v):\n%s\nserial with exact keys:\n%s", s.Name, p, o.Workers, o.ExactKeys, got, want)
				}
			}
		}
	}
}

// A bound that stops a parallel search gives the serial search's partial
// result (the search is run again with one worker): the same states,
// reason and outcomes every time.
func TestBoundedParallelSearchIsSerial(t *testing.T) {
	s := parse(t, twoLockers)
	for _, bound := range []int{1, 50, 300} {
		want := search(t, s, exhaustive.Options{Policy: "hang", Workers: 1, MaxStates: bound})
		if !strings.Contains(want, "complete false") {
			t.Fatalf("bound %d: the search completed:\n%s", bound, want)
		}
		for range 3 {
			if got := search(t, s, exhaustive.Options{Policy: "hang", Workers: 2, MaxStates: bound}); got != want {
				t.Errorf("bound %d: two workers:\n%s\none:\n%s", bound, got, want)
			}
		}
	}
}
