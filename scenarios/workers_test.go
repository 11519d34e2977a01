package scenarios

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// workersMaxStates bounds the searches of TestWorkersAgree under the race
// detector, which makes the library's larger cells take minutes; the
// cells it leaves out are logged.
const workersMaxStates = 2000

// The exhaustive report of every library scenario under every policy,
// text and JSON with its witnesses, is the same with one worker and with
// two (where the frontier is shared and the order of discovery varies),
// from one parallel search to the next, and with exact keys instead of
// fingerprints in the visited set.
func TestWorkersAgree(t *testing.T) {
	maxStates := 0
	if raceEnabled {
		maxStates = workersMaxStates
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := load(t, name)
			for _, p := range scenario.Policies {
				serial := exhaustiveReport(t, s, p, explore.Options{Workers: 1, MaxStates: maxStates})
				if serial == "" {
					t.Logf("%s: more than %d states, left out under the race detector", p, maxStates)
					continue
				}
				for _, o := range []explore.Options{{Workers: 2}, {Workers: 2}, {Workers: 1, ExactKeys: true}} {
					if got := exhaustiveReport(t, s, p, o); got != serial {
						t.Errorf("%s: %d workers (exact keys %v) report\n%s\nthe serial search's\n%s", p, o.Workers, o.ExactKeys, got, serial)
					}
				}
			}
		})
	}
}

// exhaustiveReport is explore's text and JSON report of the exhaustive
// search under opts, or "" when maxStates is set and the search does not
// complete within it.
func exhaustiveReport(t *testing.T, s *scenario.Scenario, p string, opts explore.Options) string {
	t.Helper()
	opts.Exhaustive = true
	rep, err := explore.Policy(s, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.MaxStates > 0 && !rep.Complete {
		return ""
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s%s\n", rep.Text(), js)
}
