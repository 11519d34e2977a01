package runtime_test

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// kinds runs s under policy on schedules 0..runs-1 and returns every
// outcome and outcome/kind seen.
func kinds(t *testing.T, src, policy string, runs int) map[string]bool {
	t.Helper()
	s := parse(t, src)
	seen := map[string]bool{}
	for i := range runs {
		r, err := runtime.Run(s, runtime.Config{Policy: policy, Schedule: explore.Schedule(i), MaxSteps: 20000})
		if err != nil {
			t.Fatal(err)
		}
		seen[string(r.Outcome)] = true
		seen[string(r.Outcome)+"/"+r.Report.Kind] = true
	}
	return seen
}

// v2Case: outcomes (or outcome/kind) that must be reached, and ones that
// must never be, over runs schedules.
type v2Case struct {
	name, src, policy string
	runs              int
	want, never       []string
}

func (c v2Case) check(t *testing.T) {
	t.Helper()
	runs := c.runs
	if runs == 0 {
		runs = 200
	}
	checkSeen(t, kinds(t, c.src, c.policy, runs), c.want, c.never)
}

func runV2(t *testing.T, cases []v2Case) {
	for _, c := range cases {
		t.Run(c.name, c.check)
	}
}

// after_finalize stands for Py_AtExit functions, atexit(3) handlers and C++
// static destructors, which run after Py_FinalizeEx returned
// (cpython-faithfulness.md section 12): the interpreter is gone.
func TestAfterFinalizeStaticDestructor(t *testing.T) {
	runV2(t, []v2Case{
		{name: "touching an object is corruption", policy: "hang", src: `scenario "x"
main { new X }
after_finalize { use X }`, want: []string{"corruption/after-finalize"}, never: []string{"clean"}},
		{name: "a debug build aborts instead", policy: "hang", src: `scenario "x"
preset debug
main { new X }
after_finalize { decref X }`, want: []string{"abort/fatal-no-gil"}, never: []string{"corruption", "clean"}},
		{name: "C-level set and unlock are fine", policy: "hang", src: `scenario "x"
main { lock L }
after_finalize {
  set E
  unlock L
  yield
}`, want: []string{"clean"}, never: []string{"corruption", "abort", "deadlock"}},
		// A thread pool's destructor wakes a worker that re-enters the C
		// API: its PyGILState_Ensure builds a thread state in a freed
		// interpreter (gh-124619, grpc#17621).
		{name: "a woken worker's ensure is corruption", policy: "hang", src: `scenario "x"
main { spawn f }
foreign f {
  wait wake
  ensure
  unensure
}
after_finalize {
  set wake
  join f
}`, want: []string{"corruption/tstate-use-after-free"}, never: []string{"clean"}},
		{name: "acquire is corruption", policy: "hang", src: `scenario "x"
main { yield }
after_finalize { acquire }`, want: []string{"corruption/tstate-use-after-free"}, never: []string{"clean", "deadlock"}},
	})
}

// if finalizing is Py_IsFinalizing(): true once the flag is set, and a
// time-of-check race with it (the guard of gh-124619-style code).
func TestIfFinalizingPyIsFinalizing(t *testing.T) {
	runV2(t, []v2Case{
		{name: "true after the flag", policy: "hang", src: `scenario "x"
main { spawn f }
foreign f {
  wait go
  if finalizing { set yes } else { set no }
}
teardown {
  set go
  wait yes
}`, want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "false before it", policy: "hang", src: `scenario "x"
main {
  spawn f
  set go
  wait no
}
foreign f {
  wait go
  if finalizing { set yes } else { set no }
}`, want: []string{"clean"}, never: []string{"deadlock"}},
		// The check and the ensure it guards race with finalization.
		{name: "the guard races with the flag", policy: "hang", runs: 400, src: `scenario "x"
main { spawn f }
foreign f {
  if finalizing { yield } else {
    ensure
    unensure
  }
}`, want: []string{"clean", "corruption/tstate-use-after-free"}},
	})
}

// until E is "poll until the shutdown event is set": the event is checked
// before each pass.
func TestUntilPollsEvent(t *testing.T) {
	runV2(t, []v2Case{
		{name: "stops once set", policy: "hang", src: `scenario "x"
main {
  spawn w
  work 2
  set stop
  join w
}
thread w { until stop { work 1 } }`, want: []string{"clean"}, never: []string{"budget", "deadlock"}},
		{name: "checked before the first pass", policy: "hang", src: `scenario "x"
main {
  set E
  until E { exit 3 }
}`, want: []string{"clean"}, never: []string{"abort", "corruption"}},
		{name: "never set: main never finishes", policy: "hang", src: `scenario "x"
main {
  spawn w
  join w
}
thread w { until stop { work 1 } }`, never: []string{"clean"}},
	})
	r, err := runtime.Run(parse(t, "scenario \"x\"\nmain {\n  set E\n  until E { exit 3 }\n}\n"), runtime.Config{})
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("until ran its body with E set: exit code %d, %v", r.ExitCode, err)
	}
}

// cleanup unwind runs only when the forced unwind (pthread_exit's
// abi::__forced_unwind) passes through the frame, not when it returns.
func TestCleanupUnwindOnlyOnForcedUnwind(t *testing.T) {
	runV2(t, []v2Case{
		// On the normal path a release here would leave the thread
		// without the GIL: corruption if the block ran.
		{name: "not on return", policy: "unwind", src: `scenario "x"
main {
  spawn t
  join t
}
thread t { native { cleanup unwind { release } } }`, want: []string{"clean"}, never: []string{"corruption"}},
		{name: "on the unwind", policy: "unwind", src: `scenario "x"
main {
  new X
  spawn d
  work 2
}
daemon d {
  native {
    cleanup unwind { decref X }
    forever { io }
  }
}`, want: []string{"clean", "corruption/no-gil"}},
	})
}

// An exception out of a cleanup body ends that body; the frame's other
// items run, and the frame is left before the exception goes on (spec
// v2, "Raising statements": native frames are left normally). A frame
// whose cleanup raised must not stay on the thread's frames: the next
// outermost frame's end is then main's, which checks the GIL. Here the
// spawn raises because the flag is set (gh-104690, 3.12+); the model
// kept the frame before this rule, and the run ended clean.
func TestRaiseOutOfCleanupLeavesItsFrame_gh104690(t *testing.T) {
	runV2(t, []v2Case{
		{name: "left", policy: "hang", runs: 1, src: `scenario "x"
preset cpython-3.14
main {
  yield
}
thread t {
  yield
}
teardown {
  native {
    cleanup { spawn t }
  }
}
teardown {
  native { release }
  acquire
}`, want: []string{"corruption/no-gil"}, never: []string{"clean"}},
	})
}

// park is a guard that parks the thread instead of letting it unwind: it
// keeps its stack and locks for ever.
func TestParkKeepsStackAndLocks(t *testing.T) {
	runV2(t, []v2Case{
		{name: "a parked lock holder is a deadlock on a hung thread", policy: "hang", src: `scenario "x"
main {
  spawn d
  wait locked
  lock L
}
daemon d {
  lock L
  set locked
  park
}`, want: []string{"deadlock/deadlock-on-hung"}, never: []string{"clean"}},
		// The smart pointer's DECREF without the GIL never runs: the
		// guard parks first (cleanup items run last registered first).
		{name: "a parked guard saves the unwind", policy: "unwind", src: `scenario "x"
main {
  new X
  spawn d
  work 2
}
daemon d {
  native {
    hold X
    cleanup unwind { park }
    forever { io }
  }
}`, want: []string{"clean"}, never: []string{"corruption"}},
		{name: "without the guard: corruption", policy: "unwind", src: `scenario "x"
main {
  new X
  spawn d
  work 2
}
daemon d {
  native {
    hold X
    forever { io }
  }
}`, want: []string{"corruption/no-gil"}},
	})
}

// atthreadexit is a thread-local destructor. Plain atthreadexit is
// Python-level state: it runs at a normal end, or on main where
// finalization clears the thread's state (3.8 at step 7, 3.9-3.15 right
// after the flag: PyThreadState_Clear drops tstate->dict). atthreadexit
// native (C++ thread_local, pthread keys) runs on the thread at a normal
// end, after the forced unwind and at _endthreadex, never at a hang and
// never on main (spec v3; TestAtThreadExitNative_specV3 has the matrix).
func TestAtThreadExitThreadLocalDestructors(t *testing.T) {
	daemon := func(mod string) string {
		return `
main {
  spawn d
  wait registered
}
daemon d {
  atthreadexit ` + mod + `{ set dtor }
  set registered
  forever { io }
}
after_finalize { wait dtor }`
	}
	runV2(t, []v2Case{
		{name: "normal end", policy: "hang", src: `scenario "x"
main {
  spawn t
  join t
  wait dtor
}
thread t { atthreadexit { set dtor } }`, want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "native after the forced unwind", policy: "unwind", src: `scenario "x"
main {
  spawn d
  wait registered
}
daemon d {
  atthreadexit native { set dtor }
  set registered
  forever { io }
}
teardown { wait dtor }`, want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "native at terminate (_endthreadex)", policy: "terminate", src: "scenario \"x\"\npreset cpython-3.14" + daemon("native "),
			want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "native not at a hang", policy: "hang", src: "scenario \"x\"\npreset cpython-3.14" + daemon("native "),
			want: []string{"deadlock"}, never: []string{"clean"}},
		{name: "on main when 3.12 clears the thread state", policy: "hang", src: "scenario \"x\"\npreset cpython-3.12" + daemon(""),
			want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "on main when 3.14 clears the thread state", policy: "hang", src: "scenario \"x\"\npreset cpython-3.14" + daemon(""),
			want: []string{"clean"}, never: []string{"deadlock"}},
		{name: "on main, returning without the GIL", policy: "hang", src: `scenario "x"
preset cpython-3.12
main {
  spawn d
  print "buffered"
  wait registered
}
daemon d {
  atthreadexit {
    release
    acquire
    release
  }
  set registered
  forever { io }
}`, want: []string{"corruption/no-gil"}, never: []string{"clean"}},
		{name: "registered once", policy: "hang", src: `scenario "x"
main {
  spawn t
  join t
}
thread t {
  lock L
  loop 2 { atthreadexit { unlock L } }
}`, want: []string{"clean"}, never: []string{"corruption"}},
	})
}

// native nounwind is a Rust extern "C" frame: a forced unwind reaching it
// aborts (RFC 2945, rust-lang/rust#116088).
func TestNativeNounwindAborts(t *testing.T) {
	runV2(t, []v2Case{
		{name: "nounwind", policy: "unwind", src: `scenario "x"
main {
  spawn d
  work 2
}
daemon d { native nounwind { forever { io } } }`, want: []string{"abort/nounwind"}, never: []string{"corruption"}},
		{name: "plain native unwinds", policy: "unwind", src: `scenario "x"
main {
  spawn d
  work 2
}
daemon d { native { forever { io } } }`, want: []string{"clean"}, never: []string{"abort"}},
	})
}

// The debug facet: a DECREF without the GIL is a fatal error in a 3.12+
// debug build (_Py_EnsureTstateNotNULL) rather than silent corruption;
// TestDebugFacet_EnsureTstateNotNULL312_PyMemDebugFree has the rules by
// release.
func TestDebugBuildFatalWithoutGIL(t *testing.T) {
	body := `
main {
  new X
  spawn f
  join f
}
foreign f { decref X }`
	runV2(t, []v2Case{
		{name: "release build", policy: "hang", src: "scenario \"x\"" + body, want: []string{"corruption/no-gil"}, never: []string{"abort"}},
		{name: "debug build", policy: "hang", src: "scenario \"x\"\npreset cpython-3.12 debug" + body, want: []string{"abort/fatal-no-gil"}, never: []string{"corruption"}},
	})
}

// NAME[N] replicates a thread: "Twenty identical worker threads"; spawn
// and join of NAME address every copy.
func TestReplicatedThreads(t *testing.T) {
	s := parse(t, `scenario "x"
main {
  spawn w
  join w
  set joined
}
thread w[3] { work 2 }`)
	r, err := runtime.Run(s, runtime.Config{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != runtime.Clean || strings.Join(r.Threads, " ") != "main w0 w1 w2" {
		t.Fatalf("outcome %s, threads %v", r.Outcome, r.Threads)
	}
	starts, ends := 0, 0
	for _, e := range r.Events {
		switch {
		case e.Kind == runtime.EvStart && e.Thread > 0:
			starts++
		case e.Kind == runtime.EvEnd && e.Thread > 0:
			ends++
		case e.Kind == runtime.EvSet:
			if ends != 3 {
				t.Fatalf("join w returned after %d of 3 copies ended", ends)
			}
		}
	}
	if starts != 3 {
		t.Fatalf("%d copies started, want 3", starts)
	}
}

// The take_gil window (cpython#110052): in 3.9 to 3.13.x a daemon that
// passed take_gil's must-exit check before the flag and reads its thread
// state after finalization freed it dereferences freed memory (spec v3:
// 3.13.0 has the same code, research note section 14). 3.14 does not read
// it there.
func TestTakeGILWindowCpython110052(t *testing.T) {
	src := func(preset string) string {
		return "scenario \"x\"\npreset " + preset + `
main {
  spawn d
  work 2
}
daemon d { forever { io } }`
	}
	runV2(t, []v2Case{
		// Rare (about 1 schedule in 400 while the model frees the states
		// at step 7), but deterministic.
		{name: "3.12", policy: "hang", runs: 2000, src: src("cpython-3.12"), want: []string{"corruption/take-gil-window"}},
		{name: "3.9", policy: "unwind", runs: 2000, src: src("cpython-3.9"), want: []string{"corruption/take-gil-window"}},
		{name: "3.13", policy: "hang", runs: 2000, src: src("cpython-3.13"), want: []string{"clean", "corruption/take-gil-window"}},
		{name: "3.13.0", policy: "unwind", runs: 2000, src: src("cpython-3.13.0"), want: []string{"clean", "corruption/take-gil-window"}},
		{name: "3.14", policy: "hang", runs: 600, src: src("cpython-3.14"), want: []string{"clean"}, never: []string{"corruption"}},
	})
}

// Decoded scenarios, which use every v2 statement, run to an outcome under
// every policy without a panic, and replay exactly.
func TestDecodedV2ScenariosRun(t *testing.T) {
	state := uint64(7)
	for i := range 150 {
		data := make([]byte, 160)
		for j := range data {
			state = state*6364136223846793005 + 1442695040888963407
			data[j] = byte(state >> 56)
		}
		s := scenario.Decode(data)
		for _, policy := range scenario.Policies {
			r, err := runtime.Run(s, runtime.Config{Policy: policy, MaxSteps: 3000})
			if err != nil {
				t.Fatal(err)
			}
			if !scenario.IsOutcome(string(r.Outcome)) {
				t.Fatalf("input %d %s: outcome %q", i, policy, r.Outcome)
			}
			again, _ := runtime.Run(s, runtime.Config{Policy: policy, MaxSteps: 3000, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: r.Schedule}})
			if !r.Replays(again) {
				t.Fatalf("input %d %s: replay gave %s (%s), recorded %s (%s)\n%s", i, policy, again.Outcome, again.Report.Message, r.Outcome, r.Report.Message, scenario.Print(s))
			}
		}
	}
}
