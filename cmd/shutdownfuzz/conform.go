package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/realchaos"
)

var exportArgs = "-o DIR [-python " + strings.Join(conform.Versions, "|") + "] [-force] FILE.scn"

// cmdExport writes a scenario as a real program: a C++ extension, a Python
// driver and a build script (docs/conformance.md).
func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	out := fs.String("o", "", "directory to write the program into (required)")
	version := fs.String("python", conform.DefaultVersion, "the CPython version build.sh targets by default")
	force := fs.Bool("force", false, "overwrite files of the same name in -o")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError("-o DIR is required")
	}
	s, _, _, err := scenarioArg(pos, "", "")
	if err != nil {
		return err
	}
	p, err := conform.Export(s, conform.Options{Version: *version})
	var ne *conform.NotExportable
	switch {
	case errors.As(err, &ne):
		return &exitError{code: 1, msg: ne.Error()}
	case err != nil:
		return usageError("%v", err)
	}
	if err := p.Write(*out, *force); err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	fmt.Fprintf(stdout, "wrote %s to %s; build with: sh %s/build.sh; run with: python%s %s/driver.py\n",
		joinNames(p.Names()), *out, *out, *version, *out)
	return nil
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

var conformArgs = "[-python " + strings.Join(conform.Versions, ",") + " (3.Yd: the debug build)] [-runs N] [-json | -markdown] [-o FILE [-force]] [-timeout D] [-steer=false] [-compare] [-shim [-shim-delay D]] [-model-runs N] [-keep] [FILES...]"

// cmdConform runs scenarios on real CPython and compares the outcomes with
// the model's predictions (docs/conformance.md).
func cmdConform(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conform", stderr)
	pythons := fs.String("python", strings.Join(conform.Versions, ","), "comma-separated CPython versions to run on; 3.Yd is the release's debug build python3.Yd, predicted with the debug facet")
	runs := fs.Int("runs", 5, "real runs per scenario and version")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asMD := fs.Bool("markdown", false, "print the report as Markdown (docs/conformance.md)")
	out := fs.String("o", "", "write the report to FILE instead of stdout")
	force := fs.Bool("force", false, "with -o, overwrite an existing FILE")
	timeout := fs.Duration("timeout", 6*time.Second, "watchdog per run: a run still alive then is a deadlock")
	steer := fs.Bool("steer", true, "steer real runs into the model witness's interleaving")
	modelRuns := fs.Int("model-runs", 300, "model schedules per prediction")
	keep := fs.Bool("keep", false, "keep the build directories")
	compare := fs.Bool("compare", false, "also run -runs unsteered runs, and show how often they reproduce the witness")
	shim := fs.Bool("shim", false, "run the unsteered runs (-compare, -steer=false) under the embedding host and the delay shim of `shutdownfuzz chaos`")
	shimDelay := fs.Duration("shim-delay", chaosDefaultDelay, "with -shim, the largest delay before a GIL-taking call")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *runs < 1 || *runs > 1000:
		return usageError("-runs must be between 1 and 1000")
	case *asJSON && *asMD:
		return usageError("-json and -markdown exclude each other")
	case *timeout <= 0 || *modelRuns < 1:
		return usageError("-timeout and -model-runs must be positive")
	case *shim && *steer && !*compare:
		return usageError("-shim runs the unsteered runs: give -compare or -steer=false")
	case *shimDelay <= 0 || *shimDelay > time.Second:
		return usageError("-shim-delay must be between 0 and 1s")
	}
	var interps []*conform.Interpreter
	for _, v := range strings.Split(*pythons, ",") {
		in, err := conform.Find(strings.TrimSpace(v))
		if err != nil {
			return usageError("%v", err)
		}
		interps = append(interps, in)
		// A release the model has no preset for is predicted with the
		// newest one it models before it (conform.ModelRelease).
		if r, err := conform.ModelRelease(in.Release()); err == nil && r != in.Release() {
			fmt.Fprintf(stderr, "conform: the model has no cpython-%s preset: predictions for %s use cpython-%s, the newest release it models before it (reports mark them \"%s's model\")\n",
				in.Release(), in.Version, r, r)
		}
	}
	entries, err := matrixEntries(pos)
	if err != nil {
		return err
	}
	if *out != "" && !*force && exists(*out) {
		return usageError("%s exists (use -force to overwrite)", *out)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := conform.Config{Runs: *runs, ModelRuns: *modelRuns, Timeout: *timeout, Steer: *steer, Keep: *keep, Compare: *compare, Log: stderr}
	rep := &conform.Report{Runs: *runs, Steer: *steer}
	if *shim {
		var tools []*realchaos.Tool
		for _, in := range interps {
			t, err := realchaos.Prepare(ctx, in, realchaos.Options{Log: stderr})
			if err != nil {
				return &exitError{code: 2, msg: err.Error()}
			}
			tools = append(tools, t)
		}
		d := realchaos.DefaultDelays
		d.Max = *shimDelay
		l := realchaos.NewLauncher(d, 0, tools)
		cfg.Launcher, rep.Launcher = l, l.Describe()
	}
	for _, in := range interps {
		rep.Versions = append(rep.Versions, in.Version)
	}
	for _, e := range entries {
		for _, in := range interps {
			rep.Rows = append(rep.Rows, conform.Check(ctx, e.Scenario, e.File, in, cfg))
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
	if !rep.OK() {
		return &exitError{code: 1, msg: "some scenarios disagree with the model, or failed (see the report)"}
	}
	return nil
}
