package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

const (
	maxLabel        = 36 // widest scenario column in the text table
	outcomesPerLine = 2  // a cell with more outcomes continues on the next line
)

// Text renders the matrix as a table for a terminal: one row per scenario
// (its file's base name), one column per policy, each cell listing the
// outcomes seen with their counts ("cl 39 dl 161"). An outcome outside the
// cell's expect lines carries "!", a cell without expect lines "*". A legend
// and the list of unexpected outcomes, each with its reproducing command,
// follow the table. The output is deterministic.
func (m *Matrix) Text() string {
	var b strings.Builder
	if m.Search == "exhaustive" {
		fmt.Fprintf(&b, "%s × %s, exhaustive: counts are transitions into each outcome (%s)\n\n", plural(len(m.Rows), "scenario", "scenarios"), plural(len(m.Policies), "policy", "policies"), m.Mode)
	} else {
		fmt.Fprintf(&b, "%s × %s, %d runs per cell (%s)\n\n", plural(len(m.Rows), "scenario", "scenarios"), plural(len(m.Policies), "policy", "policies"), m.Runs, m.Mode)
	}

	// Lay out each cell as lines of at most outcomesPerLine outcomes.
	cells := make([][][]string, len(m.Rows))
	width := make([]int, len(m.Policies))
	for i, p := range m.Policies {
		width[i] = len(p)
	}
	label := len("scenario")
	for r, row := range m.Rows {
		label = max(label, min(maxLabel, utf8.RuneCountInString(Clean(row.ID))))
		cells[r] = make([][]string, len(row.Cells))
		for c := range row.Cells {
			cell := &row.Cells[c]
			var parts []string
			for _, o := range cell.Outcomes {
				s := fmt.Sprintf("%s %d", abbrev(o), cell.Counts[o])
				if cell.Defects[o] != "" {
					s += defectMark
				}
				if cell.IsUnexpected(o) {
					s += "!"
				}
				if o == string(runtime.Budget) {
					s += "?"
				}
				parts = append(parts, s)
			}
			if len(parts) == 0 {
				parts = []string{"-"}
			}
			if len(cell.Expected) == 0 {
				parts[len(parts)-1] += " *"
			}
			if cell.Default {
				parts[0] = "[" + parts[0]
				parts[len(parts)-1] += "]"
			}
			if m.Search == "exhaustive" {
				parts[len(parts)-1] += map[bool]string{true: " =", false: " ~"}[cell.Proved]
			}
			var lines []string
			for len(parts) > 0 {
				n := min(outcomesPerLine, len(parts))
				lines = append(lines, strings.Join(parts[:n], " "))
				parts = parts[n:]
			}
			for _, l := range lines {
				width[c] = max(width[c], len(l))
			}
			cells[r][c] = lines
		}
	}
	line := func(first string, cols []string) {
		var l strings.Builder
		l.WriteString(pad(first, label))
		for i, s := range cols {
			l.WriteString("  ")
			l.WriteString(pad(s, width[i]))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line("scenario", m.Policies)
	for r, row := range m.Rows {
		if row.Group != "" && (r == 0 || m.Rows[r-1].Group != row.Group) {
			b.WriteString("-- " + GroupTitle(row.Group) + "\n")
		}
		height := 1
		for _, c := range cells[r] {
			height = max(height, len(c))
		}
		for k := 0; k < height; k++ {
			first := ""
			if k == 0 {
				first = truncate(Clean(row.ID), label)
			}
			cols := make([]string, len(m.Policies))
			for c := range cols {
				if k < len(cells[r][c]) {
					cols[c] = cells[r][c][k]
				}
			}
			line(first, cols)
		}
	}

	b.WriteString("\nlegend:")
	for i, c := range scenario.OutcomeClasses {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s %s", c.Abbrev, c.Name)
	}
	b.WriteString("\n        ! outside the expect lines, * no expect line for the policy (unchecked), ? inconclusive (not a pass)\n")
	b.WriteString("        [ ] the default policy of the scenario's preset\n")
	if m.Search == "exhaustive" {
		b.WriteString("        = proved: every state visited, ~ search bound hit: a lower bound, not proved\n")
	}
	b.WriteString(defectNotes(m.defects()))
	b.WriteString("\npresets:\n")
	for _, row := range m.Rows {
		fmt.Fprintf(&b, "  %s: %s\n", Clean(row.ID), Clean(row.Preset))
	}

	var bad []string
	cellsBad := 0
	for _, row := range m.Rows {
		for _, cell := range row.Cells {
			if len(cell.Unexpected) > 0 {
				cellsBad++
			}
			for _, o := range cell.Unexpected {
				w := cell.Witnesses[o]
				if w == nil {
					continue
				}
				bad = append(bad, fmt.Sprintf("  %s, policy %s: %s in %d of %d runs (expected %s)\n    %s\n    %s\n",
					Clean(row.ID), cell.Policy, o, w.Count, cell.Runs, strings.Join(cell.Expected, ", "),
					Clean(w.Report.Message), Clean(w.Command)))
			}
		}
	}
	b.WriteString(cleanApartText(m))
	b.WriteString(inconclusiveText(m))
	if cellsBad == 0 {
		fmt.Fprintf(&b, "\nevery outcome is allowed by the expect lines\n")
	} else {
		fmt.Fprintf(&b, "\n%d of %s outside the expect lines:\n", cellsBad, plural(len(m.Rows)*len(m.Policies), "cell has outcomes", "cells have outcomes"))
		b.WriteString(strings.Join(bad, ""))
	}
	return b.String()
}

// abbrev is an outcome's short name in a cell (scenario.OutcomeClasses);
// a name the language does not know is shown whole.
func abbrev(o string) string {
	if c, ok := scenario.LookupOutcome(o); ok {
		return c.Abbrev
	}
	return Clean(o)
}

// Clean makes hostile text (from scenario files) safe for a terminal:
// control and other non-printing characters, invalid UTF-8 included,
// become '?'. Every text rendering uses it.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// inconclusiveText lists the cells with budget runs: nothing was decided
// in them, which is never a pass.
func inconclusiveText(m *Matrix) string {
	var b strings.Builder
	n := 0
	for _, row := range m.Rows {
		for _, cell := range row.Cells {
			if cell.Inconclusive == 0 {
				continue
			}
			n++
			if w := cell.Witnesses[string(runtime.Budget)]; w != nil {
				fmt.Fprintf(&b, "  %s, policy %s: %d of %d runs ran out of their step budget\n    %s\n",
					Clean(row.ID), cell.Policy, cell.Inconclusive, cell.Runs, Clean(w.Command))
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("\n%s inconclusive (budget: nothing decided, not a pass):\n", plural(n, "cell is", "cells are")) + b.String()
}

// MissingText lists, one line per cell, the outcomes its expect lines name
// that no run showed; it is empty when there are none.
func (m *Matrix) MissingText() string {
	var b strings.Builder
	for _, row := range m.Rows {
		for _, cell := range row.Cells {
			if len(cell.Missing) > 0 {
				fmt.Fprintf(&b, "  %s, policy %s: %s never appeared in %d runs\n", Clean(row.ID), cell.Policy, strings.Join(cell.Missing, ", "), cell.Runs)
			}
		}
	}
	return b.String()
}

// defects maps each defect issue behind a defect-only outcome of the matrix
// to the rows that show it.
func (m *Matrix) defects() map[string][]string {
	out := map[string][]string{}
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			addDefects(out, row.ID, c.Defects)
		}
	}
	return out
}

// addDefects adds row id to the rows of each issue in defects.
func addDefects(rows map[string][]string, id string, defects map[string]string) {
	for _, d := range defects {
		if !slices.Contains(rows[d], id) {
			rows[d] = append(rows[d], id)
		}
	}
}

// defectNotes is the legend's footnote on the CPython defects the table
// marks, each with its releases, what it is and the rows that show it.
func defectNotes(defects map[string][]string) string {
	if len(defects) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("        " + defectMark + " only CPython's own defects reach the outcome, not the scenario's code:\n")
	for _, issue := range slices.Sorted(maps.Keys(defects)) {
		d, _ := runtime.LookupDefect(issue)
		fmt.Fprintf(&b, "          %s (%s): %s; %s\n", issue, d.Releases, d.What, strings.Join(cleanAll(defects[issue]), ", "))
	}
	return b.String()
}

// cleanApartText lists the scenarios whose default-policy cell is clean
// apart from CPython's own defects.
func cleanApartText(m *Matrix) string {
	var lines []string
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			if issues := c.CleanApartFromDefects(); c.Default && issues != nil {
				lines = append(lines, fmt.Sprintf("  %s (%s): clean apart from CPython's own defects (%s)\n", Clean(row.ID), c.Policy, strings.Join(issues, ", ")))
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n" + plural(len(lines), "scenario is", "scenarios are") + " clean under the default policy apart from CPython's own defects:\n" + strings.Join(lines, "")
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Clean(s)
	}
	return out
}
