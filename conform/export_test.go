package conform

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func library(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, err := scenarios.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./conform -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the generated text (run go test ./conform -update and review the diff)", path)
	}
}

// TestExportGolden pins the generated C++ and Python of scenarios that use
// every construct class: native/hold/release (raii), noexcept, catchall,
// cleanup with a lock, stack locals, foreign threads, teardown and atexit,
// with a fixed steering point so that reach/window calls are covered.
func TestExportGolden(t *testing.T) {
	steer := map[string][]SteerPoint{
		"raii-decref-unwind":    {{Thread: "w", Line: 26, Col: 7, Stmt: "acquire@26:7", Phase: "flush", Gate: true}},
		"gh-124619-late-ensure": {{Thread: "lib", Line: 28, Col: 3, Stmt: "ensure@28:3", Phase: "exited"}},
	}
	for _, name := range []string{"raii-decref-unwind", "catchall-glibc", "noexcept-unwind-abort", "cleanup-unlocks",
		"stack-waiter-terminate", "gh-124619-late-ensure", "atexit-stops-daemons", "gh-104690-thread-in-del-311"} {
		t.Run(name, func(t *testing.T) {
			p, err := Export(library(t, name), Options{Version: "3.11", Steer: steer[name]})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".cpp", p.Files["sfz_scenario.cpp"])
			golden(t, name+".py", p.Files["driver.py"])
		})
	}
}

// TestExportGoldenPEP788 pins the C++ and Python of PEP 788's statements on
// 3.15: the statement forms on a global guard and `until` (an ensure
// through a closed guard), a guard block with an else inside a native frame
// (gh-87135's migration), ensure view (gh-124619's), and every statement in
// every form in testdata/pep788-statements.scn (a close inside a guard
// block, a nested block of the same name, ensure view with an else, if
// guarded G, if finalizing).
func TestExportGoldenPEP788(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "pep788-statements.scn"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenario.Parse("pep788-statements.scn", src)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*scenario.Scenario{"pep788-statements": all}
	for _, name := range []string{"pep788-ensure-after-close", "gh-87135-gil-scoped-release-3138-pep788", "gh-124619-late-ensure-pep788"} {
		cases[name] = library(t, name)
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := Export(s, Options{Version: "3.15"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".cpp", p.Files["sfz_scenario.cpp"])
			golden(t, name+".py", p.Files["driver.py"])
		})
	}
}

// TestExportPEP788Mapping: each PEP 788 statement becomes its C API call
// (the helpers of sfz_rt.h make the calls), a name means the innermost
// guard block of that name that still holds its guard, then the global,
// and the else blocks name the guard as it is outside the block.
func TestExportPEP788Mapping(t *testing.T) {
	s, err := scenario.Parse("pep788-statements.scn", mustRead(t, filepath.Join("testdata", "pep788-statements.scn")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Export(s, Options{Version: "3.15"})
	if err != nil {
		t.Fatal(err)
	}
	cpp := p.Files["sfz_scenario.cpp"]
	for _, want := range []string{
		"sfz::Guard G_G{\"G\"};", "sfz::Guard G_M{\"M\"};", "sfz::Guard G_H{\"H\"};",
		"sfz::view = PyInterpreterView_FromMain();",
		"sfz::interp_guard(g::G_M);", "sfz::interp_guard(g::G_G);",
		"sfz::ensure_guard(g::G_G);", "sfz::unensure();",
		"sfz::ScopedGuard guard1(\"G\");", "if (guard1.held()) {",
		"sfz::ensure_guard(sfz::find(guard1, g::G_G));",
		"sfz::close_guard(sfz::find(guard2, guard1, g::G_G));",
		"if (sfz::find(guard2, guard1, g::G_G).held()) {",
		"sfz::close_guard(sfz::find(guard1, g::G_G));",
		"sfz::EnsureView view3;", "if (view3.attached()) {",
		"if (g::G_M.held()) {", "sfz::close_guard(g::G_M);",
		"while (!g::E_done.on.load()) {", "if (sfz::finalizing()) {",
	} {
		if !strings.Contains(cpp, want) {
			t.Errorf("export lacks %q:\n%s", want, cpp)
		}
	}
	for _, call := range []string{"PyInterpreterGuard_FromCurrent()", "PyInterpreterGuard_FromView(view)", "PyInterpreterGuard_Close(p)",
		"PyThreadState_Ensure(p)", "PyThreadState_EnsureFromView(view)", "PyThreadState_Release((PyThreadStateToken *)tok)"} {
		if !strings.Contains(p.Files["sfz_rt.h"], call) {
			t.Errorf("sfz_rt.h lacks %s", call)
		}
	}
	// A scenario without PEP 788 statements takes no view: its C++ builds
	// for every release.
	if cpp := exportedCPP(t, "plain.scn", "scenario \"p\"\nmain { work 1 }"); strings.Contains(cpp, "PyInterpreterView") {
		t.Errorf("a scenario without guards takes a view:\n%s", cpp)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExportPEP788RefusedBefore315: PEP 788's statements have no C API
// before 3.15, so an export for an earlier -python is refused (conform
// reports those rows as not exportable), naming the statement, its line and
// the release it needs; on 3.15 the same scenario exports.
func TestExportPEP788RefusedBefore315(t *testing.T) {
	for _, name := range []string{"pep788-forgotten-guard", "gh-124619-late-ensure-pep788", "patterns/pyo3-6084-detach-reattach-pep788"} {
		s := library(t, name)
		for _, v := range Versions {
			_, err := Export(s, Options{Version: v})
			if v == "3.15" {
				if err != nil || ExportableOn(s, v) != nil {
					t.Errorf("%s on 3.15: %v", name, err)
				}
				continue
			}
			ne, ok := err.(*NotExportable)
			if !ok || !strings.Contains(ne.Reason, "needs CPython 3.15") || !strings.Contains(ne.Reason, "at line ") ||
				!strings.Contains(ne.Error(), "for python "+v+":") || ne.Version != v || ExportableOn(s, v) == nil {
				t.Errorf("%s on %s: err = %v, want a NotExportable naming the statement and 3.15", name, v, err)
			}
		}
		if Exportable(s) != nil {
			t.Errorf("%s: Exportable refuses it whatever the release", name)
		}
	}
	ne := ExportableOn(library(t, "gh-124619-late-ensure-pep788"), "3.14")
	if ne == nil || !strings.Contains(ne.Reason, "statement `ensure view` at line 36") {
		t.Errorf("ensure view on 3.14: %v", ne)
	}
}

func TestExportIsDeterministic(t *testing.T) {
	s := library(t, "stack-waiter-terminate")
	opts := Options{Version: "3.14", Steer: []SteerPoint{{Thread: "w", Line: 27, Col: 5, Phase: "flush", Gate: true}, {Thread: "w", Line: 27, Col: 5, Phase: "teardown"}}}
	a, err := Export(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		b, _ := Export(s, opts)
		for _, n := range a.Names() {
			if a.Files[n] != b.Files[n] {
				t.Fatalf("%s differs between two exports", n)
			}
		}
	}
	// A duplicate steering point is emitted once.
	if n := strings.Count(a.Files["sfz_scenario.cpp"], "sfz::reach("); n != 1 {
		t.Errorf("reach calls = %d, want 1", n)
	}
}

// TestNotExportable is the known positive of the refusal: a callback and a
// windows preset have no real counterpart here.
func TestNotExportable(t *testing.T) {
	_, err := Export(library(t, "callback-returns"), Options{})
	ne, ok := err.(*NotExportable)
	if !ok || !strings.Contains(ne.Reason, "Py_SetThreadExitCallback") {
		t.Fatalf("callback-returns: err = %v, want a NotExportable naming the callback", err)
	}
	s := library(t, "daemon-sleep-loop")
	s.Presets = []string{"cpython-3.12", "windows"}
	if Exportable(s) == nil {
		t.Error("a windows preset was exported")
	}
	u := library(t, "daemon-sleep-loop")
	u.Threads[1].Body = append(u.Threads[1].Body, &scenario.Stmt{Op: scenario.OpInvalid, Pos: scenario.Pos{Line: 9, Col: 1}})
	if ne := Exportable(u); ne == nil || !strings.Contains(ne.Reason, "line 9") {
		t.Errorf("a statement without a mapping was exported: %v", ne)
	}
	if _, err := Export(library(t, "daemon-sleep-loop"), Options{Version: "2.7"}); err == nil {
		t.Error("an unknown python version was accepted")
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	p, err := Export(library(t, "daemon-sleep-loop"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.Write(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(dir, false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second Write: err = %v, want an 'exists' error", err)
	}
	if err := p.Write(dir, true); err != nil {
		t.Errorf("Write with overwrite: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "build.sh")); err != nil || st.Mode()&0o100 == 0 {
		t.Errorf("build.sh is not executable: %v", err)
	}
}

func TestCString(t *testing.T) {
	if got := cString("a\"b\\c\n"); got != `"a\"b\\c\012"` {
		t.Errorf("cString = %s", got)
	}
}

// exportedCPP parses src as file and returns the C++ source of its export
// for Python 3.11.
func exportedCPP(t *testing.T, file, src string) string {
	t.Helper()
	s, err := scenario.Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Export(s, Options{Version: "3.11"})
	if err != nil {
		t.Fatal(err)
	}
	return p.Files["sfz_scenario.cpp"]
}

// spawn NAME nowait is _thread.start_new_thread and print flush is
// print(..., flush=True) in the exported program (spec v2).
func TestExportNowaitAndFlush(t *testing.T) {
	cpp := exportedCPP(t, "v2.scn", `scenario "v2"
main { spawn d nowait
  print flush "x" }
daemon d { print "y" }`)
	if !strings.Contains(cpp, "sfz::spawn(g::T_d, nullptr, true);") || !strings.Contains(cpp, `sfz::print("x", true);`) || !strings.Contains(cpp, `sfz::print("y");`) {
		t.Errorf("export lacks the nowait spawn or the flushed print:\n%s", cpp)
	}
}

// A spawn or join of a replicated block NAME[N] starts or joins each copy.
func TestExportReplicatedBlock(t *testing.T) {
	cpp := exportedCPP(t, "rep.scn", `scenario "rep"
main { spawn h
  join h }
daemon h[2] { work 1 }`)
	for _, want := range []string{"sfz::spawn(g::T_h0, nullptr);", "sfz::spawn(g::T_h1, nullptr);", "sfz::join(g::T_h0);", "sfz::join(g::T_h1);"} {
		if !strings.Contains(cpp, want) {
			t.Errorf("export lacks %q:\n%s", want, cpp)
		}
	}
}
