package runtime

import (
	"slices"
	"strings"
)

// Defects are the defects of CPython itself that the model reproduces. An
// outcome that only such a defect makes reachable keeps its class, and
// the run carries the defect's issue (Result.Defect): reports count and
// mark it apart from what the scenario's own code causes (so that a fixed
// extension pattern reads "clean apart from CPython's own defects"), and
// the fuzz oracle never blames a policy for it (verdict.KnownException).
// This table is the one definition both use.
var Defects = []Defect{
	{Issue: "cpython#110052", Releases: "3.9-3.13",
		What:  "take_gil read the thread state after its must-exit check (3.9-3.12 also drop_gil after acquiring), after finalization freed it (daemon threads crash at random at exit)",
		match: func(_ Outcome, kind, _ string, _ bool) bool { return kind == KindTakeGILWindow }},
	{Issue: "gh-124619", Releases: "3.8-3.14",
		What: "a thread's outermost PyGILState_Ensure built a thread state in an interpreter whose thread states finalization had freed",
		match: func(_ Outcome, kind, op string, _ bool) bool {
			return kind == KindUAFTstate && strings.HasPrefix(op, "ensure")
		}},
	{Issue: "gh-124619", Releases: "3.14",
		What:  "the same ensure right after _PyGILState_Fini deleted the thread-state key: Fatal Python error: gilstate_tss_set",
		match: func(o Outcome, kind, _ string, _ bool) bool { return o == Abort && kind == KindFatalGILState }},
	// The one other thread-state use after free of another thread than
	// main (takeGIL in gil.go; main's after Py_FinalizeEx returned is its
	// own, afterfinalize.go).
	{Issue: "bpo-39877", Releases: "3.8",
		What: "take_gil read tstate->async_exc after acquiring the GIL, before its must-exit check, when finalization had freed the thread state (daemon threads crash at exit; fixed in 3.9 by 29356e03)",
		match: func(_ Outcome, kind, op string, byMain bool) bool {
			return kind == KindUAFTstate && !strings.HasPrefix(op, "ensure") && !byMain
		}},
}

// KindCPythonDefect is the kind every failure that only a CPython defect
// reaches has besides its own (Report.Defect names the issue; the fuzz
// flag -sfz.want=cpython-defect selects them).
const KindCPythonDefect = "cpython-defect"

// Defect is one defect of CPython: its issue, the releases that have it,
// and what happens.
type Defect struct {
	Issue, Releases, What string
	// match tells a failure the defect made by its outcome, its report's
	// kind and operation, and whether main failed (values, so that the
	// step function's terminals are matched without building a Result).
	match func(o Outcome, kind, op string, byMain bool) bool
}

// Defect returns the issue of the CPython defect that alone made r's
// failure reachable, or "".
func (r *Result) Defect() string {
	return defectOf(r.Outcome, r.Report.Kind, r.Report.Op, r.Report.Thread == MainThread)
}

// defectOf is Defect of a failure with outcome o and a report of kind and
// op.
func defectOf(o Outcome, kind, op string, byMain bool) string {
	if o == Clean {
		return ""
	}
	for _, d := range Defects {
		if d.match(o, kind, op, byMain) {
			return d.Issue
		}
	}
	return ""
}

// LookupDefect returns the (first) defect of an issue.
func LookupDefect(issue string) (Defect, bool) {
	for _, d := range Defects {
		if d.Issue == issue {
			return d, true
		}
	}
	return Defect{}, false
}

// CleanApartFromDefects returns the issues of the CPython defects behind
// the outcomes that are not clean, sorted, when there is at least one such
// outcome and only defects reached each (defect gives an outcome's issue,
// or "" when the scenario's own code reached it); nil otherwise. The
// reports and explore's summary line use it.
func CleanApartFromDefects(outcomes []Outcome, defect func(Outcome) string) []string {
	var issues []string
	for _, o := range outcomes {
		switch d := defect(o); {
		case o == Clean:
		case d == "":
			return nil
		case !slices.Contains(issues, d):
			issues = append(issues, d)
		}
	}
	slices.Sort(issues)
	return issues
}
