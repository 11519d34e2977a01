package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gh-123940's join of a busy daemon: research note item 1.
const joinScenario = `scenario "join"
preset cpython-3.13
main {
  spawn z
  work 3
}
daemon z {
  forever {
    work 1
    io
  }
}
teardown {
  join z
}
`

// matrix -versions runs each scenario under each release's own default
// policy, marks the cells that change from the release to their left, and
// puts the same view in report.json and report.html.
func TestMatrixVersions(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "join.scn", joinScenario)
	out := t.TempDir()
	for _, args := range [][]string{
		{"-versions=3.8,3.11,3.13,3.14"},
		{"-versions", "3.8,3.11,3.13,3.14"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(append(append([]string{"matrix", "-runs", "30", "-force", "-out", out}, args...), file), &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%v: exit status %d\n%s%s", args, code, &stdout, &stderr)
		}
		text := stdout.String()
		// 3.8 blocks, 3.11 returns, 3.13 blocks, 3.14 raises; 3.11 and 3.13
		// can also crash in the cpython#110052 take_gil window (open in
		// every 3.13 patch release, spec v3).
		if !containsFields(text, "join dl cl co† ^ dl co† ^ cl ^") {
			t.Errorf("%v: no row join dl cl co† ^ dl co† ^ cl ^:\n%s", args, text)
		}
		for _, want := range []string{
			"1 scenario × 4 releases", "3.8", "unwind", "hang",
			"3 cells change",
			"new deadlock: shutdownfuzz run -preset 'cpython-3.13' -policy hang -schedule 'replay",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%v: stdout lacks %q:\n%s", args, want, text)
			}
		}
	}
	var m struct {
		Versions struct {
			Releases []string
			Rows     []struct{ Cells []struct{ Changed bool } }
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Versions.Releases) != 4 || !m.Versions.Rows[0].Cells[1].Changed || m.Versions.Rows[0].Cells[0].Changed {
		t.Errorf("report.json versions: %+v", m.Versions)
	}
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(html), `id="versions-table"`) || !strings.Contains(string(html), `class="cell changed"`) {
		t.Errorf("report.html lacks the release table with changed cells")
	}
}

// matrix -exhaustive -versions proves the release view's cells too (they
// were sampled, so a release's "change" could be a sample's), marks each
// = or ~, and a bound that stops one cell's search makes the matrix
// inconclusive (exit 1).
func TestMatrixVersionsExhaustive(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "join.scn", joinScenario)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"matrix", "-exhaustive", "-policy", "hang", "-versions=3.8,3.11,3.13,3.14", "-force", "-out", out, file}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\n%s%s", code, &stdout, &stderr)
	}
	text := stdout.String()
	for _, want := range []string{"1 scenario × 4 releases, each under the release's own default policy, exhaustive", "= proved: every state visited"} {
		if !strings.Contains(text, want) {
			t.Errorf("stdout lacks %q:\n%s", want, text)
		}
	}
	if !containsFields(text, "join dl = cl co† = ^ dl co† = ^ cl = ^") {
		t.Errorf("no proved row join dl = cl co† = ^ dl co† = ^ cl = ^:\n%s", text)
	}
	var m struct {
		Versions struct {
			Search string
			Rows   []struct {
				Cells []struct {
					Search string
					Proved bool
					States int
				}
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Versions.Search != "exhaustive" {
		t.Errorf("report.json versions search %q", m.Versions.Search)
	}
	for _, c := range m.Versions.Rows[0].Cells {
		if c.Search != "exhaustive" || !c.Proved || c.States == 0 {
			t.Errorf("report.json version cell %+v: want exhaustive, proved, states", c)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(html), `proved · `) {
		t.Errorf("report.html does not say the release cells are proved")
	}
	stdout.Reset()
	code = Main([]string{"matrix", "-exhaustive", "-max-states", "3", "-policy", "hang", "-versions=3.8,3.14", "-force", "-out", out, file}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), " ~") {
		t.Errorf("a bound on the release cells: exit %d, want 1 and ~ cells\n%s", code, &stdout)
	}
}

func TestMatrixVersionsBadList(t *testing.T) {
	code, _, stderr := cli("matrix", "-versions=3.7,3.14", "-out", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "3.7") {
		t.Errorf("exit %d, stderr %q; want 2 naming 3.7", code, stderr)
	}
}

// run -preset replaces the file's preset: the reproducing command of a
// release-view witness; its own re-run command keeps the -preset.
func TestRunPresetFlag(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "join.scn", joinScenario)
	code, out, _ := cli("run", "-preset", "cpython-3.11", file)
	if code != 0 || !strings.Contains(out, "policy unwind preset cpython-3.11") || !strings.Contains(out, "outcome: clean") ||
		!strings.Contains(out, "to re-run: shutdownfuzz run -preset 'cpython-3.11' -policy unwind -schedule ") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if code, _, stderr := cli("run", "-preset", "cpython-2.7", file); code != 2 || !strings.Contains(stderr, "cpython-2.7") {
		t.Errorf("bad -preset: exit %d, stderr %q", code, stderr)
	}
}

// explore prints the preset and its default policy.
func TestExplorePrintsPreset(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "join.scn", joinScenario)
	_, out, _ := cli("explore", "-runs", "5", file)
	if !strings.Contains(out, "preset cpython-3.13: CPython 3.13 (latest patch release), glibc, default policy hang") {
		t.Errorf("explore output lacks the preset line:\n%s", out)
	}
}

// containsFields reports whether some line of text has exactly the fields
// of want.
func containsFields(text, want string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Join(strings.Fields(l), " ") == want {
			return true
		}
	}
	return false
}
