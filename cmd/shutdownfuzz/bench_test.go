package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/bench"
)

// benchScenario: under abort the daemon aborts the process once it meets
// the policy; the exit policy loses the teardown.
const benchScenario = `scenario "bench tiny"
main {
  spawn d
  work 2
}
daemon d {
  forever {
    io
  }
}
teardown {
  yield
}
expect abort: abort, clean
expect exit: lost-cleanup, clean
`

func TestBenchCommand(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "tiny.scn", benchScenario)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"bench", "-seeds", "2", "-max", "500", "-timeout", "2s", "-json", file}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, &stdout)
	}
	if rep.Seeds != 2 || rep.Max != 500 || len(rep.Rows) != 2 {
		t.Fatalf("report: seeds %d max %d rows %+v", rep.Seeds, rep.Max, rep.Rows)
	}
	want := []string{"abort/abort", "exit/lost-cleanup"}
	for i, r := range rep.Rows {
		if r.Policy+"/"+r.Outcome != want[i] {
			t.Errorf("row %d is %s/%s, want %s", i, r.Policy, r.Outcome, want[i])
		}
		for _, s := range []*bench.StrategyResult{r.PCT, r.Random, r.Wild} {
			if s == nil || len(s.Samples) != 2 {
				t.Fatalf("row %d: %+v", i, s)
			}
			for _, x := range s.Samples {
				if x.Schedules < 1 || x.WallMS <= 0 {
					t.Errorf("row %d %s: sample %+v", i, s.Strategy, x)
				}
				if s.Strategy != bench.StrategyWild && x.Schedules > 500 {
					t.Errorf("row %d %s: %d schedules beyond -max", i, s.Strategy, x.Schedules)
				}
			}
		}
		// Easy outcomes: every strategy finds them, and the exhaustive
		// search proves them.
		if r.PCT.Capped || r.Random.Capped || r.Wild.Capped {
			t.Errorf("row %d capped: %+v", i, r)
		}
		if e := r.Exhaustive; e == nil || !e.Complete || !e.Found || e.States < 1 || e.Runs < 1 || e.WallMS <= 0 {
			t.Errorf("row %d: exhaustive %+v, want a complete search that found the outcome", i, e)
		}
	}

	stdout.Reset()
	if code := Main([]string{"bench", "-seeds", "2", "-max", "200", "-timeout", "1s", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("text: exit %d\n%s", code, &stderr)
	}
	for _, w := range []string{"wild/pct", "wild/random", "tiny.scn", "lost-cleanup", "exhaustive"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, &stdout)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{"-seeds", "0"}, {"-filter", "("}, {"-filter", "no-such-scenario-xyz"}, {"-timeout", "0s"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(append([]string{"bench"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("bench %v: exit %d, want 2", args, code)
		}
	}
}

func TestBenchCapped(t *testing.T) {
	// Never fails: every strategy hits its cap, and the table says so.
	file := writeScenario(t, t.TempDir(), "never.scn", `scenario "never"
main {
  work 1
}
expect abort: abort, clean
`)
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"bench", "-seeds", "1", "-max", "30", "-timeout", "100ms", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), ">30") {
		t.Errorf("capped medians not marked:\n%s", &stdout)
	}
}

// BenchmarkMatrixExhaustiveLibrary is the acceptance command of the
// library's exhaustive matrix, in process: matrix -exhaustive scenarios
// scenarios/patterns, its searches, witnesses, text, JSON and HTML, and
// the two files written.
func BenchmarkMatrixExhaustiveLibrary(b *testing.B) {
	out := b.TempDir()
	args := []string{"-exhaustive", "-force", "-out", out, "../../scenarios", "../../scenarios/patterns"}
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if err := cmdMatrix(args, &stdout, &stderr); err != nil {
			b.Fatalf("%v\n%s", err, &stderr)
		}
	}
}
