package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

// For every library witness, the schedule line explore prints, copied as
// is (with its leading word, runs written C*N), reproduces the witness's
// outcome and report through run -schedule, without diverging.
func TestLibraryWitnessLinesReplayThroughRun(t *testing.T) {
	n := 0
	for _, name := range scenarios.Names() {
		s, err := scenarios.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range scenario.Policies {
			rep, err := explore.Policy(s, p, explore.Options{Runs: 100})
			if err != nil {
				t.Fatal(err)
			}
			for o, w := range rep.Outcomes {
				code, out, errs := cli("run", "-json", "-policy", p, "-schedule", w.Schedule, name)
				var got runJSON
				if code == 2 || json.Unmarshal([]byte(out), &got) != nil {
					t.Fatalf("%s %s: run -schedule %q: exit %d\n%s%s", name, p, w.Schedule, code, out, errs)
				}
				if got.Outcome != o || got.Report != w.Result.Report || got.Diverged >= 0 {
					t.Errorf("%s %s: %q gave %s (%s), diverged %d; explore saw %s (%s)", name, p, w.Schedule,
						got.Outcome, got.Report.Message, got.Diverged, o, w.Result.Report.Message)
				}
				n++
			}
		}
	}
	t.Logf("%d library witnesses replayed through run -schedule", n)
}

// Explore follows every witness with the complete command that reproduces
// it, the path quoted; -exact also fails on an expected outcome never seen.
func TestExploreCommandsAndExact(t *testing.T) {
	dir := t.TempDir()
	path := writeScenario(t, dir, "it's here.scn", lockScn+"expect hang: clean, deadlock, abort\n")
	code, out, _ := cli("explore", "-policy", "hang", "-runs", "200", path)
	if code != 0 {
		t.Errorf("without -exact: exit %d, want 0 (abort is only missing)\n%s", code, out)
	}
	quoted := `'` + strings.ReplaceAll(path, `'`, `'\''`) + `'`
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "schedule replay") {
			if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "shutdownfuzz run -policy hang -schedule 'replay ") ||
				!strings.HasSuffix(lines[i+1], " "+quoted) {
				t.Errorf("witness line %q is not followed by its run command with the path quoted:\n%s", l, out)
			}
		}
	}
	code, out, _ = cli("explore", "-exact", "-policy", "hang", "-runs", "200", path)
	if code != 1 || !strings.Contains(out, "abort named by the expect lines never appeared") {
		t.Errorf("-exact: exit %d, want 1 naming abort\n%s", code, out)
	}
	code, out, _ = cli("matrix", "-exact", "-policy", "hang", "-runs", "50", "-out", dir, path)
	if code != 1 || !strings.Contains(out, "abort never appeared") {
		t.Errorf("matrix -exact: exit %d, want 1 naming abort\n%s", code, out)
	}
	ok := writeScenario(t, dir, "ok.scn", lockScn+"expect hang: clean, deadlock\n")
	if code, out, _ := cli("explore", "-exact", "-policy", "hang", "-runs", "200", ok); code != 0 {
		t.Errorf("-exact with every expected outcome seen: exit %d\n%s", code, out)
	}
}

// A budget run decides nothing: explore prints it as inconclusive and
// exits 1, even with no expect lines.
func TestExploreBudgetIsInconclusive(t *testing.T) {
	dir := t.TempDir()
	path := writeScenario(t, dir, "loop.scn", "scenario \"loop\"\nmain { forever { yield } }\n")
	code, out, _ := cli("explore", "-policy", "hang", "-runs", "3", "-steps", "200", path)
	if code != 1 || !strings.Contains(out, "INCONCLUSIVE") || !strings.Contains(out, "inconclusive: 3 of 3 runs") {
		t.Errorf("exit %d, want 1 with the budget runs counted as inconclusive\n%s", code, out)
	}
}
