package grid

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

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

// BuildVersions runs each entry under each release (opts.Runs schedules
// per cell, or with opts.Exhaustive an exhaustive search of at most
// opts.MaxStates states, as the matrix's cells; cells in parallel, and
// the result does not depend on it) and marks the cells whose outcome set
// changes from one release to the next.
func BuildVersions(entries []Entry, releases []string, opts Options) (*report.Versions, error) {
	if opts.Runs <= 0 && !opts.Exhaustive {
		return nil, fmt.Errorf("runs must be at least 1, got %d", opts.Runs)
	}
	v := &report.Versions{Runs: opts.Runs, Releases: slices.Clone(releases)}
	if opts.Exhaustive {
		v.Runs, v.Search = 0, "exhaustive"
	}
	opts.Workers = cellWorkers(opts.Workers, len(entries)*len(releases))
	for _, e := range entries {
		v.Rows = append(v.Rows, report.VersionRow{ID: strings.TrimSuffix(path.Base(e.File), ".scn"), Scenario: e.Scenario.Name, File: e.File,
			Cells: make([]report.VersionCell, len(releases))})
	}
	err := forEachCell(len(entries), len(releases), func(r, c int) error {
		cell, err := buildVersionCell(entries[r], releases[c], opts)
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

func buildVersionCell(e Entry, release string, opts Options) (*report.VersionCell, error) {
	s := scenario.Clone(e.Scenario)
	s.Presets = runtime.WithRelease(e.Scenario, release)
	s.Policy, s.Expect = "", nil
	p, err := runtime.LookupPreset(s.Presets)
	if err != nil {
		return nil, err
	}
	rep, err := explore.Policy(s, p.DefaultPolicy, explore.Options{Runs: opts.Runs, Exhaustive: opts.Exhaustive, MaxStates: opts.MaxStates, Workers: opts.Workers})
	if err != nil {
		return nil, err
	}
	c := &report.VersionCell{Release: release, Preset: strings.Join(s.Presets, " "), Policy: p.DefaultPolicy, Runs: rep.Runs,
		Counts: map[string]int{}, Witnesses: map[string]*report.Witness{}}
	if opts.Exhaustive {
		c.Search, c.Proved, c.States = rep.Mode, rep.Complete, rep.States
	}
	ve := Entry{File: e.File, Scenario: s, Preset: c.Preset}
	for _, o := range rep.Seen() {
		w := rep.Outcomes[o]
		c.Counts[string(o)] = w.Count
		c.Outcomes = append(c.Outcomes, string(o))
		c.Defects = markDefect(c.Defects, o, w)
		wit, err := witness(ve, p.DefaultPolicy, o, w, 0, nil)
		if err != nil {
			return nil, err
		}
		c.Witnesses[string(o)] = wit
	}
	return c, nil
}
