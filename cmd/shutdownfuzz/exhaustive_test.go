package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
)

// explore -exhaustive proves the outcome set; its JSON says mode,
// complete and states; a search stopped by -max-states is inconclusive and
// exits 1 even when every outcome it saw is expected.
func TestExploreExhaustive(t *testing.T) {
	dir := t.TempDir()
	ok := writeScenario(t, dir, "ok.scn", lockScn+"expect hang: clean, deadlock\n")
	bad := writeScenario(t, dir, "bad.scn", lockScn+"expect hang: clean\n")
	checkCLI(t, []cliCase{
		{[]string{"explore", "-exhaustive", "-policy", "hang", ok}, 0, "the outcome set is proved"},
		{[]string{"explore", "-exhaustive", "-policy", "hang", bad}, 1, "UNEXPECTED"},
		{[]string{"explore", "-exhaustive", "-max-states", "3", "-policy", "hang", ok}, 1, "INCOMPLETE after 3 states"},
		{[]string{"explore", "-exhaustive", "-max-states", "0", ok}, 2, "-max-states must be at least 1"},
		{[]string{"explore", "-exhaustive", "-mode", "wild", ok}, 2, "does not combine"},
		{[]string{"matrix", "-exhaustive", "-policy", "hang", "-out", dir, ok}, 0, "[cl 1 dl 5] ="},
		{[]string{"matrix", "-exhaustive", "-max-states", "3", "-policy", "hang", "-out", dir, ok}, 1, "1 cell(s) not proved"},
	})
	code, out, _ := cli("explore", "-exhaustive", "-json", "-policy", "hang", ok)
	var rep struct {
		Mode     string `json:"mode"`
		Complete bool   `json:"complete"`
		States   int    `json:"states"`
		Outcomes map[string]struct {
			Schedule string `json:"schedule"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if rep.Mode != "exhaustive" || !rep.Complete || rep.States == 0 || len(rep.Outcomes) != 2 {
		t.Errorf("JSON %+v: want mode exhaustive, complete, states and two outcomes", rep)
	}
	code, out, _ = cli("run", "-policy", "hang", "-schedule", strings.TrimPrefix(rep.Outcomes["deadlock"].Schedule, "schedule "), ok)
	if code != 0 || !strings.Contains(out, "outcome: deadlock") {
		t.Errorf("the deadlock witness does not replay through run: exit %d\n%s", code, out)
	}
}

// explore -exhaustive -reduce proves the same outcome set from fewer
// states and says so; -reduce without -exhaustive is a usage error.
func TestExploreExhaustiveReduce(t *testing.T) {
	dir := t.TempDir()
	f := writeScenario(t, dir, "io.scn", testscn.IOContention("io"))
	checkCLI(t, []cliCase{
		{[]string{"explore", "-exhaustive", "-reduce", "-policy", "hang", f}, 0, "states after partial-order reduction, the outcome set is proved"},
		{[]string{"explore", "-reduce", f}, 2, "-reduce applies to -exhaustive"},
	})
	states := func(args ...string) (int, map[string]json.RawMessage) {
		code, out, _ := cli(append([]string{"explore", "-exhaustive", "-json", "-policy", "hang"}, append(args, f)...)...)
		var rep struct {
			States   int                        `json:"states"`
			Outcomes map[string]json.RawMessage `json:"outcomes"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
			t.Fatalf("exit %d, %v: %s", code, err, out)
		}
		return rep.States, rep.Outcomes
	}
	full, fo := states()
	reduced, ro := states("-reduce")
	if reduced >= full || len(ro) != len(fo) {
		t.Errorf("-reduce: %d states and %d outcomes, without: %d states and %d outcomes", reduced, len(ro), full, len(fo))
	}
	for o := range fo {
		if ro[o] == nil {
			t.Errorf("-reduce lost outcome %s", o)
		}
	}
}
