package scenarios

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func load(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, err := Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every library scenario has exactly its expected outcome set under every
// policy. Where the exhaustive search completes (within libraryMaxStates)
// the set is proved and every witness replays (exhaustive.CheckWitness);
// elsewhere 1000 sampled schedules must show it, and every witness must
// replay to the same failure. The state counts are logged (go test -v).
func TestLibraryOutcomeSets(t *testing.T) {
	names := Names()
	if len(names) < 15 {
		t.Errorf("library has %d scenarios, want at least 15", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := load(t, name)
			var counts []string
			for _, p := range scenario.Policies {
				want, ok := s.Expected(p)
				if !ok {
					t.Errorf("no expect line for policy %s", p)
					continue
				}
				got, how := provedSet(t, s, p)
				if got == nil {
					got, how = sampledSet(t, s, p), "sampled"
				}
				counts = append(counts, p+" "+how)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("policy %s (%s): found %v, expect lines say %v", p, how, keys(got), keys(want))
				}
			}
			t.Logf("%s: %s", name, strings.Join(counts, ", "))
		})
	}
}

// libraryMaxStates bounds the exhaustive search per policy in the library
// test; above it the test samples instead.
const libraryMaxStates = 100000

// provedSet is the exhaustive outcome set of s under p, or nil when the
// search does not complete.
func provedSet(t *testing.T, s *scenario.Scenario, p string) (map[string]bool, string) {
	r, err := exhaustive.Explore(s, exhaustive.Options{Policy: p, MaxStates: libraryMaxStates})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete {
		return nil, ""
	}
	got := map[string]bool{}
	for o, w := range r.Outcomes {
		got[string(o)] = true
		if err := exhaustive.CheckWitness(s, p, w); err != nil {
			t.Errorf("%s %s: %v", p, o, err)
		}
	}
	return got, fmt.Sprintf("proved in %d states", r.States)
}

// sampledSet is the outcome set of 1000 explored schedules.
func sampledSet(t *testing.T, s *scenario.Scenario, p string) map[string]bool {
	rep, err := explore.Policy(s, p, explore.Options{Runs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for o, w := range rep.Outcomes {
		got[string(o)] = true
		again, err := runtime.Run(s, runtime.Config{Policy: p, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Result.Schedule}})
		if err != nil {
			t.Fatal(err)
		}
		if !w.Result.Replays(again) {
			t.Errorf("%s %s: replay of %s gave %s, recorded %s", p, o, w.Schedule, again.Signature(), w.Result.Signature())
		}
	}
	return got
}

func keys(m map[string]bool) string {
	var out []string
	for _, o := range scenario.Outcomes {
		if m[o] {
			out = append(out, o)
		}
	}
	return strings.Join(out, ", ")
}

// The library covers the failure modes and mitigations the project is
// about, and at least three cases from CPython's history under presets.
func TestLibraryCoverage(t *testing.T) {
	history := 0
	for _, name := range Names() {
		s := load(t, name)
		if len(s.Presets) > 0 && (strings.HasPrefix(name, "bpo-") || strings.HasPrefix(name, "gh-")) {
			history++
		}
	}
	if history < 3 {
		t.Errorf("%d history cases under presets, want at least 3", history)
	}
	for _, want := range []struct{ name, policy, outcome string }{
		{"hang-holds-lock", "hang", "deadlock"},
		{"exit-loses-teardown", "exit", "lost-cleanup"},
		{"raii-decref-unwind", "unwind", "corruption"},
		{"catchall-swallows-unwind", "unwind", "corruption"},
		{"noexcept-unwind-abort", "unwind", "abort"},
		{"stack-waiter-terminate", "terminate", "corruption"},
		{"atexit-stops-daemons", "hang", "clean"},
		{"guard-decref", "unwind", "clean"},
		{"cleanup-unlocks", "unwind", "clean"},
	} {
		s := load(t, want.name)
		if set, _ := s.Expected(want.policy); !set[want.outcome] {
			t.Errorf("%s: expect %s does not include %s", want.name, want.policy, want.outcome)
		}
	}
}

// Every library scenario names the CPython release it describes.
func TestLibraryNamesRelease(t *testing.T) {
	for _, name := range Names() {
		s := load(t, name)
		named := false
		for _, p := range s.Presets {
			_, named = runtime.ParseRelease(p)
			if named {
				break
			}
		}
		if !named {
			t.Errorf("%s: no cpython-X.Y[.Z] preset line", name)
		}
	}
}

// The release view of three library scenarios (releases where a default outcome changes): each
// run under each release's own default policy shows exactly these sets.
func TestLibraryAcrossReleases(t *testing.T) {
	for _, c := range []struct{ name, release, want string }{
		// gh-123940: 3.14 raises, 3.13 and 3.8 block on the stopped daemon,
		// 3.11 returns at once (research note item 1).
		{"gh-123940-join-hung-daemon-314", "cpython-3.14", "clean"},
		// 3.9-3.13: the daemon can also crash in the cpython#110052 take_gil
		// window (its state read after _PyThreadState_DeleteExcept freed it;
		// open in every 3.13 patch release, spec v3).
		{"gh-123940-join-hung-daemon-314", "cpython-3.13", "deadlock, corruption"},
		{"gh-123940-join-hung-daemon-314", "cpython-3.11", "clean, corruption"},
		{"gh-123940-join-hung-daemon-314", "cpython-3.8", "deadlock"},
		// gh-87135: hang from 3.13.8 (Misc/NEWS.d/3.13.8.rst).
		{"gh-87135-gil-scoped-release-3137", "cpython-3.13", "clean, corruption"},
		{"gh-87135-gil-scoped-release-3137", "cpython-3.13.7", "clean, abort, corruption"},
		// gh-96387: fixed in 3.10.8 (Misc/NEWS.d/3.10.8.rst).
		{"gh-96387-force-switching-3107", "cpython-3.10", "clean, corruption"},
		{"gh-96387-force-switching-3107", "cpython-3.10.7", "clean, deadlock, corruption"},
		// ... and in 3.11.1, not 3.11.0 (Misc/NEWS.d/3.11.1.rst; spec v3).
		{"gh-96387-force-switching-3107", "cpython-3.11.0", "clean, deadlock, corruption"},
		{"gh-96387-force-switching-3107", "cpython-3.11.1", "clean, corruption"},
	} {
		s := scenario.Clone(load(t, c.name))
		s.Presets = runtime.WithRelease(s, c.release)
		p, err := runtime.LookupPreset(s.Presets)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := explore.Policy(s, p.DefaultPolicy, explore.Options{Runs: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for o := range rep.Outcomes {
			got[string(o)] = true
		}
		if keys(got) != c.want {
			t.Errorf("%s under %s (%s): {%s}, want {%s}", c.name, c.release, p.DefaultPolicy, keys(got), c.want)
		}
	}
}

// The names the CLI prints for library scenarios ("library/FILE", in every
// reproducing command) load again, patterns included.
func TestSourceTakesPrintedNames(t *testing.T) {
	for _, name := range []string{"hang-holds-lock", "hang-holds-lock.scn", "library/hang-holds-lock.scn",
		"patterns/zlib-ng-53-threaded-gzip-hang", "library/patterns/zlib-ng-53-threaded-gzip-hang.scn"} {
		if _, _, ok := Source(name); !ok {
			t.Errorf("Source(%q) found nothing", name)
		}
	}
}

// Every fixed pattern (a file whose name ends in -fixed) is clean under its
// preset's default policy apart from CPython's own defects
// (runtime.Defects): a fixed pattern that is not is a wrong fix or a wrong
// model, to be explained in its file. Proved by the exhaustive search
// where it completes, else over 1000 sampled schedules.
func TestFixedPatternsCleanApartFromDefects(t *testing.T) {
	fixed := 0
	for _, name := range Names() {
		if !strings.HasSuffix(name, "-fixed") {
			continue
		}
		fixed++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := load(t, name)
			policy, _, err := runtime.ResolvePolicy(s, "")
			if err != nil {
				t.Fatal(err)
			}
			rep, err := explore.Policy(s, policy, explore.Options{Exhaustive: true, MaxStates: libraryMaxStates})
			if err == nil && !rep.Complete {
				rep, err = explore.Policy(s, policy, explore.Options{Runs: 1000})
			}
			if err != nil {
				t.Fatal(err)
			}
			for o, w := range rep.Outcomes {
				if o != runtime.Clean && !w.DefectOnly() {
					t.Errorf("policy %s (%s): %s through the scenario's own code (%d of %d not CPython's defects): %s\n%s",
						policy, rep.Mode, o, w.Count-w.Defects, w.Count, w.Result.Report.Message, w.Schedule)
				}
			}
		})
	}
	if fixed < 10 {
		t.Errorf("%d fixed patterns, want the library's (at least 10)", fixed)
	}
}
