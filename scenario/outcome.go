package scenario

// OutcomeClass is one class of outcome a run can end in, with everything
// the other packages need to know about it. OutcomeClasses is the only
// place a class is defined: the language's expect lines (Outcomes,
// IsOutcome), the runtime's Outcome values (runtime.Outcomes), the text
// and HTML matrix (abbreviations, CSS classes and colours), the contract
// oracle's order and conformance's choice of witness (Severity) all read
// it. This package is the leaf of the module, so every other package can.
type OutcomeClass struct {
	// Name is the class as expect lines, reports and JSON spell it.
	Name string
	// Abbrev is its short name in the text matrix's cells (two letters).
	Abbrev string
	// Severity ranks the classes, higher is worse; no two classes share a
	// rank. Conformance steers real runs into the most severe outcome the
	// model predicts.
	Severity int
	// Style is the CSS class of the HTML report's chips, legend swatches
	// and witness panels; Color is the colour it gives them (the CSS
	// custom property --Name).
	Style string
	Color string
	// Doc says when a run ends in the class (docs/scenario-language.md's
	// table of outcomes, which a test keeps equal to it).
	Doc string
}

// OutcomeClasses are the outcome classes in the language's order, the
// order every listing of outcomes uses.
var OutcomeClasses = []OutcomeClass{
	{Name: "clean", Abbrev: "cl", Severity: 0, Style: "o-clean", Color: "#2e8b57",
		Doc: "exit code as requested, stdout flushed in full, every atexit ran, no sanitizer report"},
	{Name: "abort", Abbrev: "ab", Severity: 5, Style: "o-abort", Color: "#d0312d",
		Doc: "the process aborted (abort policy, unwind through `noexcept`, fatal error)"},
	{Name: "lost-cleanup", Abbrev: "lc", Severity: 3, Style: "o-lost-cleanup", Color: "#e07b00",
		Doc: "the process exited before main's finalization finished (output or atexit lost)"},
	{Name: "deadlock", Abbrev: "dl", Severity: 4, Style: "o-deadlock", Color: "#7048c8",
		Doc: "no thread can run and the process has not exited; report the wait-for cycle"},
	{Name: "corruption", Abbrev: "co", Severity: 6, Style: "o-corruption", Color: "#b0126f",
		Doc: "a sanitizer report: use after free (object, stack local, thread state), DECREF or `use` without the GIL, refcount underflow, an unwind swallowed back into the interpreter"},
	{Name: "contract", Abbrev: "ct", Severity: 2, Style: "o-contract", Color: "#8a5a00",
		Doc: "the exit callback returned or ended the thread"},
	{Name: "budget", Abbrev: "bu", Severity: 1, Style: "o-budget", Color: "#5b6575",
		Doc: "the step budget ran out (livelock or an endless loop on the main path)"},
}

// Outcomes are the names of OutcomeClasses, in order.
var Outcomes = outcomeNames()

func outcomeNames() []string {
	out := make([]string, len(OutcomeClasses))
	for i, c := range OutcomeClasses {
		out[i] = c.Name
	}
	return out
}

// OutcomesIn lists the outcomes that set holds (an expect set, as Expected
// returns it) in the language's order; nil when it holds none.
func OutcomesIn(set map[string]bool) []string {
	var out []string
	for _, o := range Outcomes {
		if set[o] {
			out = append(out, o)
		}
	}
	return out
}

// LookupOutcome returns the class named name.
func LookupOutcome(name string) (OutcomeClass, bool) {
	for _, c := range OutcomeClasses {
		if c.Name == name {
			return c, true
		}
	}
	return OutcomeClass{}, false
}
