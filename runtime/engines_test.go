package runtime_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/internal/enginediff"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var enginesRandom = flag.Int("sfz.engines-random", 1000, "random fuzz inputs TestEnginesAgree decodes and runs under both engines")

// TestEnginesAgree is stage 4's check (docs/step-function.md): a
// controlled run on the step function (vm_run.go) gives the goroutine
// model's Result byte for byte, as JSON: outcome, report and its words,
// wait-for chain, schedule, preemptions, strikes, stdout, hung threads.
// It runs every library file under every policy and several schedules,
// the FuzzShutdown seeds and random fuzz inputs, each also as a NoStrike
// counterfactual, traced (the timeline's events) and as a replay of a
// schedule cut short (a divergence). testdata/engines holds scenarios for
// the events the others do not reach (raises on their way, guards).
func TestEnginesAgree(t *testing.T) {
	var cases []*scenario.Scenario
	for _, f := range testscn.Files(t, "../scenarios/*.scn", "../scenarios/patterns/*.scn", "testdata/engines/*.scn") {
		cases = append(cases, f.Scenario)
	}
	cases = append(cases, fuzzInputs(t, *enginesRandom)...)
	runs, diffs := 0, 0
	for _, s := range cases {
		for _, cfg := range engineConfigs(s) {
			runs++
			if msg := compareEngines(s, cfg); msg != "" {
				diffs++
				if diffs <= 10 {
					t.Errorf("%s", msg)
				}
			}
		}
	}
	t.Logf("%d runs over %d scenarios, %d differ", runs, len(cases), diffs)
}

// fuzzInputs decodes the FuzzShutdown seeds and n random inputs.
func fuzzInputs(t *testing.T, n int) []*scenario.Scenario {
	out := fuzzSeeds(t)
	rng := rand.New(rand.NewPCG(20, 4))
	for range n {
		b := make([]byte, 8+rng.IntN(240))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		out = append(out, scenario.Decode(b))
	}
	return out
}

// engineConfigs are the runs of s to compare: each policy under the
// scenario's own schedule, random seeds, PCT and a NoStrike
// counterfactual, and traced (Config.Trace: the events) under the
// scenario's schedule, a random seed and as a counterfactual.
func engineConfigs(s *scenario.Scenario) []runtime.Config {
	var out []runtime.Config
	for _, p := range scenario.Policies {
		out = append(out,
			runtime.Config{Policy: p, MaxSteps: 5000},
			runtime.Config{Policy: p, MaxSteps: 5000, NoStrike: true},
			runtime.Config{Policy: p, MaxSteps: 3000, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: 7}},
			runtime.Config{Policy: p, MaxSteps: 3000, Schedule: &scenario.Schedule{Kind: scenario.SchedulePCT, Depth: 3, Seed: 11}},
			runtime.Config{Policy: p, MaxSteps: 5000, Trace: true},
			runtime.Config{Policy: p, MaxSteps: 3000, Trace: true, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: 3}},
			runtime.Config{Policy: p, MaxSteps: 3000, Trace: true, NoStrike: true, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: 5}},
		)
	}
	return out
}

// compareEngines runs s under cfg on both engines, then replays the
// schedule cut in half, and describes the first difference ("": none).
func compareEngines(s *scenario.Scenario, cfg runtime.Config) string {
	a, msg := bothEngines(s, cfg)
	if msg != "" || a == nil {
		return msg
	}
	cut := &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: a.Schedule[:len(a.Schedule)/2]}
	cfg.Schedule = cut
	_, msg = bothEngines(s, cfg)
	return msg
}

// bothEngines is enginediff.Diff with the run named: the goroutine
// model's Result (nil on an error both give) and the difference.
func bothEngines(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, string) {
	want, d := enginediff.Diff(s, cfg)
	if d != "" {
		return nil, fmt.Sprintf("%s policy %s nostrike %v trace %v schedule %v:\n%s%s", s.Name, cfg.Policy, cfg.NoStrike, cfg.Trace, cfg.Schedule, scenario.Print(s), d)
	}
	return want, ""
}

// TestEnginesAgreeLongTrace compares a traced run that records more
// events than a trace keeps (maxEvents): both engines keep the same
// first ones.
func TestEnginesAgreeLongTrace(t *testing.T) {
	s, err := scenario.Parse("long.scn", []byte("scenario \"long\"\nmain {\n  spawn d\n  forever {\n    work 2\n  }\n}\ndaemon d {\n  forever {\n    lock L\n    io\n    unlock L\n  }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want, msg := bothEngines(s, runtime.Config{MaxSteps: 40000, Trace: true})
	if msg != "" {
		t.Fatal(msg)
	}
	if want.Outcome != runtime.Budget || len(want.Events) != 20000 {
		t.Fatalf("outcome %s with %d events, want budget with a full trace (20000)", want.Outcome, len(want.Events))
	}
}

// A run that keeps more live objects than the step function numbers goes
// on in the goroutine model from where it was, with the caller's own
// strategy object (which has seen exactly the choices taken): the Result
// is the goroutine model's run of the same strategy from the start.
func TestFallbackGoesOnWithTheSameStrategy(t *testing.T) {
	s := parse(t, `scenario "many objects"
main { spawn d
  loop 33000 {
    new o
    publish o
  }
}
daemon d { forever { io } }`)
	cfg := func() runtime.Config {
		return runtime.Config{Policy: "hang", MaxSteps: 400000, Strategy: chaos.Random(3), StrategyName: "random 3"}
	}
	if !runtime.StepFallsBack(s, cfg()) {
		t.Fatal("33,000 live objects did not make the step function hand over")
	}
	got, err := runtime.Run(s, cfg())
	if err != nil {
		t.Fatal(err)
	}
	ref := cfg()
	ref.Engine = runtime.EngineGoroutine
	want, err := runtime.Run(s, ref)
	if err != nil {
		t.Fatal(err)
	}
	if d := enginediff.Fields(want, got); d != "" || want.Outcome != runtime.Clean {
		t.Fatalf("outcome %s; the fallback's run differs from the goroutine model's:\n%s", want.Outcome, d)
	}
}
