package verdict

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The known positives below are the oracle's own tests: each makes Check
// fail on purpose. A Check that never fails breaks all three.

func parse(t *testing.T, src string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("x.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withRun swaps the runtime Check and Attribute use for the test.
func withRun(t *testing.T, fn func(*scenario.Scenario, runtime.Config) (*runtime.Result, error)) {
	old := run
	run = fn
	t.Cleanup(func() { run = old })
}

// A daemon that keeps taking the GIL meets the policy once main finalizes.
const striking = `scenario "striking"
main { spawn d
  work 2 }
daemon d { forever { work 1
    io } }
`

// strikingRun returns the scenario with a schedule line under which a
// thread meets policy.
func strikingRun(t *testing.T, policy string) *scenario.Scenario {
	t.Helper()
	s := parse(t, striking)
	for seed := range uint64(100) {
		s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
		if r, err := runtime.Run(s, runtime.Config{Policy: policy}); err == nil && r.Strikes > 0 {
			return s
		}
	}
	t.Fatalf("no schedule in 100 meets the %s policy", policy)
	return nil
}

// Known positive 1: a policy that corrupts (a test-only hook turns every
// run in which a thread met the policy into a stack use after free)
// breaks the abort policy's contract, and Check must say so.
func TestCheckFailsWhenAPolicyCorrupts(t *testing.T) {
	s := strikingRun(t, "abort")
	if r, fail := Check(s, "abort", Options{}); fail != nil || r.Outcome != runtime.Abort {
		t.Fatalf("the real abort policy: %v, %v; want a passing abort", r.Outcome, fail)
	}
	withRun(t, func(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, error) {
		r, err := runtime.Run(s, cfg)
		if err == nil && r.Strikes > 0 {
			r.Outcome = runtime.Corruption
			r.Report = runtime.Report{Kind: runtime.KindUAFStack, Thread: "d", Op: "work", Phase: r.Report.Phase,
				Message: "test hook: the policy freed a stack still in use"}
		}
		return r, err
	})
	_, fail := Check(s, "abort", Options{})
	if fail == nil || fail.Inconclusive || !strings.Contains(fail.Reason, "contract broken") {
		t.Fatalf("a corrupting abort policy: %v, want a broken contract", fail)
	}
}

// The event-wait hang: a teardown waits on an event only a
// daemon would set, while an unrelated foreign thread spins.
var eventWaitHang = testscn.EventWaitHang("event-wait hang")

// Known positive 2: hunting the event-wait hang with -sfz.strict
// -sfz.want=deadlock must fail under hang, unwind and terminate: the
// policy stopped the only thread that could set the event.
func TestStrictWantDeadlockFailsOnEventWaitHang(t *testing.T) {
	s := parse(t, eventWaitHang)
	for _, p := range []string{"hang", "unwind", "terminate"} {
		found := false
		for seed := range uint64(50) {
			s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
			r, fail := Check(s, p, Options{Strict: true, Want: "deadlock"})
			if r != nil && r.Outcome == runtime.Budget {
				t.Fatalf("%s, seed %d: budget; the hang must be a deadlock at once", p, seed)
			}
			if fail != nil {
				if fail.Inconclusive || r.Outcome != runtime.Deadlock {
					t.Fatalf("%s: %v", p, fail)
				}
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: strict want=deadlock never failed in 50 schedules", p)
		}
	}
}

// Known positive 3: a replay that diverges (a test-only hook drops the
// last recorded choice, as a nondeterministic runtime would lose it) is a
// harness failure.
// (A clean run reports nothing and is not replayed; an abort
// is.)
func TestCheckFailsOnReplayDivergence(t *testing.T) {
	s := strikingRun(t, "abort")
	if _, fail := Check(s, "abort", Options{}); fail != nil {
		t.Fatalf("the real runtime: %v", fail)
	}
	withRun(t, func(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, error) {
		if sch := s.Schedule; sch != nil && sch.Kind == scenario.ScheduleReplay && len(sch.Choices) > 0 {
			s = WithSchedule(s, sch.Choices[:len(sch.Choices)-1])
		}
		return runtime.Run(s, cfg)
	})
	_, fail := Check(s, "abort", Options{})
	if fail == nil || fail.Inconclusive || !strings.Contains(fail.Reason, "diverged") {
		t.Fatalf("a diverging replay: %v, want a replay failure", fail)
	}
}

// A budget run decides nothing: Check reports it as inconclusive, under
// every mode, never as a pass.
func TestBudgetIsInconclusiveNeverAPass(t *testing.T) {
	s := parse(t, `scenario "loop"
main { forever { work 1 } }`)
	for _, opts := range []Options{{}, {Strict: true}, {Strict: true, Want: "deadlock"}} {
		r, fail := Check(s, "hang", Options{Strict: opts.Strict, Want: opts.Want, MaxSteps: 300})
		if r == nil || r.Outcome != runtime.Budget || fail == nil || !fail.Inconclusive {
			t.Errorf("%+v: %v, %v; want an inconclusive budget", opts, r, fail)
		}
	}
}

// Strict mode fails on the failures the contracts allow.
func TestStrictFailsOnWitness(t *testing.T) {
	s := parse(t, `scenario "x"
main { spawn d
  wait started }
daemon d { lock L
  set started
  io
  unlock L }
teardown { lock L }`)
	rep, _ := explore.Policy(s, "hang", explore.Options{Runs: 200})
	w := rep.Outcomes["deadlock"]
	if w == nil {
		t.Fatal("no deadlock witness")
	}
	ws := WithSchedule(s, w.Result.Schedule)
	if _, fail := Check(ws, "hang", Options{}); fail != nil {
		t.Errorf("default contract: %v", fail)
	}
	if _, fail := Check(ws, "hang", Options{Strict: true}); fail == nil {
		t.Errorf("strict: no failure on a deadlock")
	}
	if _, fail := Check(ws, "hang", Options{Strict: true, Want: "deadlock"}); fail == nil || fail.Inconclusive {
		t.Errorf("strict want=deadlock: %v, want a failure the policy caused", fail)
	}
}

// The counterfactual is fair: after the first strike it does not replay
// the original choices (forced ones among them), so no fair counterfactual
// starves main into the budget. Every run Attribute makes is recorded.
func TestCounterfactualIsFair(t *testing.T) {
	s := parse(t, eventWaitHang)
	var r *runtime.Result
	for seed := range uint64(50) {
		s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
		if rr, _ := runtime.Run(s, runtime.Config{Policy: "hang"}); rr.Strikes > 0 {
			r = rr
			break
		}
	}
	if r == nil {
		t.Fatal("no schedule meets the policy")
	}
	var cfs []*runtime.Result
	withRun(t, func(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, error) {
		cf, err := runtime.Run(s, cfg)
		if cfg.NoStrike && cfg.Strategy != nil {
			cfs = append(cfs, cf)
		}
		return cf, err
	})
	a := Attribute(WithSchedule(s, r.Schedule), "hang", r, 0)
	if a.Cause != Caused {
		t.Errorf("attribution %v (%s), want caused by the policy", a.Cause, a.Why)
	}
	if len(cfs) != fairTails {
		t.Fatalf("%d fair counterfactuals, want %d", len(cfs), fairTails)
	}
	for _, cf := range cfs {
		if cf.Outcome == runtime.Budget || cf.Strikes != 0 {
			t.Errorf("counterfactual %s: %s with %d strikes", cf.Strategy, cf.Outcome, cf.Strikes)
		}
	}
}

// An attribution whose counterfactuals all run out of budget is unknown,
// and Check reports it as inconclusive, not as a pass.
func TestUnknownAttributionIsInconclusive(t *testing.T) {
	s := strikingRun(t, "abort")
	withRun(t, func(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, error) {
		r, err := runtime.Run(s, cfg)
		if err == nil && cfg.NoStrike {
			r.Outcome, r.Report = runtime.Budget, runtime.Report{Kind: runtime.KindBudget, Message: "test hook: out of steps"}
		} else if err == nil && r.Strikes > 0 {
			r.Outcome = runtime.Corruption
			r.Report = runtime.Report{Kind: runtime.KindUAFStack, Thread: "d", Op: "work", Message: "test hook"}
		}
		return r, err
	})
	_, fail := Check(s, "abort", Options{})
	if fail == nil || !fail.Inconclusive {
		t.Fatalf("%v, want inconclusive", fail)
	}
}

// The known exceptions to the contracts, each cited: a failure CPython
// itself has whatever the policy, so no policy's contract is broken by it.
func TestKnownExceptions(t *testing.T) {
	for _, c := range []struct {
		r    runtime.Result
		want string
	}{
		{runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindUAFTstate, Op: "ensure"}}, "gh-124619"},
		{runtime.Result{Outcome: runtime.Abort, Report: runtime.Report{Kind: runtime.KindFatalStdout}}, "bpo-23309"},
		{runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindTakeGILWindow, Op: "io"}}, "cpython#110052"},
		{runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindUAFTstate, Op: "io", Thread: "t1"}}, "bpo-39877"},
		{runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindUAFTstate, Op: "acquire", Thread: runtime.MainThread}}, ""},
		{runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindNoGIL, Op: "hold X"}}, ""},
	} {
		if got := KnownException(&c.r); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.r.Outcome, c.r.Report.Kind, got, c.want)
		}
	}
	// Under hang, the 3.12 daemon crash of cpython#110052 is not a break.
	s := parse(t, `scenario "110052"
preset cpython-3.12
main { spawn d
  work 2 }
daemon d { forever { io } }`)
	seen := false
	for seed := range uint64(400) {
		s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
		r, fail := Check(s, "hang", Options{})
		if r.Report.Kind == runtime.KindTakeGILWindow {
			seen = true
			if fail != nil {
				t.Fatalf("the take_gil window broke the hang contract: %v", fail)
			}
		}
	}
	if !seen {
		t.Error("no run reached the take_gil window")
	}
}

// Attribution by cause: whatever statement main runs after Py_FinalizeEx
// returned (an after_finalize block), its failure is main's own, never
// the policy's. One known positive per statement kind that fails there,
// generated from the language's list of statements (scenario.Syntaxes),
// each while the hang policy has parked a daemon. The first inputs were
// found by FuzzShutdown: print (fuzz/testdata/fuzz/FuzzShutdown/e4b8cfe8bda01c71)
// and acquire, blamed on the hang policy as corruption until the rule
// covered every statement.
func TestAfterFinalizeIsMainsOwnFailure(t *testing.T) {
	// Without the policy, d goes on to a bad unlock instead (step 5's
	// flush of "x" lets it run), so the counterfactual fails another way
	// and cannot clear the policy.
	const src = `scenario "after"
main { spawn d
  new o
  print "x"
  set go }
daemon d { wait go
  unlock L }
after_finalize {
%s}`
	hits := map[string]bool{}
	for _, syn := range scenario.Syntaxes {
		st := &scenario.Stmt{Op: syn.Op, Name: "o", N: 1, Text: "late"}
		if syn.Arg == scenario.ArgLock || syn.Arg == scenario.ArgEvent {
			st.Name = "E"
		}
		body := []*scenario.Stmt{st}
		if syn.Inside != scenario.OpInvalid {
			body = []*scenario.Stmt{{Op: syn.Inside, Body: body}}
		}
		s, err := scenario.Parse("after.scn", []byte(fmt.Sprintf(src, scenario.PrintStmts(body))))
		if err != nil {
			continue // not a statement of after_finalize (spawn, park, ...)
		}
		if afterFinalizeHit(t, s, syn.Op.String()) {
			hits[syn.Op.String()] = true
		}
	}
	for _, op := range []string{"work", "print", "acquire", "release", "unensure", "new", "local", "publish", "incref", "decref", "use", "hold"} {
		if !hits[op] {
			t.Errorf("%s: no run struck a thread and then failed on main in after_finalize", op)
		}
	}
}

// afterFinalizeHit runs s under hang with 200 seeds and checks every run
// in which main failed in after_finalize after a strike: no contract
// failure, and attributed to main. It reports whether there was one.
func afterFinalizeHit(t *testing.T, s *scenario.Scenario, what string) bool {
	t.Helper()
	hit := false
	for seed := range uint64(200) {
		s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
		r, fail := Check(s, "hang", Options{})
		if r == nil || !r.ByMainAfterFinalize() || r.Strikes == 0 {
			continue
		}
		hit = true
		if fail != nil {
			t.Fatalf("%s, seed %d: %v", what, seed, fail)
		}
		if a := Attribute(WithSchedule(s, r.Schedule), "hang", r, 0); a.Cause != NotCaused || !strings.Contains(a.Why, "after Py_FinalizeEx") {
			t.Fatalf("%s, seed %d: attributed %v (%s), want main's own failure after Py_FinalizeEx", what, seed, a.Cause, a.Why)
		}
	}
	return hit
}

// -sfz.want=cpython-defect selects the failures only a CPython defect
// reaches (Report.Defect), whatever their own kind.
func TestWantedCPythonDefect(t *testing.T) {
	r := &runtime.Result{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindTakeGILWindow, Op: "io", Defect: "cpython#110052"}}
	if !Wanted(r, runtime.KindCPythonDefect) || !Wanted(r, runtime.KindCPythonDefect+"/io") || !Wanted(r, runtime.KindTakeGILWindow) {
		t.Error("a defect run is not wanted as cpython-defect")
	}
	r.Report.Defect = ""
	if Wanted(r, runtime.KindCPythonDefect) {
		t.Error("a run without a defect is wanted as cpython-defect")
	}
}

// The oracle's known exceptions are runtime.Defects: every defect's
// failure is one, under every policy (the 3.14 gilstate_tss_set abort of
// gh-124619 included).
func TestKnownExceptionsAreTheDefects(t *testing.T) {
	for _, r := range []*runtime.Result{
		{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindTakeGILWindow, Op: "io"}},
		{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindUAFTstate, Op: "ensure"}},
		{Outcome: runtime.Abort, Report: runtime.Report{Kind: runtime.KindFatalGILState, Op: "ensure"}},
		{Outcome: runtime.Corruption, Report: runtime.Report{Kind: runtime.KindUAFTstate, Op: "io", Thread: "t1"}},
	} {
		if r.Defect() == "" || KnownException(r) != r.Defect() {
			t.Errorf("%s/%s: defect %q, known exception %q", r.Outcome, r.Report.Kind, r.Defect(), KnownException(r))
		}
	}
}

// Options.Engine reaches every run of a check: the run, its replay and
// the attribution's counterfactuals (FuzzShutdown's -sfz.engine).
func TestCheckRunsOnTheEngineAsked(t *testing.T) {
	var engines []runtime.Engine
	withRun(t, func(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, error) {
		engines = append(engines, cfg.Engine)
		return runtime.Run(s, cfg)
	})
	s := parse(t, striking)
	for seed := range uint64(20) {
		s.Schedule = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}
		Check(s, "abort", Options{Strict: true, Want: "abort", Engine: runtime.EngineGoroutine})
	}
	if len(engines) < 3 {
		t.Fatalf("%d runs, want runs, replays and counterfactuals", len(engines))
	}
	for i, e := range engines {
		if e != runtime.EngineGoroutine {
			t.Fatalf("run %d on engine %d, want the goroutine model", i, e)
		}
	}
}
