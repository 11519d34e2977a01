package campaign

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var lockScenario = testscn.LockLoop("held lock") + "expect hang: clean\n"

// An exhaustive campaign proves small cells and does not sample them; an
// outcome the proof finds outside the expect lines is unexpected (here
// the deadlock the expect line leaves out), with a crasher from its
// witness. A cell whose search hits the bound is sampled instead.
func TestExhaustiveCampaign(t *testing.T) {
	s, err := scenario.Parse("x.scn", []byte(lockScenario))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: filepath.Join(t.TempDir(), "c"), Policies: []string{"hang"}, RunsPerCell: 3, Exhaustive: true,
		Scenarios: []Scenario{{Name: "x", Scenario: s}}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Cells[0]
	// Thread.start() returns once d has begun, so d always holds L when
	// teardown wants it (v2): deadlock is the only outcome.
	if !c.Proved || c.Runs != 0 || !slices.Equal(c.Outcomes, []string{"deadlock"}) || sum.OK {
		t.Fatalf("proved cell: %+v, ok %v", c, sum.OK)
	}
	if len(sum.Unexpected) != 1 || sum.Unexpected[0].Outcome != "deadlock" || sum.Unexpected[0].Crasher == "" {
		t.Errorf("unexpected: %+v", sum.Unexpected)
	}

	cfg.Dir, cfg.MaxStates = filepath.Join(t.TempDir(), "d"), 5
	sum, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Cells[0]; c.Proved || c.Runs != 3 || c.States != 5 {
		t.Errorf("bounded cell: %+v, want not proved and sampled 3 times", c)
	}
}
