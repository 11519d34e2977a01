package exhaustive_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// blockedForGood is a generated scenario on which a reduction that took a
// blocking call's wait for a local step lost outcomes: main's step into
// "wait F" (an event nobody sets) makes main blocked for good, End ends
// the run there, and the abort and corruption the daemon reaches while
// main still waits for the switch were never explored.
const blockedForGood = `scenario "gen"
preset cpython-3.12 debug
main {
  local A
  publish A
  local B
  publish B
  spawn t1
  spawn t2 nowait
  wait F
}
foreign t1 {
  ensure
  atthreadexit {
    decref B
  }
  if finalizing {
    work 3
  } else {
    incref A
  }
  unensure
}
daemon t2 {
  decref A
  native {
    native {
      release
      io
      acquire
      hold B
    }
    cleanup {
      publish A
    }
    hold A
  }
  decref A
}
`

// TestReductionKeepsOutcomes: the reduced search finds every outcome of
// the full one where a blocking call follows the FORCE_SWITCHING wait.
func TestReductionKeepsOutcomes(t *testing.T) {
	s, err := scenario.Parse("gen.scn", []byte(blockedForGood))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range scenario.Policies {
		full, err := exhaustive.Explore(s, exhaustive.Options{Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := agreeReduced(s, p, 0, full); err != nil {
			t.Error(err)
		}
	}
}

// TestSameButSeesAnotherThreadsChange: the check of Options.Verify on
// each local step (VMState.SameBut) holds for every step LocalStep calls
// local, over every state of a scenario with io under contention, and
// fails for the steps that change more than their thread (the GIL).
func TestSameButSeesAnotherThreadsChange(t *testing.T) {
	s, err := scenario.Parse("io.scn", []byte(testscn.IOContention("io")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.NewMachine(s, "hang")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := m.Initial()
	seen := map[string]bool{}
	todo := []*runtime.VMState{st}
	local, global := 0, 0
	for len(todo) > 0 && len(seen) < 50_000 {
		st := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if k := string(st.AppendKey(nil)); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		run := m.Runnable(st, nil)
		if m.End(st, run) != nil {
			continue
		}
		for _, id := range run {
			next := st.Clone()
			term := m.Step(next, id)
			same := term == nil && st.SameBut(next, id)
			switch {
			case m.LocalStep(st, id) && !same:
				t.Fatalf("thread %d's local step changed more than its thread", id)
			case m.LocalStep(st, id):
				local++
			case !same:
				global++
			}
			if term == nil {
				todo = append(todo, next)
			}
		}
	}
	if local == 0 || global == 0 {
		t.Errorf("%d local steps and %d steps SameBut rejects over %d states: want both", local, global, len(seen))
	}
}

// TestReductionAgreesOnCorpus: the stored corpus (corpus/*.scn) and the
// fuzz seeds (fuzz/testdata/fuzz/FuzzShutdown, decoded as FuzzShutdown
// decodes them) have the same outcome sets with and without reduction,
// and by replay (agree); each corpus entry's signature (its outcome, and
// its report kind but for deadlocks) is in both.
func TestReductionAgreesOnCorpus(t *testing.T) {
	entries := testscn.Files(t, "../corpus/*.scn")
	if len(entries) == 0 {
		t.Fatal("no corpus entries found")
	}
	bound := 200_000
	if raceEnabled {
		bound = 2_000
	}
	for _, e := range entries {
		f, s := e.Path, e.Scenario
		sig := signatureLine(string(e.Src))
		outcome, kind, _ := strings.Cut(sig, "/")
		kind, _, _ = strings.Cut(kind, "/")
		for _, reduce := range []bool{false, true} {
			r, err := exhaustive.Explore(s, exhaustive.Options{Policy: s.Policy, MaxStates: bound, Reduce: reduce})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if !r.Complete {
				continue
			}
			w := r.Outcomes[runtime.Outcome(outcome)]
			// The step function does not tell deadlocks apart by their
			// wait-for chain (docs/step-function.md): only the outcome.
			if w == nil || (w.Outcome != runtime.Deadlock && !slices.Contains(w.Kinds, kind)) {
				t.Errorf("%s (reduce %v): the signature %s is not in the outcome set %s", f, reduce, sig, seen(r))
			}
		}
		if _, err := agree(s, s.Policy, bound); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	seeds, err := fuzz.CorpusScenarios("../fuzz/testdata/fuzz/FuzzShutdown")
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for i, s := range seeds {
		f := fmt.Sprintf("fuzz seed %d", i)
		for _, p := range scenario.Policies {
			ok, err := agree(s, p, bound/10)
			if err != nil {
				t.Errorf("%s: %v", f, err)
			}
			if ok {
				compared++
			}
		}
	}
	t.Logf("%d corpus entries, %d fuzz seeds (%d complete searches compared)", len(entries), len(seeds), compared)
}

// signatureLine is the "# Signature: " comment of a corpus entry.
func signatureLine(src string) string {
	for line := range strings.SplitSeq(src, "\n") {
		if sig, ok := strings.CutPrefix(line, "# Signature: "); ok {
			return sig
		}
	}
	return ""
}
