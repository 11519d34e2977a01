package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

// newFlags returns a flag set whose errors come back as usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(stderr, "usage: shutdownfuzz %s %s\n", c.name, c.args)
			}
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after the positional
// arguments, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: 0}
			}
			return nil, &exitError{code: 2}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// loadScenario reads FILE, or a library scenario of that name, and parses
// it. Errors are usage errors (exit status 2).
func loadScenario(arg string) (*scenario.Scenario, string, error) {
	src, err := os.ReadFile(arg)
	name := arg
	if err != nil {
		lib, file, ok := scenarios.Source(arg)
		if !ok {
			return nil, "", usageError("%v (and no library scenario is named %q; see shutdownfuzz list)", err, arg)
		}
		src, name = lib, "library/"+file
	}
	s, err := scenario.Parse(name, src)
	if err != nil {
		return nil, "", &exitError{code: 2, msg: err.Error()}
	}
	if _, _, err := runtime.ResolvePolicy(s, "hang"); err != nil {
		return nil, "", usageError("%s: %v", name, strings.TrimPrefix(err.Error(), "usage: "))
	}
	return s, name, nil
}

// scenarioArg loads the one FILE argument, applies -preset to it and
// resolves -policy for it.
func scenarioArg(pos []string, policy, preset string) (*scenario.Scenario, string, []string, error) {
	file, err := oneFile(pos)
	if err != nil {
		return nil, "", nil, err
	}
	s, name, err := loadScenario(file)
	if err != nil {
		return nil, "", nil, err
	}
	if err := presetFlag(s, preset); err != nil {
		return nil, "", nil, err
	}
	policies, err := policiesFor(s, policy)
	if err != nil {
		return nil, "", nil, err
	}
	return s, name, policies, nil
}

// oneFile checks that exactly one FILE was given.
func oneFile(pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usageError("want exactly one FILE.scn, got %d arguments", len(pos))
	}
	return pos[0], nil
}

// policiesFor resolves -policy: "" means the scenario's own policy (its
// policy line or its preset's default).
func policiesFor(s *scenario.Scenario, flagValue string) ([]string, error) {
	if flagValue == "" {
		p, _, err := runtime.ResolvePolicy(s, "")
		if err != nil {
			return nil, usageError("%v", err)
		}
		return []string{p}, nil
	}
	ps, err := explore.Policies(flagValue)
	if err != nil {
		return nil, usageError("-policy: %v", err)
	}
	return ps, nil
}

type runJSON struct {
	*runtime.Result
	Replay   string   `json:"replay"`
	Expected []string `json:"expected,omitempty"`
	Allowed  bool     `json:"allowed"`
	Rerun    string   `json:"rerun"`
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	policy := fs.String("policy", "", "thread-exit policy, or all (default: the file's policy line or its preset's default)")
	seed := fs.Int64("seed", -1, "run schedule random `N` instead of the file's schedule line")
	schedFlag := fs.String("schedule", "", "run this `schedule` (\"replay 0 1 1 0\", \"pct 3 7\") instead of the file's schedule line")
	asJSON := fs.Bool("json", false, "print one JSON object per policy")
	steps := fs.Int("steps", 0, "step budget (scheduling points; default 100000)")
	trace := fs.Bool("trace", false, "print the event trace (with -json: include it)")
	mode := fs.String("mode", "controlled", "controlled, or wild: Go's scheduler with injected timing and go-deadlock")
	preset := fs.String("preset", "", "replace the file's preset line with these `presets` (\"cpython-3.13.7 glibc\")")
	verbose := fs.Bool("v", false, "with -mode wild: also print go-deadlock's raw reports (Go stacks), not only their scenario terms")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	s, name, policies, err := scenarioArg(pos, *policy, *preset)
	if err != nil {
		return err
	}
	var sched *scenario.Schedule
	switch {
	case *seed >= 0 && *schedFlag != "":
		return usageError("-seed and -schedule are mutually exclusive")
	case *seed >= 0:
		sched = &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: uint64(*seed)}
	case *schedFlag != "":
		if sched, err = parseScheduleFlag(*schedFlag); err != nil {
			return err
		}
	}
	wild, err := wildOptions(*mode, *seed)
	if err != nil {
		return err
	}
	failed := false
	enc := json.NewEncoder(stdout)
	for _, p := range policies {
		r, err := runtime.Run(s, runtime.Config{Policy: p, Schedule: sched, MaxSteps: *steps, Trace: *trace, Wild: wild})
		if err != nil {
			return runError(err, name)
		}
		expected, allowed := allowedBy(s, p, r.Outcome)
		if !allowed {
			failed = true
		}
		rerun := rerunCommand(name, p, *preset, r)
		if *asJSON {
			if err := enc.Encode(runJSON{Result: r, Replay: r.ReplayLine(), Expected: expected, Allowed: allowed, Rerun: rerun}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprint(stdout, r.Text())
		for _, d := range r.Detector {
			if *verbose {
				fmt.Fprintf(stdout, "go-deadlock's raw report:\n%s\n", strings.TrimRight(d, "\n"))
			}
		}
		if len(expected) > 0 {
			verdict := "allowed"
			if !allowed {
				verdict = "NOT ALLOWED"
			}
			fmt.Fprintf(stdout, "expected: %s: %s\n", strings.Join(expected, ", "), verdict)
		}
		if *trace {
			for _, e := range r.Events {
				fmt.Fprintf(stdout, "  %5d %-10s %-12s %-14s %s\n", e.Step, r.Threads[e.Thread], e.Kind, e.Stmt, e.Detail)
			}
		}
		fmt.Fprintf(stdout, "to re-run: %s\n", rerun)
		fmt.Fprintln(stdout)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}

// allowedBy returns the expect set for policy (sorted) and whether outcome
// is allowed by it; a policy without expect lines allows everything.
func allowedBy(s *scenario.Scenario, policy string, o runtime.Outcome) ([]string, bool) {
	set, ok := s.Expected(policy)
	if !ok {
		return nil, true
	}
	return scenario.OutcomesIn(set), set[string(o)]
}

// rerunCommand is the one command that reproduces r, its schedule and
// path quoted, with the -preset the run was given.
func rerunCommand(file, policy, preset string, r *runtime.Result) string {
	return shell.RunCommand(policy, r.ReplayLine(), file, preset)
}

// parseScheduleFlag parses the -schedule flag: a schedule line exactly as
// explore, matrix and corpus files print it, with or without the word
// schedule ("replay 0 1 1 0 2*40", "schedule pct 3 7", "random 7").
func parseScheduleFlag(v string) (*scenario.Schedule, error) {
	sch, err := scenario.ParseSchedule(v)
	if err != nil {
		return nil, usageError("-schedule: column %v (want random SEED, pct DEPTH SEED, replay C... or stream B..., a run of equal choices as C*N)", err)
	}
	switch {
	case sch.Kind == scenario.SchedulePCT && (sch.Depth < 1 || sch.Depth > 1000):
		return nil, usageError("-schedule: pct takes DEPTH (1..1000) and SEED")
	case sch.Kind == scenario.ScheduleStream && slices.ContainsFunc(sch.Choices, func(c int) bool { return c > 255 }):
		return nil, usageError("-schedule: a stream choice is a byte (0..255)")
	}
	return sch, nil
}

type exploreJSON struct {
	*explore.Report
	OK bool `json:"ok"`
}

func cmdExplore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explore", stderr)
	policy := fs.String("policy", "", "thread-exit policy, or all (default: the file's own policy)")
	runs := fs.Int("runs", 1000, "schedules to sample per policy")
	asJSON := fs.Bool("json", false, "print one JSON object per policy")
	steps := fs.Int("steps", 0, "step budget per run (default 100000)")
	mode := fs.String("mode", "controlled", "controlled, or wild: Go's scheduler with injected timing and go-deadlock")
	preset := fs.String("preset", "", "replace the file's preset line with these `presets` (\"cpython-3.13.7 glibc\")")
	exact := fs.Bool("exact", false, "also exit 1 when an outcome an expect line names never appears")
	exh := fs.Bool("exhaustive", false, "visit every reachable state instead of sampling: the exact outcome set (-runs and -mode are ignored)")
	maxStates := fs.Int("max-states", exhaustive.DefaultMaxStates, "with -exhaustive: states per policy before the search gives up as inconclusive")
	reduce := fs.Bool("reduce", false, "with -exhaustive: partial-order reduction (the same outcome set from fewer states; docs/exhaustive.md)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	wild, err := wildOptions(*mode, 0)
	if err != nil {
		return err
	}
	if *runs < 1 {
		return usageError("-runs must be at least 1")
	}
	if *maxStates < 1 {
		return usageError("-max-states must be at least 1")
	}
	if *reduce && !*exh {
		return usageError("-reduce applies to -exhaustive")
	}
	if *exh && wild != nil {
		return usageError("-exhaustive explores the controlled model; it does not combine with -mode wild")
	}
	s, name, policies, err := scenarioArg(pos, *policy, *preset)
	if err != nil {
		return err
	}
	failed := false
	enc := json.NewEncoder(stdout)
	if !*asJSON {
		if *exh {
			fmt.Fprintf(stdout, "scenario %q (%s), exhaustive, at most %d states per policy\n", s.Name, name, *maxStates)
		} else {
			fmt.Fprintf(stdout, "scenario %q (%s), %d schedules per policy\n", s.Name, name, *runs)
		}
		p, _ := runtime.LookupPreset(s.Presets)
		fmt.Fprintf(stdout, "preset %s\n", p.Describe())
	}
	for _, p := range policies {
		rep, err := explore.Policy(s, p, explore.Options{Runs: *runs, MaxSteps: *steps, Wild: wild, Exhaustive: *exh, MaxStates: *maxStates, Reduce: *reduce})
		if err != nil {
			return runError(err, name)
		}
		ok := rep.OK() && (!*exact || rep.Exact()) && (!*exh || rep.Complete)
		if !ok {
			failed = true // an incomplete search is inconclusive, never a pass
		}
		if *asJSON {
			if err := enc.Encode(exploreJSON{Report: rep, OK: ok}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprint(stdout, rep.TextWith(func(w *explore.Witness) string { return rerunCommand(name, p, *preset, w.Result) }))
		if *exact && len(rep.Missing) > 0 {
			fmt.Fprintf(stdout, "  -exact: %s named by the expect lines never appeared\n", strings.Join(rep.Missing, ", "))
		}
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}

func cmdList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", stderr)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	for _, n := range scenarios.Names() {
		s, err := scenarios.Parse(n)
		title := ""
		if err == nil {
			title = s.Name
		}
		fmt.Fprintf(stdout, "%-32s %s\n", n, title)
	}
	return nil
}

// wildOptions resolves -mode: nil for controlled runs.
func wildOptions(mode string, seed int64) (*chaos.WildOptions, error) {
	switch mode {
	case "controlled":
		return nil, nil
	case "wild":
		if seed < 0 {
			seed = 0
		}
		return &chaos.WildOptions{Seed: uint64(seed)}, nil
	}
	return nil, usageError("-mode %q: want controlled or wild", mode)
}
