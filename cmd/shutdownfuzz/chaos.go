package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/realchaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

var chaosArgs = "[-python " + strings.Join(realchaos.Versions, ",") + "] [-runs N] [-delay 300us [-baseline=false]] [-seed S] [-timeout D] [-json | -markdown] [-o FILE [-force]] [-shard i/n] [-witness CLASSES] [-exit N] [-env NAME=VALUE]... [-v] -- COMMAND ARGS..."

const (
	chaosDefaultDelay   = 300 * time.Microsecond
	chaosDefaultTimeout = 10 * time.Second
)

// cmdChaos runs a command on real interpreters under the delay shim
// (docs/chaos.md): each interpreter's embedding host and shim are built
// once into a cache, then the command runs -runs times without delays and
// -runs times with them, every run classified as conform classifies its
// runs.
func cmdChaos(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chaos", stderr)
	pythons := fs.String("python", "", "comma-separated CPython versions (default: every installed one of "+strings.Join(realchaos.Versions, ", ")+")")
	runs := fs.Int("runs", 100, "runs per interpreter without delays, and as many with them")
	delay := fs.Duration("delay", chaosDefaultDelay, "the largest delay before a GIL-taking call (uniform, and 1 call in 50 sleeps 10×); 0: only runs without delays")
	baseline := fs.Bool("baseline", true, "with -delay > 0, also run each run without delays (false: only the delayed runs, as a replay does)")
	seed := fs.Uint64("seed", 0, "the first run's seed (run k uses S+k); default: drawn from the clock and printed")
	timeout := fs.Duration("timeout", chaosDefaultTimeout, "watchdog per run: a run still alive then is a deadlock")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asMD := fs.Bool("markdown", false, "print the report as a Markdown section (docs/chaos.md)")
	out := fs.String("o", "", "write the report to FILE instead of stdout")
	force := fs.Bool("force", false, "with -o, overwrite an existing FILE")
	shard := fs.String("shard", "0/1", "run only runs k with k mod n = i (`i/n`)")
	witness := fs.String("witness", "", "comma-separated outcome classes that count as a witness (default: every class but clean)")
	wantExit := fs.Int("exit", 0, "the exit status of a clean run")
	verbose := fs.Bool("v", false, "print a line per run on stderr")
	var env []string
	fs.Func("env", "add NAME=VALUE to the runs' environment (repeatable; runs start from a fixed one, not the caller's)", func(v string) error {
		if name, _, ok := strings.Cut(v, "="); !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("want NAME=VALUE, got %q", v)
		}
		env = append(env, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0}
		}
		return &exitError{code: 2}
	}
	argv := fs.Args()
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	switch {
	case len(argv) == 0:
		return usageError("no command to run: give it after --, e.g. -- python main.py")
	case *runs < 1 || *runs > 100000:
		return usageError("-runs must be between 1 and 100000")
	case *delay < 0 || *delay > time.Second:
		return usageError("-delay must be between 0 and 1s")
	case *timeout <= 0:
		return usageError("-timeout must be positive")
	case *asJSON && *asMD:
		return usageError("-json and -markdown exclude each other")
	case *wantExit < 0 || *wantExit > 255:
		return usageError("-exit must be between 0 and 255")
	}
	si, sn, err := parseShard(*shard)
	if err != nil {
		return err
	}
	var witnesses []runtime.Outcome
	for _, w := range strings.Split(*witness, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if !slices.Contains(runtime.Outcomes, runtime.Outcome(w)) {
			return usageError("-witness: unknown outcome class %q (want %s)", w, joinOutcomes())
		}
		witnesses = append(witnesses, runtime.Outcome(w))
	}
	interps, err := chaosInterpreters(*pythons)
	if err != nil {
		return err
	}
	if *out != "" && !*force && exists(*out) {
		return usageError("%s exists (use -force to overwrite)", *out)
	}
	if !seedSet {
		*seed = uint64(time.Now().UnixNano()) % 1000000
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	delays := realchaos.DefaultDelays
	delays.Max = *delay
	cfg := &realchaos.Config{Argv: argv, Runs: *runs, Delays: delays, Seed: *seed, Timeout: *timeout, WantExit: *wantExit,
		Env: env, NoBaseline: !*baseline, ShardIndex: si, ShardCount: sn, Witness: witnesses}
	cfg.Rerun = func(version string, s uint64, d realchaos.Delays) string {
		cmd := fmt.Sprintf("shutdownfuzz chaos -python %s -runs 1 -delay %s -seed %d", version, shortDuration(d.Max), s)
		if d.Max > 0 {
			cmd += " -baseline=false" // the delayed run alone
		}
		if *timeout != chaosDefaultTimeout {
			cmd += " -timeout " + shortDuration(*timeout)
		}
		if *wantExit != 0 {
			cmd += " -exit " + strconv.Itoa(*wantExit)
		}
		for _, e := range env {
			cmd += " -env " + shell.Word(e)
		}
		return cmd + " -- " + realchaos.Describe(argv)
	}
	if *verbose {
		cfg.Log = stderr
	}
	rep := realchaos.NewReport(cfg)
	for _, in := range interps {
		t, err := realchaos.Prepare(ctx, in, realchaos.Options{Log: stderr})
		if err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
		if err := t.Check(ctx, ""); err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
		fmt.Fprintf(stderr, "chaos: python %s (%s): %s\n", t.Release, in.Version, realchaos.Describe(argv))
		ps, err := realchaos.Campaign(ctx, t, cfg)
		if err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
		rep.Pythons = append(rep.Pythons, ps)
		fmt.Fprintf(stderr, "chaos: python %s: %s\n", t.Release, summary(ps))
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return &exitError{code: 1, msg: "interrupted: the report is incomplete"}
	}
	var buf bytes.Buffer
	switch {
	case *asJSON:
		err = rep.JSON(&buf)
	case *asMD:
		err = rep.Markdown(&buf)
	default:
		err = rep.Text(&buf)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		if err := atomicfile.Write(*out, buf.Bytes(), *force); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if rep.Witnessed() {
		return &exitError{code: 1, msg: "some runs failed (see the report; each failing run has the command that replays it)"}
	}
	return nil
}

// chaosInterpreters resolves -python: every installed release by default,
// else each one named, which must be installed.
func chaosInterpreters(list string) ([]*conform.Interpreter, error) {
	if strings.TrimSpace(list) == "" {
		ins, err := realchaos.Installed()
		if err != nil {
			return nil, usageError("%v", err)
		}
		if len(ins) == 0 {
			return nil, usageError("no interpreter of %s is installed (run `make conform-env`)", strings.Join(realchaos.Versions, ", "))
		}
		return ins, nil
	}
	var out []*conform.Interpreter
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(realchaos.Versions, v) {
			return nil, usageError("-python: unknown version %q (want %s)", v, strings.Join(realchaos.Versions, ", "))
		}
		in, err := conform.Locate(v)
		if err != nil {
			return nil, usageError("%v", err)
		}
		out = append(out, in)
	}
	return out, nil
}

func joinOutcomes() string {
	var s []string
	for _, o := range runtime.Outcomes {
		s = append(s, string(o))
	}
	return strings.Join(s, ", ")
}

// shortDuration prints d as a flag takes it, in ASCII: 300us, 2ms, 5s.
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d%time.Microsecond == 0:
		return fmt.Sprintf("%dus", d/time.Microsecond)
	}
	return d.String()
}

func summary(ps *realchaos.PythonStats) string {
	var parts []string
	if m := ps.Without; m != nil {
		parts = append(parts, fmt.Sprintf("without delays %d/%d witnesses", m.Witnesses, m.Runs))
	}
	if m := ps.With; m != nil {
		parts = append(parts, fmt.Sprintf("with delays %d/%d witnesses", m.Witnesses, m.Runs))
	}
	return strings.Join(parts, ", ")
}
