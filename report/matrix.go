// Package report renders finished scenario × policy outcome matrices for
// people and programs. It builds nothing: package grid explores the
// scenarios and hands over the Matrix, as plain data; the same split as
// porcupine's linearizability visualization, where the checker's answer is
// data and the HTML page is one view of it:
//
//   - A Matrix has one Row per scenario and one Cell per policy, each with
//     its outcome counts, the outcome set its expect lines allow, the
//     outcomes outside that set, and for each outcome seen a Witness.
//   - A Witness is the first run that showed the outcome: its replay
//     schedule line, the command that reproduces it, its report, and a
//     Timeline. The timeline is drawn from the witness's schedule replayed
//     with tracing on (NewTimeline is a pure function of the traced
//     Result): one lane per thread with GIL ownership, GIL waits and lock
//     holds as spans, policy strikes, hangs, unwinds and thread ends as
//     marks, main's finalization phases as bands, and the terminal event
//     with its report. The x axis is the scheduling step.
//   - Text, JSON and HTML are renderings of the Matrix. Text is a table for
//     a terminal; JSON is the Matrix itself; HTML is a self-contained page
//     (an embedded html/template, inline CSS and JS, no external resources)
//     that shows the table and opens a witness's timeline when an outcome is
//     clicked, or when the page is loaded as report.html#cell=S/POLICY/OUTCOME.
//   - Versions, the release view (scenarios × CPython releases), is
//     rendered the same way, as a table of its own and in the page.
//
// Scenario names, file names, print texts and report messages are treated
// as hostile: the HTML escapes all of them through html/template and the
// text rendering shows each control or other non-printing character as
// '?' (clean). Every rendering is a pure function of the Matrix.
package report

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Matrix is the report: scenarios (rows) × policies (columns).
type Matrix struct {
	Mode     string   `json:"mode"`     // how runs were scheduled: "controlled" or "wild"
	Search   string   `json:"search"`   // "sampled", or "exhaustive" (see Cell.Proved)
	Runs     int      `json:"runs"`     // schedules per cell
	Policies []string `json:"policies"` // the columns, in order
	Rows     []Row    `json:"rows"`
	// Versions is the release view, when it was asked for (matrix
	// -versions): the same scenarios under each release's default policy.
	Versions *Versions `json:"versions,omitempty"`
}

// Row is one scenario.
type Row struct {
	ID       string `json:"id"`       // unique short key: File's base name without .scn
	Scenario string `json:"scenario"` // the name on the scenario line
	File     string `json:"file"`
	// Preset describes the scenario's preset: its release, platform and
	// default policy. DefaultPolicy is that policy; its cell is marked.
	Preset        string `json:"preset"`
	DefaultPolicy string `json:"default_policy"`
	// Group is "patterns" for the library's cited extension patterns
	// (File "patterns/NAME"), empty otherwise; renderings head the group.
	Group string `json:"group,omitempty"`
	Cells []Cell `json:"cells"` // one per policy, in Matrix.Policies order
}

// Cell is one scenario under one policy.
type Cell struct {
	Policy string `json:"policy"`
	// Default: Policy is the default policy of the scenario's preset.
	Default bool           `json:"default,omitempty"`
	Runs    int            `json:"runs"`
	Counts  map[string]int `json:"counts"` // outcome → runs that ended in it
	// Outcomes lists the outcomes seen, in the language's order.
	Outcomes []string `json:"outcomes"`
	// Expected is the set the expect lines allow for this policy; empty
	// means the scenario has no expect line for it (the cell is unchecked).
	Expected   []string `json:"expected,omitempty"`
	Unexpected []string `json:"unexpected,omitempty"` // seen but outside Expected
	Missing    []string `json:"missing,omitempty"`    // expected but not seen
	// Inconclusive counts runs that ran out of their step budget before
	// anything was decided (outcome budget): never a pass.
	Inconclusive int `json:"inconclusive,omitempty"`
	// Witnesses holds, for each outcome seen, the first run that showed it.
	Witnesses map[string]*Witness `json:"witnesses"`
	// Defects maps each outcome that only CPython's own defects reached
	// (every run of it was a defect run) to the defect's issue
	// (runtime.Defects); the scenario's own code did not cause it.
	Defects map[string]string `json:"defects,omitempty"`
	// Search is "sampled" or "exhaustive". Proved: an exhaustive search
	// visited all States, so Outcomes is the exact set; an exhaustive cell
	// that is not proved hit its bound, and its set is only a lower bound.
	Search string `json:"search"`
	Proved bool   `json:"proved"`
	States int    `json:"states,omitempty"`
}

// Witness is the first run of a cell that ended in an outcome.
type Witness struct {
	Outcome  string         `json:"outcome"`
	Count    int            `json:"count"`
	Run      int            `json:"run"`      // index of the exploring run that found it
	Strategy string         `json:"strategy"` // the schedule that run started with
	Schedule string         `json:"schedule"` // the "schedule replay ..." line
	Command  string         `json:"command"`  // the shutdownfuzz command that reproduces it
	Report   runtime.Report `json:"report"`
	ExitCode int            `json:"exit_code"`
	Steps    int            `json:"steps"`
	Stdout   string         `json:"stdout,omitempty"`
	Hung     []string       `json:"hung,omitempty"`
	Cycle    []string       `json:"cycle,omitempty"`
	Timeline Timeline       `json:"timeline"`
	// Tail is the end of the replayed trace (at most TailEvents events).
	Tail []runtime.Event `json:"tail,omitempty"`
	// Note is set when the traced replay did not reproduce the outcome.
	Note string `json:"note,omitempty"`
}

// TailEvents bounds Witness.Tail.
const TailEvents = 40

// IsUnexpected reports whether outcome o of the cell lies outside its expect
// lines.
func (c *Cell) IsUnexpected(o string) bool { return slices.Contains(c.Unexpected, o) }

// OK reports whether every cell's outcomes are allowed by its expect lines
// and every run was decided (no budget run: inconclusive is never a pass).
func (m *Matrix) OK() bool {
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			if len(c.Unexpected) > 0 || c.Inconclusive > 0 {
				return false
			}
		}
	}
	return true
}

// Unproved counts the exhaustive cells whose search a bound stopped, the
// release view's included: their outcome sets are lower bounds.
func (m *Matrix) Unproved() int {
	n := 0
	if m.Versions != nil {
		n = m.Versions.Unproved()
	}
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			n += unprovedCell(c.Search, c.Proved)
		}
	}
	return n
}

// unprovedCell is 1 for an exhaustive cell that is not proved.
func unprovedCell(search string, proved bool) int {
	if search == "exhaustive" && !proved {
		return 1
	}
	return 0
}

// GroupOf is the group of the row of a scenario named file on the command
// line: "patterns" for a library pattern ("patterns/NAME"), else none.
func GroupOf(file string) string {
	if strings.HasPrefix(file, "patterns/") {
		return "patterns"
	}
	return ""
}

// GroupTitle heads a group of rows.
func GroupTitle(group string) string {
	if group == "patterns" {
		return "patterns: cited shutdown bugs of extension projects (docs/patterns.md)"
	}
	return group
}

// JSON renders the matrix as indented JSON; json.Unmarshal of it gives
// back an equal Matrix.
func (m *Matrix) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// CleanApartFromDefects returns the CPython defects behind every outcome
// of the cell but clean, when there is such an outcome and only CPython's
// own defects reached each; nil otherwise.
func (c *Cell) CleanApartFromDefects() []string {
	outcomes := make([]runtime.Outcome, len(c.Outcomes))
	for i, o := range c.Outcomes {
		outcomes[i] = runtime.Outcome(o)
	}
	return runtime.CleanApartFromDefects(outcomes, func(o runtime.Outcome) string { return c.Defects[string(o)] })
}

// defectMark is what a cell shows after an outcome only CPython's own
// defects reached.
const defectMark = "†"
