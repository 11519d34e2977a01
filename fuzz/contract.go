// Package fuzz holds the fuzz targets (in its tests) and the per-policy
// contracts they check.
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
// (return or terminate-thread), and budget never is. A callback hang, exit
// or abort is held to the contract of the policy of that name.
//
// Only failures the policy caused count. A run failed through the
// scenario's own bug when no thread met the policy, when the failure is one
// a thread brings on itself (API misuse, a refcount bug, an endless loop)
// outside a policy unwind, or when a NoStrike counterfactual run (the same
// schedule, with must-exit checks switched off) fails with the same
// signature. Two known, cited exceptions are
// allowed everywhere, so that fuzzing reports only new breaks:
//
//   - gh-124619: a foreign thread's outermost ensure builds a thread state
//     after finalization freed them: corruption, under every policy (still
//     open in 3.14);
//   - bpo-23309: a thread the policy stopped (hung, unwound, terminated)
//     while it held the stdout lock turns main's flush into a fatal error:
//     abort. CPython bounds the wait to turn this deadlock into a crash.
package fuzz

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
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
// known exceptions, or "".
func KnownException(r *runtime.Result) string {
	switch {
	case r.Outcome == runtime.Corruption && r.Report.Kind == runtime.KindUAFTstate && strings.HasPrefix(r.Report.Op, "ensure"):
		return "gh-124619"
	case r.Outcome == runtime.Abort && r.Report.Kind == runtime.KindFatalStdout:
		return "bpo-23309"
	}
	return ""
}

// Failure is a broken contract or harness invariant.
type Failure struct {
	Policy   string
	Reason   string
	Scenario *scenario.Scenario // with the recorded schedule as its schedule line
	Result   *runtime.Result
}

// Error renders the failure: the reason, the outcome and its report, and
// the scenario as .scn text with its schedule replay line.
func (f *Failure) Error() string {
	var b strings.Builder
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
}

// Check runs s (with its own schedule line) under policy and checks the
// harness invariant (the recorded schedule of a run that could be reported
// replays to the same result) and the policy's contract. It returns the
// result and a failure, or nil.
func Check(s *scenario.Scenario, policy string, opts Options) (*runtime.Result, *Failure) {
	r, err := runtime.Run(s, runtime.Config{Policy: policy, MaxSteps: opts.MaxSteps})
	if err != nil {
		return nil, &Failure{Policy: policy, Reason: err.Error(), Scenario: s}
	}
	withReplay := WithSchedule(s, r.Schedule)
	fail := func(reason string) *Failure {
		return &Failure{Policy: policy, Reason: reason, Scenario: withReplay, Result: r}
	}
	if r.Outcome == runtime.Clean || (r.Outcome == runtime.Budget && !opts.Strict) {
		// Nothing is reported from a clean run, nor from an inconclusive
		// one outside strict mode (a budget is the scenario's own), so
		// neither is replayed: a budget replay is the costliest run there is.
		return r, nil
	}
	// The replay runs the recorded choices directly (no schedule line to
	// format).
	again, _ := runtime.Run(withReplay, runtime.Config{Policy: policy, MaxSteps: opts.MaxSteps, Strategy: chaos.Replay(r.Schedule), StrategyName: "schedule replay (recorded)"})
	if !r.Replays(again) {
		return r, fail(fmt.Sprintf("replaying the recorded schedule gave %s (%s), not %s", again.Signature(), again.Report.Message, r.Signature()))
	}
	if opts.Strict {
		if opts.Want == "" {
			return r, fail(fmt.Sprintf("strict: outcome %s", r.Outcome))
		}
		if Wanted(r, opts.Want) && CausedByPolicy(withReplay, policy, r, opts.MaxSteps) {
			return r, fail(fmt.Sprintf("strict: the policy caused %s (%s)", r.Outcome, r.Report.Kind))
		}
		return r, nil
	}
	if Allowed(s, policy)[r.Outcome] || KnownException(r) != "" || !CausedByPolicy(withReplay, policy, r, opts.MaxSteps) {
		return r, nil
	}
	return r, fail(fmt.Sprintf("contract broken: policy %s caused %s, which it does not allow (allowed: %s)", policy, r.Outcome, allowedList(s, policy)))
}

// ownKinds are failures a thread brings on itself by what it runs (API
// misuse, refcount bugs, endless loops), whatever other threads do. A
// policy can only let control reach them; it causes them only when the
// failing thread is the one being unwound.
var ownKinds = map[string]bool{
	runtime.KindFatalRelease: true, runtime.KindFatalUnensure: true, runtime.KindBadUnlock: true,
	runtime.KindNoGIL: true, runtime.KindUAFObject: true, runtime.KindUnderflow: true,
	runtime.KindBudget: true, runtime.KindWatchdog: true,
}

// Wanted reports whether r matches a -sfz.want pattern: OUTCOME or KIND,
// optionally followed by /OP-PREFIX.
func Wanted(r *runtime.Result, want string) bool {
	kind, op, _ := strings.Cut(want, "/")
	return (string(r.Outcome) == kind || r.Report.Kind == kind) && strings.HasPrefix(r.Report.Op, op)
}

// CausedByPolicy reports whether r's failure is the policy's doing: some
// thread met the policy, the failure is not one a thread brings on itself
// outside an unwind, and the NoStrike counterfactual on the same schedule
// does not fail the same way.
func CausedByPolicy(s *scenario.Scenario, policy string, r *runtime.Result, maxSteps int) bool {
	if r.Strikes == 0 || (ownKinds[r.Report.Kind] && !r.Report.DuringUnwind) {
		return false
	}
	cf, err := runtime.Run(s, runtime.Config{Policy: policy, NoStrike: true, MaxSteps: maxSteps})
	return err != nil || cf.Signature() != r.Signature()
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
