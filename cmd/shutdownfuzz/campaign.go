package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/shutdownfuzz/shutdownfuzz/campaign"
	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
)

const campaignArgs = "[-duration D] [-policy all|P] [-mode controlled|wild] [-shard i/n] [-out DIR] [-runs-per-cell N] [-fresh] [-workers N] [-exhaustive [-max-states N]] [DIR|FILE.scn...]"

// cmdCampaign runs a long exploration campaign (see package campaign). It
// stops at the end of -duration, once every cell has had -runs-per-cell
// runs, or on SIGINT or SIGTERM, after the runs in progress; a second
// signal kills it at once.
func cmdCampaign(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal is not caught: it kills the process
	}()
	return campaignMain(ctx, args, stdout, stderr)
}

// campaignMain is cmdCampaign with the context given: tests cancel it as a
// signal would.
func campaignMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("campaign", stderr)
	duration := fs.Duration("duration", 10*time.Minute, "how long this session runs; 0 means until a signal or -runs-per-cell")
	policy := fs.String("policy", "all", "thread-exit policy, or all")
	mode := fs.String("mode", "controlled", "controlled (explore's random/PCT schedules) or wild (Go's real scheduler with injected timing)")
	shard := fs.String("shard", "0/1", "run only schedule indices k with k mod n = i (`i/n`)")
	out := fs.String("out", "out/campaign", "write state.json, summary.json and crashers/ to `DIR`")
	runsPerCell := fs.Int("runs-per-cell", 0, "stop once every scenario × policy cell has had `N` runs over all sessions (0: no limit)")
	fresh := fs.Bool("fresh", false, "start over even if -out holds the state of another campaign (kept as state.json.old)")
	workers := fs.Int("workers", 0, "cells run in parallel in controlled mode (default GOMAXPROCS; wild mode uses 1)")
	exh := fs.Bool("exhaustive", false, "first prove each cell's outcome set by visiting every state; proved cells are not sampled")
	maxStates := fs.Int("max-states", exhaustive.DefaultMaxStates, "with -exhaustive: states per cell before the search gives up and the cell is sampled")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *maxStates < 1 {
		return usageError("-max-states must be at least 1")
	}
	if *exh && *mode == campaign.Wild {
		return usageError("-exhaustive explores the controlled model; it does not combine with -mode wild")
	}
	if *duration < 0 {
		return usageError("-duration must not be negative")
	}
	if *runsPerCell < 0 {
		return usageError("-runs-per-cell must not be negative")
	}
	if *mode != campaign.Controlled && *mode != campaign.Wild {
		return usageError("-mode %q: want controlled or wild", *mode)
	}
	si, sn, err := parseShard(*shard)
	if err != nil {
		return err
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
	cfg := campaign.Config{
		Dir: *out, Mode: *mode, Shard: si, Shards: sn, Policies: policies,
		Duration: *duration, RunsPerCell: *runsPerCell, Fresh: *fresh, Workers: *workers,
		Exhaustive: *exh, MaxStates: *maxStates,
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.File] {
			continue
		}
		seen[e.File] = true
		cfg.Scenarios = append(cfg.Scenarios, campaign.Scenario{Name: e.File, Scenario: e.Scenario})
	}
	// The interruption notice shares stderr with Main: wait for it before
	// returning.
	done, noted := make(chan struct{}), make(chan struct{})
	defer func() { close(done); <-noted }()
	go func() {
		defer close(noted)
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr, "shutdownfuzz campaign: interrupted; stopping after the runs in progress")
		case <-done:
		}
	}()
	cfg.Progress = progressReporter(stdout, stderr, *duration)
	sum, err := campaign.Run(ctx, cfg)
	var mm *campaign.MismatchError
	if errors.As(err, &mm) {
		return usageError("%v", err)
	}
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	printSummary(stdout, sum, *out)
	if !sum.OK {
		return &exitError{code: 1}
	}
	return nil
}

// parseShard parses -shard i/n with 0 <= i < n.
func parseShard(v string) (int, int, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usageError("-shard %q: want i/n with 0 <= i < n (e.g. 0/4)", v)
	}
	return i, n, nil
}

// progressReporter shows a live progress bar when stdout is a terminal, and
// otherwise prints a one-line status to stderr every 10 seconds.
func progressReporter(stdout, stderr io.Writer, duration time.Duration) func(campaign.Progress) {
	line := func(p campaign.Progress) string {
		s := fmt.Sprintf("%d runs (%.0f/s), %d signatures, %d unexpected, %d inconclusive, elapsed %s",
			p.SessionRuns, p.RunsPerSec, p.Signatures, p.Unexpected, p.Inconclusive, p.Elapsed.Round(time.Second))
		if p.Remaining >= 0 {
			s += fmt.Sprintf(", %s left", p.Remaining.Round(time.Second))
		}
		if p.Minimizing > 0 {
			s += fmt.Sprintf(", minimizing %d", p.Minimizing)
		}
		return s
	}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		max := int64(-1)
		if duration > 0 {
			max = int64(duration / (100 * time.Millisecond)) // tenths of a second
		}
		bar := progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(stdout),
			progressbar.OptionSetWidth(24),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetRenderBlankState(true),
		)
		return func(p campaign.Progress) {
			bar.Describe(line(p))
			if max > 0 {
				bar.Set64(min(max, int64(p.Elapsed/(100*time.Millisecond))))
			} else {
				bar.Add(1)
			}
			if p.Done {
				bar.Finish()
				fmt.Fprintln(stdout)
			}
		}
	}
	var last time.Duration
	return func(p campaign.Progress) {
		if p.Done || p.Elapsed-last < 10*time.Second {
			return
		}
		last = p.Elapsed
		fmt.Fprintln(stderr, "campaign: "+line(p))
	}
}

// printSummary prints the summary for people.
func printSummary(w io.Writer, s *campaign.Summary, dir string) {
	how := "done"
	if s.Interrupted {
		how = "interrupted"
	}
	fmt.Fprintf(w, "campaign %s (%s mode, shard %s, %d scenarios × %d policies): %d runs in %.1fs (%.0f/s); %d runs over %d session(s)\n",
		how, s.Config.Mode, s.Config.Shard, len(s.Config.Scenarios), len(s.Config.Policies),
		s.SessionRuns, s.ElapsedSeconds, s.RunsPerSecond, s.Runs, s.Sessions)
	printProofs(w, s)
	fmt.Fprintf(w, "%d distinct failure signatures:\n", len(s.Signatures))
	for _, sig := range s.Signatures {
		mark := ""
		if sig.Unexpected {
			mark = "  UNEXPECTED"
		}
		fmt.Fprintf(w, "  %7d  %s  (first: %s, %s)%s\n", sig.Count, report.Clean(sig.Signature), report.Clean(sig.FirstScenario), sig.FirstStrategy, mark)
		switch {
		case sig.Crasher != "":
			fmt.Fprintf(w, "           crasher %s\n           to re-run: %s\n", sig.Crasher, corpus.RerunCommand(sig.Policy, sig.Crasher))
		case sig.Pending:
			fmt.Fprintf(w, "           crasher pending (made by the next session)\n")
		case sig.CrasherError != "":
			fmt.Fprintf(w, "           no crasher: %s\n", report.Clean(sig.CrasherError))
		}
	}
	if s.Inconclusive > 0 {
		fmt.Fprintf(w, "%d runs inconclusive: their step budget ran out before anything was decided (not a pass)\n", s.Inconclusive)
	}
	if len(s.Unexpected) > 0 {
		fmt.Fprintf(w, "%d outcomes outside their expect lines:\n", len(s.Unexpected))
		for _, u := range s.Unexpected {
			fmt.Fprintf(w, "  %s policy %s: %s (%d runs; expected %s), first at %s\n",
				report.Clean(u.Scenario), u.Policy, u.Outcome, u.Count, strings.Join(u.Expected, ", "), u.FirstStrategy)
			if u.Crasher != "" {
				fmt.Fprintf(w, "    crasher %s\n    to re-run: %s\n", u.Crasher, corpus.RerunCommand(u.Policy, u.Crasher))
			}
		}
	}
	if n := len(s.Resources); n > 0 {
		a, b := s.Resources[0], s.Resources[n-1]
		fmt.Fprintf(w, "resources: RSS %d KiB -> %d KiB, goroutines %d -> %d (%d samples)\n", a.RSSKiB, b.RSSKiB, a.Goroutines, b.Goroutines, n)
	}
	fmt.Fprintf(w, "wrote %s/summary.json and %s/state.json\n", dir, dir)
}

// printProofs lists the cells of an exhaustive campaign: proved, or
// sampled because the search hit its bound.
func printProofs(w io.Writer, s *campaign.Summary) {
	proved, searched := 0, 0
	for _, c := range s.Cells {
		if c.States > 0 {
			searched++
		}
		if c.Proved {
			proved++
		}
	}
	if searched == 0 {
		return
	}
	fmt.Fprintf(w, "exhaustive: %d of %d cells proved", proved, len(s.Cells))
	if proved < len(s.Cells) {
		fmt.Fprint(w, "; the others are sampled (their searches hit -max-states)")
	}
	fmt.Fprintln(w, ":")
	for _, c := range s.Cells {
		how := "proved"
		if !c.Proved {
			how = "NOT proved (sampled)"
		}
		fmt.Fprintf(w, "  %s policy %s: %s, %d states: %s\n", report.Clean(c.Scenario), c.Policy, how, c.States, strings.Join(c.Outcomes, ", "))
	}
}
