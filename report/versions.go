package report

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// Versions is the release view of a set of scenarios: the user's question
// "what happens to my extension when I move from 3.12 to 3.14?". Each row
// is a scenario, each column a CPython release; a cell runs the scenario
// with its release replaced by the column's (its platform and other facets
// kept) under that release's own default policy. A cell whose outcome set
// differs from the cell to its left is Changed.
type Versions struct {
	Runs int `json:"runs"` // schedules per cell; 0 when Search is exhaustive
	// Search is "" for sampled cells, "exhaustive" when each cell's set
	// was searched for (VersionCell.Proved says whether it was proved).
	Search   string       `json:"search,omitempty"`
	Releases []string     `json:"releases"` // preset names of the columns, oldest first
	Rows     []VersionRow `json:"rows"`
}

// VersionRow is one scenario across the releases.
type VersionRow struct {
	ID       string        `json:"id"`
	Scenario string        `json:"scenario"`
	File     string        `json:"file"`
	Cells    []VersionCell `json:"cells"` // one per release, in Versions.Releases order
}

// VersionCell is one scenario under one release's preset and default policy.
type VersionCell struct {
	Release  string         `json:"release"`
	Preset   string         `json:"preset"` // the composed preset the cell ran
	Policy   string         `json:"policy"` // the release's default policy
	Runs     int            `json:"runs"`
	Counts   map[string]int `json:"counts"`
	Outcomes []string       `json:"outcomes"`
	// Changed: the outcome set differs from the previous release's.
	Changed   bool                `json:"changed"`
	Witnesses map[string]*Witness `json:"witnesses"`
	// Defects: the outcomes only CPython's own defects reached (Cell.Defects).
	Defects map[string]string `json:"defects,omitempty"`
	// Search, Proved and States are Cell's, for a view built with
	// -exhaustive: an unproved cell's set is a lower bound.
	Search string `json:"search,omitempty"`
	Proved bool   `json:"proved,omitempty"`
	States int    `json:"states,omitempty"`
}

// Unproved counts the exhaustive cells whose search a bound stopped.
func (v *Versions) Unproved() int {
	n := 0
	for _, r := range v.Rows {
		for _, c := range r.Cells {
			n += unprovedCell(c.Search, c.Proved)
		}
	}
	return n
}

// Changes counts the changed cells.
func (v *Versions) Changes() int {
	n := 0
	for _, r := range v.Rows {
		for _, c := range r.Cells {
			if c.Changed {
				n++
			}
		}
	}
	return n
}

// Text renders the release view as a table: one column per release, headed
// by the release and its default policy; a cell whose outcome set changed
// from the previous release carries "^". Changed cells are listed after the
// table with the command that reproduces each new outcome.
func (v *Versions) Text() string {
	var b strings.Builder
	how := fmt.Sprintf("%d runs per cell", v.Runs)
	if v.Search == "exhaustive" {
		how = "exhaustive"
	}
	fmt.Fprintf(&b, "%s × %s, each under the release's own default policy, %s\n\n",
		plural(len(v.Rows), "scenario", "scenarios"), plural(len(v.Releases), "release", "releases"), how)
	head := []string{"scenario"}
	pols := []string{""}
	for i, r := range v.Releases {
		head = append(head, strings.TrimPrefix(r, "cpython-"))
		pol := ""
		if len(v.Rows) > 0 {
			pol = v.Rows[0].Cells[i].Policy
		}
		pols = append(pols, pol)
	}
	rows := [][]string{head, pols}
	for _, row := range v.Rows {
		line := []string{truncate(Clean(row.ID), maxLabel)}
		for _, c := range row.Cells {
			var parts []string
			for _, o := range c.Outcomes {
				part := abbrev(o)
				if c.Defects[o] != "" {
					part += defectMark
				}
				parts = append(parts, part)
			}
			cell := strings.Join(parts, " ")
			if c.Search == "exhaustive" {
				cell += map[bool]string{true: " =", false: " ~"}[c.Proved]
			}
			if c.Changed {
				cell += " ^"
			}
			line = append(line, cell)
		}
		rows = append(rows, line)
	}
	writeTable(&b, rows)
	b.WriteString("\n        ^ the outcome set changed from the release to the left; cells list the outcomes seen\n")
	if v.Search == "exhaustive" {
		b.WriteString("        = proved: every state visited, ~ search bound hit: a lower bound, not proved\n")
	}
	b.WriteString(defectNotes(v.defects()))
	var changes []string
	for _, row := range v.Rows {
		for i, c := range row.Cells {
			if !c.Changed {
				continue
			}
			prev := row.Cells[i-1]
			line := fmt.Sprintf("  %s: %s {%s} -> %s {%s}\n", Clean(row.ID), strings.TrimPrefix(prev.Release, "cpython-"), strings.Join(prev.Outcomes, ", "),
				strings.TrimPrefix(c.Release, "cpython-"), strings.Join(c.Outcomes, ", "))
			for _, o := range c.Outcomes {
				if !slices.Contains(prev.Outcomes, o) {
					line += fmt.Sprintf("    new %s: %s\n", o, Clean(c.Witnesses[o].Command))
				}
			}
			changes = append(changes, line)
		}
	}
	fmt.Fprintf(&b, "\n%s from one release to the next", plural(len(changes), "cell changes", "cells change"))
	if len(changes) > 0 {
		b.WriteString(":\n" + strings.Join(changes, ""))
	} else {
		b.WriteString("\n")
	}
	return b.String()
}

// writeTable writes rows as left-aligned columns two spaces apart
// (text/tabwriter, as the presets table does).
func writeTable(b *strings.Builder, rows [][]string) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// defects maps each defect issue behind a defect-only outcome of the view
// to the rows that show it.
func (v *Versions) defects() map[string][]string {
	out := map[string][]string{}
	for _, row := range v.Rows {
		for _, c := range row.Cells {
			addDefects(out, row.ID, c.Defects)
		}
	}
	return out
}
