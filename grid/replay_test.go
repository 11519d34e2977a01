package grid

import (
	"reflect"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// A witness whose replay another cell ran (it met no policy) has the
// timeline, trace tail and outcome of its own replay under its cell's
// policy. small.scn's thread is not a daemon, so no policy comes into its
// canonical witnesses and its cells share their replays; hostile.scn's
// daemon meets the policy, so its cells replay their own.
func TestSharedReplaysAreTheCellsOwn(t *testing.T) {
	entries := loadEntries(t)
	m, err := BuildWith(entries, nil, Options{Runs: 1, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for r, row := range m.Rows {
		for _, c := range row.Cells {
			for _, o := range c.Outcomes {
				w := c.Witnesses[o]
				sch, err := scenario.ParseSchedule(w.Schedule)
				if err != nil {
					t.Fatal(err)
				}
				own, _, err := tracedReplay(entries[r].Scenario, c.Policy, sch.Choices, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(own.timeline, w.Timeline) || !reflect.DeepEqual(own.tail, w.Tail) || string(own.outcome) != o || w.Note != "" {
					t.Errorf("%s/%s/%s: the witness differs from its own replay", row.ID, c.Policy, o)
				}
				// A shared replay: the first cell's timeline itself.
				if first := row.Cells[0].Witnesses[o]; first != nil && first != w && &first.Timeline.Lanes[0] == &w.Timeline.Lanes[0] {
					shared++
				}
			}
		}
	}
	if shared == 0 {
		t.Error("no cell took another's replay")
	}
}
