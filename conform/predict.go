package conform

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Prediction is the model's outcome set for a scenario on one release: the
// scenario's presets replaced by the release's and glibc's, under the
// release's default policy. Nothing here is hard-coded: it is computed by
// exploring the model as it stands.
type Prediction struct {
	Preset   string                  `json:"preset"`
	Policy   string                  `json:"policy"`
	Runs     int                     `json:"runs"`
	Outcomes map[runtime.Outcome]int `json:"outcomes"`
	// Witness is the outcome conformance steers real runs into: the most
	// severe one predicted (scenario.OutcomeClass.Severity: corruption,
	// abort, deadlock, lost-cleanup, ..., clean). Schedule replays it in the model; Steer are its strikes.
	Witness  runtime.Outcome `json:"witness"`
	Kind     string          `json:"witness_kind"`
	Schedule string          `json:"witness_schedule"`
	Steer    []SteerPoint    `json:"steer,omitempty"`
	// Release is the release the model explored ("3.14"). It differs from
	// the release that ran only when the model has no preset for that one;
	// StandIn then names the release that ran ("3.15"), and reports say so.
	Release string `json:"release"`
	StandIn string `json:"stand_in_for,omitempty"`
	// Debug: the prediction is for the release's debug build, with the
	// preset's debug facet (runtime.Preset.Debug).
	Debug bool `json:"debug,omitempty"`
}

// StandInText says that the prediction is another release's, or is "".
func (p *Prediction) StandInText() string {
	if p.StandIn == "" {
		return ""
	}
	return fmt.Sprintf("the model has no cpython-%s preset: predicted with cpython-%s, the newest release it models before %s; a disagreement may be a difference between the two releases that the model lacks",
		p.StandIn, p.Release, p.StandIn)
}

// Inconclusive reports a prediction that includes budget: the model ran
// out of steps, so it predicts nothing about those runs.
func (p *Prediction) Inconclusive() bool { return p.Outcomes[runtime.Budget] > 0 }

// bySeverity orders the outcomes conformance prefers to steer into: the
// most severe first (scenario.OutcomeClass.Severity).
func bySeverity() []runtime.Outcome {
	out := slices.Clone(runtime.Outcomes)
	slices.SortFunc(out, func(a, b runtime.Outcome) int { return b.Class().Severity - a.Class().Severity })
	return out
}

// ForRelease returns a copy of s with its presets replaced by the
// release's (cpython-X.Y glibc) and no policy, schedule or expect lines, so
// that the model runs the release's default policy.
func ForRelease(s *scenario.Scenario, version string) *scenario.Scenario {
	return forBuild(s, version, false)
}

// ForDebugBuild is ForRelease for the release's debug build: the presets
// are cpython-X.Y debug glibc.
func ForDebugBuild(s *scenario.Scenario, version string) *scenario.Scenario {
	return forBuild(s, version, true)
}

func forBuild(s *scenario.Scenario, version string, debug bool) *scenario.Scenario {
	c := *s
	c.Presets = []string{"cpython-" + version, "glibc"}
	if debug {
		c.Presets = []string{"cpython-" + version, "debug", "glibc"}
	}
	c.Policy, c.Schedule, c.Expect = "", nil, nil
	return &c
}

// ModelRelease returns the release the model predicts version with:
// version itself when the model has a cpython-X.Y preset for it, otherwise
// the newest modelled release before it (3.14 for 3.15 while the model has
// no 3.15 preset). A release conform can run but the model does not know
// is thus still predicted, and steered, with the release it derives from;
// Prediction.StandIn marks such a prediction, and a disagreement there may
// be a difference between the two releases that the model lacks.
func ModelRelease(version string) (string, error) {
	if _, err := runtime.LookupPreset([]string{"cpython-" + version}); err == nil {
		return version, nil
	}
	major, minor, ok := strings.Cut(version, ".")
	y, err := strconv.Atoi(minor)
	if !ok || err != nil {
		return "", fmt.Errorf("python %q is not a release X.Y", version)
	}
	for y--; y >= 0; y-- {
		v := major + "." + strconv.Itoa(y)
		if _, err := runtime.LookupPreset([]string{"cpython-" + v}); err == nil {
			return v, nil
		}
	}
	return "", fmt.Errorf("the model has no preset for CPython %s or any release before it", version)
}

// Predict explores the model for s on version with runs schedules (with
// ModelRelease's stand-in when the model does not know version). A debug
// build ("3.14d", DebugSuffix) is predicted with the release's preset plus
// the debug facet.
func Predict(s *scenario.Scenario, version string, runs int) (*Prediction, error) {
	version, debug := SplitVersion(version)
	release, err := ModelRelease(version)
	if err != nil {
		return nil, err
	}
	r := forBuild(s, release, debug)
	policy, preset, err := runtime.ResolvePolicy(r, "")
	if err != nil {
		return nil, err
	}
	rep, err := explore.Policy(r, policy, explore.Options{Runs: runs})
	if err != nil {
		return nil, err
	}
	p := &Prediction{Preset: preset.Name, Policy: policy, Runs: rep.Runs, Outcomes: map[runtime.Outcome]int{}, Release: release, Debug: debug}
	if release != version {
		p.StandIn = version
	}
	for o, w := range rep.Outcomes {
		p.Outcomes[o] = w.Count
	}
	for _, o := range bySeverity() {
		w := rep.Outcomes[o]
		// The take_gil window (cpython#110052) is a few instructions inside
		// CPython: no real synchronisation can steer into it, so it is a
		// witness only when nothing else is.
		if w == nil || (w.Result.Report.Kind == runtime.KindTakeGILWindow && len(rep.Outcomes) > 1) {
			continue
		}
		p.Witness, p.Kind, p.Schedule = o, w.Result.Report.Kind, w.Schedule
		p.Steer, err = strikes(r, policy, w.Result)
		return p, err
	}
	return nil, fmt.Errorf("%s: the model produced no outcome", s.Name)
}

// strikes replays a witness with its trace and returns where threads met
// the must-exit check, with main's finalization phase at that moment.
func strikes(s *scenario.Scenario, policy string, w *runtime.Result) ([]SteerPoint, error) {
	again, err := runtime.Run(s, runtime.Config{Policy: policy, Trace: true,
		Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Schedule}})
	if err != nil {
		return nil, err
	}
	var out []SteerPoint
	phase := "body"
	// late are the events set after the finalizing flag: a thread that
	// waits for one before its strike reaches the strike only after the
	// flag, so the gate (which holds main before the flag) must not wait
	// for it; it would only time out.
	late, flagged := map[string]bool{}, false
	for _, ev := range again.Events {
		switch ev.Kind {
		case runtime.EvPhase:
			phase = ev.Detail
			flagged = flagged || phase == "finalizing"
		case runtime.EvSet:
			if flagged {
				late[ev.Detail] = true
			}
		case runtime.EvStrike:
			line, col, ok := stmtPos(ev.Stmt)
			if !ok || ev.Thread <= 0 || ev.Thread >= len(again.Threads) {
				continue
			}
			name := again.Threads[ev.Thread]
			out = append(out, SteerPoint{Thread: name, Line: line, Col: col, Stmt: ev.Stmt, Phase: phase,
				Gate: !waitsBefore(s, name, late, line, col)})
		}
	}
	// A failure that no strike caused (an ensure after step 7, gh-124619)
	// is steered at its own statement, in the phase the run ended in.
	rep := again.Report
	if line, col, ok := stmtPos(rep.Stmt); ok && rep.Thread != "" && rep.Thread != "main" && len(out) == 0 {
		out = append(out, SteerPoint{Thread: rep.Thread, Line: line, Col: col, Stmt: rep.Stmt, Phase: rep.Phase})
	}
	return out, nil
}

// stmtPos parses the position of "op@line:col".
func stmtPos(ref string) (int, int, bool) {
	_, pos, ok := strings.Cut(ref, "@")
	if !ok {
		return 0, 0, false
	}
	l, c, ok := strings.Cut(pos, ":")
	line, err1 := strconv.Atoi(l)
	col, err2 := strconv.Atoi(c)
	return line, col, ok && err1 == nil && err2 == nil
}

// waitsBefore reports whether thread name waits for one of events in a
// statement written before line:col (a wait, or the check of an until).
func waitsBefore(s *scenario.Scenario, name string, events map[string]bool, line, col int) bool {
	i := s.Thread(name)
	if i < 0 || len(events) == 0 {
		return false
	}
	found := false
	scenario.Walk(s.Threads[i].Body, func(st *scenario.Stmt) {
		before := st.Pos.Line < line || st.Pos.Line == line && st.Pos.Col < col
		if (st.Op == scenario.OpWait || st.Op == scenario.OpUntil) && events[st.Name] && before {
			found = true
		}
	})
	return found
}
