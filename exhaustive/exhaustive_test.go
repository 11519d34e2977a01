package exhaustive_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func parse(t *testing.T, src string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("test.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// covers reports whether the exhaustive set r holds o, an outcome that
// sampling found. A sampled budget (a run that ran out of steps) counts
// when the search found a cycle, which it reports as deadlock or budget.
func covers(r *exhaustive.Result, o runtime.Outcome) bool {
	if o == runtime.Budget {
		return r.Outcomes[runtime.Deadlock] != nil || r.Outcomes[runtime.Budget] != nil
	}
	return r.Outcomes[o] != nil
}

func explore1(t *testing.T, s *scenario.Scenario, policy string) *exhaustive.Result {
	t.Helper()
	r, err := exhaustive.Explore(s, exhaustive.Options{Policy: policy, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete {
		t.Fatalf("%s: search incomplete after %d states: %s", policy, r.States, r.Reason)
	}
	for _, o := range r.Seen() {
		if err := exhaustive.CheckWitness(s, policy, r.Outcomes[o]); err != nil {
			t.Errorf("%s %s: %v", policy, o, err)
		}
	}
	return r
}

func seen(r *exhaustive.Result) string {
	var out []string
	for _, o := range r.Seen() {
		out = append(out, string(o))
	}
	return strings.Join(out, ",")
}

// The event-wait hang: teardown waits for an event that only a daemon
// sets, and the daemon is stopped by the policy when it retakes the GIL
// after its io; an unrelated foreign thread spins for ever. No thread can
// ever set the event, so under hang, unwind and terminate main is blocked
// for good while f runs: deadlock (spec v2, "deadlock includes livelock"),
// never budget, and the report names the event.
const eventWaitHang = `scenario "event wait hang"
main {
  spawn d
  spawn f
  work 3
}
daemon d {
  io
  set done
}
foreign f {
  forever {
    io
  }
}
teardown {
  wait done
}`

func TestEventWaitHangIsDeadlock(t *testing.T) {
	s := parse(t, eventWaitHang)
	for _, p := range []string{"hang", "unwind", "terminate"} {
		r := explore1(t, s, p)
		if got := seen(r); got != "clean,deadlock" {
			t.Errorf("%s: outcomes %s, want clean,deadlock", p, got)
			continue
		}
		// The controller itself sees that no live thread can still set
		// done (runtime/liveness.go) and ends the run as a deadlock.
		w := r.Outcomes[runtime.Deadlock]
		if !strings.HasPrefix(w.Result.Report.Kind, runtime.KindDeadlock) || !strings.Contains(w.Result.Report.Message, "event done") || w.Result.Report.Phase != "teardown" {
			t.Errorf("%s: deadlock report %+v, want a deadlock naming event done in teardown", p, w.Result.Report)
		}
	}
}

// A livelock the controller cannot see by itself: the thread that would
// set done may still do so in its code (after an until loop), but on every
// fair path it loops for ever, because the event that ends the loop is
// never set. Only the search's fair cycles show that main never moves.
func TestFairCycleLivelockIsDeadlock(t *testing.T) {
	s := parse(t, `scenario "livelock"
main {
  spawn g
  work 1
}
daemon g {
  until stop {
    io
  }
  set done
}
teardown {
  wait done
}`)
	for _, p := range []string{"hang", "unwind", "terminate"} {
		r := explore1(t, s, p)
		w := r.Outcomes[runtime.Deadlock]
		if w == nil {
			t.Errorf("%s: outcomes %s, want a deadlock", p, seen(r))
			continue
		}
		if r.Outcomes[runtime.Budget] != nil {
			t.Errorf("%s: outcomes %s: a livelock must not be budget", p, seen(r))
		}
	}
}

// An endless loop on main's own path is budget: main steps in the cycle.
func TestMainLoopIsBudget(t *testing.T) {
	s := parse(t, `scenario "main spins"
main {
  forever {
    work 1
  }
}`)
	r := explore1(t, s, "hang")
	if got := seen(r); got != "budget" {
		t.Fatalf("outcomes %s, want budget", got)
	}
	if w := r.Outcomes[runtime.Budget]; w.Result.Report.Kind != exhaustive.KindMainLoops {
		t.Errorf("report %+v, want %s", w.Result.Report, exhaustive.KindMainLoops)
	}
}

// A daemon that spins for ever is not a hang: main can always go on, and a
// cycle in which main is enabled but never steps is not fair.
func TestSpinningDaemonIsNotAHang(t *testing.T) {
	s := parse(t, `scenario "daemon spins"
main {
  spawn d
  work 2
}
daemon d {
  forever {
    work 1
  }
}`)
	for _, p := range scenario.Policies {
		r := explore1(t, s, p)
		if r.Outcomes[runtime.Deadlock] != nil || r.Outcomes[runtime.Budget] != nil {
			t.Errorf("%s: outcomes %s: an unfair cycle was reported", p, seen(r))
		}
	}
}

// A daemon that holds the GIL and spins without a bytecode step (yield
// honours no drop request) starves main for good: deadlock.
func TestGILHoggingDaemonIsDeadlock(t *testing.T) {
	s := parse(t, `scenario "daemon hogs the GIL"
main {
  spawn d
  io
}
daemon d {
  forever {
    yield
  }
}`)
	r := explore1(t, s, "hang")
	if r.Outcomes[runtime.Deadlock] == nil {
		t.Fatalf("outcomes %s, want a deadlock", seen(r))
	}
	if msg := r.Outcomes[runtime.Deadlock].Result.Report.Message; !strings.Contains(msg, "the GIL") {
		t.Errorf("report %q does not name the GIL", msg)
	}
}

// A bound that is hit gives Complete false with a reason, never a proof.
func TestBoundIsIncomplete(t *testing.T) {
	s := parse(t, eventWaitHang)
	r, err := exhaustive.Explore(s, exhaustive.Options{Policy: "hang", MaxStates: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || r.States > 10 || !strings.Contains(r.Reason, "10 states") {
		t.Errorf("complete %v, %d states, reason %q: want incomplete at 10", r.Complete, r.States, r.Reason)
	}
	rep, err := explore.Policy(s, "hang", explore.Options{Exhaustive: true, MaxStates: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Complete || !strings.Contains(rep.Text(), "INCOMPLETE") {
		t.Errorf("explore report does not say it is incomplete:\n%s", rep.Text())
	}
}

// The same scenario gives the same states, transitions and witnesses.
func TestDeterministic(t *testing.T) {
	s := parse(t, eventWaitHang)
	a := explore1(t, s, "unwind")
	b := explore1(t, s, "unwind")
	if a.States != b.States || a.Edges != b.Edges || a.Runs != b.Runs {
		t.Errorf("states/edges/runs %d/%d/%d then %d/%d/%d", a.States, a.Edges, a.Runs, b.States, b.Edges, b.Runs)
	}
	for o, w := range a.Outcomes {
		if v := b.Outcomes[o]; v == nil || !slices.Equal(w.Schedule, v.Schedule) || w.Count != v.Count {
			t.Errorf("%s: witnesses differ", o)
		}
	}
}

// CheckWitness fails a witness that does not show its outcome (a known
// positive for the witness check).
func TestCheckWitnessFails(t *testing.T) {
	s := parse(t, eventWaitHang)
	r := explore1(t, s, "hang")
	w := *r.Outcomes[runtime.Clean]
	w.Schedule = append(slices.Clone(w.Schedule[:len(w.Schedule)-3]), 1-w.Schedule[len(w.Schedule)-3])
	if exhaustive.CheckWitness(s, "hang", &w) == nil {
		t.Error("a cut and altered clean witness passed")
	}
	d := *r.Outcomes[runtime.Deadlock]
	d.Schedule = d.Schedule[:len(d.Schedule)-1]
	if exhaustive.CheckWitness(s, "hang", &d) == nil {
		t.Error("a lasso without the end of its cycle passed")
	}
}

// Every outcome that sampling finds (random and PCT, 1000 seeds per
// policy) is in the exhaustive set; a sampled budget must be a cycle the
// search found.
func TestContainsSampledOutcomes(t *testing.T) {
	srcs := []string{eventWaitHang, `scenario "two lockers"
main {
  spawn a
  lock L
  work 2
  unlock L
  join a
}
thread a {
  lock L
  io
  unlock L
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
}`}
	runs := 1000
	if testing.Short() {
		runs = 300
	}
	for i, src := range srcs {
		s := parse(t, src)
		for _, p := range scenario.Policies {
			r := explore1(t, s, p)
			rep, err := explore.Policy(s, p, explore.Options{Runs: runs, MaxSteps: 5000})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range rep.Seen() {
				if !covers(r, o) {
					t.Errorf("scenario %d %s: sampling found %s (%s), the exhaustive set is %s", i, p, o, rep.Outcomes[o].Schedule, seen(r))
				}
			}
		}
	}
}

// A heap that grows for ever gives ever larger states; the bound on a
// key's size stops the search long before MaxStates, as incomplete.
func TestGrowingHeapIsIncomplete(t *testing.T) {
	s := parse(t, `scenario "grows"
main {
  forever {
    new X
    publish X
  }
}`)
	r, err := exhaustive.Explore(s, exhaustive.Options{Policy: "hang", MaxKeyBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || !strings.Contains(r.Reason, "outgrew 1024 bytes") {
		t.Errorf("complete %v after %d states (%s): want the key bound", r.Complete, r.States, r.Reason)
	}
}
