package corpus

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var dirFlag = flag.String("corpus", ".", "corpus directory to replay")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCorpus replays every crasher of the corpus: the regression suite. A
// corrupt file fails its own subtest with path:line:col; the rest still
// run.
func TestCorpus(t *testing.T) {
	entries, err := Load(*dirFlag)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("no .scn files in %s", *dirFlag)
	}
	for _, e := range entries {
		t.Run(filepath.Base(e.Path), func(t *testing.T) {
			t.Parallel()
			if e.Err != nil {
				t.Fatal(e.Err)
			}
			checks, err := Replay(e.Scenario)
			if err != nil {
				t.Fatalf("%s: %v", e.Path, err)
			}
			if e.Signature == "" {
				t.Errorf("%s: no \"# Signature:\" comment: a corpus file must record the failure it reproduces", e.Path)
			}
			for _, c := range checks {
				if (len(checks) == 1 || c.Policy == e.Scenario.Policy) && c.Result.Signature() != e.Signature {
					t.Errorf("%s: policy %s gave %s, but the file records %s\nto re-run: %s",
						e.Path, c.Policy, c.Result.Signature(), e.Signature, RerunCommand(c.Policy, e.Path))
				}
				if !c.OK {
					t.Errorf("%s: policy %s gave %s (%s), expected %s\nto re-run: %s",
						e.Path, c.Policy, c.Result.Outcome, c.Result.Report.Message, strings.Join(c.Expected, ", "), RerunCommand(c.Policy, e.Path))
				}
				if c.Result.Diverged >= 0 {
					t.Errorf("%s: policy %s: the schedule line is stale (diverged at step %d): a replay must be exact\nto re-run: %s", e.Path, c.Policy, c.Result.Diverged, RerunCommand(c.Policy, e.Path))
				}
			}
		})
	}
}

func TestLoadReportsCorruptFileAndKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	good := "scenario \"ok\"\nmain {\n  yield\n}\nexpect hang: clean\n"
	bad := "scenario \"bad\"\nmain {\n  frobnicate\n}\n"
	os.WriteFile(filepath.Join(dir, "a-good.scn"), []byte(good), 0o644)
	os.WriteFile(filepath.Join(dir, "b-bad.scn"), []byte(bad), 0o644)
	entries, err := Load(dir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("Load: %v, %d entries", err, len(entries))
	}
	if entries[0].Err != nil {
		t.Errorf("good file: %v", entries[0].Err)
	}
	want := filepath.Join(dir, "b-bad.scn") + ":3:3: "
	if entries[1].Err == nil || !strings.HasPrefix(entries[1].Err.Error(), want) {
		t.Errorf("bad file: error %v, want prefix %q", entries[1].Err, want)
	}
	if checks, err := Replay(entries[0].Scenario); err != nil || len(checks) != 1 || !checks[0].OK {
		t.Errorf("good file does not replay: %v", err)
	}
}

func TestSaveNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	p, created, err := Save(dir, "x.scn", []byte("one"))
	if err != nil || !created {
		t.Fatalf("first save: %v %v", created, err)
	}
	if _, created, err := Save(dir, "x.scn", []byte("one")); err != nil || created {
		t.Errorf("same content again: created %v, %v", created, err)
	}
	if _, _, err := Save(dir, "x.scn", []byte("two")); err == nil {
		t.Errorf("other content overwrote %s", p)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("file changed to %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Crashers stay small: at most 2 threads, 12 statements and 4 preemptions
// (context switches the schedule chose; switches forced by blocking do not
// count), unless the file explains why with a "# Needs more:" comment.
func TestCrashersAreMinimal(t *testing.T) {
	entries, _ := Load(*dirFlag)
	for _, e := range entries {
		if e.Err != nil {
			continue
		}
		src, _ := os.ReadFile(e.Path)
		if strings.Contains(string(src), "# Needs more:") {
			continue
		}
		if n := len(e.Scenario.Threads); n > 2 {
			t.Errorf("%s: %d threads", e.Path, n)
		}
		if n := statements(e.Scenario); n > 12 {
			t.Errorf("%s: %d statements", e.Path, n)
		}
		checks, err := Replay(e.Scenario)
		if err != nil {
			continue
		}
		for _, c := range checks {
			if c.Result.Preemptions > 4 {
				t.Errorf("%s: %d preemptions under %s", e.Path, c.Result.Preemptions, c.Policy)
			}
		}
	}
}

func statements(s *scenario.Scenario) int {
	n := 0
	for _, b := range s.Bodies() {
		scenario.Walk(b, func(*scenario.Stmt) { n++ })
	}
	return n
}
