package runtime

import (
	"errors"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// ErrInternal marks a broken invariant of the model itself: a state the
// model's rules should never reach (a thread that drops a GIL it does not
// hold, a scheduler that picks a blocked thread). It is never a verdict on
// the scenario. Every input the parser or the decoder accepts must run
// without one; the structural property test (structure_test.go) and
// FuzzShutdown check it. Run returns an *InternalError, which wraps it.
var ErrInternal = errors.New("internal error in the model")

// InternalError is a broken invariant found while running a scenario, with
// what it takes to reproduce it: the run's policy, presets and the
// schedule taken up to the failure. It replaces the Go panic (and its
// stack trace) the broken invariant raised.
type InternalError struct {
	Scenario string // the scenario's name
	Presets  string // its preset line ("" when none)
	Policy   string
	Thread   string // the thread that broke the invariant
	Stmt     string // the statement it was running ("op@line:col"), or ""
	Phase    string // where main was
	Value    string // what broke: the panic's value
	Schedule []int  // the choices taken up to the failure
	// File is the scenario's file, set by callers that know it (the CLI),
	// so that Rerun names it; Rerun uses Scenario otherwise.
	File string
	// Where is the innermost frame of the model that panicked
	// (file:line), for the model's developers.
	Where string
}

func (e *InternalError) Unwrap() error { return ErrInternal }

func (e *InternalError) Error() string {
	at := e.Thread
	if e.Stmt != "" {
		at += " at " + e.Stmt
	}
	return fmt.Sprintf("%v (a bug in shutdownfuzz, not in the scenario): %s, in %s while main was in %s (scenario %q, policy %s, %s)\nto reproduce: %s",
		ErrInternal, e.Value, at, e.Phase, e.Scenario, e.Policy, e.Where, e.Rerun())
}

// Rerun is the command that reproduces the broken invariant.
func (e *InternalError) Rerun() string {
	file := e.File
	if file == "" {
		file = e.Scenario
	}
	sched := (&scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: e.Schedule}).String()
	return shell.RunCommand(e.Policy, sched, file, e.Presets)
}

// WithFile returns the *InternalError inside err with file recorded in it,
// so that its reproducing command names the file; it returns any other
// error as it is. (A wrapping error's text was made before the file was
// known, so the *InternalError itself is returned: it says everything.)
func WithFile(err error, file string) error {
	var ie *InternalError
	if !errors.As(err, &ie) {
		return err
	}
	if ie.File == "" {
		ie.File = file
	}
	return ie
}

// brokeInvariant records v, a panic that is none of the model's own
// sentinels, raised on t's stack, and ends the run: Run then returns
// the *InternalError instead of a result.
func (in *Interp) brokeInvariant(t *thread, v any) {
	if in.internal == nil {
		in.internal = &InternalError{
			Scenario: in.sc.Name, Presets: strings.Join(in.sc.Presets, " "), Policy: in.policy,
			Thread: t.name, Stmt: stmtRef(t.cur), Phase: in.phase, Value: fmt.Sprint(v), Where: panicSite(),
		}
	}
	in.ctl.Halt(nil)
}

// panicSite is the frame that panicked, as DIR/FILE:LINE: the first frame
// below the Go runtime's gopanic. It runs in the deferred recovery, while
// the panicking frames are still on the stack.
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := goruntime.CallersFrames(pcs[:goruntime.Callers(1, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			return fmt.Sprintf("%s/%s:%d", filepath.Base(filepath.Dir(f.File)), filepath.Base(f.File), f.Line)
		}
		if !more {
			return "unknown site"
		}
	}
}
