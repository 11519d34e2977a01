// Package verdict is the fuzz oracle: it says whether a run of a scenario
// under a thread-exit policy broke the policy's contract and whether the
// policy caused the failure. It only judges: turning a failing run into a
// minimized corpus file is package triage's, and this package imports
// neither the minimizer nor the corpus (a test checks it).
//
// A contract says which outcomes a thread-exit policy may cause, as the
// bpo-42969 discussion documents each policy's risks:
//
//	abort      clean, abort
//	exit       clean, lost-cleanup
//	hang       clean, deadlock
//	unwind     clean, corruption, abort, deadlock
//	terminate  clean, corruption, deadlock
//
// contract is allowed only when the scenario sets a bad exit callback
// (return or terminate-thread). A callback hang, exit or abort is held to
// the contract of the policy of that name.
//
// A verdict has three values: pass, fail, and inconclusive. A run that ran
// out of its step budget or hit the watchdog decided nothing: it is
// inconclusive, reported as such and never passed (the spec's v2 rule
// "Deadlock includes livelock" leaves budget for exactly that case).
//
// Only failures the policy caused count, and attribution is three-valued
// too (see Attribute): caused by the policy, not caused (the scenario's
// own bug), or unknown, which is inconclusive. Four known, cited
// exceptions are allowed everywhere (KnownException), so that fuzzing
// reports only new breaks:
//
//   - gh-124619: a foreign thread's outermost ensure builds a thread state
//     after finalization freed them: corruption, under every policy (open
//     in 3.14, where it can also abort in gilstate_tss_set right after
//     _PyGILState_Fini; 3.15's ensure meets the policy first);
//   - bpo-23309: a thread the policy stopped (hung, unwound, terminated)
//     while it held the stdout lock turns main's flush into a fatal error:
//     abort. CPython bounds the wait to turn this deadlock into a crash;
//   - cpython#110052: the take_gil window, a thread state read after
//     finalization freed it (3.9-3.13);
//   - bpo-39877: 3.8's take_gil read of tstate->async_exc before its
//     must-exit check, after finalization freed the thread state.
package verdict

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Contracts maps each policy (or callback of the same name) to the
// outcomes besides clean that it may cause.
var Contracts = map[string][]runtime.Outcome{
	runtime.PolicyAbort:     {runtime.Abort},
	runtime.PolicyExit:      {runtime.LostCleanup},
	runtime.PolicyHang:      {runtime.Deadlock},
	runtime.PolicyUnwind:    {runtime.Corruption, runtime.Abort, runtime.Deadlock},
	runtime.PolicyTerminate: {runtime.Corruption, runtime.Deadlock},
}

// Allowed returns the outcomes a run of s under policy may show by
// contract.
func Allowed(s *scenario.Scenario, policy string) map[runtime.Outcome]bool {
	allowed := map[runtime.Outcome]bool{runtime.Clean: true}
	action := policy
	switch s.Callback {
	case "":
	case runtime.CallbackReturn, runtime.CallbackTerminateThread:
		allowed[runtime.Contract] = true
		return allowed
	default:
		action = s.Callback
	}
	for _, o := range Contracts[action] {
		allowed[o] = true
	}
	return allowed
}

// KnownException returns the cited issue when r's failure is one of the
// known exceptions, or "": a defect of CPython itself (runtime.Defects, the
// same table the reports mark), or bpo-23309's fatal error, which CPython
// chose in order to turn the deadlock of a stopped stdout-lock holder into
// a crash.
func KnownException(r *runtime.Result) string {
	if d := r.Defect(); d != "" {
		return d
	}
	if r.Outcome == runtime.Abort && r.Report.Kind == runtime.KindFatalStdout {
		return "bpo-23309"
	}
	return ""
}

// Inconclusive reports whether r decided nothing: its step budget or the
// watchdog ran out first.
func Inconclusive(r *runtime.Result) bool { return r.Outcome == runtime.Budget }

// Failure is a broken contract or harness invariant, or (Inconclusive) a
// run the oracle could not decide.
type Failure struct {
	Policy string
	Reason string
	// Inconclusive: nothing was decided (budget, or unknown attribution).
	// It is reported, never passed; the fuzz target skips such an input
	// with this report instead of failing it.
	Inconclusive bool
	Scenario     *scenario.Scenario // with the recorded schedule as its schedule line
	Result       *runtime.Result
}

// Error renders the failure: the reason, the outcome and its report, and
// the scenario as .scn text with its schedule replay line.
func (f *Failure) Error() string {
	var b strings.Builder
	if f.Inconclusive {
		b.WriteString("INCONCLUSIVE ")
	}
	fmt.Fprintf(&b, "policy %s: %s\n", f.Policy, f.Reason)
	if f.Result != nil {
		fmt.Fprintf(&b, "outcome: %s (%s) at %s in %s\nreport: %s\n", f.Result.Outcome, f.Result.Report.Kind, f.Result.Report.Stmt, f.Result.Report.Thread, f.Result.Report.Message)
	}
	b.WriteString("--- scenario ---\n")
	b.Write(scenario.Print(f.Scenario))
	b.WriteString("--- end ---\n")
	return b.String()
}

// Options tune Check.
type Options struct {
	Strict bool // any non-clean outcome is a failure (witness hunting)
	// Want narrows Strict to failures the policy caused whose outcome or
	// report kind is Want ("deadlock-on-hung", "noexcept", "lost-cleanup"),
	// optionally followed by /OP, a prefix of the failing statement
	// ("no-gil/hold", "deadlock-on-hung/lock").
	Want     string
	MaxSteps int // per run; 0 is the runtime's default
	// Engine runs every run of the check on that engine of the controlled
	// mode (runtime.Config.Engine; the fuzz flag -sfz.engine).
	Engine runtime.Engine
}

// run is runtime.Run; the known-positive tests swap it for a broken
// runtime (a policy that corrupts, a replay that diverges) to show that
// Check fails on them.
var run = runtime.Run

// Check runs s (with its own schedule line) under policy and checks the
// harness invariant (the recorded schedule of a run that could be reported
// replays exactly: the same result, every choice followed) and the
// policy's contract. It returns the result and a failure, or nil when the
// run passes. A clean run reports nothing and an inconclusive one is
// reported as such, so neither is replayed (a budget replay is the
// costliest run there is).
func Check(s *scenario.Scenario, policy string, opts Options) (*runtime.Result, *Failure) {
	r, err := run(s, runtime.Config{Policy: policy, MaxSteps: opts.MaxSteps, Engine: opts.Engine})
	if err != nil {
		return nil, &Failure{Policy: policy, Reason: err.Error(), Scenario: s}
	}
	withReplay := WithSchedule(s, r.Schedule)
	fail := func(inconclusive bool, format string, args ...any) *Failure {
		return &Failure{Policy: policy, Reason: fmt.Sprintf(format, args...), Inconclusive: inconclusive, Scenario: withReplay, Result: r}
	}
	if r.Outcome == runtime.Clean {
		return r, nil
	}
	if Inconclusive(r) {
		return r, fail(true, "inconclusive: %s", r.Report.Message)
	}
	again, err := run(withReplay, runtime.Config{Policy: policy, MaxSteps: opts.MaxSteps, Engine: opts.Engine})
	if err != nil || !r.Replays(again) {
		return r, fail(false, "replaying the recorded schedule %s", divergence(r, again, err))
	}
	if opts.Strict {
		if opts.Want == "" {
			return r, fail(false, "strict: outcome %s", r.Outcome)
		}
		if !Wanted(r, opts.Want) {
			return r, nil
		}
		switch a := attribute(withReplay, policy, r, opts.MaxSteps, opts.Engine); a.Cause {
		case Caused:
			return r, fail(false, "strict: the policy caused %s (%s): %s", r.Outcome, r.Report.Kind, a.Why)
		case Unknown:
			return r, fail(true, "strict: a wanted %s (%s), but who caused it is unknown: %s", r.Outcome, r.Report.Kind, a.Why)
		}
		return r, nil
	}
	if Allowed(s, policy)[r.Outcome] || KnownException(r) != "" {
		return r, nil
	}
	switch a := attribute(withReplay, policy, r, opts.MaxSteps, opts.Engine); a.Cause {
	case Caused:
		return r, fail(false, "contract broken: policy %s caused %s, which it does not allow (allowed: %s): %s", policy, r.Outcome, allowedList(s, policy), a.Why)
	case Unknown:
		return r, fail(true, "policy %s may have caused %s, which it does not allow (allowed: %s), but who caused it is unknown: %s", policy, r.Outcome, allowedList(s, policy), a.Why)
	}
	return r, nil
}

// divergence describes how a replay failed to reproduce r.
func divergence(r, again *runtime.Result, err error) string {
	switch {
	case err != nil:
		return "failed: " + err.Error()
	case again.Diverged >= 0:
		return fmt.Sprintf("diverged at step %d (it gave %s, not %s)", again.Diverged, again.Signature(), r.Signature())
	}
	return fmt.Sprintf("gave %s (%s), not %s (%s)", again.Signature(), again.Report.Message, r.Signature(), r.Report.Message)
}

// Wanted reports whether r matches a -sfz.want pattern: OUTCOME or KIND,
// optionally followed by /OP-PREFIX.
func Wanted(r *runtime.Result, want string) bool {
	kind, op, _ := strings.Cut(want, "/")
	isKind := r.Report.Kind == kind || kind == runtime.KindCPythonDefect && r.Report.Defect != ""
	return (string(r.Outcome) == kind || isKind) && strings.HasPrefix(r.Report.Op, op)
}

func allowedList(s *scenario.Scenario, policy string) string {
	set := Allowed(s, policy)
	var out []string
	for _, o := range runtime.Outcomes {
		if set[o] {
			out = append(out, string(o))
		}
	}
	return strings.Join(out, ", ")
}

// WithSchedule returns a shallow copy of s whose schedule line replays
// choices.
func WithSchedule(s *scenario.Scenario, choices []int) *scenario.Scenario {
	c := *s
	c.Schedule = &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: choices}
	return &c
}
