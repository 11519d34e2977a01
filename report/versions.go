package report

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Versions is the release view of a set of scenarios: the user's question
// "what happens to my extension when I move from 3.12 to 3.14?". Each row
// is a scenario, each column a CPython release; a cell runs the scenario
// with its release replaced by the column's (its platform and other facets
// kept) under that release's own default policy. A cell whose outcome set
// differs from the cell to its left is Changed.
type Versions struct {
	Runs     int          `json:"runs"`
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
}

// ParseReleases reads a comma-separated release list: "3.8,3.13.7" or
// "cpython-3.8,cpython-3.13.7". Empty means runtime.VersionPresets.
func ParseReleases(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return slices.Clone(runtime.VersionPresets), nil
	}
	var out []string
	for _, f := range strings.Split(list, ",") {
		name := strings.TrimSpace(f)
		if !strings.HasPrefix(name, "cpython-") {
			name = "cpython-" + name
		}
		if _, ok := runtime.ParseRelease(name); !ok {
			return nil, fmt.Errorf("%q is not a CPython release (want 3.Y or 3.Y.Z, Y from 8 to 14)", strings.TrimSpace(f))
		}
		out = append(out, name)
	}
	return out, nil
}

// BuildVersions runs each entry under each release (runs schedules per
// cell, in parallel; the result does not depend on it) and marks the cells
// whose outcome set changes from one release to the next.
func BuildVersions(entries []Entry, releases []string, runs int) (*Versions, error) {
	if runs <= 0 {
		return nil, fmt.Errorf("runs must be at least 1, got %d", runs)
	}
	v := &Versions{Runs: runs, Releases: slices.Clone(releases)}
	for _, e := range entries {
		v.Rows = append(v.Rows, VersionRow{ID: strings.TrimSuffix(path.Base(e.File), ".scn"), Scenario: e.Scenario.Name, File: e.File,
			Cells: make([]VersionCell, len(releases))})
	}
	err := forEachCell(len(entries), len(releases), func(r, c int) error {
		cell, err := buildVersionCell(entries[r], releases[c], runs)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", entries[r].File, releases[c], err)
		}
		v.Rows[r].Cells[c] = *cell
		return nil
	})
	if err != nil {
		return nil, err
	}
	for r := range v.Rows {
		cells := v.Rows[r].Cells
		for c := 1; c < len(cells); c++ {
			cells[c].Changed = !slices.Equal(cells[c].Outcomes, cells[c-1].Outcomes)
		}
	}
	return v, nil
}

func buildVersionCell(e Entry, release string, runs int) (*VersionCell, error) {
	s := scenario.Clone(e.Scenario)
	s.Presets = runtime.WithRelease(e.Scenario, release)
	s.Policy, s.Expect = "", nil
	p, err := runtime.LookupPreset(s.Presets)
	if err != nil {
		return nil, err
	}
	rep, err := explore.Policy(s, p.DefaultPolicy, explore.Options{Runs: runs})
	if err != nil {
		return nil, err
	}
	c := &VersionCell{Release: release, Preset: strings.Join(s.Presets, " "), Policy: p.DefaultPolicy, Runs: rep.Runs,
		Counts: map[string]int{}, Witnesses: map[string]*Witness{}}
	ve := Entry{File: e.File, Scenario: s, Preset: c.Preset}
	for _, o := range rep.Seen() {
		w := rep.Outcomes[o]
		c.Counts[string(o)] = w.Count
		c.Outcomes = append(c.Outcomes, string(o))
		wit, err := witness(ve, p.DefaultPolicy, o, w, 0)
		if err != nil {
			return nil, err
		}
		c.Witnesses[string(o)] = wit
	}
	return c, nil
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
	fmt.Fprintf(&b, "%s × %s, each under the release's own default policy, %d runs per cell\n\n",
		plural(len(v.Rows), "scenario", "scenarios"), plural(len(v.Releases), "release", "releases"), v.Runs)
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
		line := []string{truncate(clean(row.ID), maxLabel)}
		for _, c := range row.Cells {
			var parts []string
			for _, o := range c.Outcomes {
				parts = append(parts, abbrev(o))
			}
			cell := strings.Join(parts, " ")
			if c.Changed {
				cell += " ^"
			}
			line = append(line, cell)
		}
		rows = append(rows, line)
	}
	writeTable(&b, rows)
	b.WriteString("\n        ^ the outcome set changed from the release to the left; cells list the outcomes seen\n")
	var changes []string
	for _, row := range v.Rows {
		for i, c := range row.Cells {
			if !c.Changed {
				continue
			}
			prev := row.Cells[i-1]
			line := fmt.Sprintf("  %s: %s {%s} -> %s {%s}\n", clean(row.ID), strings.TrimPrefix(prev.Release, "cpython-"), strings.Join(prev.Outcomes, ", "),
				strings.TrimPrefix(c.Release, "cpython-"), strings.Join(c.Outcomes, ", "))
			for _, o := range c.Outcomes {
				if !slices.Contains(prev.Outcomes, o) {
					line += fmt.Sprintf("    new %s: %s\n", o, clean(c.Witnesses[o].Command))
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
