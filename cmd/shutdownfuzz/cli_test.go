package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

var lockScn = testscn.HeldLock("lock")

// cliCase is a command line, the exit status it must give, and a text its
// stdout or stderr must contain.
type cliCase struct {
	args []string
	code int
	want string
}

// checkCLI runs the cases in order (a case may depend on the files an
// earlier one wrote) and reports each that gives another exit status or
// lacks its text.
func checkCLI(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		code, out, errs := cli(tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

func TestRunAndExploreExitStatus(t *testing.T) {
	dir := t.TempDir()
	ok := writeScenario(t, dir, "ok.scn", lockScn+"expect hang: clean, deadlock\n")
	bad := writeScenario(t, dir, "bad.scn", lockScn+"expect hang: clean\n")
	checkCLI(t, []cliCase{
		{[]string{"explore", "-policy", "hang", "-runs", "200", ok}, 0, "deadlock"},
		{[]string{"explore", "-policy", "hang", "-runs", "200", bad}, 1, "UNEXPECTED"},
		{[]string{"explore", ok, "-policy", "hang", "-runs", "50"}, 0, "policy hang"}, // flags after the file
		{[]string{"run", "-policy", "hang", "-seed", "3", ok}, 0, "outcome:"},
		{[]string{"run", "-policy", "bogus", ok}, 2, "unknown policy"},
		{[]string{"explore", "-policy", "bogus", ok}, 2, "unknown policy"},
		{[]string{"run", "-nosuchflag", ok}, 2, "usage: shutdownfuzz run"},
		{[]string{"run"}, 2, "want exactly one FILE.scn"},
		{[]string{"run", "-schedule", "replay x", ok}, 2, "column 8: expected a choice"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	})
}

func TestBadFilesAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ src, want string }{
		"preset.scn": {"scenario \"x\"\npreset cpython-2.7\nmain { yield }\n", "preset.scn:2:"},
		"spawn.scn":  {"scenario \"x\"\nmain { spawn ghost }\n", "spawn.scn:2:"},
		"syntax.scn": {"scenario \"x\"\nmain { work }\n", "syntax.scn:2:"},
	} {
		p := writeScenario(t, dir, name, tc.src)
		code, out, errs := cli("run", p)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want 2 and %q (stdout %q)", name, code, errs, tc.want, out)
		}
	}
}

// The -json output has at least policy and outcome (run) or outcomes
// (explore), one object per policy, and the re-run command reproduces.
func TestJSON(t *testing.T) {
	dir := t.TempDir()
	p := writeScenario(t, dir, "ok.scn", lockScn)
	code, out, _ := cli("run", "-json", "-policy", "all", p)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(scenario.Policies) {
		t.Fatalf("%d JSON lines, want one per policy", len(lines))
	}
	for _, l := range lines {
		var v struct {
			Policy, Outcome, Replay string
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Policy == "" || v.Outcome == "" || !strings.HasPrefix(v.Replay, "schedule replay") {
			t.Errorf("bad run JSON %q: %v", l, err)
		}
	}
	code, out, _ = cli("explore", "-json", "-policy", "hang", "-runs", "100", p)
	var e struct {
		Policy   string
		Outcomes map[string]struct {
			Count    int
			Schedule string
		}
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || code != 0 || e.Outcomes["deadlock"].Count == 0 {
		t.Fatalf("explore JSON %q: %v", out, err)
	}
	sched := strings.TrimPrefix(e.Outcomes["deadlock"].Schedule, "schedule ")
	code, out, _ = cli("run", "-policy", "hang", "-schedule", sched, p)
	if code != 0 || !strings.Contains(out, "outcome: deadlock") {
		t.Errorf("replaying the explore witness: exit %d\n%s", code, out)
	}
}

// import takes go test fuzz v1 files and raw inputs, writes seeds and
// crashers, and a second import writes nothing new.
func TestImportIsIdempotent(t *testing.T) {
	in, seeds, crashers := t.TempDir(), t.TempDir(), t.TempDir()
	s, err := scenarios.Parse(scenarios.Names()[0])
	if err != nil {
		t.Fatal(err)
	}
	data, err := scenario.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	writeScenario(t, in, "a", string(fuzz.MarshalCorpusFile(data)))
	writeScenario(t, in, "raw", "\x01\x02\x03 raw go-fuzz bytes")
	code, out, errs := cli("import", "-corpus", crashers, "-seeds", seeds, in)
	if code != 0 || !strings.Contains(out, "imported 2 inputs: 2 new seeds") {
		t.Fatalf("first import: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = cli("import", "-corpus", crashers, "-seeds", seeds, in)
	if code != 0 || !strings.Contains(out, "0 new seeds") || !strings.Contains(out, "0 new crashers") {
		t.Fatalf("second import wrote something: exit %d\n%s", code, out)
	}
	if n, _ := filepath.Glob(filepath.Join(seeds, "*")); len(n) != 2 {
		t.Errorf("%d seed files, want 2", len(n))
	}
}

func TestMinimizeWritesAReplayableCrasher(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	code, stdout, _ := cli("explore", "-json", "-policy", "hang", "-runs", "100", writeScenario(t, dir, "l.scn", lockScn))
	var e struct {
		Outcomes map[string]struct{ Schedule string }
	}
	json.Unmarshal([]byte(stdout), &e)
	w := writeScenario(t, dir, "w.scn", lockScn+e.Outcomes["deadlock"].Schedule+"\n")
	code, stdout, errs := cli("minimize", "-policy", "hang", "-corpus", out, w)
	if code != 0 {
		t.Fatalf("minimize: exit %d\n%s%s", code, stdout, errs)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.scn"))
	if len(files) != 1 {
		t.Fatalf("%d files written", len(files))
	}
	if code, stdout, _ = cli("run", files[0]); code != 0 || !strings.Contains(stdout, "outcome: deadlock") {
		t.Errorf("crasher does not replay: exit %d\n%s", code, stdout)
	}
	// Minimizing again finds the same file and does not overwrite it.
	if code, stdout, _ = cli("minimize", "-policy", "hang", "-corpus", out, w); code != 0 || !strings.Contains(stdout, "already have") {
		t.Errorf("second minimize: exit %d\n%s", code, stdout)
	}
}

// A broken invariant of the model, from any subcommand, ends it with exit
// status 3 and the command that reproduces it on the user's file, never a
// usage line or a Go stack.
func TestBrokenInvariantExitStatus(t *testing.T) {
	broken := &runtime.InternalError{Scenario: "s", Policy: "hang", Thread: "main", Phase: "flush",
		Value: "main drops a GIL it does not hold", Schedule: []int{0, 0, 1}, Where: "runtime/gil.go:139"}
	saved := commands
	defer func() { commands = saved }()
	commands = append(commands, command{name: "broken", run: func([]string, io.Writer, io.Writer) error {
		return runError(fmt.Errorf("wrapped: %w", broken), "dir/s.scn")
	}})
	code, out, errs := cli("broken")
	if code != 3 || out != "" || strings.Contains(errs, "usage:") || strings.Contains(errs, "goroutine") ||
		!strings.Contains(errs, "main drops a GIL it does not hold") ||
		!strings.Contains(errs, "to reproduce: shutdownfuzz run -policy hang -schedule 'replay 0 0 1' 'dir/s.scn'") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
}
