package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/grid"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

const matrixArgs = "[-runs N] [-policy all|P] [-versions[=LIST]] [-out DIR] [-force] [-mode controlled|wild] [-exact] [-exhaustive [-max-states N]] [DIR|FILE.scn...]"

// cmdMatrix explores every scenario under every policy and reports the
// outcome matrix: as a table on stdout, and as report.json and report.html
// in -out. With no arguments it covers the built-in library; a DIR argument
// stands for the *.scn files in it.
//
// Existing reports are never overwritten silently: without -force, when
// report.json or report.html exists in -out, the pair is written as
// report-1.json and report-1.html (or the first free number). Files are
// written atomically (a temporary file, then a link or rename into place).
func cmdMatrix(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("matrix", stderr)
	runs := fs.Int("runs", 200, "schedules to sample per cell")
	policy := fs.String("policy", "all", "thread-exit policy, or all")
	out := fs.String("out", ".", "write report.json and report.html to `DIR`")
	force := fs.Bool("force", false, "overwrite report.json and report.html in -out instead of numbering new ones")
	mode := fs.String("mode", "controlled", "how runs are scheduled: controlled (the deterministic scheduler) or wild (Go's real scheduler with injected timing; witnesses replay under the controlled one)")
	var versions versionsFlag
	fs.Var(&versions, "versions", "also run each scenario under each release's own default policy (`LIST`: comma-separated releases, default "+strings.Join(runtime.VersionPresets, ",")+") and mark the cells that change from one release to the next")
	exact := fs.Bool("exact", false, "also exit 1 when an outcome an expect line names never appears in its cell")
	exh := fs.Bool("exhaustive", false, "prove each cell's outcome set by visiting every state instead of sampling (-runs is ignored)")
	maxStates := fs.Int("max-states", exhaustive.DefaultMaxStates, "with -exhaustive: states per cell before the search gives up (the cell is then not proved)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	pos = versions.releaseListArg(pos)
	if *runs < 1 {
		return usageError("-runs must be at least 1")
	}
	if *maxStates < 1 {
		return usageError("-max-states must be at least 1")
	}
	opts := grid.Options{Runs: *runs, Exhaustive: *exh, MaxStates: *maxStates}
	switch *mode {
	case "controlled":
	case "wild":
		if *exh {
			return usageError("-exhaustive explores the controlled model; it does not combine with -mode wild")
		}
		opts.Wild = &chaos.WildOptions{}
	default:
		return usageError("-mode %q: want controlled or wild", *mode)
	}
	policies, err := explore.Policies(*policy)
	if err != nil {
		return usageError("-policy: %v", err)
	}
	entries, err := matrixEntries(pos)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return usageError("no scenarios: %s has no *.scn files", strings.Join(pos, " "))
	}
	m, err := grid.BuildWith(entries, policies, opts)
	if err != nil {
		return runError(err, "")
	}
	if versions.set {
		releases, _ := grid.ParseReleases(versions.list)
		if m.Versions, err = grid.BuildVersions(entries, releases, opts); err != nil {
			return runError(err, "")
		}
	}
	fmt.Fprint(stdout, m.Text())
	if m.Versions != nil {
		fmt.Fprint(stdout, "\n"+m.Versions.Text())
	}

	js, html, err := renderBoth(m)
	if err != nil {
		return err
	}
	paths, err := writeReports(*out, *force, js, html)
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	fmt.Fprintln(stdout)
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	missing := m.MissingText()
	if *exact && missing != "" {
		fmt.Fprintf(stdout, "-exact: outcomes named by expect lines that never appeared:\n%s", missing)
	}
	unproved := m.Unproved()
	if unproved > 0 {
		fmt.Fprintf(stdout, "%d cell(s) not proved: the search bound was hit, so their outcome sets are inconclusive (raise -max-states)\n", unproved)
	}
	if !m.OK() || (*exact && missing != "") || unproved > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// renderBoth renders the matrix as JSON and as HTML, side by side (the
// library's exhaustive matrix spends as long writing its report as
// searching).
func renderBoth(m *report.Matrix) (js, html []byte, err error) {
	var jsErr, htmlErr error
	var b bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { js, jsErr = m.JSON() })
	wg.Go(func() { htmlErr = m.HTML(&b) })
	wg.Wait()
	if err := cmp.Or(jsErr, htmlErr); err != nil {
		return nil, nil, err
	}
	return js, b.Bytes(), nil
}

// matrixEntries loads the scenarios named on the command line: the whole
// library when there are none, every *.scn of a directory, or a file (or
// library scenario name) as run and explore accept it.
func matrixEntries(pos []string) ([]grid.Entry, error) {
	var entries []grid.Entry
	if len(pos) == 0 {
		for _, n := range scenarios.Names() {
			src, file, _ := scenarios.Source(n)
			s, err := scenario.Parse("library/"+file, src)
			if err != nil {
				return nil, &exitError{code: 2, msg: err.Error()}
			}
			entries = append(entries, grid.Entry{File: n, Scenario: s})
		}
		return entries, nil
	}
	for _, arg := range pos {
		files := []string{arg}
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			matches, err := filepath.Glob(filepath.Join(arg, "*.scn"))
			if err != nil {
				return nil, usageError("%v", err)
			}
			if len(matches) == 0 {
				return nil, usageError("%s: no *.scn files in the directory", arg)
			}
			sort.Strings(matches)
			files = matches
		}
		for _, f := range files {
			s, _, err := loadScenario(f)
			if err != nil {
				return nil, err
			}
			entries = append(entries, grid.Entry{File: f, Scenario: s})
		}
	}
	return entries, nil
}

// writeReports writes report.json and report.html into dir and returns
// their paths. Without force, an existing report is kept and the new pair
// gets the first free number: report-1.json and report-1.html, and so on.
func writeReports(dir string, force bool, js, html []byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for n := 0; n < 10000; n++ {
		base := "report"
		if n > 0 {
			base = fmt.Sprintf("report-%d", n)
		}
		jsPath, htmlPath := filepath.Join(dir, base+".json"), filepath.Join(dir, base+".html")
		if !force && (exists(jsPath) || exists(htmlPath)) {
			continue
		}
		err := atomicfile.Write(jsPath, js, force)
		if err == nil {
			err = atomicfile.Write(htmlPath, html, force)
			if err != nil && errors.Is(err, fs.ErrExist) {
				// Someone took the name between our check and our link:
				// take back our half of the pair and try the next number.
				os.Remove(jsPath)
			}
		}
		switch {
		case err == nil:
			return []string{jsPath, htmlPath}, nil
		case errors.Is(err, fs.ErrExist) && !force:
			continue
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: no free report-N name", dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
