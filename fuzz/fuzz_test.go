package fuzz

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/internal/fuzzcap"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

var (
	policyFlag = flag.String("sfz.policy", "all", "policy to check each input under: all, abort, exit, hang, unwind or terminate")
	strictFlag = flag.Bool("sfz.strict", false, "fail on any non-clean outcome (hunting witnesses)")
	stepsFlag  = flag.Int("sfz.steps", DefaultSteps, "step budget per run")
	wantFlag   = flag.String("sfz.want", "", "with -sfz.strict: fail only on policy-caused failures of this outcome or report kind, optionally /OP (a prefix of the failing statement: no-gil/hold)")
	freshFlag  = flag.Bool("sfz.fresh", false, "skip inputs equal to a seed file, so that only inputs the fuzzer made can fail (to time how fast mutation finds a witness)")
	engineFlag = flag.String("sfz.engine", "step", "the controlled mode's engine for every run: step (the step function) or goroutine (the goroutine model), to compare them")
)

// engine is -sfz.engine as a runtime.Engine.
func engine(tb testing.TB) runtime.Engine {
	switch *engineFlag {
	case "step":
		return runtime.EngineStep
	case "goroutine":
		return runtime.EngineGoroutine
	}
	tb.Fatalf("-sfz.engine=%q: want step or goroutine", *engineFlag)
	return 0
}

func TestMain(m *testing.M) {
	flag.Parse()
	fuzzcap.Apply()
	goleak.VerifyTestMain(m)
}

// FuzzShutdown decodes its input into a scenario and a schedule, runs it
// under each policy and fails when a policy contract or a harness invariant
// breaks (package verdict). An input the oracle cannot decide (a budget
// run, an unknown attribution) is skipped with its report: it is never
// counted as a pass.
func FuzzShutdown(f *testing.F) {
	policies, err := explore.Policies(*policyFlag)
	if err != nil {
		f.Fatal(err)
	}
	opts := verdict.Options{Strict: *strictFlag, Want: *wantFlag, MaxSteps: *stepsFlag, Engine: engine(f)}
	seeds := map[string]bool{}
	if *freshFlag {
		paths, _ := filepath.Glob("testdata/fuzz/FuzzShutdown/*")
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				if data, err := UnmarshalCorpusFile(b); err == nil {
					seeds[string(data)] = true
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if seeds[string(data)] {
			return
		}
		name := t.Name()
		if !strings.Contains(name, "/") {
			name += "/<the failing input file named below>"
		}
		failure, inconclusive := checkInput(data, policies, opts, name)
		if failure != "" {
			t.Fatal(failure)
		}
		if len(inconclusive) > 0 {
			t.Skipf("inconclusive (not a pass):\n%s", strings.Join(inconclusive, "\n"))
		}
	})
}

// checkInput is FuzzShutdown's check of one input: the first failure (or
// ""), and the inconclusive reports, each with its re-run command.
func checkInput(data []byte, policies []string, opts verdict.Options, name string) (failure string, inconclusive []string) {
	rerun := func(p string) string {
		return fmt.Sprintf("to re-run: go test ./fuzz -run='%s' -sfz.policy=%s%s", name, p, strictArg())
	}
	fail, unknown := CheckPolicies(scenario.Decode(data), policies, opts)
	for _, f := range unknown {
		inconclusive = append(inconclusive, fmt.Sprintf("%v\n%s", f, rerun(f.Policy)))
	}
	if fail != nil {
		failure = fmt.Sprintf("%v\n%s", fail, rerun(fail.Policy))
	}
	return failure, inconclusive
}

func strictArg() string {
	arg := ""
	if *strictFlag {
		arg += " -sfz.strict"
	}
	if *wantFlag != "" {
		arg += " -sfz.want=" + *wantFlag
	}
	if *freshFlag {
		arg += " -sfz.fresh"
	}
	if *engineFlag != "step" {
		arg += " -sfz.engine=" + *engineFlag
	}
	return arg
}

// FuzzParse and FuzzDecode, the language's own round trips, live with the
// language in package scenario: go test -fuzz=FuzzParse ./scenario.

// The seed corpus in testdata is what go generate makes from the library.
func TestSeedsInSync(t *testing.T) {
	seeds, err := Seeds()
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) < 15 {
		t.Errorf("%d seeds, want one per library scenario", len(seeds))
	}
	for name, want := range seeds {
		got, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzShutdown", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed %s missing or stale; run: go generate ./fuzz", name)
		}
	}
}

func TestCorpusFileRoundTrip(t *testing.T) {
	for _, data := range [][]byte{nil, {0}, []byte("a\"b\n\x00\xff")} {
		got, err := UnmarshalCorpusFile(MarshalCorpusFile(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("round trip of %q: %q, %v", data, got, err)
		}
	}
	if got, err := UnmarshalCorpusFile([]byte("go test fuzz v1\nstring(\"hi\")\n")); err != nil || string(got) != "hi" {
		t.Errorf("string value: %q, %v", got, err)
	}
	for _, bad := range []string{"", "go test fuzz v2\n[]byte(\"\")", "go test fuzz v1\nint(3)\n", "go test fuzz v1\n[]byte(\"a\")\n[]byte(\"b\")\n", "go test fuzz v1\n[]byte(\n"} {
		if _, err := UnmarshalCorpusFile([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The contracts hold on every library scenario under its witnesses: a
// check that can fail, since the library shows each policy's failures.
func TestContractsOnLibraryWitnesses(t *testing.T) {
	seeds, _ := Seeds()
	for _, content := range seeds {
		data, err := UnmarshalCorpusFile(content)
		if err != nil {
			t.Fatal(err)
		}
		s := scenario.Decode(data)
		for _, p := range scenario.Policies {
			rep, err := explore.Policy(s, p, explore.Options{Runs: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range rep.Outcomes {
				if _, fail := verdict.Check(verdict.WithSchedule(s, w.Result.Schedule), p, verdict.Options{}); fail != nil {
					t.Errorf("%s: %v", s.Name, fail)
				}
			}
		}
	}
}

// The fuzz target fails on the event-wait hang (main blocked for good on an event only a hung daemon would set) when hunting
// with -sfz.strict -sfz.want=deadlock (a teardown waits on an event only a
// daemon would set, while a foreign thread spins): the input goes through
// the fuzz encoding, and the policy's deadlock must be reported, never
// passed or left as budget. By default the contracts allow it.
func TestFuzzTargetFailsOnEventWaitHang(t *testing.T) {
	s, err := scenario.Parse("hang.scn", []byte(`scenario "event-wait hang"
main { spawn d
  spawn f }
daemon d { io
  set done }
foreign f { forever { yield } }
teardown { wait done }`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := scenario.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	policies := []string{"hang", "unwind", "terminate"}
	failure, inconclusive := checkInput(data, policies, verdict.Options{Strict: true, Want: "deadlock", MaxSteps: 5000}, t.Name())
	if failure == "" || !strings.Contains(failure, "the policy caused deadlock") || len(inconclusive) > 0 {
		t.Errorf("strict want=deadlock: failure %q, inconclusive %q; want the policy's deadlock reported", failure, inconclusive)
	}
	if failure, inconclusive := checkInput(data, policies, verdict.Options{MaxSteps: 5000}, t.Name()); failure != "" || len(inconclusive) > 0 {
		t.Errorf("default contracts: %q %q, want a pass", failure, inconclusive)
	}
}

// Without -fuzzminimizetime, Go's minimization of each new input is capped
// (the cause of the fuzz loop's zero-exec stretches).
func TestMinimizationCapped(t *testing.T) {
	for _, arg := range os.Args[1:] {
		if strings.Contains(arg, "fuzzminimizetime") {
			t.Skipf("%s given", arg)
		}
	}
	if got := flag.Lookup("test.fuzzminimizetime").Value.String(); got != fuzzcap.Cap {
		t.Errorf("-fuzzminimizetime is %s, want the cap %s", got, fuzzcap.Cap)
	}
}

// A run in which no thread meets the policy is the same run under every
// policy: the runtime reads the policy only in strike (runtime/exit.go).
// CheckPolicies relies on it to check such an input under one policy only.
// The inputs are the seeds and their one-byte mutations.
func TestStrikeFreeRunsIgnorePolicy(t *testing.T) {
	seeds, _ := Seeds()
	checked := 0
	for _, content := range seeds {
		data, err := UnmarshalCorpusFile(content)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i <= len(data); i++ {
			mutated := append([]byte(nil), data...)
			if i < len(data) {
				mutated[i] ^= 0x55
			}
			checked += sameUnderEveryPolicy(t, scenario.Decode(mutated))
		}
	}
	if checked < 100 {
		t.Errorf("only %d strike-free runs checked", checked)
	}
}

// sameUnderEveryPolicy returns 1 when s's run under the first policy met
// no policy, after checking that every policy gives the same run.
func sameUnderEveryPolicy(t *testing.T, s *scenario.Scenario) int {
	t.Helper()
	first, err := runtime.Run(s, runtime.Config{Policy: scenario.Policies[0], MaxSteps: 2000})
	if err != nil || first.Strikes != 0 {
		return 0
	}
	for _, p := range scenario.Policies[1:] {
		r, _ := runtime.Run(s, runtime.Config{Policy: p, MaxSteps: 2000})
		if r.Strikes != 0 || r.Signature() != first.Signature() || !slices.Equal(r.Schedule, first.Schedule) {
			t.Errorf("%s: strike-free under %s (%s) but under %s: %s, %d strikes", s.Name, scenario.Policies[0], first.Signature(), p, r.Signature(), r.Strikes)
		}
	}
	return 1
}
