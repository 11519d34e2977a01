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

var conformArgs = "[-python " + strings.Join(conform.Versions, ",") + "] [-runs N] [-json | -markdown] [-o FILE [-force]] [-timeout D] [-steer=false] [-compare] [-model-runs N] [-keep] [FILES...]"

// cmdConform runs scenarios on real CPython and compares the outcomes with
// the model's predictions (docs/conformance.md).
func cmdConform(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conform", stderr)
	pythons := fs.String("python", strings.Join(conform.Versions, ","), "comma-separated CPython versions to run on")
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
		if r, err := conform.ModelRelease(in.Version); err == nil && r != in.Version {
			fmt.Fprintf(stderr, "conform: the model has no cpython-%s preset: predictions for %s use cpython-%s, the newest release it models before it (reports mark them \"%s's model\")\n",
				in.Version, in.Version, r, r)
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
