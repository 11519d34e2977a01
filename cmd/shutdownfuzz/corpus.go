package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/triage"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// loadInput reads a .scn file or a fuzz input (a go test fuzz v1 file, or
// raw bytes) and returns its scenario, with the schedule it carries.
func loadInput(path string) (*scenario.Scenario, string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, "", usageError("%v", err)
	}
	if strings.HasSuffix(path, ".scn") {
		s, err := scenario.Parse(path, src)
		if err != nil {
			return nil, "", &exitError{code: 2, msg: err.Error()}
		}
		return s, "scenario file", nil
	}
	data, kind := fuzzInput(src)
	return scenario.Decode(data), kind, nil
}

// fuzzInput unwraps a go test fuzz v1 file; anything else is a raw
// go-fuzz-style input.
func fuzzInput(src []byte) ([]byte, string) {
	if bytes.HasPrefix(src, []byte("go test fuzz v1")) {
		if data, err := fuzz.UnmarshalCorpusFile(src); err == nil {
			return data, "go test fuzz v1 input"
		}
	}
	return src, "raw fuzz input"
}

func cmdMinimize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("minimize", stderr)
	policy := fs.String("policy", "", "policy whose failure to minimize (default: the file's policy; for fuzz inputs, the first policy that fails)")
	dir := fs.String("corpus", "corpus", "directory to write the minimized .scn into")
	found := fs.String("found", "", "how the input was found, for the file's comment (default: a note naming the input)")
	strict := fs.Bool("strict", false, "minimize any non-clean outcome, not only contract breaks of fuzz inputs")
	runs := fs.Int("runs", 4000, "candidate runs the minimizer may spend")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	file, err := oneFile(pos)
	if err != nil {
		return err
	}
	s, kind, err := loadInput(file)
	if err != nil {
		return err
	}
	policies, err := policiesFor(s, *policy)
	if err != nil {
		return err
	}
	if *policy == "" && kind != "scenario file" {
		policies = scenario.Policies
	}
	how := *found
	if how == "" {
		how = fmt.Sprintf("minimized from %s (%s)", file, kind)
	}
	for _, p := range policies {
		r, err := runtime.Run(s, runtime.Config{Policy: p})
		if err != nil {
			return runError(err, file)
		}
		if r.Outcome == runtime.Clean {
			continue
		}
		if verdict.Inconclusive(r) {
			fmt.Fprintf(stdout, "%s under %s: inconclusive (%s), not minimized: %s\n", file, p, r.Report.Kind, r.Report.Message)
			continue
		}
		if kind != "scenario file" && !*strict {
			if _, fail := verdict.Check(s, p, verdict.Options{}); fail == nil {
				continue
			} else if fail.Inconclusive {
				fmt.Fprintf(stdout, "%s under %s: inconclusive, not minimized: %s\n", file, p, fail.Reason)
				continue
			}
		}
		// No Known: minimize files what it is given, deduplicated only by
		// the file's content.
		f := &triage.Filer{Dir: *dir, Options: minimize.Options{MaxRuns: *runs}}
		filed, err := f.File(s, p, r, how)
		if err != nil {
			return err
		}
		c := filed.Crasher
		verb := "wrote"
		if !filed.Created {
			verb = "already have"
		}
		fmt.Fprintf(stdout, "%s %s: %s under %s, %d threads, %d statements, %d preemptions (%d runs)\n",
			verb, filed.Path, c.Result.Outcome, p, len(c.Scenario.Threads), minimize.Statements(c.Scenario), c.Result.Preemptions, c.Stats.Runs)
		fmt.Fprintf(stdout, "to re-run: %s\n", corpus.RerunCommand(p, filed.Path))
		return nil
	}
	return &exitError{code: 1, msg: fmt.Sprintf("%s: no failure to minimize under %s", file, strings.Join(policies, ", "))}
}

// importer holds an import's settings and counts.
type importer struct {
	dir, seeds string
	runs       int
	libFuzzer  bool // every input is a libFuzzer test case
	strict     bool // any non-clean outcome is a crasher, not only contract breaks
	filer      *triage.Filer
	stdout     io.Writer

	newSeeds, failures, inconclusive, newCrashers int
}

func cmdImport(args []string, stdout, stderr io.Writer) error {
	flags := newFlags("import", stderr)
	im := &importer{stdout: stdout}
	flags.StringVar(&im.dir, "corpus", "corpus", "directory for minimized crashers")
	flags.StringVar(&im.seeds, "seeds", filepath.Join("fuzz", "testdata", "fuzz", "FuzzShutdown"), "directory for go test fuzz v1 seeds (empty: do not write seeds)")
	flags.IntVar(&im.runs, "runs", 4000, "candidate runs the minimizer may spend per crasher")
	flags.BoolVar(&im.libFuzzer, "libfuzzer", false, "inputs are test cases of the libFuzzer build (make libfuzzer, ClusterFuzzLite): unwrap go-fuzz-headers' length framing (files named crash-HEX, leak-, oom-, timeout-, slow-unit- are unwrapped anyway)")
	flags.BoolVar(&im.strict, "strict", false, "make a crasher of any non-clean outcome, not only of contract breaks")
	pos, err := parseArgs(flags, args)
	if err != nil {
		return err
	}
	src, err := oneFile(pos)
	if err != nil {
		return err
	}
	inputs, err := collectInputs(src)
	if err != nil {
		return usageError("%v", err)
	}
	known, err := triage.Known(im.dir)
	if err != nil {
		return err
	}
	im.filer = &triage.Filer{Dir: im.dir, Known: known, Options: minimize.Options{MaxRuns: im.runs}}
	for _, in := range inputs {
		if err := im.input(in); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "imported %d inputs: %d new seeds, %d contract failures, %d inconclusive, %d new crashers\n", len(inputs), im.newSeeds, im.failures, im.inconclusive, im.newCrashers)
	return nil
}

// collectInputs lists src (a file, or the files under a directory, hidden
// ones skipped) in order.
func collectInputs(src string) ([]string, error) {
	var inputs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != src {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			inputs = append(inputs, path)
		}
		return nil
	})
	sort.Strings(inputs)
	return inputs, err
}

// libFuzzerArtifact matches the names libFuzzer gives the inputs it saves.
var libFuzzerArtifact = regexp.MustCompile(`^(crash|leak|oom|timeout|slow-unit)-[0-9a-f]{40}$`)

// input imports one file: a seed, and a minimized crasher per policy
// whose contract (or, with -strict, any expectation of cleanliness) it
// breaks.
func (im *importer) input(in string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	data, _ := fuzzInput(raw)
	if im.libFuzzer || libFuzzerArtifact.MatchString(filepath.Base(in)) {
		var ok bool
		if data, ok = fuzz.FromLibFuzzer(raw); !ok {
			fmt.Fprintf(im.stdout, "%s: under 5 bytes: the libFuzzer harness does not run it\n", in)
			return nil
		}
	}
	if im.seeds != "" {
		content := fuzz.MarshalCorpusFile(data)
		if _, created, err := corpus.Save(im.seeds, fuzz.CorpusFileName(content), content); err != nil {
			return err
		} else if created {
			im.newSeeds++
		}
	}
	s := scenario.Decode(data)
	for _, p := range scenario.Policies {
		r, fail := verdict.Check(s, p, verdict.Options{Strict: im.strict})
		if fail == nil {
			continue
		}
		if fail.Inconclusive {
			im.inconclusive++
			fmt.Fprintf(im.stdout, "%s: under %s: inconclusive: %s\n", in, p, fail.Reason)
			continue
		}
		im.failures++
		if fail.Result == nil {
			// The model broke an invariant: nothing to minimize; the
			// failure holds the decoded scenario and the reason.
			fmt.Fprintf(im.stdout, "%s: under %s: %v  to re-run: shutdownfuzz import -corpus %s %s\n", in, p, fail, shell.Quote(im.dir), shell.Quote(in))
			continue
		}
		if err := im.crasher(in, s, p, r); err != nil {
			return err
		}
	}
	return nil
}

// crasher minimizes s's failure r under policy p into the corpus, unless
// the corpus has its signature already.
func (im *importer) crasher(in string, s *scenario.Scenario, p string, r *runtime.Result) error {
	filed, err := im.filer.File(s, p, r, "shutdownfuzz import of "+in)
	var notMade *triage.MakeError
	switch {
	case errors.As(err, &notMade):
		fmt.Fprintf(im.stdout, "%s: %s under %s: %v\n", in, r.Signature(), p, err)
		return nil
	case err != nil:
		return err
	case filed.Dup != "":
		fmt.Fprintf(im.stdout, "%s: %s under %s: already in %s\n", in, r.Signature(), p, filed.Dup)
	case filed.Created:
		im.newCrashers++
		fmt.Fprintf(im.stdout, "%s: %s under %s: wrote %s\n  to re-run: %s\n", in, r.Signature(), p, filed.Path, corpus.RerunCommand(p, filed.Path))
	}
	return nil
}
