package fuzz

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var (
	policyFlag = flag.String("sfz.policy", "all", "policy to check each input under: all, abort, exit, hang, unwind or terminate")
	strictFlag = flag.Bool("sfz.strict", false, "fail on any non-clean outcome (hunting witnesses)")
	stepsFlag  = flag.Int("sfz.steps", DefaultSteps, "step budget per run")
	wantFlag   = flag.String("sfz.want", "", "with -sfz.strict: fail only on policy-caused failures of this outcome or report kind, optionally /OP (a prefix of the failing statement: no-gil/hold)")
	freshFlag  = flag.Bool("sfz.fresh", false, "skip inputs equal to a seed file, so that only inputs the fuzzer made can fail (to time how fast mutation finds a witness)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	capMinimization()
	goleak.VerifyTestMain(m)
}

// minimizeCap bounds how long Go's fuzzer minimizes each new interesting
// input (and a crasher) when -fuzzminimizetime is not given. Go's default
// is 60s per input, and the coordinator counts no execs while both workers
// minimize: with an exec costing a few hundred microseconds, removing
// byte ranges from a 200-byte input took up to 12s, seen as 0 execs/s.
// Crashers are minimized for good by `shutdownfuzz minimize`, which keeps
// the failure's signature; -fuzzminimizetime=60s restores Go's default.
const minimizeCap = "1s"

func capMinimization() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given && flag.Lookup("test.fuzzminimizetime") != nil {
		if err := flag.Set("test.fuzzminimizetime", minimizeCap); err != nil {
			panic(err) // a constant the testing package accepts
		}
	}
}

// FuzzShutdown decodes its input into a scenario and a schedule, runs it
// under each policy and fails when a policy contract or a harness invariant
// breaks (see contract.go).
func FuzzShutdown(f *testing.F) {
	policies, err := explore.Policies(*policyFlag)
	if err != nil {
		f.Fatal(err)
	}
	opts := Options{Strict: *strictFlag, Want: *wantFlag, MaxSteps: *stepsFlag}
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
		s := scenario.Decode(data)
		if fail := CheckPolicies(s, policies, opts); fail != nil {
			name := t.Name()
			if !strings.Contains(name, "/") {
				name += "/<the failing input file named below>"
			}
			t.Fatalf("%v\nto re-run: go test ./fuzz -run='%s' -sfz.policy=%s%s", fail, name, fail.Policy, strictArg())
		}
	})
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
				if _, fail := Check(WithSchedule(s, w.Result.Schedule), p, Options{}); fail != nil {
					t.Errorf("%s: %v", s.Name, fail)
				}
			}
		}
	}
}

// Strict mode fails on the failures the contracts allow.
func TestStrictFailsOnWitness(t *testing.T) {
	s, err := scenario.Parse("x.scn", []byte(`scenario "x"
main { spawn d
  wait started }
daemon d { lock L
  set started
  io
  unlock L }
teardown { lock L }`))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := explore.Policy(s, "hang", explore.Options{Runs: 200})
	w := rep.Outcomes["deadlock"]
	if w == nil {
		t.Fatal("no deadlock witness")
	}
	ws := WithSchedule(s, w.Result.Schedule)
	if _, fail := Check(ws, "hang", Options{}); fail != nil {
		t.Errorf("default contract: %v", fail)
	}
	if _, fail := Check(ws, "hang", Options{Strict: true}); fail == nil {
		t.Errorf("strict: no failure on a deadlock")
	}
	// The same deadlock is outside the exit policy's contract.
	if _, fail := Check(ws, "abort", Options{}); fail != nil && fail.Result.Outcome == "deadlock" {
		// Under abort the schedule diverges from the hang witness; any
		// deadlock it reaches here is the scenario's own.
		t.Logf("abort: %v", fail)
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
	if got := flag.Lookup("test.fuzzminimizetime").Value.String(); got != minimizeCap {
		t.Errorf("-fuzzminimizetime is %s, want the cap %s", got, minimizeCap)
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
