package grid

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// entry parses one of report's test scenarios: hostile.scn (its name is
// markup) expects hang: clean but can deadlock; small.scn.
func entry(t *testing.T, name string) Entry {
	t.Helper()
	f := testscn.Files(t, "../report/testdata/"+name)
	if len(f) != 1 {
		t.Fatalf("no file %s", name)
	}
	return Entry{File: f[0].Path, Scenario: f[0].Scenario}
}

func loadEntries(t *testing.T) []Entry {
	return []Entry{entry(t, "hostile.scn"), entry(t, "small.scn")}
}

func TestBuild(t *testing.T) {
	m, err := Build(loadEntries(t), []string{"abort", "hang", "terminate"}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 2 || len(m.Rows[0].Cells) != 3 {
		t.Fatalf("matrix is %d rows", len(m.Rows))
	}
	if m.OK() {
		t.Errorf("OK() = true; the hostile scenario expects hang: clean but can deadlock")
	}
	hang := m.Rows[0].Cells[1]
	if hang.Policy != "hang" || !reflect.DeepEqual(hang.Unexpected, []string{"deadlock"}) || !hang.IsUnexpected("deadlock") {
		t.Errorf("hostile/hang: %+v", hang)
	}
	if term := m.Rows[0].Cells[2]; len(term.Expected) != 0 || len(term.Unexpected) != 0 {
		t.Errorf("hostile/terminate has no expect line, got expected %v unexpected %v", term.Expected, term.Unexpected)
	}
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			total := 0
			for _, o := range c.Outcomes {
				total += c.Counts[o]
				w := c.Witnesses[o]
				if w == nil || w.Count != c.Counts[o] || w.Outcome != o || w.Note != "" {
					t.Errorf("%s/%s/%s: witness %+v", row.ID, c.Policy, o, w)
					continue
				}
				if !strings.HasPrefix(w.Schedule, "schedule replay") || !strings.Contains(w.Command, "-policy "+c.Policy+" -schedule 'replay ") {
					t.Errorf("%s/%s/%s: schedule %q command %q", row.ID, c.Policy, o, w.Schedule, w.Command)
				}
				if len(w.Timeline.Lanes) != 2 || w.Timeline.End.Outcome != o {
					t.Errorf("%s/%s/%s: timeline %+v", row.ID, c.Policy, o, w.Timeline)
				}
			}
			if total != c.Runs || c.Runs != 40 {
				t.Errorf("%s/%s: counts %v add to %d of %d runs", row.ID, c.Policy, c.Counts, total, c.Runs)
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	entries := loadEntries(t)
	if _, err := Build(entries, []string{"nope"}, 1); err == nil {
		t.Error("Build accepted policy nope")
	}
	if _, err := Build(entries, nil, 0); err == nil {
		t.Error("Build accepted 0 runs")
	}
	m, err := Build(entries[1:], nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Policies) != len(scenario.Policies) {
		t.Errorf("no policies should mean all, got %v", m.Policies)
	}
}
