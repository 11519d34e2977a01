package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// cmdPresets prints the release presets and every fact behind them, with
// the release that introduced it and its source. With preset names, it
// describes that one composed preset instead.
func cmdPresets(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("presets", stderr)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		p, err := runtime.LookupPreset(names)
		if err != nil {
			return usageError("%v", err)
		}
		printPreset(stdout, p)
		return nil
	}
	printPresetTable(stdout)
	return nil
}

func printPreset(w io.Writer, p runtime.Preset) {
	fmt.Fprintln(w, p.Describe())
	fmt.Fprintf(w, "join after the flag: %s\n", p.JoinText())
	for _, f := range runtime.Facts {
		mark := "no "
		if f.In(p) {
			mark = "yes"
		}
		fmt.Fprintf(w, "  %s  %s [%s; %s]\n", mark, f.What, f.Releases, f.Source)
	}
}

func printPresetTable(w io.Writer) {
	var presets []runtime.Preset
	for _, n := range runtime.BoundaryPresets {
		p, _ := runtime.LookupPreset([]string{n})
		presets = append(presets, p)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(head string, cell func(runtime.Preset) string) {
		cells := []string{head}
		for _, p := range presets {
			cells = append(cells, cell(p))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("release", func(p runtime.Preset) string { return p.Version })
	row("default policy", func(p runtime.Preset) string { return p.DefaultPolicy })
	row("platform", func(p runtime.Preset) string { return p.Platform })
	row("join after flag", runtime.Preset.JoinText)
	for i, f := range runtime.Facts {
		row(fmt.Sprintf("fact %d", i+1), func(p runtime.Preset) string {
			if f.In(p) {
				return "y"
			}
			return "-"
		})
	}
	tw.Flush()
	fmt.Fprintln(w, "\ncpython-3.Y is the latest 3.Y patch release; cpython-3.Y.Z is that release.")
	fmt.Fprintln(w, "A release alone runs on glibc (Linux); add posix for the abstract reading, windows for Windows, debug for a debug build.")
	fmt.Fprintf(w, "No preset line: CPython 3.%d on abstract POSIX. `shutdownfuzz presets NAME...` describes one preset.\n", scenario.DefaultRelease)
	fmt.Fprintln(w, "\nThe facts, with the releases that have them and their sources:")
	for i, f := range runtime.Facts {
		fmt.Fprintf(w, "%2d. %s\n    releases: %s; source: %s\n", i+1, f.What, f.Releases, f.Source)
	}
}
