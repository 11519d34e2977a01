package conform

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Report is a conformance run: its rows and settings, built as data and
// rendered as text, JSON or Markdown.
type Report struct {
	Runs  int  `json:"runs"`
	Steer bool `json:"steer"`
	// Launcher names how the unsteered runs started, when not as
	// `python3.X driver.py` (Config.Launcher's Describe).
	Launcher string   `json:"launcher,omitempty"`
	Versions []string `json:"versions"`
	Rows     []*Row   `json:"rows"`
}

// OK reports whether every row passes.
func (r *Report) OK() bool {
	for _, row := range r.Rows {
		if !row.OK() {
			return false
		}
	}
	return true
}

// outcomeSet renders counts in the language's order: "clean 3, abort 2".
func outcomeSet(m map[runtime.Outcome]int, counts bool) string {
	var parts []string
	for _, o := range runtime.Outcomes {
		if m[o] == 0 {
			continue
		}
		if counts {
			parts = append(parts, fmt.Sprintf("%s %d", o, m[o]))
		} else {
			parts = append(parts, string(o))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func (row *Row) predicted() string {
	if row.Prediction == nil {
		return "-"
	}
	return outcomeSet(row.Prediction.Outcomes, false)
}

// policy is the model's policy, with the release it modelled when that is
// a stand-in: "hang (3.14's model)".
func (row *Row) policy() string {
	if row.Prediction == nil {
		return "-"
	}
	if row.Prediction.StandIn != "" {
		return fmt.Sprintf("%s (%s's model)", row.Prediction.Policy, row.Prediction.Release)
	}
	return row.Prediction.Policy
}

func (row *Row) witness() string {
	if row.Prediction == nil || row.Runs == 0 {
		return "-"
	}
	w := fmt.Sprintf("%s %d/%d", row.Prediction.Witness, row.Reproduced, row.Runs)
	if row.UnsteeredRuns > 0 {
		label := "unsteered"
		if row.Launched {
			label = "shim"
		}
		w += fmt.Sprintf(" (%s %d/%d)", label, row.UnsteeredReproduced, row.UnsteeredRuns)
	}
	return w
}

func (row *Row) python() string {
	if row.Python == "" {
		return row.Version
	}
	if _, debug := SplitVersion(row.Version); debug {
		return row.Python + " debug"
	}
	return row.Python
}

// notesText lists the counted notes: "join z returned 3".
func (row *Row) notesText() string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(row.Notes)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", n, row.Notes[n]))
	}
	return strings.Join(parts, "; ")
}

// Text renders the report for people: one line per scenario and version,
// then the evidence and re-run command of every row that did not pass.
func (r *Report) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tpython\tmodel predicts\tobserved\twitness\tverdict")
	for _, row := range r.Rows {
		if row.Verdict == NotExported {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\n", filepath.Base(row.File), row.python(), row.Verdict)
			continue
		}
		policy := ""
		if row.Prediction != nil {
			policy = " (" + row.policy() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\n", filepath.Base(row.File), row.python(), row.predicted(), policy,
			outcomeSet(row.Observed, true), row.witness(), row.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Launcher != "" {
		fmt.Fprintf(w, "(the unsteered runs ran under %s)\n", r.Launcher)
	}
	for _, row := range r.Rows {
		if row.OK() {
			continue
		}
		fmt.Fprintf(w, "\n%s on python %s: %s\n", row.Scenario, row.python(), row.Verdict)
		if p := row.Prediction; p != nil && p.StandIn != "" {
			fmt.Fprintf(w, "  %s\n", p.StandInText())
		}
		if row.Reason != "" {
			fmt.Fprintf(w, "  %s\n", row.Reason)
		}
		for _, k := range slices.Sorted(maps.Keys(row.Evidence)) {
			fmt.Fprintf(w, "  %s ×%d: %s\n", k, row.Kinds[k], row.Evidence[k])
		}
		if n := row.notesText(); n != "" {
			fmt.Fprintf(w, "  notes: %s\n", n)
		}
		fmt.Fprintf(w, "  re-run: %s\n", row.Rerun)
	}
	return nil
}

// JSON renders the report as one JSON object.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

//go:embed templates/conformance.md.tmpl
var markdownTmpl string

var mdTemplate = template.Must(template.New("md").Funcs(template.FuncMap{
	"base":      filepath.Base,
	"observed":  func(row *Row) string { return outcomeSet(row.Observed, true) },
	"predicted": func(row *Row) string { return row.predicted() },
	"witness":   func(row *Row) string { return row.witness() },
	"policy":    func(row *Row) string { return row.policy() },
	"python":    func(row *Row) string { return row.python() },
	"notes":     func(row *Row) string { return row.notesText() },
	"evidence": func(row *Row) []string {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(row.Evidence)) {
			out = append(out, fmt.Sprintf("%s ×%d: %s", k, row.Kinds[k], row.Evidence[k]))
		}
		return out
	},
	"exportable": func(rows []*Row) []*Row {
		var out []*Row
		for _, row := range rows {
			if row.Verdict != NotExported {
				out = append(out, row)
			}
		}
		return out
	},
	"notExportable": func(rows []*Row) []*Row {
		var out []*Row
		seen := map[string]bool{}
		for _, row := range rows {
			if row.Verdict == NotExported && !seen[row.File] {
				seen[row.File] = true
				out = append(out, row)
			}
		}
		return out
	},
	// refusedOn lists the releases a scenario was not exported for, when
	// it was exported for others (PEP 788's statements: 3.15 only).
	"refusedOn": func(rows []*Row, file string) string {
		var on []string
		exported := false
		for _, row := range rows {
			switch {
			case row.File != file:
			case row.Verdict == NotExported:
				on = append(on, row.Version)
			default:
				exported = true
			}
		}
		if !exported {
			return ""
		}
		return strings.Join(on, ", ")
	},
	"failing": func(rows []*Row) []*Row {
		var out []*Row
		for _, row := range rows {
			if !row.OK() || row.Verdict == AgreeNoWitness {
				out = append(out, row)
			}
		}
		return out
	},
	// standIns lists the releases predicted with another release's model:
	// "3.15 (with cpython-3.14)".
	"standIns": func(rows []*Row) string {
		var out []string
		for _, row := range rows {
			if p := row.Prediction; p != nil && p.StandIn != "" {
				s := fmt.Sprintf("%s (with cpython-%s)", p.StandIn, p.Release)
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		return strings.Join(out, ", ")
	},
	"cell": func(s string) string { return strings.ReplaceAll(s, "|", "\\|") },
}).Parse(markdownTmpl))

// Markdown renders docs/conformance.md.
func (r *Report) Markdown(w io.Writer) error {
	return mdTemplate.Execute(w, r)
}
