package runtime_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parse(t testing.TB, src string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("test.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reach returns the outcomes (and report kinds) seen over runs schedules.
func reach(t *testing.T, s *scenario.Scenario, policy string, runs int) map[string]bool {
	t.Helper()
	rep, err := explore.Policy(s, policy, explore.Options{Runs: runs})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for o, w := range rep.Outcomes {
		seen[string(o)] = true
		seen[string(o)+"/"+w.Result.Report.Kind] = true
	}
	return seen
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var eventWaitHang = testscn.EventWaitHang("event-wait hang")

// Each case names outcomes (or outcome/kind pairs) that must be reachable
// and ones that must not be.
var semantics = []struct {
	name, src, policy string
	want, never       []string
}{
	{
		name: "exit loses cleanup", policy: "exit",
		src: `scenario "x"
main { spawn d
  work 2 }
daemon d { forever { io } }`,
		want: []string{"clean", "lost-cleanup/process-exit"}, never: []string{"abort", "deadlock"},
	},
	{
		name: "abort policy aborts", policy: "abort",
		src: `scenario "x"
main { spawn d
  work 2 }
daemon d { forever { io } }`,
		want: []string{"clean", "abort/policy-abort"}, never: []string{"lost-cleanup"},
	},
	{
		name: "hang keeps a held lock: deadlock", policy: "hang",
		src:  testscn.HeldLock("x"),
		want: []string{"clean", "deadlock/deadlock-on-hung"}, never: []string{"corruption", "abort"},
	},
	{
		name: "unwind: RAII DECREF without the GIL", policy: "unwind",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { new X
  native { hold X
    set started
    io } }`,
		want: []string{"clean", "corruption/no-gil"}, never: []string{"abort"},
	},
	{
		name: "unwind through noexcept aborts", policy: "unwind",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { native noexcept { set started
    io } }`,
		want: []string{"clean", "abort/noexcept"}, never: []string{"corruption"},
	},
	{
		name: "catch(...) swallows the unwind", policy: "unwind",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { native catchall { set started
    io } }`,
		want: []string{"clean", "corruption/swallowed-unwind"}, never: []string{"abort"},
	},
	{
		name: "catch(...) under glibc aborts", policy: "unwind",
		src: `scenario "x"
preset glibc
main { spawn d
  wait started }
daemon d { native catchall { set started
    io } }`,
		want: []string{"clean", "abort/not-rethrown"}, never: []string{"corruption"},
	},
	{
		name: "terminate frees a stack others use", policy: "terminate",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { local node
  publish node
  set started
  forever { io } }
teardown { use node }`,
		want: []string{"clean", "corruption/stack-use-after-free"}, never: []string{"deadlock"},
	},
	{
		name: "hang keeps the stack: no use after free", policy: "hang",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { local node
  publish node
  set started
  forever { io } }
teardown { use node }`,
		want: []string{"clean"}, never: []string{"corruption", "deadlock"},
	},
	{
		name: "stdout lock held by a hung daemon: fatal error (bpo-23309)", policy: "hang",
		src: `scenario "x"
main { spawn d
  wait started }
daemon d { set started
  forever { print flush "."
    io } }`,
		want: []string{"clean", "abort/fatal-stdout-lock"}, never: []string{"deadlock"},
	},
	{
		name: "gh-96387: 3.10.7 waiter exits without resetting its drop request", policy: "hang",
		src: `scenario "x"
preset cpython-3.10.7
main { spawn d
  wait started }
daemon d { set started
  forever { io } }
teardown { work 4 }`,
		want: []string{"clean", "deadlock/deadlock-on-hung"},
	},
	{
		name: "gh-96387 fixed in 3.12", policy: "hang",
		src: `scenario "x"
preset cpython-3.12
main { spawn d
  wait started }
daemon d { set started
  forever { io } }
teardown { work 4 }`,
		want: []string{"clean"}, never: []string{"deadlock"},
	},
	{
		name: "gh-124619: ensure after thread states are freed", policy: "hang",
		src: `scenario "x"
main { spawn f
  yield }
foreign f { yield
  yield
  ensure
  unensure }`,
		want: []string{"clean", "corruption/tstate-use-after-free"},
	},
	{
		name: "guard is finalizing-safe", policy: "hang",
		src: `scenario "x"
main { new X
  publish X
  incref X
  spawn d }
daemon d { io
  guard X }`,
		want: []string{"clean"}, never: []string{"corruption"},
	},
	{
		name: "callback return breaks the contract", policy: "hang",
		src: `scenario "x"
callback return
main { spawn d
  wait started }
daemon d { set started
  forever { io } }`,
		want: []string{"clean", "contract/callback-returned"},
	},
	{
		name: "a spinning daemon never starves main into budget", policy: "hang",
		src: `scenario "x"
main { spawn d
  work 20
  io
  work 20 }
daemon d { forever { work 1 } }`,
		want: []string{"clean"}, never: []string{"budget"},
	},
	{
		name: "main looping for ever is budget", policy: "hang",
		src: `scenario "x"
main { forever { yield } }`,
		want: []string{"budget/budget"},
	},
	// Liveness in sampled mode (spec v2 "Deadlock includes livelock"):
	// main blocked for good is a deadlock at once, whatever
	// spins elsewhere; budget is never reached.
	{
		name: "event-wait hang: teardown waits on an event only a hung daemon would set", policy: "hang",
		src: eventWaitHang, want: []string{"deadlock/deadlock-on-hung"}, never: []string{"budget", "clean"},
	},
	{
		name: "event-wait hang under unwind", policy: "unwind",
		src: eventWaitHang, want: []string{"deadlock/deadlock-on-ended"}, never: []string{"budget"},
	},
	{
		name: "event-wait hang under terminate", policy: "terminate",
		src: eventWaitHang, want: []string{"deadlock/deadlock-on-ended"}, never: []string{"budget"},
	},
	{
		name: "a join that can never return (3.13 joins a hung thread for ever), while a foreign thread spins", policy: "hang",
		src: `scenario "x"
preset cpython-3.13
main { spawn f
  spawn d }
daemon d { forever { io } }
foreign f { forever { yield } }
teardown { join d }`,
		want: []string{"deadlock/deadlock-on-hung"}, never: []string{"budget"},
	},
	{
		name: "a lock held by a terminated thread, while a foreign thread spins", policy: "terminate",
		src: `scenario "x"
main { spawn f
  spawn d
  wait locked }
daemon d { lock L
  set locked
  forever { io } }
foreign f { forever { yield } }
teardown { lock L }`,
		want: []string{"deadlock/deadlock-on-ended"}, never: []string{"budget"},
	},
	{
		name: "an event no thread sets, while a foreign thread spins", policy: "hang",
		src: `scenario "x"
main { spawn f
  wait never }
foreign f { forever { yield } }`,
		want: []string{"deadlock/deadlock"}, never: []string{"budget"},
	},
	{
		name: "an event only a thread main would start later sets, while a foreign thread spins", policy: "hang",
		src: `scenario "x"
main { spawn f
  wait go
  spawn d }
daemon d { set go }
foreign f { forever { yield } }`,
		want: []string{"deadlock/deadlock"}, never: []string{"budget", "clean"},
	},
	{
		name: "an event set by a thread another live thread starts later is no deadlock", policy: "hang",
		src: `scenario "x"
main { spawn s
  wait go }
daemon s { loop 20 { yield }
  spawn d
  forever { io } }
daemon d { set go }`,
		want: []string{"clean"}, never: []string{"deadlock", "budget"},
	},
	{
		name: "an event a thread sets after spinning a while is no deadlock", policy: "hang",
		src: `scenario "x"
main { spawn f
  wait go }
foreign f { loop 30 { yield }
  set go
  forever { yield } }`,
		want: []string{"clean"}, never: []string{"deadlock", "budget"},
	},
	{
		name: "release without the GIL is fatal", policy: "hang",
		src: `scenario "x"
main { release
  release }`,
		want: []string{"abort/fatal-release"},
	},
	{
		name: "acquire twice deadlocks", policy: "hang",
		src: `scenario "x"
main { acquire }`,
		want: []string{"deadlock/deadlock"},
	},
}

func TestSemantics(t *testing.T) {
	for _, c := range semantics {
		t.Run(c.name, func(t *testing.T) {
			checkSeen(t, reach(t, parse(t, c.src), c.policy, 400), c.want, c.never)
		})
	}
}

// checkSeen reports each of want that seen lacks and each of never it has.
func checkSeen(t *testing.T, seen map[string]bool, want, never []string) {
	t.Helper()
	for _, w := range want {
		if !seen[w] {
			t.Errorf("%s not reached; seen %v", w, keys(seen))
		}
	}
	for _, n := range never {
		if seen[n] {
			t.Errorf("%s reached; seen %v", n, keys(seen))
		}
	}
}

const detScenario = `scenario "determinism"
main { spawn d
  spawn f
  new X
  publish X
  work 5
  print "bye" }
daemon d { new Y
  native { hold Y
    cleanup { unlock L }
    lock L
    forever { io } } }
foreign f { ensure
  use X
  unensure }
teardown { use X
  lock L }`

// The same scenario, policy and schedule give byte-identical output, 1000
// times out of 1000.
func TestDeterminism(t *testing.T) {
	s := parse(t, detScenario)
	for _, policy := range scenario.Policies {
		for _, sch := range []*scenario.Schedule{explore.Schedule(7), explore.Schedule(8)} {
			var first []byte
			for i := 0; i < 1000; i++ {
				r, err := runtime.Run(s, runtime.Config{Policy: policy, Schedule: sch, Trace: true})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(r)
				b = append(b, r.Text()...)
				if i == 0 {
					first = b
				} else if string(b) != string(first) {
					t.Fatalf("%s %v: run %d differs:\n%s\nvs\n%s", policy, sch, i, b, first)
				}
			}
		}
	}
}

// Replaying the recorded schedule of a random or PCT run reproduces it.
func TestReplayReproduces(t *testing.T) {
	s := parse(t, detScenario)
	for _, policy := range scenario.Policies {
		for i := 0; i < 200; i++ {
			r, _ := runtime.Run(s, runtime.Config{Policy: policy, Schedule: explore.Schedule(i)})
			again, _ := runtime.Run(s, runtime.Config{Policy: policy, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: r.Schedule}})
			if again.Outcome != r.Outcome || again.Report != r.Report || !reflect.DeepEqual(again.Schedule, r.Schedule) || again.Diverged != -1 {
				t.Fatalf("%s run %d: replay gave %s (%s), recorded %s (%s)", policy, i, again.Outcome, again.Report.Message, r.Outcome, r.Report.Message)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	s := parse(t, `scenario "x"
main { yield }`)
	if _, err := runtime.Run(s, runtime.Config{Policy: "bogus"}); !errors.Is(err, runtime.ErrUsage) {
		t.Errorf("unknown policy: err = %v, want ErrUsage", err)
	}
	if _, err := runtime.LookupPreset([]string{"cpython-2.7"}); err == nil {
		t.Errorf("unknown preset accepted")
	}
}

// The runtime's names agree with the language's.
func TestNamesAgree(t *testing.T) {
	// Outcomes: TestOutcomesAreTheClasses.
	for _, p := range scenario.Presets {
		if _, err := runtime.LookupPreset([]string{p}); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
}
