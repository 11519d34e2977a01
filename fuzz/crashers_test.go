package fuzz

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

var crashersFlag = flag.String("sfz.crashers", "../corpus", "directory of .scn crashers that TestCrashersWithinContracts checks (nightly CI points it at a campaign's crashers)")

// contractBreaks checks each .scn file in dir, with its schedule line,
// under the policies its expect lines name (else its policy line, else
// every policy) and returns the failures Check reports, by file.
func contractBreaks(t *testing.T, dir string, opts verdict.Options) map[string]*verdict.Failure {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.scn"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*verdict.Failure{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := scenario.Parse(p, src)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, policy := range crasherPolicies(s) {
			if _, fail := verdict.Check(s, policy, opts); fail != nil {
				out[p] = fail
				break
			}
		}
	}
	return out
}

func crasherPolicies(s *scenario.Scenario) []string {
	var ps []string
	for _, p := range scenario.Policies {
		if _, ok := s.Expected(p); ok {
			ps = append(ps, p)
		}
	}
	switch {
	case len(ps) > 0:
		return ps
	case s.Policy != "":
		return []string{s.Policy}
	}
	return scenario.Policies
}

// Every crasher in -sfz.crashers (the regression corpus by default; the
// nightly workflow's campaign crashers there) stays within the policy
// contracts: a crasher outside them is a new contract break.
func TestCrashersWithinContracts(t *testing.T) {
	if _, err := os.Stat(*crashersFlag); os.IsNotExist(err) && *crashersFlag != "../corpus" {
		t.Skipf("%s: no crashers", *crashersFlag)
	}
	for p, fail := range contractBreaks(t, *crashersFlag, verdict.Options{MaxSteps: DefaultSteps}) {
		t.Errorf("%s: %v\nto re-run: go run ./cmd/shutdownfuzz run -policy %s %s", p, fail, fail.Policy, p)
	}
}

// The check fires: under strict contracts every corpus crasher (each a
// failure) is reported.
func TestContractBreaksFires(t *testing.T) {
	paths, _ := filepath.Glob("../corpus/*.scn")
	if got := contractBreaks(t, "../corpus", verdict.Options{Strict: true}); len(got) != len(paths) || len(paths) == 0 {
		t.Errorf("strict: %d of %d corpus crashers reported", len(got), len(paths))
	}
}
