package explore

import (
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var src = testscn.HeldLock("x") + "expect hang: clean\n"

func TestPolicyIsDeterministicAndChecksExpectLines(t *testing.T) {
	s, err := scenario.Parse("x.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Policy(s, "hang", Options{Runs: 300})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Policy(s, "hang", Options{Runs: 300})
	if a.Text() != b.Text() || !reflect.DeepEqual(a.Seen(), b.Seen()) {
		t.Errorf("two explorations differ:\n%s\n%s", a.Text(), b.Text())
	}
	if a.OK() || !reflect.DeepEqual(a.Unexpected, []string{"deadlock"}) {
		t.Errorf("unexpected = %v, want [deadlock]", a.Unexpected)
	}
	total := 0
	for _, w := range a.Outcomes {
		total += w.Count
	}
	if total != 300 || a.Runs != 300 {
		t.Errorf("counted %d of %d runs", total, a.Runs)
	}
	if _, err := Policies("bogus"); err == nil {
		t.Errorf("Policies accepted bogus")
	}
	if ps, _ := Policies("all"); len(ps) != 5 {
		t.Errorf("all = %v", ps)
	}
}

// The mix alternates random and PCT of depths 1 to 3.
func TestScheduleMix(t *testing.T) {
	kinds := map[scenario.ScheduleKind]int{}
	depths := map[int]bool{}
	for i := 0; i < 12; i++ {
		s := Schedule(i)
		kinds[s.Kind]++
		if s.Kind == scenario.SchedulePCT {
			depths[s.Depth] = true
		}
	}
	if kinds[scenario.ScheduleRandom] != 6 || kinds[scenario.SchedulePCT] != 6 || len(depths) != 3 {
		t.Errorf("mix %v depths %v", kinds, depths)
	}
}

// A plain 3.12 daemon's corruption is only the take_gil window
// (cpython#110052): explore marks it and says the scenario is clean apart
// from CPython's own defects; a scenario whose own code fails is not.
func TestCleanApartFromDefects(t *testing.T) {
	s, err := scenario.Parse("d.scn", []byte("scenario \"d\"\npreset cpython-3.12\nmain {\n  spawn d\n  work 2\n}\ndaemon d { forever { io } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Policy(s, "unwind", Options{Runs: 400})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.CleanApartFromDefects(); !reflect.DeepEqual(got, []string{"cpython#110052"}) {
		t.Fatalf("clean apart from %v, want [cpython#110052]: %s", got, rep.Text())
	}
	if text := rep.Text(); !strings.Contains(text, "CPYTHON DEFECT ONLY (cpython#110052)") || !strings.Contains(text, "clean apart from CPython's own defects (cpython#110052)") {
		t.Errorf("the text does not mark the defect:\n%s", text)
	}
	held, _ := scenario.Parse("x.scn", []byte(src))
	if rep, _ := Policy(held, "hang", Options{Runs: 50}); rep.CleanApartFromDefects() != nil {
		t.Errorf("a deadlock of the scenario's own reads as clean apart from defects")
	}
}
