package conform

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func pred(witness runtime.Outcome, outcomes ...runtime.Outcome) *Prediction {
	p := &Prediction{Policy: "unwind", Preset: "cpython-3.11 glibc", Witness: witness, Outcomes: map[runtime.Outcome]int{}}
	for _, o := range outcomes {
		p.Outcomes[o] = 10
	}
	return p
}

// TestJudge: the verdict logic, with a known positive for each verdict.
func TestJudge(t *testing.T) {
	cases := []struct {
		name     string
		pred     *Prediction
		observed map[runtime.Outcome]int
		want     string
		repro    int
	}{
		{"within and reproduced", pred(runtime.Corruption, runtime.Clean, runtime.Corruption), map[runtime.Outcome]int{runtime.Corruption: 2, runtime.Clean: 1}, Agree, 2},
		{"within, witness not seen", pred(runtime.Abort, runtime.Clean, runtime.Abort), map[runtime.Outcome]int{runtime.Clean: 3}, AgreeNoWitness, 0},
		{"outside the prediction", pred(runtime.Deadlock, runtime.Deadlock), map[runtime.Outcome]int{runtime.Clean: 3}, Disagree, 0},
		{"model ran out of steps", pred(runtime.Clean, runtime.Clean, runtime.Budget), map[runtime.Outcome]int{runtime.Clean: 3}, Inconclusive, 3},
		{"no runs", pred(runtime.Clean, runtime.Clean), map[runtime.Outcome]int{}, Inconclusive, 0},
	}
	// Unsteered runs are judged too: a disagreement only they show is one.
	r := &Row{Prediction: pred(runtime.Abort, runtime.Abort, runtime.Clean), Runs: 2, Observed: map[runtime.Outcome]int{runtime.Abort: 2},
		UnsteeredRuns: 2, Unsteered: map[runtime.Outcome]int{runtime.Abort: 1, runtime.Deadlock: 1}}
	r.Judge()
	if r.Verdict != Disagree || r.UnsteeredReproduced != 1 {
		t.Errorf("unsteered deadlock: verdict %q unsteered reproduced %d, want %q 1", r.Verdict, r.UnsteeredReproduced, Disagree)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Row{Prediction: c.pred, Observed: c.observed}
			for _, n := range c.observed {
				r.Runs += n
			}
			r.Judge()
			if r.Verdict != c.want || r.Reproduced != c.repro {
				t.Errorf("verdict %q reproduced %d, want %q %d", r.Verdict, r.Reproduced, c.want, c.repro)
			}
			if (c.want == Agree || c.want == AgreeNoWitness) != r.OK() {
				t.Errorf("OK() = %v for %q", r.OK(), r.Verdict)
			}
			if c.want == Disagree && (len(r.Unexpected) != 1 || r.Unexpected[0] != "clean") {
				t.Errorf("unexpected = %v, want [clean]", r.Unexpected)
			}
		})
	}
}

// TestPredict checks that predictions come from the model under the
// release's preset and default policy, and that a witness's strikes become
// steering points on statements of the scenario.
func TestPredict(t *testing.T) {
	s := library(t, "raii-decref-unwind")
	presets := slices.Clone(s.Presets)
	for _, v := range Versions {
		p, err := Predict(s, v, 100)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ModelRelease(v)
		if err != nil {
			t.Fatal(err)
		}
		r := ForRelease(s, m)
		policy, preset, _ := runtime.ResolvePolicy(r, "")
		if p.Policy != policy || p.Preset != preset.Name || !strings.Contains(p.Preset, "cpython-"+m) || p.Release != m {
			t.Errorf("%s: preset %q policy %q release %q, want %q %q %q", v, p.Preset, p.Policy, p.Release, preset.Name, policy, m)
		}
		if (m != v) != (p.StandIn == v) {
			t.Errorf("%s: modelled with %s but stand-in %q", v, m, p.StandIn)
		}
		if p.Outcomes[p.Witness] == 0 {
			t.Errorf("%s: witness %s is not in the prediction %v", v, p.Witness, p.Outcomes)
		}
		for _, sp := range p.Steer {
			if sp.Thread != "w" || sp.Line == 0 {
				t.Errorf("%s: steering point %+v is not a statement of thread w", v, sp)
			}
		}
	}
	if !slices.Equal(s.Presets, presets) || len(s.Expect) == 0 {
		t.Error("ForRelease changed the scenario it was given")
	}
	if _, _, ok := stmtPos("io"); ok {
		t.Error("stmtPos accepted a reference without a position")
	}
}

// TestModelRelease: a release the model knows predicts itself; one it does
// not know (3.99, and 3.15 until the model has a 3.15 preset) predicts with
// the newest modelled release before it; nothing modelled before is an error.
func TestModelRelease(t *testing.T) {
	for _, v := range []string{"3.11", "3.13", "3.14"} {
		if m, err := ModelRelease(v); m != v || err != nil {
			t.Errorf("ModelRelease(%s) = %q, %v", v, m, err)
		}
	}
	m, err := ModelRelease("3.99")
	if err != nil || m == "3.99" {
		t.Fatalf("ModelRelease(3.99) = %q, %v", m, err)
	}
	if _, err := runtime.LookupPreset([]string{"cpython-" + m}); err != nil {
		t.Errorf("ModelRelease(3.99) = %q, which the model does not know: %v", m, err)
	}
	if _, err := runtime.LookupPreset([]string{"cpython-3.15"}); err != nil {
		if m, _ := ModelRelease("3.15"); m != "3.14" {
			t.Errorf("ModelRelease(3.15) = %q without a 3.15 preset, want 3.14", m)
		}
	}
	for _, v := range []string{"3.1", "3", "x.y"} {
		if m, err := ModelRelease(v); err == nil {
			t.Errorf("ModelRelease(%q) = %q, want an error", v, m)
		}
	}
}

func TestRender(t *testing.T) {
	row := &Row{Scenario: "raii", File: "raii-decref-unwind", Version: "3.11", Python: "3.11.2", Runs: 3,
		Prediction: pred(runtime.Corruption, runtime.Clean, runtime.Corruption),
		Observed:   map[runtime.Outcome]int{runtime.Clean: 3}, Kinds: map[string]int{"clean/exit": 3},
		Evidence: map[string]string{"clean/exit": "exit status 0"}, Notes: map[string]int{"join z returned": 3},
		Rerun: "shutdownfuzz conform -python 3.11 -runs 3 raii-decref-unwind"}
	row.Judge()
	bad := &Row{Scenario: "j", File: "gh-123940-join-hung-daemon", Version: "3.14", Runs: 1, Prediction: pred(runtime.Deadlock, runtime.Deadlock),
		Observed: map[runtime.Outcome]int{runtime.Clean: 1}, Kinds: map[string]int{"clean/exit": 1}, Evidence: map[string]string{"clean/exit": "exit status 0"},
		Rerun: "shutdownfuzz conform -python 3.14 -runs 1 gh-123940-join-hung-daemon"}
	bad.Judge()
	ne := &Row{File: "callback-returns", Version: "3.11", Verdict: NotExported, Reason: "it sets an exit callback"}
	// A PEP 788 scenario: not exported for 3.14, exported for 3.15.
	g14 := &Row{File: "pep788-forgotten-guard", Version: "3.14", Verdict: NotExported, Reason: "statement `interp_guard` at line 34 needs CPython 3.15's C API"}
	g15 := &Row{Scenario: "g", File: "pep788-forgotten-guard", Version: "3.15", Python: "3.15.2", Runs: 1, Prediction: pred(runtime.Deadlock, runtime.Deadlock),
		Observed: map[runtime.Outcome]int{runtime.Deadlock: 1}, Rerun: "shutdownfuzz conform -python 3.15 -runs 1 pep788-forgotten-guard"}
	g15.Judge()
	// A stand-in prediction (3.15 with 3.14's model) that disagrees.
	stand := &Row{Scenario: "s", File: "foreign-callback", Version: "3.15", Python: "3.15.2", Runs: 1, Prediction: pred(runtime.Clean, runtime.Clean),
		Observed: map[runtime.Outcome]int{runtime.Deadlock: 1}, Kinds: map[string]int{"deadlock/timeout": 1}, Evidence: map[string]string{"deadlock/timeout": "still alive"},
		Rerun: "shutdownfuzz conform -python 3.15 -runs 1 foreign-callback"}
	stand.Prediction.Policy, stand.Prediction.Release, stand.Prediction.StandIn = "hang", "3.14", "3.15"
	stand.Judge()
	rep := &Report{Runs: 3, Steer: true, Versions: []string{"3.11"}, Rows: []*Row{row, bad, ne, stand, g14, g15}}
	if rep.OK() {
		t.Error("a report with a disagreement is OK")
	}
	var text, md, js bytes.Buffer
	if err := rep.Text(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DISAGREE", "re-run: shutdownfuzz conform -python 3.14", "corruption 0/3",
		"clean (hang (3.14's model))", "the model has no cpython-3.15 preset: predicted with cpython-3.14"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"| raii-decref-unwind | 3.11.2 | unwind | clean, corruption | clean 3 | corruption 0/3 | agree, witness not reproduced |",
		"- callback-returns: it sets an exit callback", "- pep788-forgotten-guard (on 3.14): statement `interp_guard` at line 34 needs CPython 3.15's C API",
		"| pep788-forgotten-guard | 3.15.2 | unwind | deadlock | deadlock 1 | deadlock 1/1 | agree |", "join z returned ×3", "re-run: `shutdownfuzz conform -python 3.14",
		"| foreign-callback | 3.15.2 | hang (3.14's model) | clean | deadlock 1 | clean 0/1 | DISAGREE |",
		"Predicted that way here: 3.15 (with cpython-3.14).", "Note: the model has no cpython-3.15 preset"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(js.String(), `"verdict": "DISAGREE"`) {
		t.Errorf("json lacks the verdict:\n%s", js.String())
	}
}

// TestRealInterpreter builds and runs a scenario whose outcome does not
// depend on timing (an atexit handler stops and joins the daemon before
// the flag) on every installed interpreter. It skips, saying why, where an
// interpreter is absent; `make conform-quick` fails instead.
func TestRealInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no real interpreter runs")
	}
	s := library(t, "atexit-stops-daemons")
	for _, v := range Versions {
		t.Run(v, func(t *testing.T) {
			in, err := Find(v)
			if errors.Is(err, ErrMissing) {
				t.Skipf("python %s is not installed (%v); run `make conform-env`", v, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			row := Check(context.Background(), s, "atexit-stops-daemons", in, Config{Runs: 1, ModelRuns: 50, Timeout: 20 * time.Second, Steer: true})
			if row.Verdict != Agree || row.Observed[runtime.Clean] != 1 || row.Notes["join r returned"] != 1 {
				t.Errorf("verdict %q observed %v notes %v (%s)", row.Verdict, row.Observed, row.Notes, row.Reason)
			}
			if !strings.HasPrefix(row.Python, v+".") {
				t.Errorf("python %q ran, want %s.x", row.Python, v)
			}
		})
	}
}

// Conformance steers into the most severe predicted outcome, in the order
// of scenario.OutcomeClasses' Severity; the Markdown page says how a real
// run shows each class, or that it cannot.
func TestOutcomeClasses(t *testing.T) {
	order := bySeverity()
	if len(order) != len(runtime.Outcomes) || order[len(order)-1] != runtime.Clean ||
		!slices.IsSortedFunc(order, func(a, b runtime.Outcome) int { return b.Class().Severity - a.Class().Severity }) {
		t.Errorf("severity order %v: want every outcome, the most severe first, clean last", order)
	}
	_, observed, ok := strings.Cut(markdownTmpl, "\n## What is observed, and what cannot be\n")
	if !ok {
		t.Fatal("the Markdown template has no section on what is observed")
	}
	observed, _, _ = strings.Cut(observed, "\n## ")
	for _, o := range runtime.Outcomes {
		if !strings.Contains(observed, "**"+string(o)+"**") && !strings.Contains(observed, "`"+string(o)+"`") {
			t.Errorf("templates/conformance.md.tmpl does not say how a real run shows %s, or that it cannot", o)
		}
	}
}

// A strike the thread reaches only after an event that finalization sets
// (gh-124619's callback waits for teardown) is not gated: the gate, which
// holds main before the flag, would wait its full two seconds for it (a
// steered run then outlived the watchdog on a loaded machine). A strike
// reached before the flag is gated.
func TestPredictGateLateStrike(t *testing.T) {
	p, err := Predict(library(t, "gh-124619-late-ensure-313"), "3.15", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steer) == 0 {
		t.Fatalf("no steering point: %+v", p)
	}
	for _, sp := range p.Steer {
		if sp.Gate || sp.Thread != "lib" {
			t.Errorf("steering point %+v: want lib's ensure, not gated", sp)
		}
	}
	p, err = Predict(library(t, "raii-decref-unwind"), "3.11", 100)
	if err != nil || len(p.Steer) == 0 {
		t.Fatalf("raii-decref-unwind: %v, steering %+v", err, p)
	}
	for _, sp := range p.Steer {
		if !sp.Gate {
			t.Errorf("raii-decref-unwind: steering point %+v is not gated", sp)
		}
	}
}

// A steering point's phase becomes the phase its blocking call waits for;
// one before the flag (a failure no policy caused) waits for nothing.
func TestPhaseConst(t *testing.T) {
	for phase, want := range map[string]string{"atexit": "sfz::PhaseBody", "wait-guards": "sfz::PhaseBody", "finalizing": "sfz::PhaseAtexitDone",
		"flush": "sfz::PhaseAtexitDone", "teardown": "sfz::PhaseTeardown", "collect": "sfz::PhaseCollected", "free-tstates": "sfz::PhaseFinalized"} {
		if got := phaseConst(phase); got != want {
			t.Errorf("phaseConst(%s) = %s, want %s", phase, got, want)
		}
	}
}

// A debug build is predicted with the release's preset plus the debug
// facet: a foreign thread's non-freeing DECREF without a thread state is
// silent corruption on release 3.14 and a fatal error (abort) on 3.14d,
// while up to 3.11 a non-freeing DECREF is not checked, debug or not.
func TestPredictDebugBuild(t *testing.T) {
	s, err := scenario.Parse("debug.scn", []byte(`scenario "foreign decref"
main {
  new X
  incref X
  spawn f
  join f
}
foreign f { decref X }`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		version, preset string
		debug           bool
		want, never     runtime.Outcome
	}{
		{"3.14", "cpython-3.14", false, runtime.Corruption, runtime.Abort},
		{"3.14d", "cpython-3.14 debug", true, runtime.Abort, runtime.Corruption},
		{"3.11d", "cpython-3.11 debug", true, runtime.Corruption, runtime.Abort},
	} {
		p, err := Predict(s, c.version, 50)
		if err != nil {
			t.Fatalf("%s: %v", c.version, err)
		}
		if !strings.Contains(p.Preset, c.preset) || strings.Contains(p.Preset, "debug") != c.debug || p.Debug != c.debug {
			t.Errorf("%s: preset %q debug %v, want %q", c.version, p.Preset, p.Debug, c.preset)
		}
		if r, _ := SplitVersion(c.version); p.Release != r || p.StandIn != "" {
			t.Errorf("%s: release %q stand-in %q, want %s and none", c.version, p.Release, p.StandIn, r)
		}
		if p.Outcomes[c.want] == 0 || p.Outcomes[c.never] > 0 {
			t.Errorf("%s: predicted %v, want %s and never %s", c.version, p.Outcomes, c.want, c.never)
		}
	}
	// A debug build of a release the model does not know is predicted with
	// the stand-in's preset plus the debug facet.
	p, err := Predict(s, "3.15d", 50)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := ModelRelease("3.15"); m != "3.15" && (p.StandIn != "3.15" || p.Release != m || !p.Debug || !strings.Contains(p.Preset, "debug")) {
		t.Errorf("3.15d: %+v, want cpython-%s debug standing in for 3.15", p, m)
	}
	// Export targets the debug interpreter and its python3.Yd-config.
	prog, err := Export(s, Options{Version: "3.14d"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(prog.Files["build.sh"], `PY="${PYTHON:-python3.14d}"`) {
		t.Errorf("build.sh does not default to python3.14d:\n%s", prog.Files["build.sh"])
	}
	if _, err := Export(s, Options{Version: "3.12d"}); err == nil || !strings.Contains(err.Error(), "3.14d") {
		t.Errorf("Export(3.12d) = %v, want an unknown version naming the valid ones", err)
	}
}
