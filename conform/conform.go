package conform

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Config bounds a conformance check.
type Config struct {
	Runs      int           // real runs per scenario and version (default 5)
	ModelRuns int           // model schedules per prediction (default 300)
	Timeout   time.Duration // watchdog per run (default 6s)
	Steer     bool          // steer runs into the witness's interleaving
	PauseUS   int           // the Py_AtExit pause (default 200000)
	Keep      bool          // keep the build directories
	// Compare runs the same number of unsteered runs after the steered
	// ones, to show what steering changes; their outcomes are judged too.
	Compare bool
	// Launcher, when set, starts every unsteered run (the -compare runs,
	// and all runs without Steer) its own way: the CLI passes package
	// realchaos's embedding host and delay shim, which give a witness that
	// steering did not reproduce a second chance.
	Launcher Launcher
	Log      io.Writer // progress lines; nil for none
}

// A Launcher starts real runs another way than `python3.X driver.py`.
type Launcher interface {
	// Launch prepares run i of scenario on in, or says why it cannot.
	Launch(in *Interpreter, scenario string, i int) (*Launch, error)
	// Describe names the launcher in reports ("delay shim, 0..300µs").
	Describe() string
}

// Launch is how one run starts: Argv replaces the interpreter's path (the
// driver's path follows it; inside the root for a chroot interpreter),
// Files are passed from descriptor 3 on, and Done, after the run, returns
// notes for the row (where the launcher saw the threads when it ended) and
// releases what the launch held.
type Launch struct {
	Argv  []string
	Files []*os.File
	Done  func(raw *Raw) []string
}

func (c *Config) defaults() {
	if c.Runs <= 0 {
		c.Runs = 5
	}
	if c.ModelRuns <= 0 {
		c.ModelRuns = 300
	}
	if c.Timeout <= 0 {
		c.Timeout = 6 * time.Second
	}
	if c.PauseUS <= 0 {
		c.PauseUS = 200000
	}
}

// Verdicts.
const (
	Agree          = "agree"
	AgreeNoWitness = "agree, witness not reproduced"
	Disagree       = "DISAGREE"
	Inconclusive   = "inconclusive"
	NotExported    = "not exportable"
	Failed         = "error"
)

// Row is one scenario on one release: the model's prediction, the real
// observations, and the verdict.
type Row struct {
	Scenario   string                  `json:"scenario"`
	File       string                  `json:"file"`
	Version    string                  `json:"version"`
	Python     string                  `json:"python,omitempty"` // the release that ran, from its own sys.version
	Prediction *Prediction             `json:"prediction,omitempty"`
	Runs       int                     `json:"runs"`
	Observed   map[runtime.Outcome]int `json:"observed"`
	Kinds      map[string]int          `json:"kinds,omitempty"` // "outcome/kind"
	Notes      map[string]int          `json:"notes,omitempty"`
	Evidence   map[string]string       `json:"evidence,omitempty"` // outcome/kind -> first evidence line
	Reproduced int                     `json:"witness_reproduced"`
	// Unsteered counts the outcomes of the -compare runs (no steering).
	Unsteered           map[runtime.Outcome]int `json:"unsteered,omitempty"`
	UnsteeredRuns       int                     `json:"unsteered_runs,omitempty"`
	UnsteeredReproduced int                     `json:"unsteered_witness_reproduced,omitempty"`
	// Launched: the unsteered runs went through Config.Launcher.
	Launched   bool     `json:"launched,omitempty"`
	Unexpected []string `json:"unexpected,omitempty"`
	Verdict    string   `json:"verdict"`
	Reason     string   `json:"reason,omitempty"` // why not exportable, or the error
	Rerun      string   `json:"rerun"`

	last string // the latest run's outcome/kind, for progress lines
}

// Judge fills the verdict of a row from its prediction and observations:
// every observed outcome must be one the model predicts, and the witness
// counts as reproduced when a run, steered or not, showed the witness's
// outcome. A run that
// did not finish, or a prediction with budget, is inconclusive, never a
// pass.
func (r *Row) Judge() {
	r.Unexpected = nil
	switch {
	case r.Verdict == NotExported || r.Verdict == Failed:
		return
	case r.Prediction == nil || r.Runs == 0:
		r.Verdict = Inconclusive
		return
	}
	for _, o := range runtime.Outcomes {
		if (r.Observed[o] > 0 || r.Unsteered[o] > 0) && r.Prediction.Outcomes[o] == 0 {
			r.Unexpected = append(r.Unexpected, string(o))
		}
	}
	r.Reproduced = r.Observed[r.Prediction.Witness]
	r.UnsteeredReproduced = r.Unsteered[r.Prediction.Witness]
	switch {
	case len(r.Unexpected) > 0:
		r.Verdict = Disagree
	case r.Prediction.Inconclusive():
		r.Verdict = Inconclusive
	case r.Reproduced == 0 && r.UnsteeredReproduced == 0:
		r.Verdict = AgreeNoWitness
	default:
		r.Verdict = Agree
	}
}

// OK reports whether the row is a pass: agreement (with or without the
// witness) or a scenario that cannot be exported.
func (r *Row) OK() bool {
	return r.Verdict == Agree || r.Verdict == AgreeNoWitness || r.Verdict == NotExported
}

// Check predicts, exports, builds and runs s on one interpreter.
func Check(ctx context.Context, s *scenario.Scenario, file string, in *Interpreter, cfg Config) *Row {
	cfg.defaults()
	row := &Row{Scenario: s.Name, File: file, Version: in.Version, Observed: map[runtime.Outcome]int{},
		Kinds: map[string]int{}, Notes: map[string]int{}, Evidence: map[string]string{},
		Rerun: fmt.Sprintf("shutdownfuzz conform -python %s -runs %d %s", in.Version, cfg.Runs, file)}
	if ne := ExportableOn(s, in.Version); ne != nil {
		row.Verdict, row.Reason = NotExported, ne.Reason
		return row
	}
	fail := func(err error) *Row {
		row.Verdict, row.Reason = Failed, err.Error()
		return row
	}
	pred, err := Predict(s, in.Version, cfg.ModelRuns)
	if err != nil {
		return fail(err)
	}
	row.Prediction = pred
	prog, err := Export(s, Options{Version: in.Version, Steer: pred.Steer})
	if err != nil {
		return fail(err)
	}
	host, inside, err := in.WorkDir()
	if err != nil {
		return fail(err)
	}
	if !cfg.Keep {
		defer os.RemoveAll(host)
	} else if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "  %s on %s: build directory kept at %s\n", s.Name, in.Version, host)
	}
	if err := prog.Write(host, false); err != nil {
		return fail(err)
	}
	if err := in.Build(ctx, inside); err != nil {
		return fail(err)
	}
	if err := row.runs(ctx, in, inside, prog, len(s.Atexit), cfg, cfg.Steer); err != nil {
		return fail(err)
	}
	if cfg.Compare && cfg.Steer {
		row.Unsteered = map[runtime.Outcome]int{}
		row.Launched = cfg.Launcher != nil
		if err := row.runs(ctx, in, inside, prog, len(s.Atexit), cfg, false); err != nil {
			return fail(err)
		}
	}
	row.Judge()
	return row
}

// runs runs the program cfg.Runs times; unsteered runs of a -compare check
// count in Unsteered, the others in Observed. Unsteered runs go through
// cfg.Launcher when there is one.
func (r *Row) runs(ctx context.Context, in *Interpreter, inside string, prog *Program, nAtexit int, cfg Config, steer bool) error {
	label := "run"
	if !steer && cfg.Steer {
		label = "unsteered run"
	}
	for i := 0; i < cfg.Runs && ctx.Err() == nil; i++ {
		o := RunOptions{Timeout: cfg.Timeout, Steer: steer, PauseUS: cfg.PauseUS}
		if !steer && cfg.Launcher != nil {
			l, err := cfg.Launcher.Launch(in, r.Scenario, i)
			if err != nil {
				return err
			}
			o.Launch = l
		}
		raw, err := in.Run(ctx, inside, o)
		var notes []string
		if o.Launch != nil && o.Launch.Done != nil {
			notes = o.Launch.Done(raw)
		}
		if err != nil {
			return err
		}
		out := r.add(prog, nAtexit, raw)
		for _, n := range notes {
			r.Notes[n]++
		}
		if label == "run" {
			r.Runs++
			r.Observed[out]++
		} else {
			r.UnsteeredRuns++
			r.Unsteered[out]++
		}
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "  %s on %s %s %d: %s (%.1fs)\n", r.Scenario, in.Version, label, i+1, r.last, raw.Elapsed.Seconds())
		}
	}
	return nil
}

// add records one run's evidence, notes and release, and returns its
// outcome for the caller to count.
func (r *Row) add(p *Program, nAtexit int, raw *Raw) runtime.Outcome {
	ob := Observe(p, nAtexit, raw)
	k := string(ob.Outcome) + "/" + ob.Kind
	r.Kinds[k]++
	if _, ok := r.Evidence[k]; !ok {
		r.Evidence[k] = ob.Evidence
	}
	for _, n := range ob.Notes {
		r.Notes[n]++
	}
	if r.Python == "" {
		r.Python = pythonVersion(raw.Stderr)
	}
	r.last = k
	return ob.Outcome
}

// pythonVersion reads the "SFZ python X.Y.Z ..." marker.
func pythonVersion(stderr string) string {
	for _, m := range markerLines(stderr) {
		if v, ok := strings.CutPrefix(m, "python "); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// SortRows orders rows by scenario file, then version.
func SortRows(rows []*Row) {
	slices.SortStableFunc(rows, func(a, b *Row) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
}
