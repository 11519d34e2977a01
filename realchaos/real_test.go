package realchaos

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/internal/depcheck"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

// repoRoot is the module's root, where the examples are.
func repoRoot(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	toolsOnce sync.Once
	tools     []*Tool
	toolsErr  error
)

// installedTools prepares every installed interpreter (in the default
// caches, which a second test run reuses), or skips the test when none
// is installed: `go test ./...` passes on a machine without them.
func installedTools(t *testing.T) []*Tool {
	t.Helper()
	toolsOnce.Do(func() {
		ins, err := Installed()
		if err != nil {
			toolsErr = err
			return
		}
		for _, in := range ins {
			if in.Root != "" && os.Geteuid() != 0 {
				continue // chroot and mount need root; skipped below if nothing is left
			}
			tl, err := Prepare(context.Background(), in, Options{})
			if err != nil {
				toolsErr = err
				return
			}
			tools = append(tools, tl)
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	if len(tools) == 0 {
		t.Skipf("no interpreter of %s installed (make conform-env installs them; those in the sid root need root)", strings.Join(Versions, ", "))
	}
	return tools
}

// TestClassifyRealPrograms: a small program per outcome class, run through
// the embedding host under the shim, lands in its class on every installed
// interpreter.
func TestClassifyRealPrograms(t *testing.T) {
	root := repoRoot(t)
	for _, tl := range installedTools(t) {
		for _, c := range []struct {
			name    string
			argv    []string
			outcome runtime.Outcome
			kind    string
			ev      string
		}{
			{"clean", []string{"python", "-c", "print('hello')"}, runtime.Clean, runtime.KindExit, "after finalization"},
			{"abort", []string{"python", "-c", "import os; os.abort()"}, runtime.Abort, "sigabrt", "SIGABRT"},
			{"fatal error", []string{"python", "-c", "import ctypes; ctypes.pythonapi.Py_FatalError(b'sfz test')"}, runtime.Abort, "fatal-error", "sfz test"},
			{"segfault", []string{"python", "-c", "import ctypes; ctypes.string_at(0)"}, runtime.Corruption, "signal", "SIGSEGV"},
			{"hang", []string{"python", "-c", "import time; time.sleep(60)"}, runtime.Deadlock, runtime.KindWatchdog, "watchdog"},
			{"exit non-zero", []string{"python", "-c", "raise SystemExit(3)"}, runtime.LostCleanup, "process-exit", "exit status 3"},
			{"lost stdout", []string{"python", "-c", "import os; print('lost'); os._exit(0)"}, runtime.LostCleanup, "process-exit", "finalization did not finish"},
			{"non-python command", []string{"sh", "-c", "kill -SEGV $$"}, runtime.Corruption, "signal", "SIGSEGV"},
		} {
			t.Run(tl.In.Version+"/"+c.name, func(t *testing.T) {
				res, err := tl.Run(context.Background(), Spec{Argv: c.argv, Dir: root, Timeout: 3 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				if res.Obs.Outcome != c.outcome || res.Obs.Kind != c.kind || !strings.Contains(res.Obs.Evidence, c.ev) {
					t.Errorf("%s/%s (%s), want %s/%s with %q\nstdout: %s\nstderr: %s", res.Obs.Outcome, res.Obs.Kind, res.Obs.Evidence,
						c.outcome, c.kind, c.ev, res.Raw.Stdout, res.Raw.Stderr)
				}
				if c.name == "lost stdout" && strings.Contains(res.Raw.Stdout, "lost") {
					t.Errorf("stdout kept the line os._exit should lose: %q", res.Raw.Stdout)
				}
				if c.argv[0] == "python" && len(res.Markers.Hosts()) != 1 {
					t.Errorf("the host did not start under the shim: %+v", res.Markers.Procs)
				}
			})
		}
	}
}

// TestSeedReplaysDelays: the same seed gives each thread the same delays;
// another seed, others. The main thread calls PyGILState_Ensure 30 times
// through ctypes (which finds the shim's symbol first).
func TestSeedReplaysDelays(t *testing.T) {
	prog := "import ctypes\nf = ctypes.pythonapi\nfor _ in range(30):\n    f.PyGILState_Release(f.PyGILState_Ensure())\n"
	for _, tl := range installedTools(t) {
		delayed := func(seed uint64) time.Duration {
			res, err := tl.Run(context.Background(), Spec{Argv: []string{"python", "-c", prog}, Dir: repoRoot(t), Seed: seed,
				Delays: Delays{Max: 200 * time.Microsecond, LongEvery: 5, LongFactor: 3}, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Obs.Outcome != runtime.Clean || len(res.Markers.Threads) != 1 || res.Markers.Threads[0].Calls != 30 {
				t.Fatalf("python %s: %s (%s), threads %+v", tl.In.Version, res.Obs.Outcome, res.Obs.Evidence, res.Markers.Threads)
			}
			return res.Markers.Threads[0].Delayed
		}
		a, b, c := delayed(7), delayed(7), delayed(8)
		if a != b || a == c || a == 0 {
			t.Errorf("python %s: delays %v, %v with seed 7, %v with seed 8", tl.In.Version, a, b, c)
		}
	}
}

// TestCleanExampleStaysClean: the poller that stops its threads before
// main returns stays clean with delays on every interpreter: the shim adds
// no failure of its own.
func TestCleanExampleStaysClean(t *testing.T) {
	runs := 10
	if testing.Short() {
		runs = 2
	}
	for _, tl := range installedTools(t) {
		c := &Config{Argv: []string{"python", "examples/poller/clean.py"}, Dir: repoRoot(t), Runs: runs,
			Delays: Delays{Max: 300 * time.Microsecond, LongEvery: 50, LongFactor: 10}, Seed: 1, Timeout: 20 * time.Second}
		ps, err := Campaign(context.Background(), tl, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*Mode{ps.Without, ps.With} {
			if m.Outcomes[runtime.Clean] != runs || m.Calls == 0 {
				t.Errorf("python %s %s: %v (failures %+v), %d wrapped calls", tl.In.Version, modeLabel(m), m.Outcomes, m.Failures, m.Calls)
			}
		}
	}
}

// TestPrepareIsIdempotent: a second Prepare reuses the build; a changed
// source is a new entry; a changed libpython (its stamp) rebuilds.
func TestPrepareIsIdempotent(t *testing.T) {
	ins, err := Installed()
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Skipf("no interpreter of %s installed", strings.Join(Versions, ", "))
	}
	in := ins[0]
	if in.Root != "" && os.Geteuid() != 0 {
		t.Skipf("python %s is in the root %s: building there needs root", in.Version, in.Root)
	}
	o := Options{HostCache: t.TempDir()}
	if in.Root != "" {
		o.RootCache = "/tmp/sfz-chaos-test-" + filepath.Base(t.TempDir())
		t.Cleanup(func() { os.RemoveAll(filepath.Join(in.Root, o.RootCache)) })
	}
	var log strings.Builder
	o.Log = &log
	ctx := context.Background()
	a, err := Prepare(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(a.Dir, "python"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Prepare(ctx, in, o)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(b.Dir, "python"))
	if a.Dir != b.Dir || !st2.ModTime().Equal(st.ModTime()) || strings.Count(log.String(), "building") != 1 {
		t.Errorf("second Prepare rebuilt: %s vs %s\n%s", a.Dir, b.Dir, log.String())
	}
	if a.Release == "" || !strings.HasPrefix(a.Release, in.Version+".") || len(a.Wrapped) < 3 {
		t.Errorf("release %q, wrapped %v", a.Release, a.Wrapped)
	}
	// A stale stamp (libpython changed) rebuilds in place.
	if err := os.WriteFile(filepath.Join(a.Dir, "stamp"), []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Prepare(ctx, in, o)
	if err != nil || c.Dir != a.Dir || strings.Count(log.String(), "building") != 2 {
		t.Errorf("stale stamp: %v, %s\n%s", err, c.Dir, log.String())
	}
	// Changed sources are another entry.
	saved := shimSource
	shimSource += "\n/* changed */\n"
	defer func() { shimSource = saved }()
	d, err := Prepare(ctx, in, o)
	if err != nil || d.Dir == a.Dir {
		t.Errorf("changed source: %v, same dir %s", err, d.Dir)
	}
}

// TestImports: chaos (schedule control) knows nothing of interpreters,
// and conform does not reach realchaos (the CLI hands conform the
// launcher).
func TestImports(t *testing.T) {
	root := repoRoot(t)
	for pkg, banned := range map[string][]string{"chaos": {"conform", "realchaos"}, "conform": {"realchaos"}} {
		chains, err := depcheck.Chains(root, pkg)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range banned {
			if c, ok := chains[b]; ok {
				t.Errorf("%s imports %s: %s", pkg, b, c)
			}
		}
	}
}

// TestLauncherRunsConform: conform's unsteered runs go through the host
// under the shim (conform -compare -shim), on a scenario whose outcome
// does not depend on timing.
func TestLauncherRunsConform(t *testing.T) {
	src, _, ok := scenarios.Source("atexit-stops-daemons")
	if !ok {
		t.Fatal("no library scenario atexit-stops-daemons")
	}
	s, err := scenario.Parse("atexit-stops-daemons", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range installedTools(t) {
		if !slices.Contains(conform.Versions, tl.In.Version) {
			continue // conformance does not run this release
		}
		l := NewLauncher(Delays{Max: 300 * time.Microsecond, LongEvery: 50, LongFactor: 10}, 1, []*Tool{tl})
		row := conform.Check(context.Background(), s, "atexit-stops-daemons", tl.In, conform.Config{Runs: 1, ModelRuns: 50,
			Timeout: 20 * time.Second, Steer: true, Compare: true, Launcher: l})
		if row.Verdict != conform.Agree || !row.Launched || row.UnsteeredRuns != 1 || row.Unsteered[runtime.Clean] != 1 {
			t.Errorf("python %s: verdict %q launched %v unsteered %v (%s)", tl.In.Version, row.Verdict, row.Launched, row.Unsteered, row.Reason)
		}
		if row.Notes["shim: the embedding host never started"] > 0 || row.Notes["join r returned"] != 2 {
			t.Errorf("python %s: notes %v", tl.In.Version, row.Notes)
		}
	}
}
