package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/bench"
)

const benchArgs = "[-seeds N] [-max N] [-timeout D] [-filter REGEXP] [-json] [DIR|FILE.scn...]"

// cmdBench measures the time to a first witness of every non-clean outcome
// the expect lines list, for controlled PCT, controlled random and the wild
// random-sleep baseline (see bench.Run). SIGINT ends it early with the
// rows measured so far.
func cmdBench(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchMain(ctx, args, stdout, stderr)
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	seeds := fs.Int("seeds", 5, "seeds per strategy (the medians are over them)")
	maxRuns := fs.Int("max", 20000, "cap on schedules per (controlled strategy, seed)")
	timeout := fs.Duration("timeout", 10*time.Second, "cap on wall time per (wild strategy, seed)")
	filter := fs.String("filter", "", "only scenarios whose name or file matches `REGEXP`")
	asJSON := fs.Bool("json", false, "print the measurements as JSON")
	verbose := fs.Bool("v", false, "say on stderr what is being measured")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *seeds < 1 {
		return usageError("-seeds must be at least 1")
	}
	if *maxRuns < 1 {
		return usageError("-max must be at least 1")
	}
	if *timeout <= 0 {
		return usageError("-timeout must be positive")
	}
	var re *regexp.Regexp
	if *filter != "" {
		if re, err = regexp.Compile(*filter); err != nil {
			return usageError("-filter: %v", err)
		}
	}
	entries, err := matrixEntries(pos)
	if err != nil {
		return err
	}
	var scs []bench.Scenario
	for _, e := range entries {
		if re != nil && !re.MatchString(e.File) && !re.MatchString(e.Scenario.Name) {
			continue
		}
		scs = append(scs, bench.Scenario{Name: e.File, Scenario: e.Scenario})
	}
	if len(scs) == 0 {
		return usageError("no scenarios to measure (check -filter)")
	}
	opts := bench.Options{Seeds: *seeds, Max: *maxRuns, Timeout: *timeout}
	if *verbose {
		opts.Progress = func(s string) { fmt.Fprintln(stderr, "bench: "+report.Clean(s)) }
	}
	rep, err := bench.Run(ctx, scs, opts)
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fmt.Fprint(stdout, rep.Text())
	return nil
}
