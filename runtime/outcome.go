package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Outcome is the class of a run, exactly as the scenario language names it.
// The classes are defined once, in scenario.OutcomeClasses; the constants
// below name the ones the model's code refers to, and a test checks that
// they are exactly the table's.
type Outcome string

const (
	Clean       Outcome = "clean"
	Abort       Outcome = "abort"
	LostCleanup Outcome = "lost-cleanup"
	Deadlock    Outcome = "deadlock"
	Corruption  Outcome = "corruption"
	Contract    Outcome = "contract"
	Budget      Outcome = "budget"
)

// Outcomes lists every outcome in the language's order
// (scenario.OutcomeClasses).
var Outcomes = func() []Outcome {
	out := make([]Outcome, len(scenario.OutcomeClasses))
	for i, c := range scenario.OutcomeClasses {
		out[i] = Outcome(c.Name)
	}
	return out
}()

// Class is o's row of scenario.OutcomeClasses: its abbreviation, severity
// and report style. A name the language does not know has the zero class.
func (o Outcome) Class() scenario.OutcomeClass {
	c, _ := scenario.LookupOutcome(string(o))
	return c
}

// Report kinds: the detail behind an outcome. Together with the outcome and
// the statement that failed they form a failure's signature.
const (
	KindExit                = "exit"                 // clean: the process exited after finalization
	KindPolicyAbort         = "policy-abort"         // the abort policy or callback
	KindNoexcept            = "noexcept"             // forced unwind through a noexcept frame
	KindNotRethrown         = "not-rethrown"         // glibc: catch(...) swallowed the forced unwind
	KindUnwindInDestructor  = "unwind-in-cleanup"    // forced unwind started inside a cleanup body
	KindFatalRelease        = "fatal-release"        // release without the GIL
	KindFatalUnensure       = "fatal-unensure"       // unbalanced unensure
	KindFatalStdout         = "fatal-stdout-lock"    // bpo-23309
	KindProcessExit         = "process-exit"         // exit policy or callback
	KindDeadlock            = "deadlock"             // no thread can run: a wait-for cycle, or a wait nobody can satisfy
	KindDeadlockOnHung      = "deadlock-on-hung"     // ... waiting, in the end, on a thread the policy hung
	KindDeadlockOnEnded     = "deadlock-on-ended"    // ... on a thread that ended holding what is waited for
	KindUAFObject           = "use-after-free"       // object freed
	KindUAFStack            = "stack-use-after-free" // a local on a freed stack
	KindUAFTstate           = "tstate-use-after-free"
	KindNoGIL               = "no-gil" // GIL-requiring operation without the GIL
	KindUnderflow           = "refcount-underflow"
	KindSwallowedUnwind     = "swallowed-unwind"
	KindBadUnlock           = "bad-unlock"
	KindCallbackReturned    = "callback-returned"
	KindCallbackEndedThread = "callback-ended-thread"
	KindBudget              = "budget"
	KindWatchdog            = "watchdog"
)

// deadlockKind is the report kind of a deadlock whose wait-for chain
// ends as how says (chaos.ChainForever: on a hung thread; ChainEnded: on
// an ended one).
func deadlockKind(how string) string {
	switch how {
	case chaos.ChainForever:
		return KindDeadlockOnHung
	case chaos.ChainEnded:
		return KindDeadlockOnEnded
	}
	return KindDeadlock
}

// Report is the terminal event of a run.
type Report struct {
	Kind    string `json:"kind"`
	Thread  string `json:"thread,omitempty"`
	Stmt    string `json:"stmt,omitempty"` // "op@line:col" of the statement that failed
	Op      string `json:"op,omitempty"`   // the same statement without its position: "hold X"
	Phase   string `json:"phase"`          // where main was: body, wait-threads, atexit, ... exited
	Message string `json:"message"`
	// DuringUnwind: the failing thread was being unwound by the policy.
	DuringUnwind bool `json:"during_unwind,omitempty"`
	// Defect is the issue of the CPython defect that alone made the
	// failure reachable (runtime.Defects), or "": the outcome is then of
	// kind cpython-defect as well as of its own kind.
	Defect string `json:"defect,omitempty"`
}

// MainThread is the name of the main thread (the language gives main no
// other).
const MainThread = "main"

// ByMainAfterFinalize reports whether main itself failed after
// Py_FinalizeEx returned, by running a statement of an after_finalize
// block (not by waiting: a deadlock there waits on another thread).
// No thread-exit policy acts on main, and the interpreter main used is
// gone, so such a failure is main's own, whatever the statement.
func (r *Result) ByMainAfterFinalize() bool {
	return r.Report.Phase == PhaseAfterFinalize && r.Report.Thread == MainThread && r.Outcome != Deadlock
}

// Result is everything a run produced. Text, JSON and HTML are renderings of
// it.
type Result struct {
	Scenario string  `json:"scenario"`
	Policy   string  `json:"policy"`
	Preset   string  `json:"preset"`
	Strategy string  `json:"strategy"` // the schedule line the run was started with
	Mode     string  `json:"mode"`     // controlled or wild
	Outcome  Outcome `json:"outcome"`
	Report   Report  `json:"report"`
	ExitCode int     `json:"exit_code"`
	Stdout   string  `json:"stdout,omitempty"`
	Steps    int     `json:"steps"`
	Schedule []int   `json:"schedule"` // the thread chosen at each scheduling point
	// Preemptions counts the context switches the schedule chose (not
	// those forced by blocking).
	Preemptions int      `json:"preemptions"`
	Diverged    int      `json:"diverged"` // step at which a replay diverged, or -1
	Strikes     int      `json:"strikes"`  // times a thread met the policy
	Hung        []string `json:"hung,omitempty"`
	Cycle       []string `json:"cycle,omitempty"`
	Threads     []string `json:"threads"` // names by index
	// Detector holds go-deadlock's reports (wild mode): hangs and
	// lock-order inversions, as it printed them.
	Detector []string `json:"detector,omitempty"`
	// Detected is Detector in scenario terms, one line per report: which
	// lock was wanted while holding which, at which statement and thread.
	Detected []string `json:"detected,omitempty"`
	// Leaked lists the thread goroutines of a wild run that had not
	// exited when it gave up waiting for them. The run checks only its own
	// goroutines (the scheduler's per-thread exit flags), never the whole
	// process, so runs in parallel do not see each other's goroutines as
	// leaks. It is always empty unless the scheduler has a bug; goleak
	// stays in the tests' TestMain.
	Leaked []string `json:"leaked,omitempty"`
	Events []Event  `json:"events,omitempty"`
	// FirstStrike is the number of scheduling points taken when a thread
	// first met the policy (meaningful when Strikes > 0): the choices
	// before it are the part of the schedule the policy had no hand in.
	FirstStrike int `json:"first_strike,omitempty"`
}

// ReplayLine is the schedule line that reproduces this run, runs of equal
// choices written C*N (scenario.FormatChoices).
func (r *Result) ReplayLine() string {
	return (&scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: r.Schedule}).String()
}

// Signature identifies a failure: the outcome, the report kind and the
// statement that failed (its thread and operation, not its position, so
// that the signature survives minimization), and whether the failing
// thread was being unwound by the policy.
func (r *Result) Signature() string {
	sig := string(r.Outcome) + "/" + r.Report.Kind + "/" + r.Report.Thread + ":" + r.Report.Op
	if r.Report.DuringUnwind {
		sig += "/unwinding"
	}
	return sig
}

// Replays reports whether again, a run of r's recorded schedule, is an
// exact replay of r: the same outcome and report, every choice followed,
// the same schedule.
func (r *Result) Replays(again *Result) bool {
	return again.Outcome == r.Outcome && again.Report == r.Report && again.Diverged < 0 && slices.Equal(again.Schedule, r.Schedule)
}

// Text renders the result for people. It is deterministic.
func (r *Result) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %q policy %s preset %s\n", r.Scenario, r.Policy, r.Preset)
	fmt.Fprintf(&b, "outcome: %s (%s)\n", r.Outcome, r.Report.Kind)
	fmt.Fprintf(&b, "report: %s\n", r.Report.Message)
	if r.Report.Stmt != "" {
		fmt.Fprintf(&b, "at: %s in %s, main in %s\n", r.Report.Stmt, r.Report.Thread, r.Report.Phase)
	} else {
		fmt.Fprintf(&b, "main in: %s\n", r.Report.Phase)
	}
	for _, c := range r.Cycle {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	if len(r.Hung) > 0 {
		fmt.Fprintf(&b, "hung threads: %s\n", strings.Join(r.Hung, ", "))
	}
	fmt.Fprintf(&b, "exit code: %d, steps: %d\n", r.ExitCode, r.Steps)
	if r.Diverged >= 0 {
		fmt.Fprintf(&b, "diverged at step %d: the recorded schedule no longer fits; continued with seeded random\n", r.Diverged)
	}
	fmt.Fprintf(&b, "started with: %s\n", r.Strategy)
	for _, l := range r.Leaked {
		fmt.Fprintf(&b, "leak: %s\n", l)
	}
	for _, d := range r.Detected {
		fmt.Fprintf(&b, "go-deadlock: %s\n", d)
	}
	fmt.Fprintf(&b, "%s\n", r.ReplayLine())
	return b.String()
}

// Report kinds of the native-frame, debug-build and after_finalize rules,
// and of cpython#110052's take_gil window.
const (
	KindFatalNoGIL     = "fatal-no-gil"     // debug build: DECREF or use without the GIL
	KindNounwind       = "nounwind"         // forced unwind through a Rust extern "C" frame
	KindAfterFinalize  = "after-finalize"   // Python-level work after Py_FinalizeEx returned
	KindTakeGILWindow  = "take-gil-window"  // cpython#110052
	KindFatalGILState  = "fatal-gilstate"   // 3.14: gilstate_tss_set failed after _PyGILState_Fini (gh-124619)
	PhaseGILStateFini  = "gilstate-fini"    // 3.14: main's phase right after _PyGILState_Fini (step 7)
	PhaseAfterFinalize = "after-finalize"   // main's phase while it runs after_finalize blocks
	tlsNote            = "atthreadexit of " // trace note before a thread-local destructor runs
)
