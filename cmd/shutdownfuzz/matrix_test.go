package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var matrixScenario = testscn.LockLoop("matrix <test>") + `expect abort: abort, clean
expect hang: clean
`

func writeScenario(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatrixCommand(t *testing.T) {
	src := t.TempDir()
	file := writeScenario(t, src, "lock.scn", matrixScenario)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"matrix", "-runs", "20", "-out", out, file}, &stdout, &stderr)
	// expect hang: clean, but the hung daemon keeps L: deadlock.
	if code != 1 {
		t.Fatalf("exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	text := stdout.String()
	for _, want := range []string{"scenario", "abort", "terminate", "lock ", "dl ", "!", "wrote " + filepath.Join(out, "report.json"), "wrote " + filepath.Join(out, "report.html")} {
		if !strings.Contains(text, want) {
			t.Errorf("stdout lacks %q:\n%s", want, text)
		}
	}
	js, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Runs     int      `json:"runs"`
		Policies []string `json:"policies"`
		Rows     []struct {
			Scenario string `json:"scenario"`
			Cells    []struct {
				Policy     string         `json:"policy"`
				Counts     map[string]int `json:"counts"`
				Unexpected []string       `json:"unexpected"`
			} `json:"cells"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if m.Runs != 20 || len(m.Policies) != 5 || len(m.Rows) != 1 || m.Rows[0].Scenario != "matrix <test>" || len(m.Rows[0].Cells) != 5 {
		t.Fatalf("report.json: %+v", m)
	}
	if hang := m.Rows[0].Cells[2]; hang.Policy != "hang" || len(hang.Unexpected) != 1 || hang.Unexpected[0] != "deadlock" {
		t.Errorf("hang cell: %+v", hang)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<table class="matrix"`, `<svg class="timeline"`, "matrix &lt;test&gt;"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	// A second run keeps the first report and numbers the new one.
	stdout.Reset()
	if code := Main([]string{"matrix", "-runs", "5", "-policy", "abort", "-out", out, file}, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit status %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "wrote "+filepath.Join(out, "report-1.html")) {
		t.Errorf("second run did not write report-1.html:\n%s", &stdout)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "report.json")); !bytes.Equal(again, js) {
		t.Error("report.json was overwritten")
	}
	// -force overwrites.
	stdout.Reset()
	if code := Main([]string{"matrix", "-runs", "5", "-policy", "abort", "-force", "-out", out, file}, &stdout, &stderr); code != 0 {
		t.Fatalf("-force run: exit status %d\n%s", code, &stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "report.json")); bytes.Equal(again, js) {
		t.Error("-force did not overwrite report.json")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if _, temp := atomicfile.TempTarget(e.Name()); temp {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if len(entries) != 4 {
		t.Errorf("out has %d files, want 4", len(entries))
	}
}

func TestMatrixDirectory(t *testing.T) {
	src := t.TempDir()
	writeScenario(t, src, "b.scn", matrixScenario)
	writeScenario(t, src, "a.scn", strings.Replace(matrixScenario, "expect hang: clean\n", "expect hang: clean, deadlock\n", 1))
	writeScenario(t, src, "notes.txt", "not a scenario")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"matrix", "-runs", "10", "-policy", "hang", "-out", out, src}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit status %d, want 1 (b.scn does not allow deadlock)\n%s%s", code, &stdout, &stderr)
	}
	text := stdout.String()
	ia, ib := strings.Index(text, "\na "), strings.Index(text, "\nb ")
	if ia < 0 || ib < 0 || ia > ib {
		t.Errorf("want rows a then b:\n%s", text)
	}
}

func TestMatrixUsage(t *testing.T) {
	src := t.TempDir()
	good := writeScenario(t, src, "good.scn", matrixScenario)
	bad := writeScenario(t, src, "bad.scn", "scenario \"x\"\nmain {\n  frobnicate\n}\n")
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "tame", good}, `-mode "tame": want controlled or wild`},
		{[]string{"-runs", "0", good}, "-runs must be at least 1"},
		{[]string{"-policy", "nope", good}, "unknown policy"},
		{[]string{bad}, bad + ":3:3: "},
		{[]string{filepath.Join(src, "missing.scn")}, "missing.scn"},
		{[]string{t.TempDir()}, "no *.scn files"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"matrix", "-runs", "2", "-out", out}, tc.args...)
		if code := Main(args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit status %d, want 2\n%s", tc.args, code, &stderr)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, &stderr)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("usage errors wrote %d files", len(entries))
	}
}

func TestMatrixLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("explores the whole library")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"matrix", "-runs", "10", "-out", out}, &stdout, &stderr)
	if code != 0 && code != 1 {
		t.Fatalf("exit status %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "hang-holds-lock") {
		t.Errorf("library matrix lacks hang-holds-lock:\n%s", &stdout)
	}
	table, _, _ := strings.Cut(stdout.String(), "\nlegend:")
	for _, l := range strings.Split(table, "\n") {
		if len([]rune(l)) > 120 {
			t.Errorf("table line wider than 120 columns: %q", l)
		}
	}
}
